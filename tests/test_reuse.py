"""Reusing a stored Analysis: same inputs reuse it (byte-identical outputs), any computing
setting, data file or stored byte that changes forces a recompute, names and checks do not."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

import siting.reuse as reuse
from siting.analysis import Analysis
from siting.maps import build_map, render_html
from siting.report import _build
from test_report import tiny_analysis


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the expensive analysis by the tiny hand-built one, counting the calls."""
    calls: list[str] = []

    def fake(scenario: Any, data_dir: Path, **_: Any) -> Analysis:
        calls.append(scenario.id)
        base = tiny_analysis()
        return Analysis(**{**base.__dict__, "scenario": scenario})

    monkeypatch.setattr("siting.analysis.analyse", fake)
    return calls


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    (folder / "boundaries").mkdir(parents=True)
    (folder / "boundaries" / "wards.geojson").write_text("{}", encoding="utf-8")
    return folder


def _outputs(analysis: Analysis) -> dict[str, str]:
    return {**_build(analysis, None), "map.html": render_html(build_map(analysis))}


def test_same_inputs_reuse_with_identical_outputs(counted: list[str], data_dir: Path,
                                                  tmp_path: Path) -> None:
    scenario = tiny_analysis().scenario
    first, reused_first = reuse.analyse_or_reuse(scenario, data_dir, cache_dir=tmp_path / "c")
    second, reused_second = reuse.analyse_or_reuse(scenario, data_dir, cache_dir=tmp_path / "c")
    assert (reused_first, reused_second) == (False, True)
    assert counted == ["tiny"]
    assert _outputs(second) == _outputs(first)


def test_title_and_constraints_are_not_inputs(counted: list[str], data_dir: Path,
                                              tmp_path: Path) -> None:
    scenario = tiny_analysis().scenario
    reuse.analyse_or_reuse(scenario, data_dir, cache_dir=tmp_path / "c")
    renamed = scenario.model_copy(update={"title": "Tiny town, renamed"})
    again, reused = reuse.analyse_or_reuse(renamed, data_dir, cache_dir=tmp_path / "c")
    assert reused
    assert again.scenario.title == "Tiny town, renamed"  # the current scenario is carried


def test_changed_setting_or_data_recomputes(counted: list[str], data_dir: Path,
                                            tmp_path: Path) -> None:
    scenario = tiny_analysis().scenario
    reuse.analyse_or_reuse(scenario, data_dir, cache_dir=tmp_path / "c")
    evening = scenario.model_copy(update={
        "transit": scenario.transit.model_copy(update={"departure_window": "19:00-22:00"})})
    assert reuse.analyse_or_reuse(evening, data_dir, cache_dir=tmp_path / "c")[1] is False
    data_file = data_dir / "boundaries" / "wards.geojson"
    data_file.write_text('{"changed": true}', encoding="utf-8")
    os.utime(data_file, ns=(1, 1))
    assert reuse.analyse_or_reuse(scenario, data_dir, cache_dir=tmp_path / "c")[1] is False
    assert counted == ["tiny", "tiny", "tiny"]


def test_altered_entry_is_recomputed_with_a_warning(counted: list[str], data_dir: Path,
                                                    tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    scenario = tiny_analysis().scenario
    reuse.analyse_or_reuse(scenario, data_dir, cache_dir=tmp_path / "c")
    folder = tmp_path / "c" / "analyses" / reuse.analysis_key(scenario, data_dir)
    stored = folder / "wards.parquet"
    stored.write_bytes(stored.read_bytes()[:-100])  # truncated, as by a crash or a full disk
    with caplog.at_level(logging.WARNING, logger="siting.reuse"):
        _, reused = reuse.analyse_or_reuse(scenario, data_dir, cache_dir=tmp_path / "c")
    assert not reused
    assert "wards.parquet does not match its manifest" in caplog.text
    assert counted == ["tiny", "tiny"]
    # the recomputed entry replaced the bad one and is reused next time
    assert reuse.analyse_or_reuse(scenario, data_dir, cache_dir=tmp_path / "c")[1] is True
    (folder / "manifest.json").unlink()  # an entry without its manifest is never trusted
    assert reuse.analyse_or_reuse(scenario, data_dir, cache_dir=tmp_path / "c")[1] is False
