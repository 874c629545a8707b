"""Constraint checks: every kind on a tiny hand-built case, the strategy scenarios on the real
London layers, and `check_scenarios` exit codes with the breaking wards named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from siting._errors import ScenarioError
from siting.analysis import Analysis
from siting.check import (
    ConstraintResult,
    check_scenarios,
    evaluate,
    format_table,
    is_over,
    to_json,
)
from siting.scenario import Scenario
from test_report import real_scenario, standin_analysis, tiny_analysis, tiny_scenario

REPO = Path(__file__).resolve().parents[1]
NORTH_ALPHA = "E05000001 North, Alpha"
SOUTH_ALPHA = "E05000002 South, Alpha"
NORTH_BETA = "E05000003 North, Beta"


def one(constraint: dict[str, Any], **kwargs: Any) -> ConstraintResult:
    """Evaluate a single constraint on the tiny case."""
    spec = {"name": "c", "sentence": "A sentence.", **constraint}
    scenario_changes = kwargs.pop("scenario", {})
    (result,) = evaluate(tiny_analysis(scenario=tiny_scenario([spec], **scenario_changes), **kwargs))
    return result


def test_is_over_counts_unreachable() -> None:
    assert is_over([44.9, 45.0, 45.1, float("nan")], 45).tolist() == [False, False, True, True]


# Tiny case (see test_report.tiny_analysis): LSOA minutes 24h L1 20, L2 50, L3 40, L4 70, L5 none
# (people 1000, 3000, 2000, 1500, 500); ward minutes North/Alpha 42.5, South/Alpha 40, North/Beta 70.


def test_share_within() -> None:
    # within 45 min (24h): L1 + L3 = 3000 of 8000 = 37.5%
    ok = one({"kind": "share_within", "minutes": 45, "at_least": 0.375})
    assert ok.passed
    assert ok.actual == "37.5% within 45 min"
    assert ok.breaking == ()
    bad = one({"kind": "share_within", "minutes": 45, "at_least": 0.4})
    assert not bad.passed
    assert bad.breaking == (NORTH_ALPHA, NORTH_BETA)  # where L2, L4 and L5 are
    # on arrival: L1 15, L2 30, L3 40, L4 50, L5 62 -> 6000 of 8000 within 45
    assert one({"kind": "share_within", "measure": "any", "minutes": 45, "at_least": 0.75}).passed


def test_population_over() -> None:
    ok = one({"kind": "population_over", "minutes": 60, "at_most": 2000})  # L4 + L5 (no route)
    assert ok.passed
    assert ok.actual == "2,000 people over 60 min"
    bad = one({"kind": "population_over", "minutes": 60, "at_most": 1999})
    assert not bad.passed
    assert bad.breaking == (NORTH_BETA,)
    assert one({"kind": "population_over", "measure": "any", "minutes": 60, "at_most": 500}).passed


def test_no_ward_over_and_exceptions() -> None:
    bad = one({"kind": "no_ward_over", "minutes": 45})
    assert not bad.passed
    assert bad.breaking == (NORTH_BETA,)
    assert bad.actual == "1 ward over 45 min"
    assert one({"kind": "no_ward_over", "minutes": 42}).breaking == (NORTH_ALPHA, NORTH_BETA)
    for exception in ("E05000003", "North, Beta", "north, beta"):
        fixed = one({"kind": "no_ward_over", "minutes": 45, "exceptions": [exception]})
        assert fixed.passed, exception
        assert fixed.actual == "0 wards over 45 min (+1 excepted)"
    assert one({"kind": "no_ward_over", "measure": "any", "minutes": 60}).passed  # North/Beta 53


def test_no_ward_over_unreachable_ward_breaks() -> None:
    result = one({"kind": "no_ward_over", "minutes": 600},
                 minutes={"L4": (float("nan"), 50.0), "L5": (float("nan"), 62.0)})
    assert result.breaking == (NORTH_BETA,)


def test_exceptions_must_name_one_ward() -> None:
    with pytest.raises(ScenarioError, match=r"constraint 'c' \(no_ward_over\): field exceptions\[1\]: "
                       r"ward name 'North' is ambiguous: it names E05000001 \(Alpha\), "
                       r"E05000003 \(Beta\)\. Write the ward code, or 'Name, Borough'"):
        one({"kind": "no_ward_over", "minutes": 45, "exceptions": ["South", "North"]})
    with pytest.raises(ScenarioError, match=r"exceptions\[0\]: 'Nowhere' is not a ward code or "
                       r"ward name"):
        one({"kind": "hubs_cover_all_wards", "exceptions": ["Nowhere"]})


def test_hubs_cover_all_wards() -> None:
    # assignment: North/Alpha 8 min, South/Alpha 25 min, North/Beta 12 min; limit 20
    bad = one({"kind": "hubs_cover_all_wards"})
    assert not bad.passed
    assert bad.breaking == (SOUTH_ALPHA,)
    assert bad.actual == "1 of 3 wards without a hub within 20 min"
    assert one({"kind": "hubs_cover_all_wards", "exceptions": ["South"]}).passed
    assert one({"kind": "hubs_cover_all_wards"}, scenario={"hubs": {"walk_limit_minutes": 25}}).passed
    unassigned = one({"kind": "hubs_cover_all_wards"}, scenario={"hubs": {"walk_limit_minutes": 25}},
                     assignment=[("E05000001", "police-1", 8.0)])
    assert unassigned.breaking == (SOUTH_ALPHA, NORTH_BETA)
    # a model restricted to some wards answers only for them
    scoped = one({"kind": "hubs_cover_all_wards"},
                 scenario={"hubs": {"wards": ["E05000001", "E05000003"]}})
    assert scoped.passed
    disabled = one({"kind": "hubs_cover_all_wards"}, scenario={"hubs": {"enabled": False}})
    assert not disabled.passed
    assert "disabled" in disabled.actual


def test_max_hubs() -> None:
    assert one({"kind": "max_hubs", "at_most": 2}).passed
    bad = one({"kind": "max_hubs", "at_most": 1})
    assert (bad.passed, bad.required, bad.actual) == (False, "<= 1 hubs", "2 hubs")


def test_counter_per_borough_skips_the_city() -> None:
    bad = one({"kind": "counter_per_borough"})
    assert bad.breaking == ("E09000003 Beta",)  # the City of London (no counter) is not the Met's
    assert bad.required == "a 24/7 counter in each of the 2 Met boroughs"
    assert one({"kind": "counter_per_borough"}, statuses={"beta-day": "24h"}).passed
    assert not one({"kind": "counter_per_borough"}, statuses={"alpha-24": "daytime",
                                                            "beta-day": "24h"}).passed


def test_results_in_file_order_and_rendered() -> None:
    specs = [
        {"kind": "max_hubs", "name": "z-hubs", "sentence": "At most 150 hubs.", "at_most": 150},
        {"kind": "no_ward_over", "name": "a-wards", "sentence": "No ward over 45 min.", "minutes": 45},
    ]
    results = evaluate(tiny_analysis(scenario=tiny_scenario(specs)))
    assert [r.name for r in results] == ["z-hubs", "a-wards"]
    assert format_table(results) == (
        "result  constraint  required                   actual\n"
        "------  ----------  -------------------------  ------------------\n"
        "PASS    z-hubs      <= 150 hubs                2 hubs\n"
        "FAIL    a-wards     no ward over 45 min (24h)  1 ward over 45 min\n"
        "\n"
        "a-wards: No ward over 45 min.\n"
        f"  breaking (1): {NORTH_BETA}\n"
        "\n"
        "1 of 2 constraints met\n"
    )
    data = json.loads(to_json(results))
    assert data[1] == {"name": "a-wards", "kind": "no_ward_over", "sentence": "No ward over 45 min.",
                       "required": "no ward over 45 min (24h)", "actual": "1 ward over 45 min",
                       "passed": False, "breaking": [NORTH_BETA]}
    assert format_table([]) == "no constraints\n"


def test_breaking_is_sorted_and_immutable() -> None:
    result = ConstraintResult(name="n", kind="k", sentence="s", required="r", actual="a",
                              passed=False, breaking=["b", "a"])  # type: ignore[arg-type]
    assert result.breaking == ("a", "b")
    with pytest.raises(AttributeError, match="cannot assign"):
        result.passed = True  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Real London layers (stand-in minutes; the counters and boroughs are real)


def _per_borough(results: list[ConstraintResult]) -> list[ConstraintResult]:
    return [r for r in results if r.kind == "counter_per_borough"]


def _without(scenario: Scenario, counter: str) -> Scenario:
    data = scenario.model_dump(exclude={"source"})
    data["counters"]["open_24h"] = [c for c in data["counters"]["open_24h"] if c != counter]
    return Scenario.model_validate(data)


@pytest.mark.parametrize("name", ["london-2016-baseline", "london-2017-draft", "london-2017-final"])
def test_strategy_scenarios_keep_a_counter_per_borough(london_dir: Path, name: str) -> None:
    (result,) = _per_borough(evaluate(standin_analysis(real_scenario(name), london_dir)))
    assert result.passed, result.breaking
    assert result.actual == "32 of 32 boroughs have one"


def test_closing_a_boroughs_counter_breaks_it(london_dir: Path) -> None:
    scenario = _without(real_scenario("london-2017-final"), "dagenham")
    (result,) = _per_borough(evaluate(standin_analysis(scenario, london_dir)))
    assert not result.passed
    assert result.breaking == ("E09000002 Barking and Dagenham",)


# ---------------------------------------------------------------------------------------------
# check_scenarios: exit codes and text (the analysis is the stand-in until the fixtures land)


@pytest.fixture
def standin_analyse(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def fake(scenario: Scenario, data_dir: Path, *, cache_dir: Path, progress: bool) -> Analysis:
        calls.append(scenario.id)
        return standin_analysis(scenario, data_dir)

    monkeypatch.setattr("siting.analysis.analyse", fake, raising=False)
    return calls


def _write(tmp_path: Path, name: str, constraints: list[dict[str, Any]], **extra: Any) -> Path:
    path = tmp_path / f"{name}.yaml"
    body = {"extends": str(REPO / "scenarios" / "london-2017-final.yaml"), "id": name,
            "constraints": constraints, **extra}
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


FAR = {"kind": "no_ward_over", "name": "no-ward-over-60", "minutes": 60,
       "sentence": "No ward is more than an hour from a 24/7 counter."}


def test_check_scenarios_fails_then_passes(london_dir: Path, tmp_path: Path,
                                           standin_analyse: list[str]) -> None:
    # Stand-in minutes (10 + crow-fly m / 150): Biggin Hill 75.7, Harefield 71.3, Darwin 65.9
    broken = _write(tmp_path, "far", [FAR])
    code, text = check_scenarios([broken], london_dir, tmp_path / "cache")
    assert code == 1
    assert "FAIL    no-ward-over-60" in text
    assert ("breaking (3): E05000107 Biggin Hill, Bromley; E05000117 Darwin, Bromley; "
            "E05000330 Harefield, Hillingdon") in text
    fixed = _write(tmp_path, "far-fixed", [{**FAR, "exceptions": [
        "Biggin Hill", "Darwin", "Harefield, Hillingdon"]}])
    code, text = check_scenarios([fixed], london_dir, tmp_path / "cache")
    assert code == 0
    assert text.startswith(f"far-fixed ({fixed})\n")
    assert "1 of 1 constraints met" in text
    code, text = check_scenarios([fixed, broken], london_dir, tmp_path / "cache", as_json=True)
    data = json.loads(text)
    assert code == 1
    assert data["passed"] is False
    assert [(s["id"], s["passed"]) for s in data["scenarios"]] == [("far-fixed", True), ("far", False)]
    assert data["scenarios"][1]["results"][0]["breaking"][0] == "E05000107 Biggin Hill, Bromley"


def test_check_scenarios_validates_every_file_first(london_dir: Path, tmp_path: Path,
                                                     standin_analyse: list[str]) -> None:
    good = _write(tmp_path, "good", [])
    bad = _write(tmp_path, "bad", [{"kind": "no_ward_overr", "name": "x", "sentence": "y"}])
    with pytest.raises(ScenarioError, match=r"bad\.yaml: field `constraints\[0\]`: constraint kind "
                       r"'no_ward_overr' is not known\. Did you mean 'no_ward_over'"):
        check_scenarios([good, bad], london_dir, tmp_path / "cache")
    assert standin_analyse == []  # nothing was analysed before the bad file was found
    with pytest.raises(ScenarioError, match=r"nowhere\.yaml: scenario file not found"):
        check_scenarios([tmp_path / "nowhere.yaml"], london_dir, tmp_path / "cache")


def test_check_scenarios_end_to_end(london_final: Analysis, london_dir: Path, cache_dir: Path,
                                    tmp_path: Path) -> None:
    """The real analysis: a limit just under the three slowest wards' minutes fails naming
    them (exit 1); excepting them passes (exit 0). Hubs are off: only travel times matter."""
    wards = london_final.wards
    limit = round(float(wards["minutes_24h"].sort_values().iloc[-3]) - 0.01, 2)
    slow = wards[is_over(wards["minutes_24h"], limit)].sort_values("ward_code")
    assert len(slow) >= 3
    constraint = {**FAR, "minutes": limit}
    broken = _write(tmp_path, "slow", [constraint], hubs={"enabled": False})
    code, text = check_scenarios([broken], london_dir, cache_dir)
    assert code == 1
    for code_, name, borough in zip(slow["ward_code"], slow["ward_name"], slow["borough"],
                                    strict=True):
        assert f"{code_} {name}, {borough}" in text
    fixed = _write(tmp_path, "slow-fixed", [{**constraint, "exceptions": list(slow["ward_code"])}],
                   hubs={"enabled": False})
    code, text = check_scenarios([fixed], london_dir, cache_dir)
    assert code == 0, text
    assert f"PASS    {FAR['name']}" in text
