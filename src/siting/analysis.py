"""Analysis stage: run a scenario's travel-time and hub models into one frozen result object."""

from __future__ import annotations

import contextlib
import dataclasses
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
from siting.hub_plan import attach_hubs, plan_hubs, ward_centres
from siting.network.walk import street_network
from siting.scenario import MEASURES, DataFiles, Scenario

if TYPE_CHECKING:
    from siting.network.transit import TransitNetwork
    from siting.network.walk import WalkModel
    from siting.travel import Targets

# The computing stages (network, travel, journeys, hubs, equity) are imported where they are
# used: reading a stored Analysis, checking it, reporting and mapping it need none of them.

__all__ = ["MEASURES", "Analysis", "analyse", "counter_targets", "lsoa_travel_times"]

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
    draw_spread: dict[str, Any] = field(default_factory=dict)
    """Per measure and threshold, how far the phase draws move the people over it
    (`siting.draw_spread.draw_spread_of`); empty for one draw or an exact timetable."""
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
    spread: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Per LSOA, for both measures: median (and other percentiles) minutes and nearest counter.

    The percentiles are over (departure minute x phase draw): ``transit.draws`` seeded draws
    of the phases of frequency-based services (one pass if the feed has none). ``on_first``,
    if given, is called with the first draw's profiles and served times by measure as soon as
    they are made (`siting.draws.served_over_draws`; `siting.journeys.lsoa_journeys` traces
    the median journeys on them). ``spread``, if given, is filled with `siting.draw_spread.draw_spread_of` the
    pooled draws (how far the draws move the people over each threshold).
    """
    from siting.draw_spread import draw_spread_of
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
    if spread is not None:
        population = lsoas["population"].to_numpy(dtype=float)
        codes = lsoas["lsoa_code"].to_numpy()
        spread.update({m: draw_spread_of(served, window.departures, scenario.thresholds,
                                         population, codes) for m, (served, _) in pooled.items()})
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
            walk=scenario_walk(scenario), street=street_network(scenario, data_dir),
            # only the map and reports use these; loaded here, while the feed is being built
            lsoa_areas=load_lsoa_areas(data_dir, files),
            postcode_districts=load_postcode_districts(data_dir, files))

    # The hub plan needs only the wards, counters and walks: it runs beside the feed, network
    # and travel steps (`_analyse` starts it once this process only waits for the feed), in a
    # forked child (its pandas and geometry then never wait for this process's GIL), or on a
    # thread where forking is not safe (`siting._beside`; the steps forked after it then run
    # here too: the plan uses PROJ, and a fork beside a thread inside PROJ can hang the child).
    hub_plan = Apart(plan_hubs, scenario, data_dir, inputs.wards, inputs.counters,
                     inputs.walk, inputs.street, centres=ward_centres(inputs.lsoas))
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
            spread: dict[str, Any] = {}
            times = lsoa_travel_times(scenario, network, counters, lsoas, street,
                                      on_first=start_journeys if journeys else None,
                                      spread=spread)
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
        wards = attach_hubs(wards, hubs, assignment)
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
        draw_spread=spread,
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
