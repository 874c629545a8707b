"""Uncertainty sweeps: sampling, hand-worked bands, determinism, real feeds on a 2-worker cluster."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siting._errors import ScenarioError
from siting.scenario import Distribution, Uncertainty, load_scenario
from siting.sweep import (
    PARAMETERS,
    FeedEvaluator,
    apply_params,
    base_values,
    dask_client,
    draw_samples,
    run_tasks,
    varying,
)
from siting.sweep_hubs import hub_risk, robust_plan
from siting.sweep_summary import summarise_sweep, write_sweep

REPO = Path(__file__).resolve().parents[1]

ONLY_WALK_SPEED = {**dict.fromkeys(PARAMETERS),
                   "walk_speed_kmh": Distribution(kind="uniform", low=4.0, high=6.0)}


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    """A 2-worker LocalCluster (threads: cheap in CI; the CLI uses processes)."""
    with dask_client(workers=2, processes=False) as c:
        yield c


# ---------------------------------------------------------------------------------------------
# The uncertainty block and the sample design


def _write(tmp_path: Path, block: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text("id: s\ntitle: S\ncounters: {open_24h: [brixton]}\n" + block, encoding="utf-8")
    return path


def test_uncertainty_block_reads_numbers_and_distributions(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, (
        "uncertainty:\n  samples: 8\n  seed: 4\n  circuity: 1.3\n  walk_speed_kmh: null\n"
        "  bus_reliability_min: {kind: uniform, low: 0, high: 2}\n")))
    u = scenario.uncertainty
    assert (u.samples, u.seed) == (8, 4)
    assert u.circuity == Distribution(kind="triangular", low=1.3, mode=1.3, high=1.3)
    assert u.circuity.fixed
    assert u.walk_speed_kmh is None
    assert "circuity" not in varying(u)
    assert "bus_reliability_min" in varying(u)


@pytest.mark.parametrize(("block", "message"), [
    ("uncertainty: {walk_speed_kmh: {kind: triangular, low: 4, high: 5}}", "needs low, mode and high"),
    ("uncertainty: {walk_speed_kmh: {kind: uniform, low: 4, mode: 4.5, high: 5}}", "has no mode"),
    ("uncertainty: {walk_speed_kmh: {kind: uniform, low: 6, high: 5}}", "low <= mode <= high"),
    ("uncertainty: {walk_sped_kmh: 4.8}", "Did you mean 'walk_speed_kmh'"),
])
def test_bad_uncertainty_block_names_the_field(tmp_path: Path, block: str, message: str) -> None:
    with pytest.raises(ScenarioError, match="uncertainty") as err:
        load_scenario(_write(tmp_path, block + "\n"))
    assert message in str(err.value)


def test_triangular_inverse_cdf_by_hand() -> None:
    # triangular(0, 1, 2): F(x) = x^2/2 on [0, 1], so F^-1(0.125) = 0.5 and F^-1(0.5) = 1;
    # by symmetry F^-1(0.875) = 1.5.
    from siting.sweep import _ppf

    dist = Distribution(kind="triangular", low=0, mode=1, high=2)
    np.testing.assert_allclose(_ppf(dist, np.array([0.0, 0.125, 0.5, 0.875])), [0, 0.5, 1, 1.5])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 60), seed=st.integers(0, 10_000))
def test_latin_hypercube_puts_one_sample_in_each_stratum(n: int, seed: int) -> None:
    u = Uncertainty(samples=n, seed=seed, **{**ONLY_WALK_SPEED,
                                             "circuity": Distribution(kind="triangular", low=1.2,
                                                                      mode=1.3, high=1.4)})
    design = draw_samples(u)
    strata = np.floor((design["walk_speed_kmh"].to_numpy() - 4.0) / 2.0 * n - 1e-9).astype(int)
    assert sorted(strata.clip(0)) == list(range(n))
    assert design["circuity"].between(1.2, 1.4).all()
    assert design.equals(draw_samples(u))


def test_fixed_values_and_sample_application() -> None:
    scenario = load_scenario(REPO / "scenarios" / "london-2017-final.yaml")
    base = base_values(scenario)
    assert base["walk_speed_kmh"] == 4.8
    assert base["bus_reliability_min"] == 2.0
    variant = apply_params(scenario, {"bus_headway_multiplier": 1.5, "rail_headway_multiplier": 0.5,
                                      "walk_speed_kmh": 4.0, "interchange_minutes": 3.0})
    london = variant.transit.assumptions
    assert london["bus_headway_min"] == 15.0  # 10 min x 1.5
    assert london["rail_headway_min"] == 7.5  # 15 min x 0.5
    assert london["tube_headway_min"]["Victoria Line"] == 1.0  # 2 min x 0.5
    assert variant.transit.min_change_minutes == 3.0
    from siting.network.scenario_network import london_assumptions

    assert london_assumptions(variant).interchange_s == 180  # the feed's change time follows
    low = apply_params(scenario, {"bus_reliability_min": 0.5, "rail_reliability_min": 0.25})
    assert low.transit.reliability_minutes["bus"] == 0.5
    assert low.transit.reliability_minutes["subway"] == 0.25
    assert low.transit.reliability_seconds(3) == 30  # GTFS bus
    assert variant.walking.speed_kmh == 4.0
    assert not variant.hubs.enabled
    assert scenario.transit.assumptions == {}  # the caller's scenario is untouched


def test_london_only_assumptions_are_refused_for_a_user_feed(tmp_path: Path) -> None:
    from siting.sweep import check_applicable

    scenario = load_scenario(_write(tmp_path, "transit: {feed: transit/x.zip}\n"))
    with pytest.raises(ScenarioError, match=r"uncertainty\.bus_headway_multiplier.*null"):
        check_applicable(scenario)


# ---------------------------------------------------------------------------------------------
# A hand-built feed: the band is known by hand


def _hand_feed(folder: Path) -> Path:
    """One bus far away (the network needs a hop); the origin walks straight to the counter."""
    folder.mkdir()
    files = {
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                        "start_date,end_date\nALL,1,1,1,1,1,1,1,20240101,20241231\n",
        "routes.txt": "route_id,route_short_name,route_type\nR,R,3\n",
        "trips.txt": "route_id,service_id,trip_id\nR,ALL,t1\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nX,X,51.700000,-0.100000\n"
                     "Y,Y,51.710000,-0.100000\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                          "t1,08:00:00,08:00:00,X,1\nt1,08:05:00,08:05:00,Y,2\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _hand_sweep(tmp_path: Path, client, samples: int = 10):  # type: ignore[no-untyped-def]
    origins = pd.DataFrame({"lsoa_code": ["O"], "origin_id": ["O"], "x": [531000.0],
                            "y": [180000.0], "population": [100], "ward_code": ["W"]})
    targets = pd.DataFrame({"counter_id": ["T"], "x": [530000.0], "y": [180000.0],
                            "open_s": [np.nan], "close_s": [np.nan]})
    base = {"walk_speed_kmh": 5.0, "circuity": 1.0, "max_access_minutes": 10.0,
            "bus_reliability_min": 0.0, "rail_reliability_min": 0.0, "interchange_minutes": 0.0}
    evaluator = FeedEvaluator(_hand_feed(tmp_path / "feed"), date(2024, 1, 3),
                              (8 * 3600, 8 * 3600 + 600), 5, origins, targets, base,
                              max_trip_minutes=60)
    u = Uncertainty(samples=samples, seed=3, **ONLY_WALK_SPEED)
    design = draw_samples(u)
    params = [{"walk_speed_kmh": float(v)} for v in design["walk_speed_kmh"]]
    results = run_tasks(client, evaluator, params)
    return summarise_sweep(scenario_id="hand", design=design, names=varying(u), results=results,
                           origins=origins[["lsoa_code", "population", "ward_code"]],
                           wards=pd.DataFrame({"ward_code": ["W"], "ward_name": ["Hand"],
                                               "population": [100]}),
                           thresholds=[12], deterministic=evaluator(-1, {}))


def test_hand_built_band(tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    # The origin is 1,000 m from the counter (circuity 1), far from any stop: it walks,
    # 60 / v minutes at v km/h (plus under 1 s of rounding up). v ~ uniform(4, 6) in a Latin
    # hypercube of 10: exactly one v in each 0.2 km/h stratum [4 + 0.2k, 4.2 + 0.2k).
    # The ward's minutes band takes actual sample values (the lower of the two neighbours):
    # p10 is the fastest walker's time (v in [5.8, 6.0): (10, 10.34]), the median the 5th
    # shortest (v in [5.0, 5.2): (11.54, 12.0]), p90 the 9th (v in [4.2, 4.4): (13.64, 14.29]);
    # each plus under 1 s of rounding up.
    # Over 12 minutes exactly when v < 5: 5 samples of 10, so the chance is 0.5 and the
    # 100 people are over in half the samples. Deterministic (v = 5): 12 minutes exactly.
    summary = _hand_sweep(tmp_path, client)
    ward = summary.wards.iloc[0]
    assert ward["p_over_12_24h"] == 0.5
    assert 10 < ward["minutes_24h_p10"] <= 60 / 5.8 + 1 / 60
    assert 60 / 5.2 < ward["minutes_24h_median"] <= 12 + 1 / 60
    assert 60 / 4.4 < ward["minutes_24h_p90"] <= 60 / 4.2 + 1 / 60
    band = summary.facts["headline"]["people_over_12_24h"]
    assert band["median"] == 50
    assert band["p10"] == 0
    assert band["p90"] == 100
    assert band["deterministic"] == 0  # 12.0 min is not over 12
    share = summary.facts["headline"]["share_within_12_24h"]
    assert share["median"] == 0.5
    rho = summary.facts["sensitivity"]["people_over_12_24h"][0]
    assert rho["assumption"] == "walk_speed_kmh"
    assert rho["spearman_rho"] < -0.8


def test_same_seed_same_bytes_whatever_the_workers(tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with dask_client(workers=1, processes=False) as one:
        first = _hand_sweep(tmp_path / "a", one, samples=6)
    second = _hand_sweep(tmp_path / "b", client, samples=6)
    write_sweep(first, tmp_path / "out1")
    write_sweep(second, tmp_path / "out2")
    for name in ("sweep.json", "wards_sweep.csv", "lsoas_sweep.csv", "samples_sweep.csv",
                 "sweep.md", "report.md"):
        assert (tmp_path / "out1" / name).read_bytes() == (tmp_path / "out2" / name).read_bytes()


# ---------------------------------------------------------------------------------------------
# A real UK feed (Newport)


def test_newport_sweep_faster_walking_never_lengthens_a_trip(feeds_dir: Path, client) -> None:  # type: ignore[no-untyped-def]
    from siting.network.gtfs import read_feed
    from siting.network.transit import project_stops

    feed_path = feeds_dir / "newport-20230613_gtfs.zip"
    feed = read_feed(feed_path)
    # 2023-06-14 is a Wednesday inside every service's calendar (20230605-20240301).
    stops = feed.stops.sort_values("stop_id").iloc[::60].head(40)
    xy = project_stops(feed, stops["stop_id"].to_numpy())
    origins = pd.DataFrame({"origin_id": stops["stop_id"].astype(str).to_numpy(),
                            "x": xy[:, 0] + 150, "y": xy[:, 1], "population": 10,
                            "ward_code": [f"W{i // 10}" for i in range(len(stops))]})
    origins = origins.sort_values("origin_id").reset_index(drop=True)
    targets = pd.DataFrame({"counter_id": ["A", "B"], "x": xy[[0, 20], 0], "y": xy[[0, 20], 1],
                            "open_s": [np.nan, 9 * 3600], "close_s": [np.nan, 17 * 3600]})
    base = {"walk_speed_kmh": 4.8, "circuity": 1.287, "max_access_minutes": 10.0,
            "bus_reliability_min": 2.0, "rail_reliability_min": 0.75, "interchange_minutes": 1.0}
    evaluator = FeedEvaluator(feed_path, date(2023, 6, 14), (7 * 3600, 7 * 3600 + 1800), 5,
                              origins, targets, base, max_trip_minutes=120)
    u = Uncertainty(samples=4, seed=1, **ONLY_WALK_SPEED)
    design = draw_samples(u)
    results = run_tasks(client, evaluator, [{"walk_speed_kmh": float(v)}
                                            for v in design["walk_speed_kmh"]])
    order = np.argsort(design["walk_speed_kmh"].to_numpy())  # slowest walker first
    minutes = np.vstack([results[i].origin_minutes["24h"] for i in order])
    minutes = np.where(np.isnan(minutes), np.inf, minutes)
    assert np.isfinite(minutes).any()
    assert (np.diff(minutes, axis=0) <= 1e-9).all()
    summary = summarise_sweep(scenario_id="newport", design=design, names=varying(u),
                              results=results,
                              origins=origins.rename(columns={"origin_id": "lsoa_code"})[
                                  ["lsoa_code", "population", "ward_code"]],
                              wards=pd.DataFrame({"ward_code": sorted(origins["ward_code"].unique())}),
                              thresholds=[45, 60])
    for band in summary.facts["headline"].values():
        assert band["p10"] <= band["median"] <= band["p90"]
    assert summary.wards["p_over_45_24h"].between(0, 1).all()


# ---------------------------------------------------------------------------------------------
# Robust hub plans, by hand


def test_robust_plan_by_hand() -> None:
    # Limit 20 min; sample factors 1.0 and 1.2 (walks 20% longer in the second sample).
    # W1: A 18 min (21.6 in sample 2), C 10 (12).  W2: B 19 (22.8), C 15 (18).  W3: D 25 (30).
    # Scenario's own cover (k = 1): A + B, cost 2 (C alone costs 3); W3 is never coverable.
    # In both samples (share 1.0) only C reaches W1 and W2 in sample 2: plan {C}, cost 3,
    # i.e. one hub fewer at one unit more. Share 0.5 needs one sample: A + B (cost 2) again.
    table = pd.DataFrame({"ward_code": ["W1", "W1", "W2", "W2", "W3"],
                          "site_id": ["A", "C", "B", "C", "D"],
                          "minutes": [18.0, 10.0, 19.0, 15.0, 25.0]})
    costs = pd.Series({"A": 1.0, "B": 1.0, "C": 3.0, "D": 1.0})
    factors = np.array([1.0, 1.2])
    plan = robust_plan(table, costs, factors, limit=20, share=1.0)
    f = plan.figures()
    assert (plan.sites, plan.cost, plan.baseline_sites, plan.baseline_cost) == (["C"], 3.0, ["A", "B"], 2.0)
    assert (f["extra_hubs"], f["extra_cost"], plan.uncoverable) == (-1, 1.0, ["W3"])
    half = robust_plan(table, costs, factors, limit=20, share=0.5)
    assert (half.sites, half.cost) == (["A", "B"], 2.0)
    # The scenario's plan A, B: W1 and W2 lose their hub in sample 2; every ward keeps it in
    # one sample of two.
    risk, holds = hub_risk(pd.DataFrame({"ward_code": ["W1", "W2"], "site_id": ["A", "B"],
                                         "minutes": [18.0, 19.0]}), factors, 20)
    assert risk["chance_beyond_limit"].tolist() == [0.5, 0.5]
    assert holds == 0.5


# ---------------------------------------------------------------------------------------------
# London, short window


def _short(scenario, **uncertainty):  # type: ignore[no-untyped-def]
    return scenario.model_copy(update={
        "transit": scenario.transit.model_copy(update={"departure_window": "07:00-07:15",
                                                       "step_minutes": 5, "max_trip_minutes": 90,
                                                       "percentiles": [50]}),
        "uncertainty": Uncertainty(**uncertainty)})


@pytest.mark.london
def test_london_degenerate_sweep_median_is_the_deterministic_run(
        london_dir: Path, cache_dir: Path, tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    from siting.analysis import analyse
    from siting.report import summary as run_summary
    from siting.sweep_run import scenario_sweep

    scenario = load_scenario(REPO / "scenarios" / "london-2017-final.yaml", data_dir=london_dir)
    base = base_values(scenario)
    # Every distribution a single value: the scenario's own (so the samples are the run).
    fixed = {n: base[n] for n in PARAMETERS}
    short = _short(scenario, samples=2, **fixed)
    summary, _ = scenario_sweep(short, london_dir, cache_dir, client)
    run = run_summary(analyse(short, london_dir, cache_dir=cache_dir))
    head = summary.facts["headline"]
    for m in ("24h", "any"):
        for t in (45, 60):
            band = head[f"people_over_{t}_{m}"]
            expected = run["measures"][m]["population_over"][str(t)]
            assert band["median"] == band["p10"] == band["p90"] == band["deterministic"] == expected
        assert head[f"share_within_45_{m}"]["median"] == pytest.approx(
            run["measures"][m]["share_within"]["45"], abs=1e-4)
    assert summary.facts["hubs"]["share_of_samples_every_ward_keeps_its_hub"] == 1.0
    written = write_sweep(summary, tmp_path)
    assert "How sure is the headline" in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert len(written) == 6


@pytest.mark.london
def test_london_sweep_varies_walking_and_maps_the_chance(
        london_dir: Path, cache_dir: Path, tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    from siting.sweep_map import write_sweep_map
    from siting.sweep_run import scenario_sweep

    scenario = load_scenario(REPO / "scenarios" / "london-2017-final.yaml", data_dir=london_dir)
    walk = dict.fromkeys(PARAMETERS)
    walk["walk_speed_kmh"] = Distribution(kind="uniform", low=4.0, high=5.6)
    short = _short(scenario, samples=2, seed=5, **walk)
    summary, _ = scenario_sweep(short, london_dir, cache_dir, client, robust=0.5)
    slow, fast = np.argsort(-summary.design["walk_speed_kmh"].to_numpy())[::-1]
    over = summary.headline.set_index("sample_index")["people_over_45_24h"]
    assert over[slow] >= over[fast]  # slower walking never brings people within 45 minutes
    assert summary.facts["headline"]["people_over_45_24h"]["median"] > 0
    assert summary.facts["hubs"]["robust_plan"]["status"] in ("OPTIMAL", "FEASIBLE")
    assert len(summary.wards) == 630
    assert len(summary.lsoas) == 4835
    write_sweep(summary, tmp_path)
    facts = json.loads((tmp_path / "sweep.json").read_text(encoding="utf-8"))
    assert facts["varied"] == ["walk_speed_kmh"]
    page = write_sweep_map(summary, short, london_dir, tmp_path / "sweep.html").read_text(
        encoding="utf-8")
    assert "Chance of being over 45 minutes" in page


@pytest.mark.london
def test_london_close_each_never_helps_anyone(london_dir: Path, cache_dir: Path,
                                              client) -> None:  # type: ignore[no-untyped-def]
    from siting.sweep_run import counter_sweep

    scenario = load_scenario(REPO / "scenarios" / "london-2017-final.yaml", data_dir=london_dir)
    two = _short(scenario.model_copy(update={"counters": scenario.counters.model_copy(update={
        "open_24h": ["charing-cross", "brixton"], "open_daytime": [], "hours": {}})}))
    table = counter_sweep(two, london_dir, cache_dir, client, action="close")
    assert table["counter_id"].tolist() in (["charing-cross", "brixton"], ["brixton", "charing-cross"])
    assert (table["change_over_45_24h"] >= 0).all()  # closing a counter never helps anyone
    assert table["change_over_45_24h"].is_monotonic_decreasing
    assert table["rank"].tolist() == [1, 2]


def test_report_sections_replace_themselves(tmp_path: Path) -> None:
    from siting.sweep_summary import splice_report

    report = tmp_path / "report.md"
    report.write_text("# Run\n\nbody\n", encoding="utf-8")
    section = "<!-- siting sweep: start -->\nA\n<!-- siting sweep: end -->\n"
    splice_report(report, section)
    splice_report(report, section.replace("A", "B"))
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# Run\n\nbody\n")
    assert text.count("siting sweep: start") == 1
    assert "B" in text
    assert "\nA\n" not in text


def test_sobol_design_stays_inside_the_distributions() -> None:
    u = Uncertainty(samples=8, seed=2, method="sobol")
    design = draw_samples(u)
    assert len(design) == 8
    for name in varying(u):
        dist = getattr(u, name)
        assert design[name].between(dist.low, dist.high).all()
    assert design.equals(draw_samples(u))


def test_cli_refuses_london_assumptions_on_a_user_feed(tmp_path: Path, london_dir: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from siting.cli import main

    path = _write(tmp_path, "transit: {feed: transit/uk_test_feeds/newport-20230613_gtfs.zip,"
                            " service_date: 2023-06-14}\n")
    code = main(["sweep", str(path), "--data-dir", str(london_dir), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "uncertainty.bus_headway_multiplier" in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()
