"""Tests of the counter-network optimiser: CP-SAT against enumeration, engine agreement, London."""

from __future__ import annotations

import functools
import itertools
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from siting import optimise
from siting._errors import InfeasibleError, ScenarioError
from siting.data import load_counters, load_lsoas
from siting.network.gtfs import busiest_date, read_feed
from siting.network.transit import TransitNetwork
from siting.network.walk import WalkModel
from siting.optimise import (
    STRATEGY_SWAPS,
    AlternativesPlan,
    CounterPlan,
    choose_one_per_group,
    max_cover,
    nearest_minutes,
    optimise_alternatives,
    optimise_counters,
    per_counter_times,
    population_over,
    site_times,
    strategy_choices,
)
from siting.scenario import load_scenario
from siting.travel import Targets, Window, profile_search, summarise

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
NAN = np.nan


# ---------------------------------------------------------------------------------------------
# Matrix-level models against enumeration


def _median_cost(minutes: np.ndarray, population: np.ndarray, chosen: list[int],
                 cap: float) -> float:
    nearest = nearest_minutes(minutes, chosen)
    return float(np.sum(np.minimum(np.nan_to_num(nearest, nan=cap), cap) * population))


def _choices(groups: list[str]) -> list[list[int]]:
    labels = sorted(set(groups))
    members = [[c for c, g in enumerate(groups) if g == label] for label in labels]
    return [list(pick) for pick in itertools.product(*members)]


def test_one_per_group_by_hand() -> None:
    # Boroughs A (a1, a2) and B (b1, b2); four origins of 100, 200, 300, 400 people.
    minutes = np.array([
        #  a1   a2   b1   b2
        [10., 50., 70., 60.],  # 100 people: near a1
        [50., 20., 40., 70.],  # 200 people: near a2
        [80., 40., 50., 30.],  # 300 people: near b2, 40 min from a2
        [70., 70., 20., NAN],  # 400 people: near b1, cannot reach b2
    ])
    population = np.array([100, 200, 300, 400])
    groups = ["A", "A", "B", "B"]
    # Over 45 minutes: (a1,b1) 300; (a1,b2) 600 (origin 2 at 30 ok, origin 3 over: 400+200);
    # (a2,b1) 100; (a2,b2) 500. The optimum is (a2, b1) with 100 people over 45.
    result = choose_one_per_group(minutes, population, groups, objective="over45")
    assert result.chosen == (1, 2)
    assert result.groups == ("A", "B")
    assert result.primary["status"] == "OPTIMAL"
    assert result.primary["objective"] == pytest.approx(100)
    assert population_over(minutes, population, [1, 2], 45) == 100
    # Mean minutes: (a1,b1) 10*100+40*200+50*300+20*400 = 32000; (a1,b2) 1000+10000+9000+
    # 28000 = 48000; (a2,b1) 5000+4000+12000+8000 = 29000; (a2,b2) 5000+4000+9000+28000 = 46000.
    median = choose_one_per_group(minutes, population, groups, objective="median")
    assert median.chosen == (1, 2)
    assert median.primary["objective"] == pytest.approx(29000 / 1000)
    assert median.tie_break is None


def test_tie_break_picks_the_lowest_mean_among_equal_optima() -> None:
    # Both choices leave nobody over 45; b2 is closer on average.
    minutes = np.array([[10., 30., 20.], [40., 25., 20.]])
    population = np.array([10, 10])
    result = choose_one_per_group(minutes, population, ["A", "B", "B"], objective="over45")
    assert result.primary["objective"] == 0
    assert result.chosen == (0, 2)
    assert result.tie_break is not None
    assert result.tie_break["objective"] == pytest.approx((10 + 20) * 10 / 20)


@st.composite
def _group_cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, list[str]]:
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    groups = [f"g{g}" for g, size in enumerate(sizes) for _ in range(size)]
    n_origins = draw(st.integers(1, 10))
    cell = st.one_of(st.integers(0, 90).map(float), st.just(NAN),
                     st.integers(0, 180).map(lambda v: v / 2))
    minutes = np.array(draw(st.lists(st.lists(cell, min_size=len(groups), max_size=len(groups)),
                                     min_size=n_origins, max_size=n_origins)), dtype=float)
    population = np.array(draw(st.lists(st.integers(0, 500), min_size=n_origins,
                                        max_size=n_origins)))
    order = draw(st.permutations(list(range(len(groups)))))
    return minutes[:, order], population, [groups[c] for c in order]


@settings(max_examples=60, deadline=None)
@given(case=_group_cases(), objective=st.sampled_from(["over45", "over60", "median"]))
def test_one_per_group_equals_enumeration(case: tuple[np.ndarray, np.ndarray, list[str]],
                                          objective: str) -> None:
    minutes, population, groups = case
    cap = 80.0
    result = choose_one_per_group(minutes, population, groups, objective=objective,
                                  cap_minutes=cap)
    chosen = list(result.chosen)
    assert sorted(groups[c] for c in chosen) == sorted(set(groups))
    every = _choices(groups)
    if objective == "median":
        best = min(_median_cost(minutes, population, pick, cap) for pick in every)
        assert _median_cost(minutes, population, chosen, cap) == pytest.approx(best)
        assert result.primary["objective"] * max(population.sum(), 1) == pytest.approx(best)
        return
    threshold = float(objective.removeprefix("over"))
    overs = {tuple(p): population_over(minutes, population, p, threshold) for p in every}
    best = min(overs.values())
    assert population_over(minutes, population, chosen, threshold) == best
    assert result.primary["objective"] == pytest.approx(best)
    # the tie-break: the lowest mean minutes among the choices with the fewest people over T
    ties = [list(p) for p, v in overs.items() if v == best]
    best_mean = min(_median_cost(minutes, population, p, cap) for p in ties)
    assert _median_cost(minutes, population, chosen, cap) == pytest.approx(best_mean)


def test_max_cover_by_hand() -> None:
    minutes = np.array([
        # s0   s1   s2
        [30., 60., 60.],   # 100: covered by s0
        [60., 40., 60.],   # 200: covered by s1
        [60., 44., 45.],   # 300: covered by s1 or s2
        [60., 60., 20.],   # 400: covered by s2 (already covered by the base)
        [NAN, NAN, NAN],   # 500: nobody reaches it
    ])
    population = np.array([100, 200, 300, 400, 500])
    covered = np.array([False, False, False, True, False])
    one = max_cover(minutes, population, 1, threshold=45, covered=covered)
    assert one.chosen == (1,)
    assert one.gained == 500
    two = max_cover(minutes, population, 2, threshold=45, covered=covered)
    assert two.chosen == (0, 1)
    assert two.gained == 600
    # k = 3: nobody more can be reached, so the useless third site is left out.
    three = max_cover(minutes, population, 3, threshold=45, covered=covered)
    assert three.chosen == (0, 1)
    assert three.gained == 600
    assert three.figures["status"] == "OPTIMAL"


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_max_cover_equals_enumeration(data: st.DataObject) -> None:
    n_sites = data.draw(st.integers(1, 6))
    n_origins = data.draw(st.integers(1, 10))
    cell = st.one_of(st.integers(0, 90).map(float), st.just(NAN))
    minutes = np.array(data.draw(st.lists(st.lists(cell, min_size=n_sites, max_size=n_sites),
                                          min_size=n_origins, max_size=n_origins)))
    population = np.array(data.draw(st.lists(st.integers(0, 500), min_size=n_origins,
                                             max_size=n_origins)))
    covered = np.array(data.draw(st.lists(st.booleans(), min_size=n_origins,
                                          max_size=n_origins)))
    k = data.draw(st.integers(1, min(3, n_sites)))
    threshold = data.draw(st.sampled_from([30, 45, 60]))
    result = max_cover(minutes, population, k, threshold=threshold, covered=covered)

    def gain(pick: tuple[int, ...]) -> int:
        if not pick:
            return 0
        hit = (minutes[:, list(pick)] <= threshold).any(axis=1) & ~covered
        return int(population[hit].sum())

    best = max(gain(p) for r in range(k + 1) for p in itertools.combinations(range(n_sites), r))
    assert result.gained == best == gain(result.chosen)
    assert len(result.chosen) <= k
    # fewest sites among the best
    fewest = min(r for r in range(k + 1) for p in itertools.combinations(range(n_sites), r)
                 if gain(p) == best)
    assert len(result.chosen) == fewest


def test_matrix_model_errors() -> None:
    minutes = np.zeros((2, 2))
    with pytest.raises(ScenarioError, match="objective 'over' is not known"):
        choose_one_per_group(minutes, np.ones(2), ["A", "B"], objective="over")
    with pytest.raises(ScenarioError, match="2 candidate columns but 1 group labels"):
        choose_one_per_group(minutes, np.ones(2), ["A"])
    with pytest.raises(ScenarioError, match="negative population"):
        choose_one_per_group(minutes, np.array([1, -1]), ["A", "B"])
    with pytest.raises(ScenarioError, match="k = 3 but there are 2 candidate sites"):
        max_cover(minutes, np.ones(2), 3, threshold=45)


def test_nearest_minutes_ignores_unreachable_columns() -> None:
    minutes = np.array([[NAN, 20.0, 30.0], [NAN, NAN, NAN]])
    np.testing.assert_array_equal(nearest_minutes(minutes, [0, 2]), [30.0, NAN])
    np.testing.assert_array_equal(nearest_minutes(minutes, []), [NAN, NAN])
    assert population_over(minutes, np.array([5, 7]), [1], 25) == 7


# ---------------------------------------------------------------------------------------------
# Strategy facts


def test_strategy_choices_match_the_scenario_files() -> None:
    choices = strategy_choices()
    for name, file in (("baseline", "london-2016-baseline.yaml"),
                       ("draft", "london-2017-draft.yaml"),
                       ("final", "london-2017-final.yaml")):
        raw = yaml.safe_load((SCENARIOS / file).read_text(encoding="utf-8"))
        assert choices[name] == tuple(sorted(raw["counters"]["open_24h"])), name
    assert len(STRATEGY_SWAPS) == 5
    baseline = yaml.safe_load((SCENARIOS / "london-2016-baseline.yaml").read_text())["counters"]
    open_2017 = set(baseline["open_24h"]) | set(baseline["open_daytime"])
    registry = set(load_counters()["counter_id"])
    assert registry - open_2017 == set(optimise.NAMED_ONLY_IN_FINAL)
    assert len(open_2017) == 73


def test_unknown_candidate_is_a_scenario_error(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "london-2017-final.yaml")
    with pytest.raises(ScenarioError, match="unknown counter id 'romfrod'.*'romford'"):
        optimise_counters(scenario, tmp_path, cache_dir=tmp_path, candidates=["romfrod"])
    with pytest.raises(ScenarioError, match="unknown counter id 'hayse'"):
        per_counter_times(scenario, tmp_path, cache_dir=tmp_path, counter_ids=["hayse"])
    with pytest.raises(ScenarioError, match="threshold 0 minutes"):
        optimise_alternatives(scenario, tmp_path, cache_dir=tmp_path, threshold=0)
    with pytest.raises(ScenarioError, match="objective 'over-45' is not known"):
        optimise_counters(scenario, tmp_path, cache_dir=tmp_path,
                          objective="over-45")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# The per-site matrix agrees with the travel engine (real Newport feed)


@functools.cache
def _newport(feeds_dir: Path) -> TransitNetwork:
    feed = read_feed(feeds_dir / "newport-20230613_gtfs.zip")
    return TransitNetwork.build(feed, busiest_date(feed), 7 * 3600, 11 * 3600, WalkModel(),
                                min_change_seconds=60, cache_key="newport-test")


def test_site_times_match_the_engine_and_cache(feeds_dir: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    network = _newport(feeds_dir)
    rng = np.random.default_rng(3)
    busy = np.argsort(-np.bincount(network.dep_stop, minlength=network.n_stops),
                      kind="stable")[:40]
    site_xy = network.stop_xy[busy[:5]] + 30.0
    site_ids = [f"S{i}" for i in range(5)]
    origin_xy = network.stop_xy[rng.integers(0, network.n_stops, 30)] + rng.normal(0, 500, (30, 2))
    origin_ids = [f"O{i:02d}" for i in range(30)]
    window = Window(7 * 3600, 8 * 3600, 120)
    got = site_times(network, origin_ids, origin_xy, site_ids, site_xy, window,
                     max_access_minutes=10.0, cache_dir=tmp_path)
    assert got.minutes.shape == (30, 5)
    for c in range(5):
        targets = Targets.from_arrays([site_ids[c]], site_xy[c:c + 1])
        table = profile_search(network, targets, max_access_minutes=10.0).evaluate(
            origin_xy, origin_ids, window)
        want = summarise(table, (50,))["minutes_p50"].to_numpy()
        np.testing.assert_array_equal(got.minutes[:, c], want)
    assert np.isfinite(got.minutes).sum() > 100
    # The min over sites of the per-site medians is never below the median of the minimum.
    everyone = Targets.from_arrays(site_ids, site_xy)
    table = profile_search(network, everyone, max_access_minutes=10.0).evaluate(
        origin_xy, origin_ids, window)
    exact = summarise(table, (50,))["minutes_p50"].to_numpy()
    nearest = nearest_minutes(got.minutes, range(5))
    reached = ~np.isnan(nearest)
    assert (nearest[reached] >= exact[reached] - 1e-9).all()
    # A second call, in another order and with a subset, is served from the cache.
    monkeypatch.setattr(optimise.matrix, "_compute_columns", _no_compute)
    again = site_times(network, origin_ids, origin_xy, site_ids[::-1][:3], site_xy[::-1][:3],
                       window, max_access_minutes=10.0, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.minutes, got.minutes[:, [4, 3, 2]])
    long = again.to_long()
    assert list(long.columns) == ["origin_id", "site_id", "minutes"]
    assert long["origin_id"].is_monotonic_increasing
    # A moved site is recomputed, not taken from the cache.
    with pytest.raises(AssertionError, match="computed"):
        site_times(network, origin_ids, origin_xy, ["S0"], site_xy[:1] + 1.0, window,
                   max_access_minutes=10.0, cache_dir=tmp_path)


def _no_compute(*args: object, **kwargs: object) -> np.ndarray:
    raise AssertionError("computed instead of read from the cache")


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 200), st.floats(0, 100), st.integers(0, 2**32 - 1))
def test_matrix_percentile_selects_what_a_sort_gives(n_dep: int, p: float, seed: int) -> None:
    # The matrix picks the two order statistics by selection; numpy's linear percentile of
    # the same minutes is the reference.
    rng = np.random.default_rng(seed)
    departures = np.sort(rng.integers(0, 40_000, n_dep))
    served = departures + rng.integers(0, 20_000, (6, n_dep))
    keys = served * optimise.matrix._SLOTS + rng.integers(0, 40, (6, n_dep))
    keys[0] = (departures + 600) * optimise.matrix._SLOTS  # every minute the same
    got = np.empty(6)
    optimise.matrix._percentile_of_keys(keys, departures, p, got)
    minutes = (keys // optimise.matrix._SLOTS - departures) / 60.0
    np.testing.assert_allclose(got, np.percentile(minutes, p, axis=1), rtol=0, atol=1e-9)


def test_site_times_errors(feeds_dir: Path) -> None:
    network = _newport(feeds_dir)
    xy = network.stop_xy[:2]
    with pytest.raises(ScenarioError, match="outside the network's range"):
        site_times(network, ["a", "b"], xy, ["s"], xy[:1], Window(6 * 3600, 8 * 3600),
                   max_access_minutes=10)
    with pytest.raises(ScenarioError, match="site ids s are repeated"):
        site_times(network, ["a", "b"], xy, ["s", "s"], xy, Window(7 * 3600, 8 * 3600),
                   max_access_minutes=10)
    with pytest.raises(ScenarioError, match="3 origin ids for 2 points"):
        site_times(network, ["a", "b", "c"], xy, ["s"], xy[:1], Window(7 * 3600, 8 * 3600),
                   max_access_minutes=10)


# ---------------------------------------------------------------------------------------------
# London (a short window and a few boroughs keep it to seconds)

FEW_BOROUGHS = {"E09000003", "E09000010", "E09000017"}  # Barnet, Enfield, Hillingdon


@pytest.fixture(scope="module")
def quick_final(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """The final scenario over a 15-minute window (trips up to 75 minutes), and a cache dir."""
    scenario = load_scenario(SCENARIOS / "london-2017-final.yaml")
    transit = scenario.transit.model_copy(update={
        "departure_window": "08:00-08:15", "step_minutes": 5, "max_trip_minutes": 75})
    return scenario.model_copy(update={"transit": transit}), tmp_path_factory.mktemp("cache")


@pytest.mark.london
def test_london_optimum_beats_the_final_strategy(london_dir: Path, quick_final: tuple,
                                                 tmp_path: Path) -> None:
    scenario, cache = quick_final
    registry = load_counters()
    final = strategy_choices()["final"]
    borough_of = dict(zip(registry["counter_id"], registry["borough_gss"], strict=True))
    free = sorted(c for c in registry["counter_id"] if borough_of[c] in FEW_BOROUGHS)
    candidates = sorted({c for c in final if borough_of[c] not in FEW_BOROUGHS} | set(free))
    references = {"final": final, "baseline": strategy_choices()["baseline"]}
    plan = optimise_counters(scenario, london_dir, cache_dir=cache, objective="over45",
                             candidates=candidates, references=references, exact=False)
    assert isinstance(plan, CounterPlan)
    assert plan.figures["primary"]["status"] == "OPTIMAL"
    totals = plan.totals.set_index("plan")
    assert totals.loc["chosen", "pop_over_45"] <= totals.loc["final", "pop_over_45"]
    assert totals.loc["chosen", "pop_over_45"] == plan.figures["primary"]["objective"]
    chosen = set(plan.plans["chosen"])
    assert {c for c in chosen if borough_of[c] not in FEW_BOROUGHS} == \
        {c for c in final if borough_of[c] not in FEW_BOROUGHS}
    assert len(chosen) == 32
    table = plan.table.set_index("borough_code")
    assert len(table) == 33  # 32 boroughs and the City
    assert table.loc["E09000001", "chosen"] == ""
    assert table["pop_over_45_chosen"].sum() == totals.loc["chosen", "pop_over_45"]
    # Switching a borough whose counter the optimum keeps changes nothing.
    assert (table.loc[~table.index.isin(FEW_BOROUGHS), "switch_delta_over_45"] == 0).all()
    # The five swaps, costed on the matrix: recompute Uxbridge -> Hayes from the long table.
    assert plan.swaps[["from_id", "to_id", "kept_in_final"]].values.tolist() == \
        [list(s) for s in STRATEGY_SWAPS]
    ids = sorted(set(final) | set(references["baseline"]))
    wide = per_counter_times(scenario, london_dir, cache_dir=cache, counter_ids=ids).pivot(
        index="lsoa_code", columns="counter_id", values="minutes")
    population = load_lsoas(london_dir).set_index("lsoa_code")["population"].reindex(
        wide.index).to_numpy()
    baseline = list(references["baseline"])
    swapped = ["hayes" if c == "uxbridge" else c for c in baseline]
    cols = {c: j for j, c in enumerate(wide.columns)}
    delta = (population_over(wide.to_numpy(), population, [cols[c] for c in swapped], 45)
             - population_over(wide.to_numpy(), population, [cols[c] for c in baseline], 45))
    row = plan.swaps.set_index("from_id").loc["uxbridge"]
    assert row["delta_over_45_vs_baseline"] == delta
    assert "## The draft's five swaps" in plan.to_markdown()
    # Outputs are byte-identical from run to run.
    first = [p.read_bytes() for p in optimise.write_outputs(plan, tmp_path / "a")]
    again = optimise_counters(scenario, london_dir, cache_dir=cache, objective="over45",
                              candidates=candidates, references=references, exact=False)
    assert [p.read_bytes() for p in optimise.write_outputs(again, tmp_path / "b")] == first
    assert "# One 24/7 front counter per borough" in plan.to_markdown()


@pytest.mark.london
def test_london_exact_figures_are_the_runs(london_dir: Path, quick_final: tuple) -> None:
    """The optimiser's exact minutes for a plan are `siting run`'s 24/7 minutes for it (the
    same phase draws and pooling), whichever plan shares the pass."""
    from siting.analysis import lsoa_travel_times
    from siting.data import scenario_counters
    from siting.optimise.counters import _exact_over

    scenario, cache = quick_final
    network = optimise.scenario_network(scenario, london_dir, cache)
    lsoas = load_lsoas(london_dir, scenario.data)
    final = tuple(sorted(strategy_choices()["final"]))
    baseline = tuple(sorted(strategy_choices()["baseline"]))
    got = _exact_over(network, [baseline, final, final], load_counters(), lsoas, scenario)
    assert set(got) == {baseline, final}
    run = lsoa_travel_times(scenario, network, scenario_counters(scenario), lsoas)
    assert network.n_phased_entries > 0  # pooled over phase draws
    assert scenario.transit.draws > 1
    np.testing.assert_array_equal(got[final], run["minutes_24h"].to_numpy())
    alone = _exact_over(network, [final], load_counters(), lsoas, scenario)
    np.testing.assert_array_equal(alone[final], got[final])
    assert not np.array_equal(got[baseline], got[final])
    # The command's exact columns are these minutes: totals and the swaps' deltas.
    registry = load_counters()
    borough_of = dict(zip(registry["counter_id"], registry["borough_gss"], strict=True))
    candidates = sorted({c for c in final if borough_of[c] not in FEW_BOROUGHS}
                        | {c for c in registry["counter_id"] if borough_of[c] in FEW_BOROUGHS})
    plan = optimise_counters(scenario, london_dir, cache_dir=cache, candidates=candidates,
                             references={"final": final, "baseline": baseline}, exact=True)
    population = lsoas["population"].to_numpy()

    def over(minutes: np.ndarray, t: int) -> int:
        return int(population[np.isnan(minutes) | (minutes > t)].sum())

    totals = plan.totals.set_index("plan")
    assert totals.loc["final", "exact_pop_over_45"] == over(run["minutes_24h"].to_numpy(), 45)
    assert totals.loc["baseline", "exact_pop_over_60"] == over(got[baseline], 60)
    hayes = tuple(sorted("hayes" if c == "uxbridge" else c for c in baseline))
    swapped = _exact_over(network, [hayes], registry, lsoas, scenario)[hayes]
    row = plan.swaps.set_index("from_id").loc["uxbridge"]
    assert row["exact_delta_over_45_vs_baseline"] == over(swapped, 45) - over(got[baseline], 45)


@pytest.mark.london
def test_london_per_counter_times(london_dir: Path, quick_final: tuple) -> None:
    scenario, cache = quick_final
    ids = ["hayes", "uxbridge"]
    table = per_counter_times(scenario, london_dir, cache_dir=cache, counter_ids=ids)
    lsoas = load_lsoas(london_dir)
    assert list(table.columns) == ["lsoa_code", "counter_id", "minutes"]
    assert len(table) == 2 * len(lsoas)
    wide = table.pivot(index="lsoa_code", columns="counter_id", values="minutes")
    # Uxbridge is the nearer of the two for the Uxbridge LSOAs, Hayes for the Hayes ones.
    assert (wide["uxbridge"] < wide["hayes"]).sum() > 20
    assert (wide["hayes"] < wide["uxbridge"]).sum() > 20


@pytest.mark.london
def test_london_missing_borough_is_infeasible(london_dir: Path, quick_final: tuple) -> None:
    scenario, cache = quick_final
    final = strategy_choices()["final"]
    with pytest.raises(InfeasibleError, match=r"no candidate counter in Havering .*romford"):
        optimise_counters(scenario, london_dir, cache_dir=cache,
                          candidates=[c for c in final if c != "romford"])


@pytest.mark.london
def test_london_alternatives(london_dir: Path, quick_final: tuple, tmp_path: Path) -> None:
    scenario, cache = quick_final
    candidates = ["barnet", "enfield", "uxbridge", "pinner", "ruislip"]
    plan = optimise_alternatives(scenario, london_dir, cache_dir=cache, k=3, threshold=45,
                                 candidates=candidates)
    assert isinstance(plan, AlternativesPlan)
    gained = plan.table["people_gained"].tolist()
    assert gained == sorted(gained)
    assert gained[0] == plan.candidates["alone"].max()
    assert (plan.table["n_sites"] <= plan.table["k"]).all()
    assert (plan.table["pop_over_45"] == plan.base_pop_over - plan.table["people_gained"]).all()
    names = sorted(p.name for p in optimise.write_outputs(plan, tmp_path))
    assert names == ["optimise-alternatives-45min-candidates.csv",
                     "optimise-alternatives-45min.csv", "optimise-alternatives-45min.md",
                     "optimise-alternatives-45min.svg"]
    assert (tmp_path / "optimise-alternatives-45min.svg").read_text().startswith("<svg")


# ---------------------------------------------------------------------------------------------
# Output files and the progress bar


def _small_plan() -> AlternativesPlan:
    """A hand-made two-row alternatives plan (k = 1, 2) with two candidate sites."""
    table = pd.DataFrame({"k": [1, 2], "sites": ["a", "a;b"], "names": ["A", "A;B"],
                          "n_sites": [1, 2], "people_gained": [300, 450], "pop_over_45": [700, 550],
                          "status": ["OPTIMAL", "OPTIMAL"], "gap": [0.0, 0.0]})
    candidates = pd.DataFrame({"site_id": ["a", "b"], "name": ["A", "B"], "kind": "counter",
                               "status": "closed", "alone": [300, 150]})
    return AlternativesPlan(scenario_id="hand", threshold=45, base=("x",), total_population=1000,
                            base_pop_over=1000, table=table, candidates=candidates, figures={})


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_outputs_get_ordinary_file_modes(tmp_path: Path, umask: int, mode: int) -> None:
    # `siting run` writes with open(), so its files get 0o666 & ~umask; so must the optimiser's
    # (tempfile.mkstemp alone would leave 0o600).
    old = os.umask(umask)
    try:
        written = optimise.write_outputs(_small_plan(), tmp_path)
    finally:
        os.umask(old)
    assert len(written) == 4
    assert {stat.S_IMODE(p.stat().st_mode) for p in written} == {mode}
    report = next(p for p in written if p.suffix == ".md").read_text(encoding="utf-8")
    assert "| 2 | 2 | 450 | 550 | A; B |" in report


def test_progress_bar_only_on_a_terminal(feeds_dir: Path, capfd: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    network = _newport(feeds_dir)
    window = Window(7 * 3600, 7 * 3600 + 600, 300)
    xy = network.stop_xy[:3] + 20.0
    monkeypatch.delenv("CI", raising=False)
    site_times(network, ["o1", "o2", "o3"], xy, ["s1", "s2"], xy[:2], window,
               max_access_minutes=10.0, progress=True, chunk=1)
    assert capfd.readouterr().err == ""  # stderr is a pipe here: no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert optimise.matrix._Bar(True, 2, "x").enabled
    monkeypatch.setenv("CI", "true")
    assert not optimise.matrix._Bar(True, 2, "x").enabled


def test_default_candidates_are_the_commands() -> None:
    # The final strategy opens 4 counters the 2016 list did not have (Church Street, Grenfell,
    # Pinner, Ruislip): 73 + 4 = 77 candidates. The 2016 baseline opens none of them: 73.
    final = optimise.default_candidates(load_scenario(SCENARIOS / "london-2017-final.yaml"))
    baseline = optimise.default_candidates(load_scenario(SCENARIOS / "london-2016-baseline.yaml"))
    assert len(final) == 77
    assert set(final) - set(baseline) == set(optimise.NAMED_ONLY_IN_FINAL)
    assert len(baseline) == 73
    assert final == sorted(final)


def test_interrupted_matrix_drops_the_sites_not_started(feeds_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C while the site columns are computed: the scans under way finish, the rest never
    # start (the pool is not left to work through every queued pair of sites).
    network = _newport(feeds_dir)
    window = Window(7 * 3600, 7 * 3600 + 600, 300)
    xy = network.stop_xy[:24] + 20.0
    scanned = []
    real = optimise.matrix._site_columns

    def counted(*args: object) -> list[np.ndarray]:
        scanned.append(1)
        return real(*args)  # type: ignore[arg-type]

    def interrupt(j: int, column: np.ndarray) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(optimise.matrix, "_site_columns", counted)
    with pytest.raises(KeyboardInterrupt):
        optimise.matrix._compute_columns(network, xy, xy, window, 600, 50.0, interrupt)
    # 24 sites are 12 scans of two.
    assert 1 <= len(scanned) <= 1 + 2 * optimise.matrix.get_num_threads() < 12
