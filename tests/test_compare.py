"""Scenario comparison: a tiny before/after worked out by hand, the 2016 baseline against the
2017 final strategy on the real London layers, and byte-identical text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from siting._errors import ScenarioError
from siting.analysis import Analysis
from siting.compare import compare
from siting.report import summary
from test_report import real_scenario, standin_analysis, tiny_analysis, tiny_scenario


def tiny_pair() -> tuple[Analysis, Analysis]:
    """Before: the tiny case. After: L2 (3000 people, North/Alpha) goes from 50 to 62 minutes,
    L5 (500 people, North/Beta) from no route to 10 minutes; alpha-day closes, beta-day
    becomes 24/7, beta-old opens in daytime. Minutes on arrival do not change."""
    before = tiny_analysis()
    after = tiny_analysis(
        minutes={"L2": (62.0, 30.0), "L5": (10.0, 62.0)},
        statuses={"alpha-day": "closed", "beta-day": "24h", "beta-old": "daytime"},
        scenario=tiny_scenario(id="tiny-after", title="Tiny town, after"),
    )
    return before, after


def test_counter_changes_by_hand() -> None:
    result = compare(*tiny_pair())
    assert result.counters[["counter_id", "before", "after", "change"]].values.tolist() == [
        ["alpha-day", "daytime", "closed", "closes"],
        ["beta-day", "daytime", "24h", "daytime -> 24/7"],
        ["beta-old", "closed", "daytime", "opens daytime"],
    ]


def test_ward_crossings_by_hand() -> None:
    result = compare(*tiny_pair())
    # North/Alpha: (1000*20 + 3000*62) / 4000 = 51.5, was 42.5 -> now over 45
    # North/Beta: (1500*70 + 500*10) / 2000 = 55, was 70 (L5 had no route) -> no longer over 60
    rows = result.wards[["measure", "threshold", "direction", "ward_code", "minutes_before",
                         "minutes_after"]].values.tolist()
    assert rows == [
        ["24h", 45, "now over", "E05000001", 42.5, 51.5],
        ["24h", 60, "no longer over", "E05000003", 70.0, 55.0],
    ]


def test_population_moves_by_hand() -> None:
    result = compare(*tiny_pair())
    table = result.boroughs.set_index(["measure", "threshold", "borough"])
    cols = ["over_before", "over_after", "now_over", "no_longer_over", "net"]
    # 45 min: Alpha unchanged (L2 over both times); Beta loses L5 (500)
    assert ("24h", 45, "Alpha") not in table.index
    assert table.loc[("24h", 45, "Beta"), cols].tolist() == [2000, 1500, 0, 500, -500]
    assert table.loc[("24h", 45, "London"), cols].tolist() == [5000, 4500, 0, 500, -500]
    # 60 min: Alpha gains L2 (3000); Beta loses L5 (500)
    assert table.loc[("24h", 60, "Alpha"), cols].tolist() == [0, 3000, 3000, 0, 3000]
    assert table.loc[("24h", 60, "Beta"), cols].tolist() == [2000, 1500, 0, 500, -500]
    assert table.loc[("24h", 60, "London"), cols].tolist() == [2000, 4500, 3000, 500, 2500]
    # on arrival nothing changes: only the London rows, all zero change
    arrival = result.boroughs[result.boroughs["measure"] == "any"]
    assert arrival["borough"].tolist() == ["London", "London"]
    assert (arrival["net"] == 0).all()


def test_text_and_markdown_by_hand() -> None:
    result = compare(*tiny_pair())
    text = result.to_text()
    assert text.startswith("tiny -> tiny-after\n\nSettings that differ (besides the counters)\n"
                           "  setting")
    assert "(none: the scenarios differ only in their counters)" in text
    assert "\nCounters\n" in text
    assert "  Beta-Day (beta-day)    Beta     daytime  24h      daytime -> 24/7" in text
    assert "  now over   Alpha    North  E05000001       4,000            42.5           51.5" in text
    assert "  24h           60  Alpha              0       3,000     3,000               0  +3,000" in text
    assert "  any           60  London           500         500         0               0       0" in text
    assert "Wards crossing 45 minutes (nearest counter open on arrival)\n  no changes" in text
    md = result.to_markdown()
    assert "| 24h | 60 | London | 2,000 | 4,500 | 3,000 | 500 | +2,500 |" in md
    assert "| no longer over | Beta | North | E05000003 | 2,000 | 70.0 | 55.0 |" in md
    assert "From *Tiny town* to *Tiny town, after*." in md


def test_every_setting_that_changes_the_result_is_listed() -> None:
    # Only the window, the walking speed and a hub setting change: each is listed once, with
    # both values, in the terminal text and in compare.md; names and checks are not settings.
    before = tiny_analysis()
    after = tiny_analysis(scenario=tiny_scenario(
        id="tiny-evening", title="Tiny town, evening", description="Later.",
        transit={"departure_window": "19:00-22:00"}, walking={"speed_kmh": 4.0},
        hubs={"walk_limit_minutes": 15}))
    result = compare(before, after)
    assert result.settings.values.tolist() == [
        ["hubs.walk_limit_minutes", "20.0", "15.0"],
        ["transit.departure_window", "07:00-10:00", "19:00-22:00"],
        ["walking.speed_kmh", "4.8", "4.0"],
    ]
    assert "| transit.departure_window | 07:00-10:00 | 19:00-22:00 |" in result.to_markdown()
    assert "transit.departure_window  07:00-10:00  19:00-22:00" in result.to_text()


def test_unreachable_counts_as_over_and_shows_as_no_route() -> None:
    before = tiny_analysis(minutes={"L4": (float("nan"), 50.0), "L5": (float("nan"), 62.0)})
    after = tiny_pair()[1]  # North/Beta at 55 minutes
    result = compare(before, after)
    assert "| no longer over | Beta | North | E05000003 | 2,000 | no route | 55.0 |" in (
        result.to_markdown())
    table = result.boroughs.set_index(["measure", "threshold", "borough"])
    assert table.loc[("24h", 45, "Beta"), "over_before"] == 2000  # no route counts as over
    assert table.loc[("24h", 60, "Beta"), "no_longer_over"] == 500  # L5; L4 is still at 70


def test_same_scenario_has_no_changes() -> None:
    result = compare(tiny_analysis(), tiny_analysis())
    assert result.counters.empty
    assert result.wards.empty
    assert result.boroughs["borough"].unique().tolist() == ["London"]
    assert "No changes." in result.to_markdown()


def test_different_wards_cannot_be_compared() -> None:
    before = tiny_analysis()
    fewer = Analysis(**{**before.__dict__, "wards": before.wards.iloc[:2]})
    with pytest.raises(ScenarioError, match=r"cannot compare scenarios 'tiny' and 'tiny': their "
                       r"wards differ \(1 codes in only one, e\.g\. E05000003\)\. Compare scenarios "
                       r"that use the same `data\.wards` file"):
        compare(before, fewer)


# ---------------------------------------------------------------------------------------------
# Real London: 2016 baseline -> 2017 final strategy


@pytest.fixture(scope="module")
def baseline_final(london_baseline: Analysis, london_final: Analysis) -> tuple[Analysis, Analysis]:
    return london_baseline, london_final


def test_baseline_to_final_counters(baseline_final: tuple[Analysis, Analysis]) -> None:
    result = compare(*baseline_final)
    changes = result.counters
    # the three swaps kept in the final strategy: the 24/7 counter moves to a daytime site
    assert sorted(changes.loc[changes["change"] == "daytime -> 24/7", "counter_id"]) == [
        "hayes", "kensington", "mitcham"]
    assert sorted(changes.loc[changes["before"] == "24h", "counter_id"]) == [
        "notting-hill", "uxbridge", "wimbledon"]
    assert sorted(changes.loc[changes["change"] == "opens daytime", "counter_id"]) == [
        "church-street", "grenfell", "pinner", "ruislip"]
    # 73 open before, 36 after: 41 close (3 swapped-away 24/7 + 38 daytime), 4 open
    assert (changes["change"] == "closes").sum() == 41
    assert changes.equals(changes.sort_values(["borough", "counter_id"]).reset_index(drop=True))


def test_baseline_to_final_population_matches_summaries(
        baseline_final: tuple[Analysis, Analysis]) -> None:
    before, after = baseline_final
    result = compare(before, after)
    facts_before, facts_after = summary(before), summary(after)
    london = result.boroughs[result.boroughs["borough"] == "London"].set_index(["measure", "threshold"])
    for measure in ("24h", "any"):
        for t in (45, 60):
            row = london.loc[(measure, t)]
            assert row["over_before"] == facts_before["measures"][measure]["over"][str(t)]["population"]
            assert row["over_after"] == facts_after["measures"][measure]["over"][str(t)]["population"]
            assert row["net"] == row["now_over"] - row["no_longer_over"]
            part = result.boroughs[(result.boroughs["measure"] == measure)
                                   & (result.boroughs["threshold"] == t)
                                   & (result.boroughs["borough"] != "London")]
            assert part["net"].sum() == row["net"]
            # every ward that crossed is listed once, with minutes on each side of t
            wards = result.wards[(result.wards["measure"] == measure) & (result.wards["threshold"] == t)]
            assert wards["ward_code"].is_unique
            now = wards[wards["direction"] == "now over"]
            assert ((now["minutes_before"] <= t) & (now["minutes_after"] > t)).all()
            gone = wards[wards["direction"] == "no longer over"]
            assert ((gone["minutes_before"] > t) & (gone["minutes_after"] <= t)).all()


def test_moves_only_where_times_changed(baseline_final: tuple[Analysis, Analysis]) -> None:
    before, after = baseline_final
    b = before.lsoas.set_index("lsoa_code").sort_index()
    a = after.lsoas.set_index("lsoa_code").loc[b.index]
    result = compare(before, after)
    for measure in ("24h", "any"):
        changed = (b[f"minutes_{measure}"] - a[f"minutes_{measure}"]).abs() > 1e-9
        moved = result.boroughs[(result.boroughs["measure"] == measure)
                                & (result.boroughs["borough"] != "London")]
        assert set(moved["borough_code"]) <= set(b.loc[changed, "borough_code"])
        crossed = result.wards[result.wards["measure"] == measure]
        assert set(crossed["ward_code"]) <= set(b.loc[changed, "ward_code"])


def test_outputs_byte_identical(baseline_final: tuple[Analysis, Analysis]) -> None:
    first, again = compare(*baseline_final), compare(*baseline_final)
    assert first.to_text() == again.to_text()
    assert first.to_markdown() == again.to_markdown()
    pd.testing.assert_frame_equal(first.wards, again.wards)


def test_independent_standins_compare_identically(london_dir: Path) -> None:
    texts = set()
    for _ in range(2):
        result = compare(standin_analysis(real_scenario("london-2016-baseline"), london_dir),
                         standin_analysis(real_scenario("london-2017-final"), london_dir))
        texts.add(result.to_text() + result.to_markdown())
    assert len(texts) == 1
