"""Every malformed input of tests/corpus/ gives a named error through the CLI.

Each case of tests/corpus/manifest.csv (written by tests/corpus/make_corpus.py) runs
`siting validate`: exit 2, the expected part of the message, no traceback, one short paragraph,
and nothing written in the working folder. Kinds:
- scenario: the scenario file itself (`--no-data`);
- candidates: a scenario whose hubs.candidate_csv is the case (`--no-data`);
- gtfs / feed: a scenario whose transit.feed is the case, in a data directory that links the
  London data and the corpus;
- data:<field>: a scenario whose data.<field> is the case, in that data directory.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from siting.cli import main

CORPUS = Path(__file__).parent / "corpus"
REPO = Path(__file__).resolve().parents[1]
FINAL = REPO / "scenarios" / "london-2017-final.yaml"
CASES = list(csv.DictReader((CORPUS / "manifest.csv").read_text(encoding="utf-8").splitlines()))


def test_the_corpus_is_large_and_every_file_is_listed() -> None:
    assert len(CASES) >= 60
    listed = {c["path"] for c in CASES}
    helpers = {"make_corpus.py", "manifest.csv", "scenarios/extends_cycle_b.yaml",
               "gtfs/folder_stops_is_dir/stops.txt/README"}
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file()}
    in_folders = {p for p in on_disk if p.startswith("gtfs/folder_stops_is_dir/")}
    assert on_disk - helpers - in_folders <= listed
    for kind in ("scenario", "candidates", "gtfs", "data:wards", "data:lsoas", "data:ptai"):
        assert any(c["kind"] == kind for c in CASES), kind


def _data_dir(tmp_path: Path, london_dir: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("boundaries", "osm", "transit"):
        (data / name).symlink_to(london_dir / name)
    (data / "corpus").symlink_to(CORPUS)
    return data


def _command(case: dict[str, str], work: Path, request: pytest.FixtureRequest) -> list[str]:
    kind, rel = case["kind"], case["path"]
    if kind == "scenario":
        return ["validate", "--no-data", str(CORPUS / rel)]
    scenario = work / "case.yaml"
    if kind == "candidates":
        scenario.write_text(f"extends: {FINAL}\nid: corpus\nhubs:\n  candidate_csv: {CORPUS / rel}\n")
        return ["validate", "--no-data", str(scenario)]
    data = _data_dir(work, request.getfixturevalue("london_dir"))
    if kind == "gtfs":
        body = f"transit:\n  feed: corpus/{rel}\n"
    elif kind == "feed":
        body = f"transit:\n  feed: {rel}\n"
    else:
        field = kind.removeprefix("data:")
        target = rel if rel.startswith(("/", "..")) else f"corpus/{rel}"
        body = f"data:\n  {field}: {target}\n"
    scenario.write_text(f"extends: {FINAL}\nid: corpus\n{body}")
    return ["validate", "--data-dir", str(data), str(scenario)]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['kind']}:{Path(c['path']).name}" for c in CASES])
def test_corpus_case_is_a_named_error(
    case: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    args = _command(case, work, request)
    before = sorted(p.name for p in work.iterdir())
    here = Path.cwd()
    os.chdir(work)
    try:
        code = main(args)
    finally:
        os.chdir(here)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert case["expect"] in err, err
    assert err.startswith("error: ")
    assert "Traceback" not in err
    assert err.count("\n") == 1, "one paragraph"
    assert len(err) < 2500, "a short paragraph (echoed values are capped)"
    assert out == ""
    assert sorted(p.name for p in work.iterdir()) == before, "nothing written"
