"""A scenario's transit network: its GTFS (user feed or the modelled London one), built once, cached.

Every feed is treated the same way: the reliability allowances, the change time, the walking
speed, circuity and access limit are scenario settings (siting.scenario.Transit and Walking),
applied here to a user's feed and to the modelled London network alike. The feed's service is
checked (date, window, departures) before the network is used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting._cache import discard, remove_stale_temporaries, usable, write_manifest
from siting._errors import FeedError, ScenarioError
from siting.network.gtfs import reading_once
from siting.network.london import (
    LondonAssumptions,
    describe_modes,
    london_inputs,
)
from siting.network.service import (
    FeedService,
    check_connections,
    check_date,
    check_study_area,
    check_window,
    feed_service,
    study_area_coverage,
    window_beyond_service,
)
from siting.network.transit import CACHE_VERSION, TransitNetwork, feed_digest
from siting.network.walk import DEFAULT_CIRCUITY, WalkModel
from siting.scenario import (
    DEFAULT_CHANGE_MINUTES,
    DEFAULT_RELIABILITY_MINUTES,
    PTAL_METHOD,
    Scenario,
)

__all__ = [
    "MOVED_ASSUMPTIONS",
    "ScenarioFeed",
    "boarding_allowances",
    "change_seconds",
    "check_service",
    "london_assumptions",
    "origins",
    "scenario_feed",
    "scenario_network",
    "scenario_service",
    "scenario_walk",
    "travel_settings",
]

log = logging.getLogger(__name__)

MOVED_ASSUMPTIONS: dict[str, str] = {
    "bus_reliability_min": "transit.reliability_minutes.bus",
    "rail_reliability_min": "transit.reliability_minutes (keys subway, rail, tram, ferry)",
    "interchange_s": "transit.min_change_minutes (in minutes)",
    "walk_speed_kmh": "walking.speed_kmh",
}
"""London-model assumptions that are now scenario settings for every feed (old key -> new)."""


@dataclasses.dataclass(frozen=True)
class ScenarioFeed:
    """The GTFS a scenario routes on, what it models, and the London assumptions used (if any)."""

    path: Path | None
    """The GTFS zip or folder; None for a walk-only study (transit.feed: none)."""
    modes: dict[str, Any]
    assumptions: dict[str, Any]
    label: str = ""
    """How messages and reports name the feed (transit.feed, relative to the data directory,
    or 'london-modelled (inputs <key>)'): the same on every machine."""


def _fingerprint(*parts: object) -> str:
    """A short stable hash of the inputs of a cached artefact."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _file_stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (path.name, stat.st_size, int(stat.st_mtime))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


def _source(scenario: Scenario) -> str:
    return str(scenario.source) if scenario.source else "scenario"


def scenario_walk(scenario: Scenario) -> WalkModel:
    """The scenario's crow-fly walking model (its speed; its circuity or the calibrated one)."""
    return WalkModel(speed_kmh=scenario.walking.speed_kmh,
                     circuity=scenario.walking.circuity or DEFAULT_CIRCUITY)


def change_seconds(scenario: Scenario) -> int:
    """Seconds to change vehicle: the scenario's setting, the same for every feed."""
    return round(scenario.transit.min_change_minutes * 60)


def london_assumptions(scenario: Scenario) -> LondonAssumptions:
    """The modelled network's assumptions: the scenario's overrides, with the settings every
    feed shares (walk speed, change time, reliability) taken from the scenario itself."""
    overrides = dict(scenario.transit.assumptions)
    for key, new in MOVED_ASSUMPTIONS.items():
        if key in overrides:
            raise ScenarioError(
                f"{_source(scenario)}: field `transit.assumptions.{key}` = {overrides[key]!r}: "
                f"this London-model assumption is now the scenario setting `{new}`, applied the "
                "same way to every feed. Move the value there and remove it from "
                "transit.assumptions."
            )
    transit = scenario.transit
    shared = {
        "walk_speed_kmh": scenario.walking.speed_kmh,
        "interchange_s": change_seconds(scenario),
        "bus_reliability_min": transit.reliability_minutes["bus"],
        "rail_reliability_min": transit.reliability_minutes["rail"],
    }
    names = {f.name for f in dataclasses.fields(LondonAssumptions)}
    shared = {k: v for k, v in shared.items() if k in names}
    return LondonAssumptions().with_overrides({**overrides, **shared}, source=_source(scenario))


def scenario_feed(scenario: Scenario, data_dir: Path, cache_dir: Path, *,
                  describe: bool = True) -> ScenarioFeed:
    """The scenario's GTFS: a user feed, or the modelled London feed built once into cache_dir.

    ``describe=False`` leaves the modelled feed's ``modes`` empty, for `feed_modes` to fill in
    beside other work (reading the written feed again takes about 0.6 s).
    """
    transit = scenario.transit
    if transit.walk_only:
        return ScenarioFeed(None, {"feed": "none", "modelled": False,
                                   "note": "walk-only study (transit.feed: none)"}, {},
                            "none (walk only)")
    if transit.feed != "london-modelled":
        path = Path(data_dir) / transit.feed
        modes = {"feed": transit.feed, "modelled": False,
                 "note": "a GTFS timetable supplied by the user; the modes are the feed's own"}
        return ScenarioFeed(path, modes, {}, transit.feed)
    assumptions = london_assumptions(scenario)
    inputs = sorted(_file_stamp(p) for p in london_inputs(Path(data_dir)))
    key = _fingerprint(CACHE_VERSION, assumptions, transit.service_date, inputs)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / f"london-gtfs-{key}"
    remove_stale_temporaries(cache_dir, "london-gtfs-*.tmp-p*")
    ok, why = usable(out)
    if not ok:
        if out.exists():
            discard(out, why)
        # Build beside the final folder, hash it (manifest last) and rename, so a crash never
        # leaves a half-built feed and a later edit of a file is caught on load.
        from siting.network.london.writer import build_london_gtfs

        tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-p{os.getpid()}-", dir=cache_dir))
        try:
            build_london_gtfs(Path(data_dir), tmp, assumptions, service_date=transit.service_date)
            write_manifest(tmp)
            if out.exists():
                shutil.rmtree(out)
            tmp.rename(out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    feed = ScenarioFeed(out, {}, _jsonable(dataclasses.asdict(assumptions)),
                        f"london-modelled (inputs {key})")
    return dataclasses.replace(feed, modes=feed_modes(feed)) if describe else feed


def feed_modes(feed: ScenarioFeed) -> dict[str, Any]:
    """What the modelled London feed runs, by mode, with counts from its files (`describe_modes`)."""
    assert feed.path is not None
    return {**describe_modes(feed.path), "feed": feed.label}


def scenario_service(scenario: Scenario, feed: ScenarioFeed, cache_dir: Path | None) -> FeedService:
    """The feed's dates, service hours on the scenario's date, stops and route types."""
    if feed.path is None:
        raise ValueError("a walk-only scenario has no feed service")
    if not feed.path.exists():
        raise FeedError(f"{_source(scenario)}: field `transit.feed` = {scenario.transit.feed!r}: "
                        f"GTFS feed {feed.path} not found. Fix the path (relative to the data "
                        "directory) or set SITING_DATA_DIR.")
    digest = feed_digest(feed.path) if cache_dir is not None else None
    return feed_service(feed.path, scenario.transit.service_date, label=feed.label,
                        cache_dir=cache_dir, digest=digest)


def boarding_allowances(scenario: Scenario, route_types: tuple[int, ...] | list[int],
                        feed: str = "") -> dict[int, int]:
    """Reliability allowance (seconds) per GTFS route_type of the feed, from the scenario.

    Raises FeedError for a route_type with no mode (e.g. 1700 miscellaneous) and no value
    given for it, naming the setting that would fix it.
    """
    out = {}
    for route_type in route_types:
        seconds = scenario.transit.reliability_seconds(int(route_type))
        if seconds is None:
            raise FeedError(
                f"{_source(scenario)}: GTFS feed {feed}: routes.txt field 'route_type' = "
                f"{route_type} has no mode, so it has no reliability allowance. Give it one in "
                f"the scenario, e.g. `transit.reliability_minutes: {{'{route_type}': 2.0}}`."
            )
        out[int(route_type)] = seconds
    return out


def travel_settings(scenario: Scenario) -> dict[str, Any]:
    """The waiting, changing and walking settings every feed is routed with (for reports)."""
    transit, walking = scenario.transit, scenario.walking
    defaults = DEFAULT_RELIABILITY_MINUTES
    return {
        "reliability_minutes": dict(sorted(transit.reliability_minutes.items())),
        "reliability_source": (f"{PTAL_METHOD}: bus 2, LU/DLR/tram/rail 0.75; other modes take "
                               "the rail value (assumption)"),
        "reliability_changed_from_default": sorted(
            k for k, v in transit.reliability_minutes.items() if defaults.get(k) != v),
        "change_minutes": transit.min_change_minutes,
        "change_source": (f"default {DEFAULT_CHANGE_MINUTES:g} min: OpenTripPlanner's "
                          "transferSlack default (PT2M)"),
        "transfer_max_walk_minutes": transit.transfer_max_minutes,
        "walk_speed_kmh": walking.speed_kmh,
        "walk_circuity": walking.circuity or DEFAULT_CIRCUITY,
        "walk_circuity_source": ("scenario" if walking.circuity else
                                 "calibrated on the OSM extracts (siting.network.walk)"),
        "access_limit_minutes": walking.max_access_minutes,
        "walking_source": f"{PTAL_METHOD}: 80 m/min; 12-minute rail catchment",
        "draws": getattr(transit, "draws", None),
        "seed": getattr(transit, "seed", None),
    }


def _empty_network(scenario: Scenario) -> TransitNetwork:
    """A network with no stops and no connections: a walk-only study."""
    start_s, end_s = scenario.transit.window_seconds
    empty_i = np.zeros(0, dtype=np.int32)
    return TransitNetwork(
        stop_ids=np.zeros(0, dtype=str), stop_xy=np.zeros((0, 2)), dep_stop=empty_i,
        arr_stop=empty_i, dep_time=empty_i, arr_time=empty_i, trip=empty_i,
        can_board=np.zeros(0, dtype=bool), can_alight=np.zeros(0, dtype=bool),
        run_ids=np.zeros(0, dtype=str), fp_offsets=np.zeros(1, dtype=np.int64),
        fp_to=np.zeros(0, dtype=np.int64), fp_seconds=np.zeros(0, dtype=np.int64),
        service_date=scenario.transit.service_date, start_s=start_s, end_s=end_s,
        walk=scenario_walk(scenario), transfer_max_minutes=scenario.transit.transfer_max_minutes,
        min_change_seconds=change_seconds(scenario), cache_key="walk-only",
    )


def scenario_network(scenario: Scenario, data_dir: Path, cache_dir: Path,
                     feed: ScenarioFeed | None = None,
                     service: FeedService | None = None) -> TransitNetwork:
    """The transit network `siting run` routes the scenario on (built once, cached on disk).

    Before the network is used, the feed's service is checked: a service date outside its
    calendar, a window outside its hours, or no departure in the window is a named error.
    """
    feed = feed or scenario_feed(scenario, data_dir, cache_dir)
    if feed.path is None:
        return _empty_network(scenario)
    with reading_once():  # a cold cache reads the feed for its service and its network
        return _checked_network(scenario, feed, service, Path(cache_dir))


def _checked_network(scenario: Scenario, feed: ScenarioFeed, service: FeedService | None,
                     cache_dir: Path) -> TransitNetwork:
    """`scenario_network` once the feed exists: its service checked, the network loaded or built."""
    assert feed.path is not None  # a walk-only scenario returned before
    service = service or scenario_service(scenario, feed, Path(cache_dir))
    source = _source(scenario)
    check_date(service, source=source)
    window = scenario.transit.window_seconds
    check_window(service, window, scenario.transit.departure_window, source=source)
    beyond = window_beyond_service(service.first_departure_s, service.last_departure_s, window)
    if beyond:
        log.warning("%s: transit.departure_window %s %s; those minutes can only use trips "
                    "already under way, or walk.", source, scenario.transit.departure_window, beyond)
    network = TransitNetwork.load_or_build(
        feed.path, scenario.transit.service_date, window[0],
        window[1] + scenario.transit.max_trip_minutes * 60, scenario_walk(scenario),
        transfer_max_minutes=scenario.transit.transfer_max_minutes,
        min_change_seconds=change_seconds(scenario),
        boarding_allowance_s=boarding_allowances(scenario, service.route_types, feed.label),
        cache_dir=Path(cache_dir),
    )
    # The network holds the hops departing from the window's start on; a hop's dep_time is its
    # departure less the reliability allowance, so dep_time < end means the vehicle can be
    # boarded by a passenger who is at the stop before the window ends.
    in_window = int(np.count_nonzero(np.asarray(network.dep_time) < window[1]))
    check_connections(in_window, service, scenario.transit.departure_window, source=source)
    return network


def origins(lsoas: pd.DataFrame) -> pd.DataFrame:
    """The points travel times start from (LSOA population-weighted centroids) with their
    ward_code and population, as plain x, y columns in EPSG:27700."""
    return pd.DataFrame({"ward_code": lsoas["ward_code"].to_numpy(),
                         "population": lsoas["population"].to_numpy(dtype=float),
                         "x": lsoas.geometry.x.to_numpy(), "y": lsoas.geometry.y.to_numpy()})


def check_service(scenario: Scenario, data_dir: Path, cache_dir: Path) -> dict[str, Any]:
    """Every check of the scenario's transit that needs no travel computation (`siting validate`).

    The feed's calendar covers the service date, its trips run in the departure window, each
    of its route types has a reliability allowance, and a stop of the feed is within the access
    limit of the study area. The modelled London feed is built (or reused from cache_dir) to
    read its real service hours. Returns the feed's facts and the study area's coverage.
    """
    from siting.data import load_lsoas

    feed = scenario_feed(scenario, Path(data_dir), Path(cache_dir))
    if feed.path is None:
        return {"feed": "none (walk-only study)"}
    service = scenario_service(scenario, feed, Path(cache_dir))
    source = _source(scenario)
    check_date(service, source=source)
    check_window(service, scenario.transit.window_seconds, scenario.transit.departure_window,
                 source=source)
    boarding_allowances(scenario, service.route_types, feed.label)
    coverage = study_area_coverage(np.asarray(service.stop_xy, dtype=float),
                                   origins(load_lsoas(Path(data_dir), scenario.data)),
                                   scenario_walk(scenario), scenario.walking.max_access_minutes)
    check_study_area(coverage, scenario.transit.feed, source=source)
    return {**service.facts(), "study_area": coverage}
