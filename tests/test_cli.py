"""The command line end to end: run writes identical outputs twice; bad input exits 2 cleanly."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
from pathlib import Path

import pytest

from siting.cli import main

REPO = Path(__file__).resolve().parents[1]
FINAL = REPO / "scenarios" / "london-2017-final.yaml"


def _run(args: list[str], cwd: Path) -> int:
    here = Path.cwd()
    os.chdir(cwd)
    try:
        return main(args)
    finally:
        os.chdir(here)


def test_run_twice_gives_byte_identical_outputs(
    tmp_path: Path, london_dir: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        # both runs compute afresh (the network stays cached): determinism, not reuse
        shutil.rmtree(cache_dir / "analyses", ignore_errors=True)
        code = _run(["-q", "run", str(FINAL), "--data-dir", str(london_dir), "--cache-dir",
                     str(cache_dir)], tmp_path / name)
        assert code == 0
    out = capsys.readouterr().out
    assert "london-2017-final: wrote out/london-2017-final/" in out
    a, b = (tmp_path / n / "out" / "london-2017-final" for n in ("a", "b"))
    summary = json.loads((a / "summary.json").read_text(encoding="utf-8"))
    over = summary["measures"]["24h"]["population_over"]["45"]
    assert f"nearest 24/7 counter: {int(over):,} people over 45 min" in out  # the headline is the report's
    assert "  map: maps/london-2017-final.html" in out
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(["boroughs.csv", "hubs.csv", "lsoas.csv", "report.md", "summary.json",
                            "wards.csv", *(f"{layer}.{ext}" for layer in ("hubs", "lsoas", "wards")
                                           for ext in ("gpkg", "parquet"))])
    _, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert mismatch == []
    assert errors == []
    maps = [tmp_path / n / "maps" / "london-2017-final.html" for n in ("a", "b")]
    assert filecmp.cmp(*maps, shallow=False)


def test_bad_scenario_exits_2_and_writes_nothing(
    tmp_path: Path, london_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(FINAL.read_text().replace("charing-cross", "charing-crosss"))
    code = _run(["run", str(bad), "--data-dir", str(london_dir), "--out", "out"], tmp_path)
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown counter id 'charing-crosss'. Did you mean 'charing-cross'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "maps").exists()


def test_unknown_hub_ward_is_a_scenario_error(
    tmp_path: Path, london_dir: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "wards.yaml"
    scenario.write_text(f"extends: {FINAL}\nid: x\nhubs:\n  wards: [E05000267, E0500026]\n")
    code = _run(["-q", "run", str(scenario), "--data-dir", str(london_dir), "--cache-dir",
                 str(cache_dir), "--no-map"], tmp_path)
    err = capsys.readouterr().err
    assert code == 2
    assert "field `hubs.wards[1]`: unknown ward code 'E0500026'" in err
    assert not (tmp_path / "out").exists()


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["validate"], ["run"], ["check"], ["compare"], ["map"], ["optimise"],
                    ["counters"], ["data", "fetch"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: siting" in capsys.readouterr().out


def test_infeasible_hub_cap_exits_2_with_the_hubs_needed(
    tmp_path: Path, london_dir: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Walking to each ward's population centre (not its nearest edge) needs far more hubs.
    scenario = tmp_path / "centres.yaml"
    scenario.write_text(f"extends: {FINAL}\nid: centres\nhubs:\n  measure_to: centroid\n  max_hubs: 150\n")
    code = _run(["-q", "run", str(scenario), "--data-dir", str(london_dir), "--cache-dir",
                 str(cache_dir), "--no-map"], tmp_path)
    err = capsys.readouterr().err
    assert code == 2
    assert "hubs.max_hubs allows 150 hubs, but covering every ward" in err
    assert "raise max_hubs to" in err
    assert not (tmp_path / "out").exists()


def test_compare_baseline_to_final(
    tmp_path: Path, london_dir: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = REPO / "scenarios" / "london-2016-baseline.yaml"
    code = _run(["-q", "compare", str(base), str(FINAL), "--data-dir", str(london_dir),
                 "--cache-dir", str(cache_dir), "--markdown", "compare.md"], tmp_path)
    out = capsys.readouterr().out
    assert code == 0
    markdown = (tmp_path / "compare.md").read_text()
    # Harefield crosses 60 minutes to a 24/7 counter once Hayes replaces Uxbridge.
    assert "Harefield" in out
    assert "Harefield" in markdown
    assert "hayes" in markdown.lower()


def test_the_command_exits_with_its_code_and_all_its_output(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`siting` (cli.entry) skips the interpreter's teardown: its output and code are main's."""
    import subprocess
    import sys

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from siting.cli import entry; entry()",
                               *args], capture_output=True, text=True, timeout=300,
                              cwd=tmp_path)

    assert main(["counters"]) == 0
    listed = capsys.readouterr().out
    done = command("counters")
    assert done.returncode == 0
    assert done.stdout == listed  # every line, flushed before the fast exit
    assert len(listed.splitlines()) > 70
    bad = command("validate", str(tmp_path / "missing.yaml"))
    assert bad.returncode == 2
    assert "not found" in bad.stderr
    assert "Traceback" not in bad.stderr
