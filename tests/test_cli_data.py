"""Finding the data as `make` does, and several problems printed one per line with the fix once."""

from __future__ import annotations

from pathlib import Path

import pytest

from siting._errors import DataError
from siting.cli import main
from siting.data import resolve_data_dir

REPO = Path(__file__).resolve().parents[1]


def _layout(root: Path, *folders: str) -> None:
    for folder in folders:
        (root / folder / "boundaries").mkdir(parents=True)


def test_finds_the_shared_data_beside_the_checkout_like_make(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = tmp_path / "main"
    _layout(tmp_path, "shared/data/london")
    _layout(checkout, "data")
    monkeypatch.delenv("SITING_DATA_DIR", raising=False)
    monkeypatch.chdir(checkout)
    # the Makefile prefers ../shared/data/london over ./data when it exists
    assert resolve_data_dir() == (tmp_path / "shared/data/london").resolve()
    assert resolve_data_dir(checkout / "data") == (checkout / "data").resolve()
    monkeypatch.setenv("SITING_DATA_DIR", str(checkout / "data"))
    assert resolve_data_dir() == (checkout / "data").resolve()


def test_falls_back_to_local_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _layout(tmp_path, "data")
    monkeypatch.delenv("SITING_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir() == (tmp_path / "data").resolve()


def test_no_data_anywhere_says_how_to_point_at_it(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SITING_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"no data directory found.*export SITING_DATA_DIR=.*siting data fetch"):
        resolve_data_dir()


def test_missing_files_one_per_line_and_the_fix_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    code = main(["validate", "--data-dir", str(empty), str(REPO / "scenarios/london-2017-final.yaml")])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    missing = [line for line in lines if "not found in the data directory" in line]
    # wards, lsoas, boroughs, ptai, the LSOA outlines and the postcode addresses: a line each
    assert len(missing) == 6
    assert all(line.startswith("  - field `data.") for line in missing)
    assert sum("SITING_DATA_DIR" in line for line in lines) == 1
    assert "Traceback" not in err
