"""DWO hub siting: hand-worked cases, enumeration with hypothesis, spopt on London, Wood Green."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siting._crs import BNG, WGS84
from siting._errors import DataError, InfeasibleError, ScenarioError
from siting.candidates import load_candidates
from siting.hub_matrix import bng_frame
from siting.hubs import (
    HubSiting,
    HubSolution,
    InfeasibilityReport,
    nearest_sites,
    walk_matrix,
)
from siting.network.walk import OsmWalkNetwork, WalkModel
from siting.walk_comparison import WalkComparison, compare_walk_models

# ---------------------------------------------------------------------------- hand-worked case
#
# Four wards, five candidate sites; walk minutes (limit 20; blank = beyond the limit):
#
#            A (cost 1)  B (cost 1)  C (cost 2)  D (cost 3)  E (cost 1)
#     W1         5                       8          15
#     W2        12                       6          14          3
#     W3                     4          10           9          7
#     W4                     2                      11
#     W5 (in the report test only)                  26.4
#
# W4 needs B or D. Without B, D (3) is needed, and W1 then costs nothing more: {D} = 3.
# With B (1), W1 needs A, C or D: {A, B} = 2 covers W1, W2 (A) and W3, W4 (B). No other pair
# costs 2 ({B, E} misses W1; {B, C} = 3), so {A, B} is the unique optimum: cost 2, walks
# W1 5 + W2 12 + W3 4 + W4 2 = 23 minutes.
#
# Capacity: A holds 3 officers (one ward: 2 DWOs + 1 PCSO), so A cannot take both W1 and W2
# and cost 2 is impossible. Cost 3: {A, B, E} (W1->A 5, W2->E 3, W3->B 4, W4->B 2 = 14),
# {B, C} (W1 8 + W2 6 + W3 4 + W4 2 = 20), {D} (15 + 14 + 9 + 11 = 49). The tie-break picks
# {A, B, E} with 14 minutes.
#
# max_hubs = 1: only {D} covers everything with one hub, so the answer is {D}, cost 3.

MINUTES = {
    ("W1", "A"): 5, ("W1", "C"): 8, ("W1", "D"): 15,
    ("W2", "A"): 12, ("W2", "C"): 6, ("W2", "D"): 14, ("W2", "E"): 3,
    ("W3", "B"): 4, ("W3", "C"): 10, ("W3", "D"): 9, ("W3", "E"): 7,
    ("W4", "B"): 2, ("W4", "D"): 11,
}
COSTS = {"A": 1.0, "B": 1.0, "C": 2.0, "D": 3.0, "E": 1.0}
WARDS = ["W1", "W2", "W3", "W4"]


def hand_matrix(extra: dict[tuple[str, str], float] | None = None) -> pd.DataFrame:
    pairs = {**MINUTES, **(extra or {})}
    return pd.DataFrame([(w, s, float(m)) for (w, s), m in pairs.items()], columns=["ward_code", "site_id", "minutes"])


def hand_sites(capacity: dict[str, float] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"site_id": list(COSTS), "cost": list(COSTS.values()), "name": [f"Site {s}" for s in COSTS]})
    frame["capacity"] = [float((capacity or {}).get(s, np.nan)) for s in COSTS]
    return frame


def test_hand_case_unique_optimum() -> None:
    solution = HubSiting.from_cost_matrix(hand_matrix(), hand_sites(), WARDS).solve(time_limit_s=5)
    assert isinstance(solution, HubSolution)
    assert solution.status == "OPTIMAL"
    assert solution.gap == 0.0
    assert solution.objective == 2.0
    assert list(solution.open_sites["site_id"]) == ["A", "B"]
    assert dict(zip(solution.assignment["ward_code"], solution.assignment["site_id"], strict=True)) == {
        "W1": "A", "W2": "A", "W3": "B", "W4": "B"}
    assert solution.total_minutes == 23.0
    assert solution.tie_break_status == "OPTIMAL"
    assert solution.max_minutes == 12.0
    assert list(solution.open_sites["wards_served"]) == [2, 2]
    assert list(solution.open_sites["officers"]) == [6, 6]
    assert solution.figures()["hubs"] == 2
    assert solution.explain_uncovered() == ""


def test_capacity_changes_the_answer() -> None:
    model = HubSiting.from_cost_matrix(hand_matrix(), hand_sites(capacity={"A": 3}), WARDS)
    solution = model.solve(time_limit_s=5)
    assert solution.objective == 3.0
    assert list(solution.open_sites["site_id"]) == ["A", "B", "E"]
    assert dict(zip(solution.assignment["ward_code"], solution.assignment["site_id"], strict=True)) == {
        "W1": "A", "W2": "E", "W3": "B", "W4": "B"}
    assert solution.total_minutes == 14.0
    assert solution.tie_break_status == "OPTIMAL"


def test_wards_per_hub_capacity() -> None:
    # One ward per hub: four hubs; W4 -> B, so W3 -> C or E, and the cheapest is {A, B, C, E} = 5.
    solution = HubSiting.from_cost_matrix(hand_matrix(), hand_sites(), WARDS, capacity_wards=1).solve(time_limit_s=5)
    assert solution.objective == 5.0
    assert solution.n_hubs == 4
    assert solution.assignment["site_id"].is_unique


def test_max_hubs_changes_the_answer() -> None:
    solution = HubSiting.from_cost_matrix(hand_matrix(), hand_sites(), WARDS, max_hubs=1).solve(time_limit_s=5)
    assert list(solution.open_sites["site_id"]) == ["D"]
    assert solution.objective == 3.0
    assert solution.total_minutes == 49.0


def test_must_open_and_forbidden() -> None:
    solution = HubSiting.from_cost_matrix(hand_matrix(), hand_sites(), WARDS, must_open=["C"],
                                          forbidden=["A"]).solve(time_limit_s=5)
    # C is open anyway (covers W1-W3); W4 still needs B: {B, C} = 3, W3 -> B (4 < 10).
    assert list(solution.open_sites["site_id"]) == ["B", "C"]
    assert solution.total_minutes == 8 + 6 + 4 + 2


def test_uncovered_ward_raises_with_explanation() -> None:
    matrix = hand_matrix({("W5", "D"): 26.4})
    wards = pd.DataFrame({"ward_code": [*WARDS, "W5"], "ward_name": ["One", "Two", "Three", "Four", "Five"]})
    model = HubSiting.from_cost_matrix(matrix, hand_sites(), wards, uncovered="raise")
    with pytest.raises(InfeasibleError, match=(
            r"1 ward has no candidate site within a 20-minute walk:\n"
            r"  - Five \(W5\): nearest candidate Site D \(D\) is 26\.40 min away; a limit of 26\.4 min would cover it\n"
            r"Fix: add a candidate site in or near this ward \(hubs\.candidate_csv\), raise "
            r"hubs\.walk_limit_minutes to 26\.4, or leave it out")) as info:
        model.solve(time_limit_s=5)
    report = info.value.report  # type: ignore[attr-defined]
    assert isinstance(report, InfeasibilityReport)
    assert report.reason == "no_candidate_within_limit"
    assert report.suggested_limit_minutes == 26.4
    assert report.uncovered[["ward_code", "nearest_site_id", "nearest_minutes"]].values.tolist() == [["W5", "D", 26.4]]


def test_uncovered_ward_reported_and_rest_solved() -> None:
    model = HubSiting.from_cost_matrix(hand_matrix(), hand_sites(), [*WARDS, "W5"],
                                       nearest=pd.DataFrame({"ward_code": ["W5"], "site_id": ["E"], "minutes": [31.0]}))
    solution = model.solve(time_limit_s=5)
    assert list(solution.open_sites["site_id"]) == ["A", "B"]
    assert solution.uncovered["ward_code"].tolist() == ["W5"]
    assert "W5): nearest candidate Site E (E) is 31.00 min away" in solution.explain_uncovered()
    assert solution.figures()["wards_uncovered"] == ["W5"]


def test_raising_the_limit_covers_the_ward() -> None:
    matrix = hand_matrix({("W5", "D"): 26.4})
    solution = HubSiting.from_cost_matrix(matrix, hand_sites(), [*WARDS, "W5"], limit_minutes=26.4,
                                          uncovered="raise").solve(time_limit_s=5)
    assert "D" in set(solution.open_sites["site_id"])
    assert solution.uncovered.empty


def test_max_hubs_infeasible_says_how_many_are_needed() -> None:
    model = HubSiting.from_cost_matrix(hand_matrix(), hand_sites(), WARDS, max_hubs=1, forbidden=["D"])
    with pytest.raises(InfeasibleError, match=r"max_hubs allows 1 hub, but covering every ward within a "
                                              r"20-minute walk needs 2 hubs\. Fix: raise max_hubs to 2") as info:
        model.solve(time_limit_s=5)
    report = info.value.report  # type: ignore[attr-defined]
    assert (report.reason, report.min_hubs_needed, report.min_hubs_proven) == ("max_hubs", 2, True)


def test_max_hubs_with_capacity_infeasible() -> None:
    model = HubSiting.from_cost_matrix(hand_matrix(), hand_sites(capacity={"A": 3, "C": 3, "D": 3}), WARDS,
                                       max_hubs=2)
    # A, C and D hold one ward each. Two hubs: W4 needs B or D; {B, X} leaves W1 and W2 both to
    # X in {A, C, D}; {D, X} leaves three wards to X, and no X covers W1, W2 and W3 but C. So
    # three hubs are needed, e.g. {A, B, E}; without capacities D alone covers every ward.
    with pytest.raises(InfeasibleError, match=r"needs 3 hubs with the capacities \(1 without them\)"):
        model.solve(time_limit_s=5)


def test_capacity_infeasible_names_wards_that_fit_nowhere() -> None:
    tiny = dict.fromkeys(COSTS, 2.0)  # 2 officers: not even one ward's 3
    model = HubSiting.from_cost_matrix(hand_matrix(), hand_sites(capacity=tiny), WARDS)
    with pytest.raises(InfeasibleError, match=r"because of hub capacity.*Wards that fit in no hub within "
                                              r"reach: W1, W2, W3, W4\. Without capacities 1 hub would do"):
        model.solve(time_limit_s=5)


def test_must_open_beyond_max_hubs() -> None:
    model = HubSiting.from_cost_matrix(hand_matrix(), hand_sites(), WARDS, max_hubs=1, must_open=["A", "B"])
    with pytest.raises(InfeasibleError, match=r"must_open lists 2 sites but hubs\.max_hubs allows only 1"):
        model.solve(time_limit_s=5)


def test_input_errors() -> None:
    with pytest.raises(DataError, match=r"site_id\(s\) not among the sites: Z"):
        HubSiting.from_cost_matrix(hand_matrix({("W1", "Z"): 3.0}), hand_sites(), WARDS)
    with pytest.raises(DataError, match=r"ward W1, site A: minutes nan is not a number"):
        HubSiting.from_cost_matrix(hand_matrix({("W1", "A"): math.nan}), hand_sites(), WARDS)
    with pytest.raises(DataError, match=r"needs columns ward_code, site_id, minutes"):
        HubSiting.from_cost_matrix(hand_matrix().rename(columns={"minutes": "mins"}), hand_sites(), WARDS)
    with pytest.raises(ScenarioError, match=r"hubs\.must_open: unknown site id\(s\) Q"):
        HubSiting.from_cost_matrix(hand_matrix(), hand_sites(), WARDS, must_open=["Q"])
    with pytest.raises(ScenarioError, match=r"both list A"):
        HubSiting.from_cost_matrix(hand_matrix(), hand_sites(), WARDS, must_open=["A"], forbidden=["A"])
    with pytest.raises(DataError, match=r"site C has cost -1"):
        HubSiting.from_cost_matrix(hand_matrix(), hand_sites().assign(cost=[1, 1, -1, 3, 1]), WARDS)
    with pytest.raises(DataError, match=r"duplicate ward_code W1"):
        HubSiting.from_cost_matrix(hand_matrix(), hand_sites(), ["W1", "W1"])


def test_fractional_costs_are_exact() -> None:
    sites = hand_sites().assign(cost=[0.35, 0.35, 0.69, 1.05, 0.35])
    solution = HubSiting.from_cost_matrix(hand_matrix(), sites, WARDS).solve(time_limit_s=5)
    # {A, B} = 0.70 beats {C, B} = 1.04 and {D} = 1.05 by a hundredth or more.
    assert solution.objective == pytest.approx(0.70)
    assert list(solution.open_sites["site_id"]) == ["A", "B"]


# ---------------------------------------------------------------------------- enumeration


@st.composite
def instances(draw: st.DrawFn, *, capacity: bool = False) -> dict:
    n_sites = draw(st.integers(1, 8))
    n_wards = draw(st.integers(1, 8))
    cells = draw(st.lists(st.one_of(st.none(), st.integers(0, 100).map(lambda q: q / 4)),
                          min_size=n_sites * n_wards, max_size=n_sites * n_wards))
    costs = draw(st.lists(st.integers(1, 8).map(lambda c: c / 2), min_size=n_sites, max_size=n_sites))
    caps = (draw(st.lists(st.one_of(st.none(), st.sampled_from([3.0, 6.0, 9.0])), min_size=n_sites, max_size=n_sites))
            if capacity else [None] * n_sites)
    rows = [(f"w{w}", f"s{s}", m) for (w, s), m in zip(itertools.product(range(n_wards), range(n_sites)), cells,
                                                       strict=True) if m is not None]
    return {
        "matrix": pd.DataFrame(rows, columns=["ward_code", "site_id", "minutes"]),
        "sites": pd.DataFrame({"site_id": [f"s{s}" for s in range(n_sites)], "cost": costs,
                               "capacity": [np.nan if c is None else c for c in caps]}),
        "wards": [f"w{w}" for w in range(n_wards)],
    }


def enumerate_best(inst: dict, limit: float = 20.0) -> tuple[float, int] | None:
    """(min cost, min total hundredths of minutes among the cheapest), by trying every subset."""
    near = inst["matrix"][inst["matrix"]["minutes"] <= limit]
    sites = list(inst["sites"]["site_id"])
    cost = dict(zip(sites, inst["sites"]["cost"], strict=True))
    cap = dict(zip(sites, inst["sites"]["capacity"], strict=True))
    reach = {w: dict(zip(g["site_id"], g["minutes"], strict=True)) for w, g in near.groupby("ward_code")}
    if set(inst["wards"]) - set(reach):
        return None
    best: tuple[float, int] | None = None
    for k in range(len(sites) + 1):
        for subset in itertools.combinations(sites, k):
            chosen = set(subset)
            if not all(chosen & set(reach[w]) for w in inst["wards"]):
                continue
            total_cost = round(sum(cost[s] for s in chosen), 9)
            if any(np.isfinite(cap[s]) for s in chosen):
                flow = nx.DiGraph()
                for w in inst["wards"]:
                    flow.add_edge("src", w, capacity=1)
                    for s in chosen & set(reach[w]):
                        flow.add_edge(w, s, capacity=1)
                for s in chosen:
                    flow.add_edge(s, "sink", capacity=(int(cap[s]) // 3) if np.isfinite(cap[s]) else len(inst["wards"]))
                if nx.maximum_flow_value(flow, "src", "sink") < len(inst["wards"]):
                    continue
                minutes = 0
            else:
                minutes = sum(min(round(100 * reach[w][s]) for s in chosen & set(reach[w])) for w in inst["wards"])
            key = (total_cost, minutes)
            if best is None or key < best:
                best = key
    return best


def solve_or_none(inst: dict, **options: object) -> HubSolution | None:
    model = HubSiting.from_cost_matrix(inst["matrix"], inst["sites"], inst["wards"], uncovered="raise", **options)
    try:
        return model.solve(time_limit_s=10)
    except InfeasibleError:
        return None


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_matches_enumeration(inst: dict) -> None:
    expected = enumerate_best(inst)
    solution = solve_or_none(inst)
    if expected is None:
        assert solution is None
        return
    assert solution is not None
    assert solution.status == "OPTIMAL"
    assert solution.objective == pytest.approx(expected[0])
    assert solution.tie_break_status == "OPTIMAL"
    assert sum(round(100 * m) for m in solution.assignment["minutes"]) == expected[1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(capacity=True))
def test_capacity_matches_enumeration(inst: dict) -> None:
    expected = enumerate_best(inst)
    solution = solve_or_none(inst)
    if expected is None:
        assert solution is None
        return
    assert solution is not None
    assert solution.objective == pytest.approx(expected[0])
    served = solution.assignment.groupby("site_id").size()
    caps = inst["sites"].set_index("site_id")["capacity"]
    for site, wards in served.items():
        assert not np.isfinite(caps[site]) or 3 * wards <= caps[site]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.lists(st.one_of(st.none(), st.integers(0, 100).map(lambda q: q / 4)), min_size=8, max_size=8),
       st.integers(1, 8).map(lambda c: c / 2))
def test_adding_a_site_never_costs_more(inst: dict, cells: list[float | None], cost: float) -> None:
    before = solve_or_none(inst)
    extra = [("new", w, m) for w, m in zip(inst["wards"], cells, strict=False) if m is not None]
    bigger = {
        "matrix": pd.concat([inst["matrix"], pd.DataFrame([(w, s, m) for s, w, m in extra],
                                                           columns=["ward_code", "site_id", "minutes"])]),
        "sites": pd.concat([inst["sites"], pd.DataFrame({"site_id": ["new"], "cost": [cost], "capacity": [np.nan]})]),
        "wards": inst["wards"],
    }
    after = solve_or_none(bigger)
    if before is not None:
        assert after is not None
        assert after.objective <= before.objective + 1e-9


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.floats(0, 4000), st.floats(0, 4000), st.floats(100, 900), st.floats(100, 900)),
                min_size=1, max_size=8),
       st.lists(st.tuples(st.floats(0, 5000), st.floats(0, 5000)), min_size=1, max_size=8))
def test_assigned_walks_recomputed_independently(boxes: list, points: list) -> None:
    walk = WalkModel()
    wards = gpd.GeoDataFrame({"ward_code": [f"w{i}" for i in range(len(boxes))]},
                             geometry=[shapely.box(x, y, x + dx, y + dy) for x, y, dx, dy in boxes], crs=BNG)
    sites = gpd.GeoDataFrame({"site_id": [f"s{i}" for i in range(len(points))]},
                             geometry=[shapely.Point(p) for p in points], crs=BNG)
    model = HubSiting.from_geodataframes(wards, sites, walk, limit_minutes=20.0)
    solution = model.solve(time_limit_s=10)
    box_of = {f"w{i}": b for i, b in enumerate(boxes)}
    point_of = {f"s{i}": p for i, p in enumerate(points)}
    for row in solution.assignment.itertuples():
        x, y, dx, dy = box_of[row.ward_code]
        px, py = point_of[row.site_id]
        gap = math.hypot(max(x - px, 0.0, px - (x + dx)), max(y - py, 0.0, py - (y + dy)))
        minutes = gap * walk.circuity / (walk.speed_kmh * 1000 / 60)
        assert minutes <= 20.0 + 1e-9
        assert row.minutes == pytest.approx(minutes, abs=1e-9)
    covered = set(solution.assignment["ward_code"]) | set(solution.uncovered["ward_code"])
    assert covered == set(wards["ward_code"])


# ---------------------------------------------------------------------------- the coverage matrix


def test_walk_matrix_boundary_and_centroid() -> None:
    wards = gpd.GeoDataFrame({"ward_code": ["a", "b"]},
                             geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(3000, 0, 4000, 1000)], crs=BNG)
    sites = gpd.GeoDataFrame({"site_id": ["in_a", "between"]},
                             geometry=[shapely.Point(500, 500), shapely.Point(2000, 500)], crs=BNG)
    walk = WalkModel(speed_kmh=4.8, circuity=1.0)  # 80 m a minute
    boundary = walk_matrix(wards, sites, walk, limit_minutes=20)
    got = {(r.ward_code, r.site_id): r.minutes for r in boundary.itertuples()}
    # in_a is inside a (0); 'between' is 1000 m from both edges (12.5 min); in_a to b: 2500 m, too far.
    assert got == {("a", "in_a"): 0.0, ("a", "between"): 12.5, ("b", "between"): 12.5}
    centres = gpd.GeoDataFrame({"ward_code": ["b", "a"]},
                               geometry=[shapely.Point(3500, 500), shapely.Point(500, 500)], crs=BNG)
    centroid = walk_matrix(wards, sites, walk, limit_minutes=20, to="centroid", centres=centres)
    got = {(r.ward_code, r.site_id): r.minutes for r in centroid.itertuples()}
    assert got == {("a", "in_a"): 0.0, ("a", "between"): 18.75, ("b", "between"): 18.75}
    near = nearest_sites(wards, sites.iloc[:1], walk)
    assert near["minutes"].tolist() == [0.0, 2500 / 80]
    with pytest.raises(ScenarioError, match=r"'middle' is not 'boundary' or 'centroid'"):
        walk_matrix(wards, sites, walk, to="middle")  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"wards: no coordinate reference system"):
        walk_matrix(wards.set_crs(None, allow_override=True), sites, walk)


# ---------------------------------------------------------------------------- real London data


def police_sites(london_dir: Path) -> gpd.GeoDataFrame:
    raw = pd.read_csv(london_dir / "osm/poi/mopac_police_front_counters_2017_original.csv")
    return gpd.GeoDataFrame({"site_id": [f"police:{i}" for i in range(len(raw))], "name": raw["name"]},
                            geometry=gpd.points_from_xy(raw["longitude"], raw["latitude"]), crs="EPSG:4326")


@pytest.fixture(scope="module")
def london(london_dir: Path) -> dict:
    wards = (gpd.read_file(london_dir / "boundaries/london_wards_2014_citymerged.geojson").to_crs(BNG)
             .rename(columns={"GSS_Code": "ward_code", "Name": "ward_name"})[["ward_code", "ward_name", "geometry"]])
    sites, _ = load_candidates(london_dir, kinds={"police": 1.0, "fire": 3.0, "library": 3.0, "hospital": 4.0},
                               area=wards.geometry.union_all(), police_sites=police_sites(london_dir))
    matrix = walk_matrix(wards, sites, WalkModel(), limit_minutes=20)
    return {"wards": wards, "sites": sites, "matrix": matrix}


def test_london_three_wards_out_of_reach(london: dict) -> None:
    model = HubSiting.from_geodataframes(london["wards"], london["sites"], WalkModel(), uncovered="raise")
    with pytest.raises(InfeasibleError, match=(
            r"3 wards have no candidate site within a 20-minute walk:\n"
            r"  - Goresbrook \(E05000033\): nearest candidate .* \(library:\d+\) is 2\d\.\d\d min away.*\n"
            r"  - Harrow Weald \(E05000290\): nearest candidate .*\n"
            r"  - Chessington South \(E05000405\): nearest candidate .*\n"
            r"Fix: add a candidate site in or near these wards")) as info:
        model.solve(time_limit_s=10)
    report = info.value.report  # type: ignore[attr-defined]
    assert (report.uncovered["nearest_minutes"] > 20).all()
    assert report.suggested_limit_minutes == report.uncovered["limit_needed"].max()
    # The nearest candidate is nearest: no site is closer to these wards.
    wards = london["wards"].set_index("ward_code")
    for row in report.uncovered.itertuples():
        gap = london["sites"].distance(wards.geometry[row.ward_code]).min()
        assert row.nearest_minutes == pytest.approx(WalkModel().minutes(gap))


def test_london_default_costs_report_mode(london: dict) -> None:
    model = HubSiting.from_geodataframes(london["wards"], london["sites"], WalkModel())
    first = model.solve(time_limit_s=20)
    assert first.status == "OPTIMAL"
    assert first.uncovered["ward_code"].tolist() == ["E05000033", "E05000290", "E05000405"]
    assert len(first.assignment) == 627
    assert first.max_minutes <= 20.0
    assert first.n_hubs <= 150  # the strategy's "about 150 hubs"
    # Walk times recomputed from the geometry.
    sites = london["sites"].set_index("site_id").geometry
    wards = london["wards"].set_index("ward_code").geometry
    gaps = shapely.distance(sites[first.assignment["site_id"]].to_numpy(), wards[first.assignment["ward_code"]].to_numpy())
    assert np.allclose(first.assignment["minutes"], WalkModel().minutes(gaps))
    again = model.solve(time_limit_s=20)
    pd.testing.assert_frame_equal(first.assignment, again.assignment)
    pd.testing.assert_frame_equal(first.open_sites, again.open_sites)


def test_london_minimum_hubs_equal_spopt_lscp(london: dict) -> None:
    pulp = pytest.importorskip("pulp")
    from spopt.locate import LSCP

    matrix = london["matrix"]
    wards = sorted(set(matrix["ward_code"]))
    site_ids = sorted(set(matrix["site_id"]))
    ours = HubSiting.from_cost_matrix(matrix, site_ids, wards).solve(time_limit_s=20, tie_break=False)
    dense = (matrix.pivot(index="ward_code", columns="site_id", values="minutes")
             .reindex(index=wards, columns=site_ids).fillna(1e6).to_numpy())
    lscp = LSCP.from_cost_matrix(dense, 20.0).solve(pulp.PULP_CBC_CMD(msg=False, threads=1))
    assert pulp.LpStatus[lscp.problem.status] == "Optimal"
    assert ours.status == "OPTIMAL"
    assert ours.n_hubs == round(pulp.value(lscp.problem.objective)) == 100


# ---------------------------------------------------------------------------- Wood Green streets


WOODGREEN_OSM = "osm/network/woodgreen_bowespark_highways_overpass.osm"
"""The Wood Green/Bowes Park street extract, relative to the data directory (the case study of
scenarios/woodgreen-streets.yaml)."""


def wards_in_box(
    wards: gpd.GeoDataFrame,
    box: tuple[float, float, float, float] | shapely.Geometry,
    *,
    min_share: float = 0.5,
) -> gpd.GeoDataFrame:
    """Wards with at least ``min_share`` of their area inside a box (lon/lat tuple, or BNG shape)."""
    wards = bng_frame(wards, "wards", "ward_code")
    area = (gpd.GeoSeries([shapely.box(*box)], crs=WGS84).to_crs(BNG).iloc[0]
            if isinstance(box, tuple) else box)
    geoms = wards.geometry.to_numpy()
    share = shapely.area(shapely.intersection(geoms, area)) / shapely.area(geoms)
    return wards.assign(share_inside=share)[share >= min_share].reset_index(drop=True)


def woodgreen_comparison(
    data_dir: Path | str,
    wards: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    network: OsmWalkNetwork | None = None,
    min_share: float = 0.5,
    **options: Any,
) -> WalkComparison:
    """Wood Green/Bowes Park: hubs on the real OSM walk network against crow-fly.

    Uses the street extract `WOODGREEN_OSM` and its core box (`OsmWalkNetwork.core_box`:
    lon -0.1507 to -0.1009, lat 51.6006 to 51.6220, about 3.4 x 2.4 km, where every street is
    present; the file's nodes reach further only along ways that cross the box's edge), the
    wards with at least ``min_share`` of their area inside that box, and the candidate
    ``sites`` inside it (sites beyond it cannot be walked to on the extract). ``options`` go to
    `compare_walk_models` (limit_minutes, to, max_hubs, time_limit_s, ...).
    """
    network = network or OsmWalkNetwork(Path(data_dir) / WOODGREEN_OSM)
    box = network.core_box
    local_wards = wards_in_box(wards, box, min_share=min_share)
    sites = bng_frame(sites, "sites", "site_id")
    local_sites = sites[shapely.intersects(box, sites.geometry.to_numpy())].reset_index(drop=True)
    return compare_walk_models(local_wards, local_sites, network, **options)


@pytest.fixture(scope="module")
def woodgreen(london_dir: Path) -> OsmWalkNetwork:
    return OsmWalkNetwork(london_dir / WOODGREEN_OSM)


def test_woodgreen_network_against_crowfly(london_dir: Path, london: dict, woodgreen: OsmWalkNetwork) -> None:
    at20 = woodgreen_comparison(london_dir, london["wards"], london["sites"], network=woodgreen, limit_minutes=20)
    assert at20.wards["ward_name"].tolist() == ["Bowes", "Southgate Green", "Bounds Green"]
    assert sorted(at20.sites["site_id"]) == ["library:18743", "police:52"]  # Bowes Road Library, Wood Green
    for solution in (at20.network, at20.crowfly):
        assert isinstance(solution, HubSolution)
        assert list(solution.open_sites["site_id"]) == ["library:18743"]
    # The street walks, recomputed on the network, are the ones the network model used.
    sites = at20.sites.merge(london["sites"][["site_id", "geometry"]], on="site_id")
    wards = london["wards"].set_index("ward_code").geometry
    for row in at20.network.assignment.itertuples():
        xy = shapely.get_coordinates(sites.loc[sites["site_id"] == row.site_id, "geometry"].to_numpy())
        walked = woodgreen.minutes_to_areas(xy, [wards[row.ward_code]])
        assert row.minutes == pytest.approx(walked["minutes"].iloc[0])
    # Bounds Green is 8.8 min crow-fly from Bowes Road Library but 10.8 min on the streets.
    at10 = woodgreen_comparison(london_dir, london["wards"], london["sites"], network=woodgreen, limit_minutes=10)
    assert list(at10.crowfly.open_sites["site_id"]) == ["library:18743"]
    assert list(at10.network.open_sites["site_id"]) == ["library:18743", "police:52"]
    summary = at10.summary()
    assert summary["crowfly_hubs_beyond_limit_on_streets"] == 1
    bounds_green = at10.wards_compared.set_index("ward_code").loc["E05000267"]
    assert bounds_green["crowfly_minutes"] == pytest.approx(8.8, abs=0.05)
    assert bounds_green["crowfly_site_network_minutes"] == pytest.approx(10.76, abs=0.05)
    assert 0.8 < summary["median_ratio"] < 1.25
