"""Interrupts and failed writes: exit 130/143 or 2, no temporary folders, the old outputs intact.

The slow subprocess runs use a scenario on a five-stop fixture feed with three hub wards, so the
whole pipeline runs on the real London boundaries in well under a minute. A driver script pauses
the run at a chosen phase (printing a marker); the test then sends the signal. Every wait is
bounded.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from siting import _atomic, _signals
from siting._errors import OutputError
from siting.cli import main
from siting.report import GEO_OUTPUT_FILES

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "gtfs"
SRC = REPO / "src"

SCENARIO = f"""\
extends: {REPO / 'scenarios' / 'london-2017-final.yaml'}
id: quick
transit:
  feed: transit/tiny
  service_date: 2024-01-03
  departure_window: "08:00-08:10"  # inside the fixture feed's service (08:00-08:45)
  step_minutes: 5
hubs:
  wards: [E05000267, E05000268, E05000269]
"""
OLD = {"out/quick/wards.csv": "old wards\n", "out/quick/report.md": "old report\n",
       "out/quick/notes.txt": "a file of the user's\n", "maps/quick.html": "<p>old map</p>\n"}

# Pauses the run inside one phase: prints "PHASE <name>" and sleeps (a signal ends the sleep).
DRIVER = textwrap.dedent("""\
    import importlib, sys, time
    phase = sys.argv[1]
    where = {
        "data": ("siting.analysis", "load_wards"),
        "travel": ("siting.analysis", "lsoa_travel_times"),
        "after-solve": ("siting.analysis", "attach_hubs"),
        "staging": ("siting.map_scenario", "render_html"),
        "commit": ("siting._atomic", "OutputSet.commit"),
    }[phase]
    module = importlib.import_module(where[0])
    owner, name = module, where[1]
    if "." in name:
        cls, name = name.split(".")
        owner = getattr(module, cls)
    original = getattr(owner, name)
    def paused(*args, **kwargs):
        print("PHASE " + phase, flush=True)
        time.sleep(120)
        return original(*args, **kwargs)
    setattr(owner, name, paused)
    from siting.cli import main
    sys.exit(main(sys.argv[2:]))
""")


@pytest.fixture
def workdir(tmp_path: Path, london_dir: Path) -> Path:
    data = tmp_path / "data"
    (data / "transit").mkdir(parents=True)
    (data / "boundaries").symlink_to(london_dir / "boundaries")
    (data / "osm").symlink_to(london_dir / "osm")
    (data / "transit" / "tiny").symlink_to(FIXTURES / "transfer")
    (tmp_path / "quick.yaml").write_text(SCENARIO)
    for rel, text in OLD.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def _leftovers(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(".*") if ".tmp-" in p.name or p.name.startswith(".siting-probe"))


def _assert_old_outputs_intact(root: Path) -> None:
    for rel, text in OLD.items():
        assert (root / rel).read_text() == text, rel
    assert sorted(p.name for p in (root / "out" / "quick").iterdir()) == ["notes.txt", "report.md",
                                                                           "wards.csv"]
    assert not (root / "maps" / "index.html").exists()
    assert _leftovers(root) == []


@pytest.mark.parametrize(("phase", "signum", "code"), [
    ("data", signal.SIGINT, 130),
    ("travel", signal.SIGTERM, 143),
    ("after-solve", signal.SIGINT, 130),
    ("staging", signal.SIGTERM, 143),
    ("commit", signal.SIGINT, 130),
])
def test_signal_in_each_phase_exits_cleanly(workdir: Path, phase: str, signum: int, code: int) -> None:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    args = ["-q", "run", "quick.yaml", "--data-dir", "data", "--cache-dir", "cache"]
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, phase, *args], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 600
        line = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line or line.startswith("PHASE"):
                break
        assert line.strip() == f"PHASE {phase}", (line, proc.stderr.read() if proc.stderr else "")
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == code, err
    assert "interrupted" in err
    assert "Traceback" not in err
    _assert_old_outputs_intact(workdir)


# ---------------------------------------------------------------------------------------------
# In-process: one real analysis of the quick scenario, reused by the write-failure tests.


@pytest.fixture(scope="module")
def quick_analysis(tmp_path_factory: pytest.TempPathFactory, london_dir: Path):  # type: ignore[no-untyped-def]
    from siting.analysis import analyse
    from siting.scenario import load_scenario

    root = tmp_path_factory.mktemp("quick")
    data = root / "data"
    (data / "transit").mkdir(parents=True)
    (data / "boundaries").symlink_to(london_dir / "boundaries")
    (data / "osm").symlink_to(london_dir / "osm")
    (data / "transit" / "tiny").symlink_to(FIXTURES / "transfer")
    (root / "quick.yaml").write_text(SCENARIO)
    scenario = load_scenario(root / "quick.yaml", data_dir=data)
    return analyse(scenario, data, cache_dir=root / "cache")


def _run_in(workdir: Path, args: list[str]) -> int:
    here = Path.cwd()
    os.chdir(workdir)
    try:
        return main(args)
    finally:
        os.chdir(here)


def test_map_commit_failure_rolls_back_the_whole_set(
    workdir: Path, quick_analysis, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("siting.cli._analyse", lambda scenario, args: quick_analysis)
    real_replace = os.replace

    def failing_replace(src: str | Path, dst: str | Path) -> None:
        if str(dst).endswith("quick.html"):
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(_atomic.os, "replace", failing_replace)
    code = _run_in(workdir, ["-q", "run", "quick.yaml", "--data-dir", "data"])
    err = capsys.readouterr().err
    assert code == 2
    assert "could not write the outputs (No space left on device" in err
    assert "nothing was changed" in err
    # The tables had already been moved in when the map failed: they are put back.
    _assert_old_outputs_intact(workdir)


def test_map_staging_failure_leaves_no_new_tables(
    workdir: Path, quick_analysis, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("siting.cli._analyse", lambda scenario, args: quick_analysis)
    real_write = _atomic.OutputSet.write_text

    def failing_write(self: _atomic.OutputSet, final: Path | str, text: str) -> Path:
        if str(final).endswith(".html"):
            raise OutputError(f"could not write {final} (No space left on device); nothing was changed.")
        return real_write(self, final, text)

    monkeypatch.setattr(_atomic.OutputSet, "write_text", failing_write)
    code = _run_in(workdir, ["-q", "run", "quick.yaml", "--data-dir", "data"])
    assert code == 2
    assert "quick.html (No space left on device); nothing was changed" in capsys.readouterr().err
    _assert_old_outputs_intact(workdir)


def test_successful_run_replaces_the_set_and_removes_stale_staging(
    workdir: Path, quick_analysis, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr("siting.cli._analyse", lambda scenario, args: quick_analysis)
    dead = 2**22 + 999  # above Linux's default pid_max: no such process
    stale = workdir / "out" / f".quick.tmp-p{dead}-abcd"
    stale.mkdir()
    (stale / "wards.csv").write_text("half")
    assert _run_in(workdir, ["-q", "run", "quick.yaml", "--data-dir", "data"]) == 0
    assert not stale.exists()
    assert _leftovers(workdir) == []
    names = sorted(p.name for p in (workdir / "out" / "quick").iterdir())
    # the whole set: tables, report, summary, and the GeoParquet/GeoPackage copies; the
    # user's own notes.txt is left alone
    assert names == sorted(["boroughs.csv", "hubs.csv", "lsoas.csv", "notes.txt", "report.md",
                            "summary.json", "wards.csv", *GEO_OUTPUT_FILES])
    assert (workdir / "out" / "quick" / "notes.txt").read_text() == OLD["out/quick/notes.txt"]
    assert (workdir / "out" / "quick" / "wards.csv").read_text().startswith("ward_code,")
    page = (workdir / "maps" / "quick.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    index = (workdir / "maps" / "index.html").read_text()
    assert 'href="quick.html"' in index
    # A second run lists the maps again, never the index itself.
    assert _run_in(workdir, ["-q", "run", "quick.yaml", "--data-dir", "data"]) == 0
    index = (workdir / "maps" / "index.html").read_text()
    assert index.count("<li>") == 1
    assert 'href="index.html"' not in index


@pytest.mark.parametrize(("out", "message"), [
    ("afile", "is a file, not a folder"),
    ("afile/sub", "cannot be created: {root}/afile is a file, not a folder"),
    ("/proc/siting-out", "cannot be written: /proc is not writable"),
])
def test_bad_out_fails_before_any_work(
    workdir: Path, out: str, message: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def no_analysis(scenario: object, args: object) -> None:
        raise AssertionError("the analysis ran before the output folder was checked")

    monkeypatch.setattr("siting.cli._analyse", no_analysis)
    (workdir / "afile").write_text("x")
    code = _run_in(workdir, ["-q", "run", "quick.yaml", "--data-dir", "data", "--out", out])
    err = capsys.readouterr().err
    assert code == 2
    assert message.format(root=workdir) in err
    assert "Traceback" not in err


def test_map_target_that_is_a_folder_fails_before_any_work(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("siting.cli._analyse", lambda scenario, args: pytest.fail("analysed"))
    (workdir / "maps" / "quick.html").unlink()
    (workdir / "maps" / "quick.html").mkdir()
    assert _run_in(workdir, ["-q", "run", "quick.yaml", "--data-dir", "data"]) == 2
    assert "maps/quick.html is a folder, not a file" in capsys.readouterr().err


CPSAT = textwrap.dedent("""\
    import os, signal, sys, threading
    from ortools.sat.python import cp_model
    from hard_cpsat import hard_model
    from siting._signals import Interrupted, handling, interruptible
    model = hard_model()
    solver = interruptible(cp_model.CpSolver())
    solver.parameters.max_time_in_seconds = 300
    solver.parameters.num_workers = 1
    with handling():
        try:
            print("SOLVING", flush=True)
            solver.solve(model)
            print("returned without an interrupt", flush=True)
            sys.exit(0)
        except Interrupted as exc:
            print("interrupted", exc.exit_code, flush=True)
            sys.exit(exc.exit_code)
""")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_a_cp_sat_solve_stops_it(signum: int, code: int) -> None:
    # OR-Tools alone would stop the search on SIGINT and return a plan as if nothing happened.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(Path(__file__).parent),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", CPSAT], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "SOLVING"
        time.sleep(1.0)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == code, (out, err)
    assert f"interrupted {code}" in out


def test_deferred_holds_a_signal_until_the_block_ends() -> None:
    done = []

    def commit() -> None:
        with _signals.deferred():
            _signals._handler(signal.SIGTERM, None)  # what a SIGTERM does, delivered mid-commit
            done.append("commit finished")

    with pytest.raises(_signals.Interrupted) as info:
        commit()
    assert done == ["commit finished"]
    assert info.value.exit_code == 143
