"""Scenario files: the project's scenarios validate; malformed ones give the specific message."""

from __future__ import annotations

from pathlib import Path

import pytest

from siting._errors import ScenarioError
from siting.cli import main
from siting.scenario import load_scenario, parse_window

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))

GOOD = """\
id: tiny
title: Tiny
counters:
  open_24h: [charing-cross, brixton]
  open_daytime: [pinner]
"""


def test_parse_window() -> None:
    assert parse_window("07:00-10:00") == (25200, 36000)
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_window("10:00-07:00")


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_project_scenarios_validate(path: Path, london_dir: Path) -> None:
    scenario = load_scenario(path, data_dir=london_dir)
    assert scenario.id == path.stem


def test_cli_validate_all_scenarios(london_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--data-dir", str(london_dir), *map(str, SCENARIOS)]) == 0
    assert capsys.readouterr().out.count("ok ") == len(SCENARIOS)


def test_minimal_scenario_defaults(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(GOOD)
    scenario = load_scenario(path)
    assert scenario.transit.window_seconds == (7 * 3600, 10 * 3600)
    assert scenario.thresholds == [45, 60]
    assert scenario.walking.speed_kmh == 4.8
    assert scenario.hubs.walk_limit_minutes == 20
    assert scenario.counters.status("pinner") == "daytime"
    assert scenario.counters.status("wood-green") == "closed"


def test_extends_merges_deeply(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(GOOD)
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nid: child\ntransit:\n  step_minutes: 5\n")
    scenario = load_scenario(tmp_path / "child.yaml")
    assert scenario.id == "child"
    assert scenario.transit.step_minutes == 5
    assert scenario.counters.open_24h == ["charing-cross", "brixton"]


# Each malformed scenario: (file text, the words the message must contain).
MALFORMED = {
    "bad_yaml": ("id: x\ntitle: [unclosed\n", r"not valid YAML at line \d+"),
    "not_mapping": ("- just\n- a list\n", r"must be a YAML mapping"),
    "unknown_counter": (
        GOOD.replace("brixton", "brixtn"),
        r"counters\.open_24h\[1\]`: unknown counter id 'brixtn'\. Did you mean 'brixton'",
    ),
    "unknown_top_key": (GOOD + "thresholdz: [45]\n", r"unknown key 'thresholdz'\. Did you mean 'thresholds'"),
    "unknown_nested_key": (
        GOOD + "walking:\n  sped_kmh: 5\n",
        r"field `walking\.sped_kmh`: unknown key 'sped_kmh'\. Did you mean 'speed_kmh'",
    ),
    "wrong_type": (GOOD + "walking:\n  speed_kmh: fast\n", r"field `walking\.speed_kmh`: .*number.*'fast'"),
    "missing_counters": ("id: x\ntitle: X\n", r"field `counters` is required but missing"),
    "bad_id": (GOOD.replace("id: tiny", "id: Tiny Scenario"), r"field `id`: .*pattern"),
    "twice": (GOOD.replace("[pinner]", "[brixton]"), r"'brixton' is listed twice"),
    "bad_window": (GOOD + "transit:\n  departure_window: '10:00-07:00'\n", r"departure_window.*ends before it starts"),
    "bad_constraint_kind": (
        GOOD + "constraints:\n  - {kind: max_hub, name: a, sentence: b, at_most: 3}\n",
        r"constraint kind 'max_hub' is not known\. Did you mean 'max_hubs'",
    ),
    "negative_threshold": (GOOD + "thresholds: [-5]\n", r"field `thresholds\[0\]`: .*greater than 0"),
    "missing_file": (GOOD + "data:\n  wards: boundaries/nope.geojson\n", r"field `data\.wards`: file 'boundaries/nope\.geojson' not found"),
    "unknown_section": (GOOD + "counters_extra: 1\n", r"unknown key 'counters_extra'"),
    "bad_hours": (
        GOOD.replace("open_daytime: [pinner]", "open_daytime: [pinner]\n  hours: {brixton: '09:00-17:00'}"),
        r"hours are given for 'brixton', which is not in counters\.open_daytime",
    ),
    "bad_percentile": (GOOD + "transit:\n  percentiles: [50, 100]\n", r"transit\.percentiles\[1\]`: .*less than or equal to 99"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_scenarios_exit_2_with_message(
    case: str, tmp_path: Path, london_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, pattern = MALFORMED[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=pattern):
        load_scenario(path, data_dir=london_dir)
    code = main(["validate", "--data-dir", str(london_dir), str(path)])
    captured = capsys.readouterr()
    assert code == 2
    assert str(path) in captured.err
    assert "Traceback" not in captured.err


def test_missing_scenario_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--no-data", "does/not/exist.yaml"]) == 2
    assert "scenario file not found" in capsys.readouterr().err


def test_extends_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ScenarioError, match="makes a cycle"):
        load_scenario(tmp_path / "a.yaml")
