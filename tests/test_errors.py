"""Error messages stay short and the YAML reader's limits hold (values worked out by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest

from siting._errors import ECHO_LIMIT, MESSAGE_LIMIT, ScenarioError, clip, shown
from siting.scenario import YAML_MAX_BYTES, load_scenario

REPO = Path(__file__).resolve().parents[1]
FINAL = REPO / "scenarios" / "london-2017-final.yaml"


def test_shown_caps_a_long_value_and_never_expands_a_shared_one() -> None:
    assert shown("abc") == "'abc'"
    long = shown("x" * 500)
    assert len(long) == ECHO_LIMIT
    assert long.endswith("…")
    # 9 levels of 9 references to one list: 9**9 leaves if expanded, a few items when shown.
    value: list[object] = ["lol"] * 9
    for _ in range(8):
        value = [value] * 9
    text = shown(value)  # expanding it would build 9**9 = 387 million strings
    assert len(text) <= ECHO_LIMIT
    assert text.startswith("[[[[")


def test_clip_keeps_one_line() -> None:
    assert clip("a\n  b\tc") == "a b c"
    assert clip("y" * 100, 10) == "y" * 9 + "…"


def test_a_very_long_message_keeps_its_start_and_its_fix() -> None:
    error = ScenarioError("s.yaml: field `title`: " + "x" * 10_000 + " Fix: shorten it.")
    text = str(error)
    assert len(text) <= MESSAGE_LIMIT
    assert text.startswith("s.yaml: field `title`: xxx")
    assert text.endswith("Fix: shorten it.")
    assert "characters left out" in text


def test_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    # A merge key may override a merged value; only a key written twice in one mapping is an error.
    path = tmp_path / "s.yaml"
    path.write_text(
        f"extends: {FINAL}\nid: anchors\n"
        "walking:\n  <<: &walk {speed_kmh: 4.0, max_access_minutes: 10}\n  speed_kmh: 4.5\n"
    )
    scenario = load_scenario(path)
    assert scenario.walking.speed_kmh == 4.5
    assert scenario.walking.max_access_minutes == 10


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("id: big\ndescription: '" + "x" * YAML_MAX_BYTES + "'\n")
    with pytest.raises(ScenarioError, match=r"big\.yaml: the file is 1,000,0\d\d bytes, more than the 1,000,000"):
        load_scenario(path)


def test_duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(f"extends: {FINAL}\nid: a\nhubs:\n  max_hubs: 150\n  enabled: true\n  max_hubs: 90\n")
    with pytest.raises(ScenarioError, match=r"key 'max_hubs' appears twice in one mapping \(lines 4 and 6\)"):
        load_scenario(path)
