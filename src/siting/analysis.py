"""Analysis stage: run a scenario's travel-time and hub models into one frozen result object."""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import importlib
import itertools
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._beside import Apart, Beside, Forked
from siting._crs import BNG
from siting._errors import ScenarioError
from siting._warm import ENGINE_MODULES, load_cached_kernels
from siting.data import (
    load_boroughs,
    load_lsoa_areas,
    load_lsoas,
    load_postcode_districts,
    load_ptai,
    load_wards,
    scenario_counters,
    ward_population,
)
from siting.scenario import MEASURES, DataFiles, Scenario

if TYPE_CHECKING:
    from siting.hubs import HubSolution
    from siting.network.transit import TransitNetwork
    from siting.network.walk import WalkModel
    from siting.travel import Targets

# The computing stages (network, travel, journeys, hubs, equity) are imported where they are
# used: reading a stored Analysis, checking it, reporting and mapping it need none of them.

__all__ = ["MEASURES", "Analysis", "analyse", "check_hub_inputs", "counter_targets",
           "lsoa_travel_times", "setting_differences"]

log = logging.getLogger(__name__)

# MEASURES (the two travel-time measures) is defined once, in siting.scenario; re-exported here.


@dataclass(frozen=True)
class Analysis:
    """Everything `siting run` computed for one scenario; report, maps and check read only this.

    Frames (all GeoDataFrames in EPSG:27700, sorted by their id column):

    wards
        ward_code, ward_name, borough, borough_code, population, for each measure m in
        ('24h', 'any'): minutes_m (population-weighted mean over the ward's LSOAs of each LSOA's
        median minutes over the departure window), nearest_m_counter (counter id reached by most
        of the ward's population), and for each threshold T: over_T_m (bool: minutes_m > T) and
        pop_over_T_m (people in the ward's LSOAs whose own minutes exceed T); hub_site_id,
        hub_name, hub_walk_minutes (NaN/empty when hubs are disabled or the ward is uncovered);
        geometry (ward polygon).
    lsoas
        lsoa_code, lsoa_name, ward_code, borough_code, population, minutes_m, nearest_m_counter,
        minutes_m_pP for each extra percentile P, over_T_m; geometry (population-weighted centroid).
    counters
        counter_id, name, borough, borough_gss, status ('24h', 'daytime', 'closed'), open_s,
        close_s, daily_crime_reports_may2017, position, geometry.
    hubs
        site_id, name, kind, cost, wards_served (count), officers, geometry; empty when disabled.
    hub_assignment
        ward_code, site_id, minutes.
    """

    scenario: Scenario
    wards: gpd.GeoDataFrame
    lsoas: gpd.GeoDataFrame
    counters: gpd.GeoDataFrame
    hubs: gpd.GeoDataFrame
    hub_assignment: pd.DataFrame
    boroughs: gpd.GeoDataFrame
    assumptions: dict[str, Any] = field(default_factory=dict)
    """Transit, walking and hub assumptions actually used (JSON-able)."""
    modes: dict[str, Any] = field(default_factory=dict)
    """Which public-transport modes are modelled, how, and which are missing (JSON-able)."""
    hub_figures: dict[str, Any] = field(default_factory=dict)
    """Solver figures: status, objective, best bound, gap, solve seconds, hubs by kind."""
    validation: dict[str, Any] = field(default_factory=dict)
    """Checks of the travel times against independent data (e.g. Spearman rho with TfL PTAI)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Wall seconds per step (not written to the deterministic reports)."""
    equity: dict[str, Any] = field(default_factory=dict)
    """People over each threshold by fifths of ward deprivation, income and cars (siting.equity)."""
    lsoa_areas: gpd.GeoDataFrame | None = None
    """LSOA outlines (lsoa_code, geometry; EPSG:27700) for the map's zoomed-in layer, if loaded."""
    postcode_districts: pd.DataFrame | None = None
    """Where each postcode district lies (see data.load_postcode_districts), for the map's search."""


# ---------------------------------------------------------------------------------------------
# Running a scenario


def _ward_measures(lsoas: pd.DataFrame, measure: str, thresholds: list[int]) -> pd.DataFrame:
    """Per ward: population-weighted minutes, the counter most people reach, people over T.

    minutes_m: the population-weighted mean of the ward's reachable LSOAs (the plain mean when
    their population is 0; NaN when none is reachable). nearest_m_counter: the counter with the
    most people, ties to the lowest id ('' when none is reached). pop_over_T_m: people in LSOAs
    over T minutes or unreachable. One pass of grouped sums (sorted by ward, each ward's LSOAs in
    their original order, so every sum adds the same numbers in the same order as np.average).
    """
    minutes = f"minutes_{measure}"
    nearest = f"nearest_{measure}_counter"
    frame = lsoas.loc[lsoas["ward_code"].notna(), ["ward_code", minutes, nearest, "population"]]
    frame = frame.sort_values("ward_code", kind="stable")
    codes = frame["ward_code"].to_numpy()
    wards = np.unique(codes)
    values = frame[minutes].to_numpy(dtype=float)
    people = frame["population"].to_numpy()
    ok = ~np.isnan(values)
    ward_of = np.searchsorted(wards, codes)
    # np.average per ward on plain arrays (its pairwise sums; np.add.reduceat rounds differently)
    bounds = np.r_[np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]), len(codes)]
    weighted = np.full(len(wards), np.nan)
    for w, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        keep = ok[lo:hi]
        if keep.any():
            v, p = values[lo:hi][keep], people[lo:hi][keep]
            weighted[w] = np.average(v, weights=p) if p.sum() != 0 else v.mean()
    out = pd.DataFrame({"ward_code": wards, minutes: weighted})
    by_counter = (frame.dropna(subset=[nearest])
                  .groupby(["ward_code", nearest], sort=True)["population"].sum().reset_index()
                  .sort_values(["ward_code", "population"], ascending=[True, False], kind="stable")
                  .drop_duplicates("ward_code").set_index("ward_code")[nearest])
    out[nearest] = by_counter.reindex(wards).fillna("").astype(str).to_numpy()
    for t in thresholds:
        over = ~ok | (values > t)
        out[f"pop_over_{t}_{measure}"] = np.bincount(ward_of[over], weights=people[over],
                                                     minlength=len(wards)).round().astype(np.int64)
    return out


def counter_targets(counters: gpd.GeoDataFrame) -> Targets:
    """The scenario's open counters as search targets (24/7 ones have no closing hours)."""
    from siting.travel import Targets

    open_ = counters[counters["status"] != "closed"].sort_values("counter_id", kind="stable")
    is_24h = (open_["status"] == "24h").to_numpy()
    return Targets.from_arrays(
        open_["counter_id"].to_numpy(),
        np.column_stack([open_.geometry.x, open_.geometry.y]),
        np.where(is_24h, np.nan, open_["open_s"].to_numpy(dtype=float)),
        np.where(is_24h, np.nan, open_["close_s"].to_numpy(dtype=float)),
    )


def lsoa_travel_times(
    scenario: Scenario, network: TransitNetwork, counters: gpd.GeoDataFrame,
    lsoas: gpd.GeoDataFrame, street: Any = None, *,
    on_first: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Per LSOA, for both measures: median (and other percentiles) minutes and nearest counter.

    The percentiles are over (departure minute x phase draw): ``transit.draws`` seeded draws
    of the phases of frequency-based services (one pass if the feed has none). ``on_first``,
    if given, is called with the first draw's profiles and served times by measure as soon as
    they are made (`siting.draws.served_over_draws`; `siting.journeys.lsoa_journeys` traces
    the median journeys on them).
    """
    from siting.draws import served_over_draws
    from siting.travel import Window, summarise_served

    targets = counter_targets(counters)
    start_s, end_s = scenario.transit.window_seconds
    window = Window(start_s=start_s, end_s=end_s, step_s=scenario.transit.step_minutes * 60)
    xy = np.column_stack([lsoas.geometry.x, lsoas.geometry.y])
    percentiles = sorted({50, *scenario.transit.percentiles})
    chosen = {"24h": targets.select(targets.always_open), "any": targets}
    pooled = served_over_draws(network, chosen, xy, window, draws=scenario.transit.draws,
                               seed=scenario.transit.seed,
                               max_access_minutes=scenario.walking.max_access_minutes,
                               street=street, on_first=on_first)
    out = lsoas[["lsoa_code"]].copy()
    for measure, (served, target) in pooled.items():
        departures = np.tile(window.departures, served.shape[1] // len(window.departures))
        summary = summarise_served(served, target, departures, lsoas["lsoa_code"].to_numpy(),
                                   chosen[measure].ids, percentiles)
        summary = summary.rename(columns={"origin_id": "lsoa_code", "minutes_p50": f"minutes_{measure}",
                                          "nearest_counter": f"nearest_{measure}_counter"})
        summary = summary.rename(columns={f"minutes_p{p:g}": f"minutes_{measure}_p{p:g}"
                                          for p in percentiles if p != 50})
        out = out.merge(summary, on="lsoa_code", how="left")
    return out


def analyse(
    scenario: Scenario,
    data_dir: Path,
    *,
    cache_dir: Path = Path(".cache/siting"),
    progress: bool = False,
    journeys: bool = True,
    preload: Sequence[str] = (),
    feed_step: Forked | None = None,
) -> Analysis:
    """Compute a scenario's travel times (both measures) and hub plan from the data directory.

    ``journeys=False`` skips the journey breakdowns (their columns are then absent): a sweep's
    samples need only the minutes. ``preload`` names modules the caller needs next (the CLI's
    map module): they are imported while this process waits for the feed, not after.
    ``feed_step``: the scenario's feed step if the caller already started it
    (`siting.network.feed_step.start_feed`, with the same cache directory).
    """
    from siting.network.feed_step import start_feed

    timings: dict[str, float] = {}
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    steps = _Steps(progress)
    # Building the modelled London feed is pandas work on one core: a forked child does it
    # while this process loads the data and starts the hub plan.
    if feed_step is None:
        feed_step = start_feed(scenario, data_dir, cache_dir)
    with feed_step:
        return _analyse_with_feed(scenario, data_dir, cache_dir, journeys, steps, timings, feed_step,
                                  tuple(preload))


@dataclass(frozen=True)
class _Inputs:
    """What `analyse` loads from the data directory before the feed is needed."""

    wards: gpd.GeoDataFrame
    lsoas: gpd.GeoDataFrame
    boroughs: gpd.GeoDataFrame
    counters: gpd.GeoDataFrame
    walk: WalkModel
    street: Any
    lsoa_areas: gpd.GeoDataFrame | None
    postcode_districts: pd.DataFrame | None


def _analyse_with_feed(scenario: Scenario, data_dir: Path, cache_dir: Path, journeys: bool,
                       steps: _Steps, timings: dict[str, float], feed_step: Forked,
                       preload: tuple[str, ...] = ()) -> Analysis:
    """`analyse` once the feed step has started: the data loaded and the hub plan started."""
    from siting.network.scenario_network import scenario_walk

    with steps("loading data", timings, "data"):
        files = scenario.data
        inputs = _Inputs(
            wards=load_wards(data_dir, files), lsoas=load_lsoas(data_dir, files),
            boroughs=load_boroughs(data_dir, files), counters=scenario_counters(scenario),
            walk=scenario_walk(scenario), street=_street_network(scenario, data_dir),
            # only the map and reports use these; loaded here, while the feed is being built
            lsoa_areas=load_lsoa_areas(data_dir, files),
            postcode_districts=load_postcode_districts(data_dir, files))

    # The hub plan needs only the wards, counters and walks: it runs beside the feed, network
    # and travel steps (`_analyse` starts it once this process only waits for the feed), in a
    # forked child (its pandas and geometry then never wait for this process's GIL), or on a
    # thread where forking is not safe (`siting._beside`; the steps forked after it then run
    # here too: the plan uses PROJ, and a fork beside a thread inside PROJ can hang the child).
    hub_plan = Apart(_hub_plan, scenario, data_dir, inputs.wards, inputs.counters,
                     inputs.walk, inputs.street, centres=_ward_centres(inputs.lsoas))
    with hub_plan:
        return _analyse(scenario, data_dir, cache_dir, journeys, steps, timings, feed_step,
                        hub_plan, inputs, preload)


def _analyse(scenario: Scenario, data_dir: Path, cache_dir: Path, journeys: bool, steps: _Steps,
             timings: dict[str, float], feed_step: Forked, hub_plan: Apart,
             inputs: _Inputs, preload: tuple[str, ...] = ()) -> Analysis:
    """`analyse` once the data is loaded and the feed and hub steps started."""
    from siting.equity import ward_equity
    from siting.journeys import lsoa_journeys, ward_journeys
    from siting.network.gtfs import reading_once
    from siting.network.scenario_network import (
        feed_modes,
        scenario_network,
        scenario_service,
        travel_settings,
    )

    wards, lsoas, counters = inputs.wards, inputs.lsoas, inputs.counters
    walk, street = inputs.walk, inputs.street
    # one read of a newly built feed serves both its service summary and its network
    with steps("building the transit network", timings, "network"), reading_once():
        # numba's cached kernels load on a thread while the feed is still being built
        for name in ENGINE_MODULES:
            importlib.import_module(name)
        with Beside.later(load_cached_kernels).start(uses_proj=False) as warming:
            for name in preload:
                importlib.import_module(name)
            warming.result()
        # This process now only waits for the feed: the hubs take its core, at a lower CPU
        # priority so that they never slow the network's steps (they are needed at the end).
        hub_plan.start(nice=10)
        feed = feed_step.result()
        log.info("the feed step took %.2f s", feed_step.seconds)
        # the modelled feed's description (its files read again) is made beside the network
        describing = (Forked(feed_modes, feed) if feed.path and not feed.modes
                      else Forked.inline(dict, feed.modes))
        with describing:
            service = scenario_service(scenario, feed, cache_dir) if feed.path else None
            network = scenario_network(scenario, data_dir, cache_dir, feed, service)
            coverage = _study_area(scenario, network, lsoas, walk, feed.label)
            feed = dataclasses.replace(feed, modes=describing.result())

    with contextlib.ExitStack() as beside:
        # The journeys are traced on the first draw's profiles, on a thread started as soon
        # as that draw is scanned, beside the other draws (their kernels release the GIL).
        journey_steps: list[Beside] = []

        def start_journeys(first_draw: dict[str, Any], served: dict[str, Any]) -> None:
            journey_steps.append(beside.enter_context(Beside(
                lsoa_journeys, scenario, network, feed, counter_targets(counters), inputs.lsoas,
                street, profiles=first_draw, served=served)))

        with steps("travel times to the counters", timings, "travel"):
            times = lsoa_travel_times(scenario, network, counters, lsoas, street,
                                      on_first=start_journeys if journeys else None)
            lsoas = lsoas.merge(times, on="lsoa_code", how="left")
            for measure in MEASURES:
                for t in scenario.thresholds:
                    minutes = lsoas[f"minutes_{measure}"]
                    lsoas[f"over_{t}_{measure}"] = minutes.isna() | (minutes > t)
            population = ward_population(lsoas).rename("population").reset_index()
            wards = wards.merge(population, on="ward_code", how="left")
            for measure in MEASURES:
                wards = wards.merge(_ward_measures(lsoas, measure, scenario.thresholds),
                                    on="ward_code", how="left")
                for t in scenario.thresholds:
                    minutes = wards[f"minutes_{measure}"]
                    wards[f"over_{t}_{measure}"] = minutes.isna() | (minutes > t)

        if journeys:
            with steps("journey breakdowns (waiting for their thread)", timings, "journeys"):
                if not journey_steps:  # no draw was scanned: trace them here
                    start_journeys({}, {})
                lsoas = lsoas.merge(journey_steps[0].result(), on="lsoa_code", how="left")
                wards = wards.merge(ward_journeys(lsoas), on="ward_code", how="left")
            log.info("journey breakdowns took %.2f s, beside the draws", journey_steps[0].seconds)

    with steps("siting DWO hubs (waiting for its thread)", timings, "hubs_wait"):
        hubs, assignment, hub_figures = hub_plan.result()
        wards = _attach_hubs(wards, hubs, assignment)
    timings["hubs"] = hub_plan.seconds
    log.info("siting DWO hubs took %.2f s, beside the steps above", hub_plan.seconds)

    assumptions = {
        "transit": scenario.transit.model_dump(mode="json"),
        "walking": {**scenario.walking.model_dump(mode="json"), "circuity_used": walk.circuity},
        "hubs": scenario.hubs.model_dump(mode="json"),
        "thresholds": list(scenario.thresholds),
        "population": scenario.data.population,
        "london_network": feed.assumptions,
        "network": {"stops": int(network.n_stops), "connections": int(network.n_connections)},
        "travel_model": travel_settings(scenario),
        "feed_service": service.facts() if service else {"feed": "none (walk-only study)"},
        "study_area": coverage,
    }
    return Analysis(
        validation=_validation(data_dir, scenario.data, wards, counters),
        scenario=scenario,
        wards=gpd.GeoDataFrame(wards, geometry="geometry", crs=BNG),
        lsoas=gpd.GeoDataFrame(lsoas, geometry="geometry", crs=BNG),
        counters=counters,
        hubs=hubs,
        hub_assignment=assignment,
        boroughs=inputs.boroughs,
        assumptions=assumptions,
        modes=feed.modes,
        hub_figures=hub_figures,
        timings=timings,
        equity=ward_equity(data_dir, wards, scenario.thresholds),
        lsoa_areas=inputs.lsoa_areas,
        postcode_districts=inputs.postcode_districts,
    )


def _study_area(scenario: Scenario, network: TransitNetwork, lsoas: pd.DataFrame,
                walk: WalkModel, feed_label: str) -> dict[str, Any]:
    """Share of wards (and people) with a stop served in the window within the access limit;
    StudyAreaNotServedError when there is none (unless the study is walk-only by request)."""
    from siting.network.scenario_network import origins
    from siting.network.service import check_study_area, study_area_coverage

    if scenario.transit.walk_only:
        return {"walk_only": True}
    coverage = study_area_coverage(network.stop_xy, origins(lsoas), walk,
                                   scenario.walking.max_access_minutes)
    check_study_area(coverage, scenario.transit.feed,
                     source=str(scenario.source) if scenario.source else "scenario")
    return {**coverage, "stops": f"stops of {feed_label} served by a departure from "
                                 f"{scenario.transit.departure_window} onwards"}


def _validation(data_dir: Path, files: DataFiles, wards: gpd.GeoDataFrame,
                counters: gpd.GeoDataFrame) -> dict[str, Any]:
    """Rank correlations of ward minutes with TfL's PTAI (expected negative) and with distance.

    PTAI measures how well served a place is by public transport, so wards with better access
    should reach a counter sooner; crow-fly distance to the nearest 24/7 counter should rise
    with the minutes.
    """
    out: dict[str, Any] = {}
    if (data_dir / files.ptai).is_file():
        ptai = load_ptai(data_dir, files).merge(wards[["ward_code", "minutes_24h", "minutes_any"]], on="ward_code")
        for measure in MEASURES:
            rho = ptai["ptai"].rank().corr(ptai[f"minutes_{measure}"].rank())
            out[f"spearman_ward_minutes_{measure}_vs_tfl_ptai_2015"] = round(float(rho), 3)
    open_24h = counters[counters["status"] == "24h"]
    if len(open_24h):
        centres = wards.geometry.representative_point()
        # one broadcast distance matrix (wards x counters) instead of a GeoSeries call per ward
        distance = pd.Series(shapely.distance(centres.to_numpy()[:, None],
                                              open_24h.geometry.to_numpy()[None, :]).min(axis=1),
                             index=centres.index)
        rho = distance.rank().corr(wards["minutes_24h"].rank())
        out["spearman_ward_minutes_24h_vs_crowfly_distance_to_nearest_24h_counter"] = round(float(rho), 3)
    return out


class _Steps:
    """Times each step and shows a spinner on long ones (rich, only when progress is on)."""

    def __init__(self, progress: bool) -> None:
        # only in a terminal: pipes, logs and CI stay quiet (the timings still go to -v logging)
        self.progress = progress and sys.stderr.isatty() and not os.environ.get("CI")

    @contextlib.contextmanager
    def __call__(self, label: str, timings: dict[str, float], key: str) -> Iterator[None]:
        start = time.perf_counter()
        if self.progress:
            from rich.console import Console

            console = Console(stderr=True)
            with console.status(f"[bold]{label}…"):
                yield
            console.log(f"{label}: {time.perf_counter() - start:.1f} s")
        else:
            yield
        timings[key] = round(time.perf_counter() - start, 3)
        log.info("%s took %.2f s", label, timings[key])


def _police_sites(counters: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Police buildings that can host a hub: open counters, and closed ones whose building stays."""
    kept = (counters["status"] != "closed") | (counters["building_disposed_final"] == 0)
    sites = counters.loc[kept, ["counter_id", "name", "geometry"]]
    return gpd.GeoDataFrame(
        {"site_id": "police:" + sites["counter_id"], "name": sites["name"] + " police station"},
        geometry=sites.geometry.to_numpy(), crs=BNG,
    )


def _ward_centres(lsoas: pd.DataFrame) -> gpd.GeoDataFrame:
    """Each ward's population centre: the population-weighted mean of its LSOA centroids."""
    weights = lsoas["population"].clip(lower=1).to_numpy(dtype=float)
    frame = pd.DataFrame({"ward_code": lsoas["ward_code"], "w": weights,
                          "x": lsoas.geometry.x * weights, "y": lsoas.geometry.y * weights})
    sums = frame.groupby("ward_code", sort=True)[["w", "x", "y"]].sum()
    return gpd.GeoDataFrame({"ward_code": sums.index.to_numpy()},
                            geometry=gpd.points_from_xy(sums["x"] / sums["w"], sums["y"] / sums["w"]),
                            crs=BNG)


def _street_network(scenario: Scenario, data_dir: Path) -> Any:
    """The real OSM walk network the scenario names, or None: walks stay crow-fly.

    Travel times use it for access, egress and all-the-way walks with both ends inside the
    extract's complete core; the hub model walks on it for the wards it plans.
    """
    if not scenario.walking.network:
        return None
    from siting.network.walk import OsmWalkNetwork

    return OsmWalkNetwork(data_dir / scenario.walking.network, speed_kmh=scenario.walking.speed_kmh)


def _hub_plan(
    scenario: Scenario, data_dir: Path, wards: gpd.GeoDataFrame, counters: gpd.GeoDataFrame,
    walk: WalkModel, street: Any = None, *, centres: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, Any]]:
    """Choose DWO hubs with CP-SAT; wards no candidate can reach are reported, not fatal."""
    from siting.hubs import HubSiting
    from siting.walk_comparison import compare_walk_models

    hubs_cfg = scenario.hubs
    empty_hubs = gpd.GeoDataFrame(
        {c: [] for c in ("site_id", "name", "kind", "cost", "wards_served", "officers")},
        geometry=[], crs=BNG)
    empty_assignment = pd.DataFrame({"ward_code": pd.Series(dtype=str), "site_id": pd.Series(dtype=str),
                                     "minutes": pd.Series(dtype=float)})
    if not hubs_cfg.enabled:
        return empty_hubs, empty_assignment, {"enabled": False}
    candidates = _candidates(scenario, data_dir, wards, counters)
    scope = wards if hubs_cfg.wards is None else _ward_scope(scenario, wards)
    options = {"centres": centres, "max_hubs": hubs_cfg.max_hubs, "must_open": hubs_cfg.must_open,
               "forbidden": hubs_cfg.forbidden, "capacity_wards": hubs_cfg.capacity_wards}
    sites = candidates.sites
    comparison: dict[str, Any] = {}
    if street is not None:
        # On a street extract only sites inside its complete core can be walked to.
        sites = sites[sites.geometry.within(street.core_box)].reset_index(drop=True)
        compared = compare_walk_models(scope, sites, street, crowfly=walk,
                                       limit_minutes=hubs_cfg.walk_limit_minutes,
                                       to=hubs_cfg.measure_to, time_limit_s=hubs_cfg.time_limit_s,
                                       **options)
        comparison = {"streets_vs_crowfly": compared.summary()}
    model = HubSiting.from_geodataframes(
        scope, sites, street or walk,
        limit_minutes=hubs_cfg.walk_limit_minutes, to=hubs_cfg.measure_to, **options,
    )
    solution = model.solve(time_limit_s=hubs_cfg.time_limit_s)
    hubs, assignment, figures = _hub_outputs(solution, sites, candidates.dropped)
    figures["walk_model"] = (f"OSM street network {scenario.walking.network}" if street is not None
                             else f"crow-fly x {walk.circuity} at {walk.speed_kmh} km/h")
    return hubs, assignment, {**figures, **comparison}


def _london_area(wards: gpd.GeoDataFrame) -> Any:
    """The union of the ward polygons, by a coverage union (25x faster than union_all).

    Wards tile London without overlaps, which is what a coverage union assumes; should they not
    (the union's area short of the summed areas), fall back to the general union.
    """
    geoms = wards.geometry.to_numpy()
    area = shapely.coverage_union_all(geoms)
    total = float(shapely.area(geoms).sum())
    if abs(area.area - total) > 1e-9 * max(total, 1.0) or not area.is_valid:
        area = shapely.union_all(geoms)
    return area


def _candidates(scenario: Scenario, data_dir: Path, wards: gpd.GeoDataFrame,
                counters: gpd.GeoDataFrame) -> Any:
    """The candidate hub sites of the scenario's kinds (and its candidate CSV) in the wards."""
    from siting.candidates import load_candidates

    hubs_cfg = scenario.hubs
    kinds: dict[str, float] = {k: hubs_cfg.costs.get(k, 1.0) for k in hubs_cfg.candidates}
    extra = None
    if hubs_cfg.candidate_csv:
        base = scenario.source.parent if scenario.source else Path()
        extra = base / hubs_cfg.candidate_csv
        kinds.setdefault("user", hubs_cfg.costs.get("user", 3.0))
    return load_candidates(data_dir, kinds=kinds, area=_london_area(wards),
                           police_sites=_police_sites(counters), extra_csv=extra)


def check_hub_inputs(scenario: Scenario, data_dir: Path) -> dict[str, Any]:
    """The hub model's checks that need no travel computation (`siting validate`): the ward
    codes of hubs.wards, the candidate sites (and candidate CSV) load, and every site id in
    hubs.must_open and hubs.forbidden is a candidate. Returns the candidate count."""
    if not scenario.hubs.enabled:
        return {"enabled": False}
    wards = load_wards(data_dir, scenario.data)
    _ward_scope(scenario, wards)
    candidates = _candidates(scenario, data_dir, wards, scenario_counters(scenario))
    known = sorted(candidates.sites["site_id"].astype(str))
    for label in ("must_open", "forbidden"):
        for index, site in enumerate(getattr(scenario.hubs, label)):
            if site not in known:
                close = difflib.get_close_matches(site, known, n=3, cutoff=0.6)
                hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
                raise ScenarioError(
                    f"{scenario.source}: field `hubs.{label}[{index}]`: unknown site id {site!r}."
                    f"{hint} Use ids of the candidate sites (e.g. 'police:colindale', 'fire:12'), "
                    "as in hubs.csv of a run."
                )
    return {"enabled": True, "candidates": len(known)}


def _ward_scope(scenario: Scenario, wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The wards named by hubs.wards; an unknown code is a scenario error naming the closest."""
    known = set(wards["ward_code"])
    for index, code in enumerate(scenario.hubs.wards or []):
        if code not in known:
            close = difflib.get_close_matches(code, sorted(known), n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ScenarioError(
                f"{scenario.source}: field `hubs.wards[{index}]`: unknown ward code {code!r}.{hint} "
                "Use 2014 ward GSS codes (E05...), as in wards.csv of a run."
            )
    return wards[wards["ward_code"].isin(scenario.hubs.wards or [])]


def _hub_outputs(
    solution: HubSolution, candidates: gpd.GeoDataFrame, dropped: dict[str, int]
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, Any]]:
    """Open hubs (with wards served and officers) as points, the assignment, and solver figures."""
    where = candidates.set_index("site_id").geometry
    hubs = solution.open_sites.loc[:, ["site_id", "name", "kind", "cost", "wards_served", "officers"]]
    hubs = gpd.GeoDataFrame(hubs, geometry=where.reindex(hubs["site_id"]).to_numpy(), crs=BNG)
    figures = {
        **solution.figures(),
        "candidates": len(candidates),
        "candidates_by_kind": {str(k): int(v) for k, v in candidates.groupby("kind").size().items()},
        "candidates_dropped": dict(sorted(dropped.items())),
        # each ward no candidate reaches, with its nearest candidate (named in report.md)
        "uncovered_wards": [
            {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
            for row in solution.uncovered.to_dict("records")],
    }
    return hubs, solution.assignment, figures


def _attach_hubs(wards: gpd.GeoDataFrame, hubs: gpd.GeoDataFrame, assignment: pd.DataFrame) -> gpd.GeoDataFrame:
    """Add hub_site_id, hub_name and hub_walk_minutes to the wards (empty where uncovered)."""
    names = hubs.set_index("site_id")["name"] if len(hubs) else pd.Series(dtype=str)
    joined = wards.merge(
        assignment.rename(columns={"site_id": "hub_site_id", "minutes": "hub_walk_minutes"}),
        on="ward_code", how="left",
    )
    joined["hub_site_id"] = joined["hub_site_id"].astype(object).fillna("").astype(str)
    joined["hub_name"] = joined["hub_site_id"].map(names).astype(object).fillna("").astype(str)
    joined["hub_walk_minutes"] = joined["hub_walk_minutes"].astype(float)
    return joined


_NOT_SETTINGS = ("id", "title", "description", "constraints", "expectations", "outputs", "source",
                 "uncertainty")
"""Scenario keys that name or check a scenario but do not change its computed figures."""


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key in sorted(value, key=str):
            out.update(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def setting_differences(before: Analysis, after: Analysis) -> pd.DataFrame:
    """Every setting that differs between two analyses and can change their figures.

    Covers the scenario (feed, service date, departure window, percentiles, walking, hubs,
    thresholds, data files, counter hours; not which counters open, compared counter by
    counter elsewhere) and the modelled
    network's resolved assumptions. Columns setting, before, after (text; '-' where a side lacks
    the setting), sorted by setting.
    """
    def settings(analysis: Analysis) -> dict[str, Any]:
        dumped = analysis.scenario.model_dump(mode="json", exclude=set(_NOT_SETTINGS))
        flat = _flatten(dumped, "")
        network = analysis.assumptions.get("london_network") if analysis.assumptions else None
        if network:
            flat.update(_flatten(network, "london_network"))
        return flat

    a, b = settings(before), settings(after)
    rows = []
    for key in sorted(set(a) | set(b)):
        if key.startswith("counters.open_"):
            continue  # which counters open is compared counter by counter
        left, right = a.get(key, "-"), b.get(key, "-")
        if left != right:
            rows.append({"setting": key, "before": _setting_text(left),
                         "after": _setting_text(right)})
    return pd.DataFrame(rows, columns=["setting", "before", "after"])


def _setting_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "(none)"
    if value is None:
        return "(not set)"
    return str(value)
