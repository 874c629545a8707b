"""Maps from the command line: compare and optimiser maps are listed in maps/index.html."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from siting.analysis import Analysis
from siting.cli import main
from test_report import tiny_analysis

REPO = Path(__file__).resolve().parents[1]


def test_compare_map_is_listed_in_the_index(tmp_path: Path, london_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    def fake(scenario: Any, data_dir: Path, **_: Any) -> Analysis:
        return Analysis(**{**tiny_analysis().__dict__, "scenario": scenario})

    monkeypatch.setattr("siting.analysis.analyse", fake)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "index.html").write_text("old", encoding="utf-8")
    code = main(["-q", "map", "--compare", str(REPO / "scenarios/london-2016-baseline.yaml"),
                 str(REPO / "scenarios/london-2017-final.yaml"), "--data-dir", str(london_dir),
                 "--cache-dir", str(tmp_path / "cache")])
    assert code == 0, capsys.readouterr().err
    compare_map = Path("maps/compare-london-2016-baseline-vs-london-2017-final.html")
    assert compare_map.is_file()
    index = Path("maps/index.html").read_text(encoding="utf-8")
    assert f'href="{compare_map.name}"' in index
    assert os.path.getsize(compare_map) > 0
