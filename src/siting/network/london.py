"""Modelled London GTFS: tube/DLR, buses, river buses, rail and trams from open data plus stated assumptions.

There is no London timetable in the data (see transit/SOURCES.md), so this module *models* one
weekday as a frequency-based GTFS feed (frequencies.txt):

* tube + DLR from the 2010-era station graph with per-line run minutes; each line's graph is cut
  into terminal-to-terminal service patterns, and pattern frequencies are fitted so every section
  of the line runs close to the line's stated headway;
* buses and river buses from TfL's 2016 route stop sequences, with a ring speed model (central /
  inner / outer London) and one headway per route;
* National Rail / Overground / TfL Rail and Tramlink from 2019 OSM track geometry: stations are
  snapped onto a directed track graph (no reversals at junctions), adjacent stations are found by
  searching along the track, run times follow a simple kinematic model plus dwell, and service
  patterns are "strokes" that carry straight on through junction stations.

Every number that is a choice rather than data lives in :class:`LondonAssumptions`, with its
source. The output is an ordinary GTFS folder that any GTFS tool reads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import heapq
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.optimize import lsq_linear
from scipy.spatial import cKDTree

from siting._crs import BNG, WGS84
from siting._errors import DataError, ScenarioError
from siting.network.walk import DEFAULT_CIRCUITY, WalkModel

__all__ = [
    "INPUT_FILES",
    "NOTES_FILE",
    "LondonAssumptions",
    "build_london_gtfs",
    "describe_modes",
    "london_inputs",
]

INPUT_FILES: dict[str, str] = {
    "tube_stations": "transit/tube_network/london.stations.csv",
    "tube_lines": "transit/tube_network/london.lines.csv",
    "tube_connections": "transit/tube_network/london.connections.csv",
    "bus_sequences": "transit/bus_sequences/bus-sequences_2016.csv",
    "railways": "osm/rail/osm_geofabrik_20190919_railways.parquet",
    "transport_points": "osm/rail/osm_geofabrik_20190919_transport_points.parquet",
    "transport_areas": "osm/rail/osm_geofabrik_20190919_transport_areas.parquet",
    "rail_stations": "osm/rail/uk_railway_stations_davwheat_gb.csv",
}
"""The data files the modelled feed is built from, relative to the data directory."""

NOTES_FILE = "modelling_notes.json"
"""Written beside the GTFS files: what the build dropped or could not place (not GTFS)."""

_PTAL = "TfL PTAL method (Assessing transport connectivity in London, 2015)"
_CHARING_CROSS_BNG = (530047.0, 180413.0)
_TIMEZONE = "Europe/London"


def _f(default: Any, doc: str, source: str) -> Any:
    """A dataclass field carrying its one-line doc and source (mutable defaults copied)."""
    meta = {"doc": doc, "source": source}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=meta)
    return field(default=default, metadata=meta)


_TUBE_HEADWAYS = {
    "Bakerloo Line": 2.75,
    "Central Line": 2.0,
    "Circle Line": 10.0,
    "District Line": 2.5,
    "East London Line": 7.5,
    "Hammersmith & City Line": 10.0,
    "Jubilee Line": 2.0,
    "Metropolitan Line": 3.0,
    "Northern Line": 2.5,
    "Piccadilly Line": 2.5,
    "Victoria Line": 2.0,
    "Waterloo & City Line": 4.0,
    "Docklands Light Railway": 4.0,
}


@dataclass(frozen=True)
class LondonAssumptions:
    """Every modelling choice of the London feed, each with a one-line doc and its source.

    Override from a scenario with :meth:`with_overrides` (keys are the field names; mapping
    fields such as ``tube_headway_min`` are merged key by key). :meth:`table` lists them all.
    """

    # -- access, waiting and interchange (used by the engine / report) ----------------------
    walk_speed_kmh: float = _f(4.8, "Walking speed to, from and between stops.",
                               _PTAL + ": 80 m/min")
    bus_reliability_min: float = _f(2.0, "Reliability allowance added to the wait for a bus.",
                                    _PTAL + ": reliability factor, bus")
    rail_reliability_min: float = _f(
        0.75, "Reliability allowance added to the wait for tube, DLR, tram, rail and river.",
        _PTAL + ": reliability factor, LU/DLR/tram/NR")
    interchange_s: int = _f(
        120, "Platform-to-platform change at one station (transfers.txt min_transfer_time).",
        "assumption: typical same-station change, TfL journey planner order of magnitude")
    interchange_radius_m: float = _f(
        300.0, "Tube, DLR, rail and tram stops this close are linked by an interchange transfer.",
        "assumption: covers split stations such as King's Cross St Pancras")
    service_start: str = _f("06:00", "Start of service for every frequency row (HH:MM).",
                            "assumption: weekday daytime; peak headways applied all day")
    service_end: str = _f("22:00", "End of service for every frequency row (HH:MM).",
                          "assumption: weekday daytime; peak headways applied all day")
    # -- tube and DLR ----------------------------------------------------------------------
    tube_headway_min: dict[str, float] = _f(  # noqa: RUF009 (_f copies via default_factory)
        _TUBE_HEADWAYS,
        "Target AM-peak headway (min) on every section of each line (keys: line names).",
        "assumption from TfL published 2017 peak service levels (trains per hour), rounded")
    tube_excluded_lines: tuple[str, ...] = _f(
        ("East London Line",),
        "Lines of the 2010 tube graph not run: the East London Line became Overground (OSM rail).",
        "transit/SOURCES.md: the graph is about 2010; ELL reopened as London Overground in 2010")
    tube_dwell_s: int = _f(
        0, "Dwell added at each intermediate tube/DLR stop on top of the data's run minutes.",
        "assumption: the data's whole-minute times are journey-planner times including dwell")
    tube_max_turn_deg: float = _f(
        120.0, "A derived tube pattern never turns back by more than this at a station.",
        "assumption: judged from station positions; excludes reversals at junctions")
    tube_loop_start: str = _f(
        "Edgware Road (C)", "Start and end station of a line that is a pure loop (the Circle).",
        "TfL: since Dec 2009 Circle trains reverse at Edgware Road (tea-cup service)")
    # -- buses -----------------------------------------------------------------------------
    bus_headway_min: float = _f(
        10.0, "AM-peak headway (min) of every day bus route not listed in bus_headway_by_route.",
        "assumption: ~8,800 peak buses over ~675 routes with ~2 h round trips gives ~10 min")
    bus_headway_by_route: dict[str, float] = _f(  # noqa: RUF009 (_f copies via default_factory)
        {}, "Per-route headway overrides (min), keyed by route code, e.g. {'25': 5}.",
        "scenario input; none by default (no frequency data in bus-sequences_2016.csv)")
    bus_excluded_routes: tuple[str, ...] = _f(
        (r"^N\d", r"^6\d\d$", r"^UL\d", r"^RT\d", r"^9\d\d$"),
        "Regexes of route codes not run: night N*, school 6xx, rail-replacement UL*, river "
        "tours RT*, limited 9xx.",
        "TfL route numbering conventions; these do not run an all-day weekday service")
    bus_runs: tuple[int, ...] = _f(
        (1, 2), "Route runs (directions) kept; runs 3+ are short workings with unknown frequency.",
        "bus-sequences_2016.csv 'Run' column")
    bus_keep_virtual_stops: bool = _f(
        True, "Keep stops flagged Virtual_Bus_Stop (hail-and-ride points, bus-station stands).",
        "TfL: virtual stops mark hail-and-ride sections and stands where people do board")
    bus_speed_central_kmh: float = _f(
        11.0, "Scheduled bus speed (incl. stops) within bus_central_radius_km of Charing Cross.",
        "TfL 2015/16 route speeds: central London routes 5.6-7 mph (urbs.london, 2016)")
    bus_speed_inner_kmh: float = _f(
        14.0, "Scheduled bus speed (incl. stops) within bus_inner_radius_km of Charing Cross.",
        "TfL 2015/16: London-wide average 9.3 mph (15 km/h); inner London below average")
    bus_speed_outer_kmh: float = _f(
        18.0, "Scheduled bus speed (incl. stops) in outer London.",
        "TfL 2015/16: London-wide average 9.3 mph (15 km/h); outer London above average")
    bus_central_radius_km: float = _f(
        3.5, "Radius from Charing Cross of the 'central' speed ring (about zone 1 / the CAZ).",
        "assumption")
    bus_inner_radius_km: float = _f(
        10.0, "Radius from Charing Cross of the 'inner' speed ring (about Inner London).",
        "assumption")
    bus_circuity: float = _f(
        1.1, "Road distance / straight line between consecutive stops of a route.",
        "assumption: consecutive stops are ~350 m apart along one road")
    # -- river buses (RB* routes of the bus sequences) --------------------------------------
    river_routes: str = _f(r"^RB", "Regex of route codes run as river buses (GTFS ferry).",
                           "bus-sequences_2016.csv lists MBNA Thames Clippers routes RB1-RB6")
    river_headway_min: float = _f(20.0, "Headway (min) of each river bus route.",
                                  "assumption: Thames Clippers peak ~3 boats per hour")
    river_speed_kmh: float = _f(22.0, "Pier-to-pier speed of river buses, including calls.",
                                "assumption: Embankment-Woolwich ~15 km in ~45 min")
    river_circuity: float = _f(1.15, "River distance / straight line between piers.",
                               "assumption")
    # -- National Rail, Overground, TfL Rail (OSM track) ------------------------------------
    rail_headway_min: float = _f(
        15.0, "Headway (min) of each derived rail service pattern.",
        "assumption: 4 trains per hour, typical 2017 Overground/suburban stopping service")
    rail_max_speed_kmh: float = _f(90.0, "Line speed of the kinematic run-time model.",
                                   "assumption: suburban EMUs, 75-100 mph lines")
    rail_accel_ms2: float = _f(0.5, "Acceleration = braking rate of the kinematic model.",
                               "assumption: typical EMU service rate")
    rail_dwell_s: int = _f(45, "Dwell at each intermediate rail station.", "assumption")
    rail_snap_radius_m: float = _f(
        100.0, "Track within this distance of a station point belongs to the station.",
        "assumption: station points are OSM nodes placed on the platforms")
    rail_snap_max_m: float = _f(
        400.0, "Stations with no track within this distance are dropped (outside the extract).",
        "assumption")
    rail_max_link_km: float = _f(15.0, "Longest track distance between adjacent stations.",
                                 "assumption: longest real gap, St Pancras-Stratford Intl ~9 km")
    rail_max_detour: float = _f(
        2.0, "Drop station links whose track distance exceeds this times the straight line.",
        "assumption: removes freight curves and depot loops between unrelated stations")
    rail_max_turn_deg: float = _f(
        80.0, "Largest direction change between consecutive track segments (no reversing).",
        "assumption: switches diverge at a few degrees, reversals are ~180")
    rail_bypass_ratio: float = _f(
        1.25, "Drop a link S-T when S-X-T via a station X is at most this times as long.",
        "assumption: all-stations model; removes fast lines and avoiding lines")
    rail_excluded_links: tuple[str, ...] = _f(
        ("ACC-HDN", "AML-HDN", "AML-WIJ", "AML-SPB", "BAL-TOO", "BKG-SFA", "BAK-QRB",
         "CMD-SOH", "CPT-STO", "HOH-WHD", "WCX-WHD", "HMN-SFA", "IMW-QRB", "IMW-WWR",
         "LEB-STO", "MYB-SOH", "SOH-WHD", "NXG-SBM", "QRB-WWR", "VXH-WWR", "CIR-STP",
         "FPK-STP", "UHL-WHP", "LHS-SRA", "CLP-HNH"),
        "Station pairs (CRS 'AAA-BBB') the track search links but no 2017 passenger train "
        "runs between (freight curves, or a station snapped to a line passing it without "
        "platforms): dropped.",
        "hand check of the derived links against 2017 passenger services")
    rail_passing: tuple[str, ...] = _f(
        ("DMK>BRX", "CLP>BRX", "LST>SDC", "BET>SDC", "MYB>SOH", "MYB>WHD", "WCX>WHD",
         "WCX>SOH", "HOH>WHD", "HOH>SOH"),
        "'AAA>BBB': trains from station AAA run through BBB without calling, and AAA-BBB is "
        "no link (BBB has no "
        "platforms on that line: Brixton's closed high-level platforms, Shoreditch High St "
        "beside the Liverpool Street approach, Chiltern trains under South Hampstead and "
        "West Hampstead).", "hand check against 2017 services")
    rail_through_max_deg: float = _f(
        75.0, "A pattern may carry on through a station (on track that allows it) when the two "
        "links deflect at most this.", "assumption")
    rail_excluded_stations: tuple[str, ...] = _f(
        ("BCZ", "BGV", "BDS", "TCR", "CWX", "CUS", "WWC", "MRW"),
        "CRS codes not open in 2017: Brent Cross West, Barking Riverside, Elizabeth line core "
        "(Bond St, Tottenham Ct Rd, Canary Wharf, Custom House, Woolwich), Meridian Water.",
        "opening dates 2019-2023 (Elizabeth line core opened May 2022)")
    rail_excluded_track_names: tuple[str, ...] = _f(
        ("Dudding Hill Line", "Slade Green Deport", "Eurostar Depot", "Brentford Dock line",
         "Brentford Dock Line", "Cement Depot Siding", "Infrastructure Maintainence Siding",
         "Engine and Carriage Line", "Acton-Northolt Line", "Staines and West Drayton Railway",
         "North London Incline", "GOBLIN-ECML Chord", "CTRL-NLL"),
        "OSM track names (2019) that carry no regular passenger service (freight, depots).",
        "assumption from the OSM way names in osm_geofabrik_20190919_railways.parquet")
    # -- Tramlink ----------------------------------------------------------------------------
    tram_headway_min: float = _f(7.5, "Headway (min) of each derived tram service pattern.",
                                 "assumption: Tramlink 2017 ~8 trams per hour per route")
    tram_max_speed_kmh: float = _f(50.0, "Line speed of the tram kinematic model.",
                                   "assumption: street running limits")
    tram_accel_ms2: float = _f(0.8, "Acceleration = braking rate of trams.", "assumption")
    tram_dwell_s: int = _f(25, "Dwell at each intermediate tram stop.", "assumption")
    tram_snap_radius_m: float = _f(60.0, "Track within this distance of a tram stop is the stop.",
                                   "assumption: OSM tram_stop nodes are on the platforms")

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    # -- overrides -----------------------------------------------------------------------

    def with_overrides(self, overrides: Mapping[str, Any], *, source: str) -> LondonAssumptions:
        """A copy with scenario overrides applied; ScenarioError names the file and field path.

        Unknown keys and wrongly typed values raise ScenarioError naming ``source``, the field
        path ``transit.assumptions.<key>``, the bad key/value, and the valid keys (closest first).
        Mapping fields are merged key by key.
        """
        if not isinstance(overrides, Mapping):
            raise ScenarioError(
                f"{source}: field `transit.assumptions` must be a mapping of assumption names to "
                f"values, got {overrides!r}. Valid keys: {', '.join(_field_names())}."
            )
        changes: dict[str, Any] = {}
        for key in sorted(overrides, key=str):
            value = overrides[key]
            names = _field_names()
            if key not in names:
                close = difflib.get_close_matches(str(key), names, n=3, cutoff=0.5)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ScenarioError(
                    f"{source}: field `transit.assumptions.{key}`: unknown assumption {key!r}."
                    f"{hint} Valid keys: {', '.join(close + [n for n in names if n not in close])}."
                )
            changes[key] = _coerce(self, key, value, source)
        updated = dataclasses.replace(self, **changes)
        problem = updated.problem()
        if problem:
            name, why = problem
            raise ScenarioError(
                f"{source}: field `transit.assumptions.{name}` {why} Fix the value in the "
                f"scenario (default: {json.dumps(getattr(LondonAssumptions(), name), default=list)})."
            )
        return updated

    def problem(self) -> tuple[str, str] | None:
        """(field name, sentence) for the first unusable value, or None when all are usable."""
        for name in ("service_start", "service_end"):
            try:
                _hhmm(getattr(self, name))
            except ValueError as exc:
                return name, str(exc)
        if _hhmm(self.service_end) <= _hhmm(self.service_start):
            return "service_end", (f"{self.service_end!r} must be after service_start "
                                   f"{self.service_start!r}.")
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            if spec.name in _POSITIVE and not value > 0:
                return spec.name, f"= {value!r} must be greater than zero."
            if value < 0:
                return spec.name, f"= {value!r} must not be negative."
        for name in ("bus_headway_by_route", "tube_headway_min"):
            for key, minutes in getattr(self, name).items():
                if not minutes > 0:
                    return name, f"[{key!r}] = {minutes!r} must be a positive number of minutes."
        for name in ("bus_excluded_routes", "river_routes"):
            value = getattr(self, name)
            for pattern in (value,) if isinstance(value, str) else value:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    return name, f"{pattern!r} is not a valid regular expression ({exc})."
        return None

    # -- reporting -----------------------------------------------------------------------

    def fingerprint(self) -> str:
        """Short sha256 of every value: a cache key for a built feed."""
        text = json.dumps(dataclasses.asdict(self), sort_keys=True, default=list)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def table(self) -> list[dict[str, Any]]:
        """One row per assumption: name, value, doc and source (for reports and docs)."""
        return [
            {"name": spec.name, "value": getattr(self, spec.name), "doc": spec.metadata["doc"],
             "source": spec.metadata["source"]}
            for spec in dataclasses.fields(self)
        ]

    def reliability_min(self, route_type: int) -> float:
        """PTAL reliability allowance (min) added to the wait for a GTFS route_type."""
        return self.bus_reliability_min if route_type == 3 else self.rail_reliability_min


_POSITIVE = frozenset({
    "walk_speed_kmh", "bus_headway_min", "river_headway_min", "rail_headway_min",
    "tram_headway_min", "bus_speed_central_kmh", "bus_speed_inner_kmh", "bus_speed_outer_kmh",
    "river_speed_kmh", "rail_max_speed_kmh", "tram_max_speed_kmh", "rail_accel_ms2",
    "tram_accel_ms2", "bus_circuity", "river_circuity", "rail_max_link_km", "rail_max_detour",
    "rail_bypass_ratio", "rail_snap_radius_m", "rail_snap_max_m", "tram_snap_radius_m",
    "rail_max_turn_deg", "rail_through_max_deg", "tube_max_turn_deg",
})
"""Numeric assumptions that must be > 0 (the others only >= 0)."""


def _field_names() -> list[str]:
    return [spec.name for spec in dataclasses.fields(LondonAssumptions)]


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is dict:
        return "a mapping of names to numbers"
    if origin is tuple:
        return f"a list of {get_args(tp)[0].__name__} values"
    return {"float": "a number", "int": "a whole number", "str": "a string",
            "bool": "true or false"}.get(getattr(tp, "__name__", str(tp)), str(tp))


def _coerce(base: LondonAssumptions, key: str, value: Any, source: str) -> Any:
    """Check one override against its field type; mappings are merged into the current value."""
    tp = get_type_hints(LondonAssumptions)[key]
    where = f"{source}: field `transit.assumptions.{key}`"

    def bad(detail: str = "") -> ScenarioError:
        return ScenarioError(
            f"{where} = {value!r} should be {_type_name(tp)}{detail}. "
            f"Example: {key}: {json.dumps(getattr(LondonAssumptions(), key), default=list)}"
        )

    def number(x: Any, integer: bool) -> float | int:
        if isinstance(x, bool) or not isinstance(x, int | float):
            raise bad()
        if integer:
            if float(x) != int(x):
                raise bad()
            return int(x)
        return float(x)

    origin = get_origin(tp)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise bad()
        merged = dict(getattr(base, key))
        known = list(merged)
        for name in sorted(value, key=str):
            if key == "tube_headway_min" and name not in known:
                close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.4)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ScenarioError(
                    f"{where}: unknown line {name!r}.{hint} Valid keys: "
                    f"{', '.join(close + [k for k in known if k not in close])}."
                )
            merged[str(name)] = number(value[name], integer=False)
        return merged
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise bad()
        inner = get_args(tp)[0]
        if inner is int:
            return tuple(int(number(v, integer=True)) for v in value)
        if not all(isinstance(v, str) for v in value):
            raise bad()
        return tuple(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise bad()
        return value
    if tp is str:
        if not isinstance(value, str):
            raise bad()
        return value
    return number(value, integer=tp is int)


def _hhmm(text: str) -> int:
    """Seconds after midnight of 'HH:MM' or 'HH:MM:SS' (ValueError with the fix otherwise)."""
    match = re.fullmatch(r"(\d{1,2}):([0-5]\d)(?::([0-5]\d))?", str(text).strip())
    if not match:
        raise ValueError(f"service time {text!r} must look like HH:MM, e.g. '06:00'.")
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours > 47:
        raise ValueError(f"service time {text!r} is beyond 47:59.")
    return hours * 3600 + minutes * 60 + seconds


def _hms(seconds: int) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


# ---------------------------------------------------------------------------------------------
# Inputs


def london_inputs(data_dir: Path) -> list[Path]:
    """Paths of the data files the modelled feed is built from (for cache keys)."""
    return [Path(data_dir) / rel for rel in INPUT_FILES.values()]


def _missing(path: Path, what: str) -> DataError:
    """A DataError naming the input file, what is wrong and how to get the data."""
    return DataError(
        f"{path}: {what}. The modelled London network needs the shared London data: set "
        "SITING_DATA_DIR to the folder holding transit/ and osm/, or run `siting data fetch`."
    )


def _input(data_dir: Path, key: str) -> Path:
    path = Path(data_dir) / INPUT_FILES[key]
    if not path.is_file():
        raise _missing(path, "file not found")
    return path


def _check(frame: pd.DataFrame, columns: Iterable[str], path: Path) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise _missing(path, f"missing column(s) {', '.join(missing)} (found "
                             f"{', '.join(map(str, frame.columns))})")
    return frame


def _read_csv(data_dir: Path, key: str, columns: Sequence[str], **kwargs: Any) -> pd.DataFrame:
    path = _input(data_dir, key)
    frame = pd.read_csv(path, encoding="utf-8-sig", **kwargs)
    frame.columns = [str(c).strip() for c in frame.columns]
    return _check(frame, columns, path)


def _read_parquet(data_dir: Path, key: str, columns: Sequence[str]) -> gpd.GeoDataFrame:
    path = _input(data_dir, key)
    frame = gpd.read_parquet(path)
    _check(frame, columns, path)
    if frame.crs is None:
        raise _missing(path, "has no CRS")
    return frame.to_crs(BNG)


# ---------------------------------------------------------------------------------------------
# Common pattern representation


@dataclass(frozen=True)
class _Pattern:
    """One trip template: a route, a direction, its stops with offsets, and a headway."""

    mode: str
    route_id: str
    trip_id: str
    direction: int
    stops: tuple[str, ...]
    arrive_s: tuple[int, ...]
    depart_s: tuple[int, ...]
    headway_s: int


@dataclass
class _Mode:
    """Stops, routes and patterns of one mode, as built."""

    stops: pd.DataFrame  # stop_id, stop_name, x, y (BNG)
    routes: pd.DataFrame  # route_id, agency_id, route_short_name, route_long_name, route_type
    patterns: list[_Pattern]
    notes: dict[str, Any] = field(default_factory=dict)


def _offsets(run_s: Sequence[float], dwell_s: float) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Arrival/departure offsets from hop run times, with dwell at intermediate stops.

    Cumulative times are rounded once (not per hop), so offsets never decrease.
    """
    n = len(run_s) + 1
    arrive = np.zeros(n)
    depart = np.zeros(n)
    for i, run in enumerate(run_s, start=1):
        arrive[i] = depart[i - 1] + float(run)
        depart[i] = arrive[i] + (dwell_s if i < n - 1 else 0.0)
    a = np.rint(arrive).astype(int)
    d = np.maximum(np.rint(depart).astype(int), a)
    return tuple(int(v) for v in a), tuple(int(v) for v in d)


def _both_directions(mode: str, route_id: str, base: str, stops: Sequence[str],
                     run_s: Sequence[float], dwell_s: float, headway_s: int) -> list[_Pattern]:
    """The pattern as two trips, direction 0 as given and direction 1 reversed."""
    out = []
    for direction in (0, 1):
        seq = list(stops) if direction == 0 else list(stops)[::-1]
        runs = list(run_s) if direction == 0 else list(run_s)[::-1]
        arrive, depart = _offsets(runs, dwell_s)
        out.append(_Pattern(mode, route_id, f"{base}:{direction}", direction, tuple(seq),
                            arrive, depart, int(headway_s)))
    return out


# ---------------------------------------------------------------------------------------------
# Tube and DLR


def _turn_ok(path: list[int], xy: Mapping[int, tuple[float, float]], max_turn_deg: float) -> bool:
    """True when no station on the path turns the direction of travel by more than the limit."""
    limit = math.cos(math.radians(max_turn_deg))
    for p, q, r in zip(path, path[1:], path[2:], strict=False):
        ax, ay = xy[q][0] - xy[p][0], xy[q][1] - xy[p][1]
        bx, by = xy[r][0] - xy[q][0], xy[r][1] - xy[q][1]
        norm = math.hypot(ax, ay) * math.hypot(bx, by)
        if norm > 0 and (ax * bx + ay * by) / norm < limit:
            return False
    return True


def _line_patterns(graph: nx.Graph, loop_start: int | None,
                   xy: Mapping[int, tuple[float, float]], max_turn_deg: float) -> list[list[int]]:
    """Terminal-to-terminal station sequences covering every edge of one line's graph.

    Greedy cover: repeatedly take the simple path between two terminals (degree-1 stations)
    that covers the most uncovered edges (ties: longest run time, then station ids), among
    paths that never turn back by more than ``max_turn_deg`` at a station (judged from station
    positions: no Chalk Farm -> Camden Town -> Kentish Town, no reversing round a triangle
    junction). Edges
    left over are the other sides of loops: a loop without a terminal beyond it (Piccadilly's
    Heathrow loop, the Circle) becomes a "lollipop" from the farthest terminal round the loop
    and back to its entry station, or a closed loop from ``loop_start`` when the line has no
    terminal at all; the other side of a loop between two covered stations (Central line's
    Hainault loop, Northern line's second central branch) runs from the farthest terminal
    through the entry station and along it.
    """
    terminals = sorted(n for n, d in graph.degree() if d == 1)
    key = lambda u, v: (u, v) if u <= v else (v, u)  # noqa: E731
    time_of = {key(u, v): d["time"] for u, v, d in graph.edges(data=True)}
    candidates: list[list[int]] = []
    for i, a in enumerate(terminals):
        for b in terminals[i + 1:]:
            candidates.extend(p for p in nx.all_simple_paths(graph, a, b)
                              if _turn_ok(p, xy, max_turn_deg))
    uncovered = set(time_of)
    chosen: list[list[int]] = []
    def score(path: list[int], todo: set[tuple[int, int]]) -> tuple[int, float, tuple[int, ...]]:
        edges = {key(u, v) for u, v in itertools.pairwise(path)}
        runtime = sum(time_of[e] for e in edges)
        return (len(edges & todo), runtime, tuple(-n for n in path))

    while uncovered and candidates:
        best = max(candidates, key=lambda p: score(p, uncovered))
        if not score(best, uncovered)[0]:
            break
        chosen.append(best)
        uncovered -= {key(u, v) for u, v in itertools.pairwise(best)}
    while uncovered:
        rest = nx.Graph(sorted(uncovered))
        component = rest.subgraph(min(nx.connected_components(rest), key=min)).copy()
        covered_nodes = {n for p in chosen for n in p}
        entries = sorted(n for n in component if n in covered_nodes)
        cycles = nx.cycle_basis(component)
        if entries:
            entry = entries[0]
        elif loop_start is not None and loop_start in component:
            entry = loop_start
        else:
            entry = min(component)
        walk: list[int]
        if cycles:
            cycle = max(cycles, key=len)
            nearest = min(cycle, key=lambda n: (nx.shortest_path_length(component, entry, n), n))
            stem = nx.shortest_path(component, entry, nearest)
            i = cycle.index(nearest)
            ring = cycle[i:] + cycle[:i]
            if len(ring) > 2 and ring[-1] < ring[1]:
                ring = [ring[0], *ring[1:][::-1]]
            walk = stem + ring[1:] + [nearest]
        else:
            far = max(component, key=lambda n: (nx.shortest_path_length(component, entry, n), -n))
            walk = nx.shortest_path(component, entry, far)
        if entries:
            covered = nx.Graph([e for p in chosen for e in itertools.pairwise(p)])
            if entry in covered:
                lengths = nx.single_source_shortest_path_length(covered, entry)
                ends = [t for t in terminals if t in lengths]
                if ends:
                    far_end = max(ends, key=lambda t: (lengths[t], -t))
                    walk = nx.shortest_path(covered, far_end, entry) + walk[1:]
        chosen.append(walk)
        uncovered -= {key(u, v) for u, v in itertools.pairwise(walk)}
    return chosen


def _fit_frequencies(patterns: list[list[int]], graph: nx.Graph, per_hour: float) -> list[float]:
    """Per-pattern trains/hour so each section's total is as close as possible to ``per_hour``.

    Bounded least squares over sections weighted by run time: minimise
    sum_e t_e * (sum_{p on e} f_p - F)^2 with F / load_p <= f_p <= F, where load_p is the most
    patterns sharing any section of p (so no pattern is starved and none exceeds the line).
    """
    edges = sorted({(min(u, v), max(u, v)) for u, v in graph.edges()})
    index = {e: i for i, e in enumerate(edges)}
    a = np.zeros((len(edges), len(patterns)))
    for j, path in enumerate(patterns):
        for u, v in itertools.pairwise(path):
            a[index[(min(u, v), max(u, v))], j] = 1.0
    weights = np.sqrt(np.array([graph.edges[e]["time"] for e in edges], dtype=float))
    load = a.sum(axis=1)
    lower = np.array([per_hour / max(load[a[:, j] > 0].max(), 1.0) for j in range(len(patterns))])
    if len(patterns) == 1:
        return [per_hour]
    fit = lsq_linear(a * weights[:, None], np.full(len(edges), per_hour) * weights,
                     bounds=(lower - 1e-9, np.full(len(patterns), per_hour) + 1e-9))
    return [float(min(max(x, lo), per_hour)) for x, lo in zip(fit.x, lower, strict=True)]


def _tube(data_dir: Path, a: LondonAssumptions) -> _Mode:
    """Tube and DLR routes: per-line patterns on the station graph, data run minutes."""
    stations = _read_csv(data_dir, "tube_stations", ["id", "latitude", "longitude", "name"])
    lines = _read_csv(data_dir, "tube_lines", ["line", "name"])
    conns = _read_csv(data_dir, "tube_connections", ["station1", "station2", "line", "time"])
    path = _input(data_dir, "tube_connections")
    unknown = sorted(set(conns["station1"]).union(conns["station2"]) - set(stations["id"]))
    if unknown:
        raise _missing(path, f"stations {unknown[:5]} are not in london.stations.csv")
    names = dict(zip(lines["line"], lines["name"], strict=True))
    for line in sorted(set(conns["line"]) - set(names)):
        raise _missing(path, f"line {line} is not in london.lines.csv")
    for name in sorted(set(lines["name"]) - set(a.tube_headway_min) -
                       set(a.tube_excluded_lines)):
        raise ScenarioError(
            f"transit.assumptions.tube_headway_min has no headway for the line {name!r} of "
            f"{_input(data_dir, 'tube_lines')}; add it, e.g. {{{name!r}: 3.0}}."
        )
    station_name = dict(zip(stations["id"], stations["name"], strict=True))
    by_name = {v: k for k, v in station_name.items()}
    if a.tube_loop_start not in by_name:
        close = difflib.get_close_matches(a.tube_loop_start, sorted(by_name), n=3, cutoff=0.5)
        raise ScenarioError(
            f"field `transit.assumptions.tube_loop_start`: no station named "
            f"{a.tube_loop_start!r} in {_input(data_dir, 'tube_stations')}"
            + (f"; did you mean {close[0]!r}?" if close else ".")
        )
    loop_start = by_name[a.tube_loop_start]
    sx, sy = _to_bng(stations["longitude"].to_numpy(float), stations["latitude"].to_numpy(float))
    station_xy = {int(i): (float(x), float(y)) for i, x, y in zip(stations["id"], sx, sy,
                                                                  strict=True)}
    patterns: list[_Pattern] = []
    routes = []
    used: set[int] = set()
    for line in sorted(names):
        name = names[line]
        if name in a.tube_excluded_lines:
            continue
        edges = conns[conns["line"] == line]
        if edges.empty:
            continue
        graph = nx.Graph()
        for s1, s2, minutes in sorted(zip(edges["station1"], edges["station2"], edges["time"],
                                          strict=True)):
            graph.add_edge(int(s1), int(s2), time=float(minutes))
        paths = _line_patterns(graph, loop_start, station_xy, a.tube_max_turn_deg)
        freqs = _fit_frequencies(paths, graph, 60.0 / a.tube_headway_min[name])
        dlr = "Docklands" in name
        mode = "dlr" if dlr else "tube"
        route_id = f"{mode}:{line}"
        routes.append({"route_id": route_id, "agency_id": "TfL",
                       "route_short_name": "DLR" if dlr else name.replace(" Line", ""),
                       "route_long_name": name, "route_type": 0 if dlr else 1})
        for k, (path_, per_hour) in enumerate(zip(paths, freqs, strict=True)):
            used.update(path_)
            run_s = [60.0 * graph.edges[u, v]["time"] for u, v in itertools.pairwise(path_)]
            patterns += _both_directions(
                mode, route_id, f"{route_id}:p{k}", [f"tube:{s}" for s in path_], run_s,
                a.tube_dwell_s, round(3600.0 / per_hour))
    kept = stations[stations["id"].isin(sorted(used))]
    x, y = _to_bng(kept["longitude"].to_numpy(float), kept["latitude"].to_numpy(float))
    stops = pd.DataFrame({"stop_id": "tube:" + kept["id"].astype(str),
                          "stop_name": kept["name"].astype(str), "x": x, "y": y})
    return _Mode(stops, pd.DataFrame(routes), patterns,
                 {"excluded_lines": list(a.tube_excluded_lines)})


_TO_BNG = Transformer.from_crs(WGS84, BNG, always_xy=True)
_TO_WGS = Transformer.from_crs(BNG, WGS84, always_xy=True)


def _to_bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = _TO_BNG.transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


# ---------------------------------------------------------------------------------------------
# Buses and river buses


_BUS_COLUMNS = ["Route", "Run", "Sequence", "Stop_Code_LBSL", "Naptan_Atco", "Stop_Name",
                "Location_Easting", "Location_Northing", "Virtual_Bus_Stop"]


def _clean_stop_name(names: pd.Series) -> pd.Series:
    """Drop TfL's interchange symbols (<> tube, # rail, >R< river) and tidy spaces."""
    text = names.fillna("").astype(str)
    text = text.str.replace(r"<>|>R<|#", " ", regex=True).str.replace(r"\s+", " ", regex=True)
    return text.str.strip().str.strip("/").str.strip()


def _buses(data_dir: Path, a: LondonAssumptions) -> tuple[_Mode, _Mode]:
    """Day bus routes and river buses from the 2016 stop sequences, with modelled hop times."""
    path = _input(data_dir, "bus_sequences")
    raw = _read_csv(data_dir, "bus_sequences", _BUS_COLUMNS, dtype=str, keep_default_na=False,
                    na_values=[""])
    raw = raw[raw["Run"].notna() & raw["Sequence"].notna()]  # the final 0x1A (DOS EOF) row
    seq = pd.DataFrame({
        "route": raw["Route"].astype(str).str.strip(),
        "run": pd.to_numeric(raw["Run"], errors="coerce"),
        "sequence": pd.to_numeric(raw["Sequence"], errors="coerce"),
        "x": pd.to_numeric(raw["Location_Easting"], errors="coerce"),
        "y": pd.to_numeric(raw["Location_Northing"], errors="coerce"),
        "virtual": raw["Virtual_Bus_Stop"].fillna("0").astype(str).str.strip() == "1",
        "name": _clean_stop_name(raw["Stop_Name"]),
        "naptan": raw["Naptan_Atco"].fillna("").astype(str).str.strip(),
        "lbsl": raw["Stop_Code_LBSL"].fillna("").astype(str).str.strip(),
    })
    bad = seq[["run", "sequence", "x", "y"]].isna().any(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise _missing(path, f"line {row}: Run, Sequence, Location_Easting or Location_Northing "
                             "is not a number")
    excluded = re.compile("|".join(f"(?:{p})" for p in a.bus_excluded_routes) or r"(?!)")
    river = re.compile(a.river_routes)
    seq = seq[~seq["route"].map(lambda r: bool(excluded.search(r)))]
    seq = seq[seq["run"].isin(list(a.bus_runs))]
    if not a.bus_keep_virtual_stops:
        seq = seq[~seq["virtual"]]
    seq = seq.assign(
        is_river=seq["route"].map(lambda r: bool(river.search(r))),
        stop_key=np.where(seq["naptan"] != "", seq["naptan"], "lbsl-" + seq["lbsl"]),
    )
    seq = seq.sort_values(["route", "run", "sequence"], kind="stable").reset_index(drop=True)
    seq["stop_id"] = np.where(seq["is_river"], "river:", "bus:") + seq["stop_key"]
    # A stop repeated at consecutive positions (stand + stop of one code) is one call.
    same = (seq["stop_id"] == seq["stop_id"].shift()) & (seq["route"] == seq["route"].shift()) \
        & (seq["run"] == seq["run"].shift())
    seq = seq[~same].reset_index(drop=True)
    trip = seq["route"] + ":" + seq["run"].astype(int).astype(str)
    first = trip != trip.shift()
    dist = np.hypot(seq["x"].diff(), seq["y"].diff()).where(~first, 0.0).to_numpy()
    mx = ((seq["x"] + seq["x"].shift()) / 2).to_numpy()
    my = ((seq["y"] + seq["y"].shift()) / 2).to_numpy()
    ring = np.hypot(mx - _CHARING_CROSS_BNG[0], my - _CHARING_CROSS_BNG[1]) / 1000.0
    speed = np.where(ring <= a.bus_central_radius_km, a.bus_speed_central_kmh,
                     np.where(ring <= a.bus_inner_radius_km, a.bus_speed_inner_kmh,
                              a.bus_speed_outer_kmh))
    hop_s = np.where(seq["is_river"],
                     dist * a.river_circuity / (a.river_speed_kmh / 3.6),
                     dist * a.bus_circuity / (speed / 3.6))
    seq["hop_s"] = np.where(first, 0.0, np.nan_to_num(hop_s))
    seq["trip"] = trip
    seq["t"] = np.rint(seq.groupby("trip", sort=False)["hop_s"].cumsum()).astype(int)
    sizes = seq.groupby("trip", sort=False)["stop_id"].transform("size")
    seq = seq[sizes >= 2]

    def mode_of(frame: pd.DataFrame, mode: str) -> _Mode:
        stops = (frame.sort_values(["stop_id", "route", "run", "sequence"], kind="stable")
                 .drop_duplicates("stop_id")[["stop_id", "name", "x", "y"]]
                 .rename(columns={"name": "stop_name"}).reset_index(drop=True))
        stops["stop_name"] = stops["stop_name"].where(stops["stop_name"] != "", stops["stop_id"])
        route_codes = sorted(frame["route"].unique())
        routes = pd.DataFrame({
            "route_id": [f"{mode}:{r}" for r in route_codes],
            "agency_id": "TfL",
            "route_short_name": route_codes,
            "route_long_name": "",
            "route_type": 4 if mode == "river" else 3,
        })
        ends = frame.groupby("route", sort=True)["name"].agg(["first", "last"])
        routes["route_long_name"] = [f"{ends.loc[r, 'first']} - {ends.loc[r, 'last']}".title()
                                     for r in route_codes]
        patterns = []
        for trip_key, group in frame.groupby("trip", sort=True):
            route, run = trip_key.rsplit(":", 1)
            minutes = (a.river_headway_min if mode == "river"
                       else a.bus_headway_by_route.get(route, a.bus_headway_min))
            times = tuple(int(t) for t in group["t"])
            patterns.append(_Pattern(mode, f"{mode}:{route}", f"{mode}:{route}:r{run}",
                                     0 if int(run) % 2 == 1 else 1,
                                     tuple(group["stop_id"]), times, times,
                                     round(minutes * 60)))
        return _Mode(stops, routes, patterns)

    bus = mode_of(seq[~seq["is_river"]], "bus")
    river_mode = mode_of(seq[seq["is_river"]], "river")
    bus.notes = {"excluded_route_patterns": list(a.bus_excluded_routes),
                 "runs": list(a.bus_runs)}
    return bus, river_mode


# ---------------------------------------------------------------------------------------------
# Rail and tram on OSM track


@dataclass(frozen=True)
class _Track:
    """A directed track graph: directed segments (tail -> head) and allowed successions."""

    xy: np.ndarray  # node coordinates (BNG)
    tail: np.ndarray
    head: np.ndarray
    length: np.ndarray
    unit: np.ndarray  # unit direction of each directed segment
    succ_ptr: np.ndarray  # CSR over directed segments
    succ: np.ndarray
    line: np.ndarray  # OSM way name code of each directed segment (-1: unnamed)


def _track_graph(lines: gpd.GeoSeries, names: pd.Series, *, max_turn_deg: float) -> _Track:
    """Directed segment graph of track lines joined only at shared OSM vertices.

    Lines are densified to 50 m so stations find a vertex nearby; ways that merely cross
    (bridges) share no vertex and so are not connected. A train may pass from one segment
    to the next only if its direction changes by at most ``max_turn_deg``: no reversing at
    junctions.
    """
    geoms = shapely.segmentize(np.asarray(lines.values), 50.0)
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    keys = np.round(coords * 10.0).astype(np.int64)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    xy = uniq / 10.0
    same = idx[1:] == idx[:-1]
    u, v = inv[:-1][same], inv[1:][same]
    codes, _ = pd.factorize(pd.Series(np.asarray(names, dtype=object)), sort=True)
    way_code = codes[idx[:-1][same]]
    keep = u != v
    segs = pd.DataFrame({"lo": np.minimum(u[keep], v[keep]), "hi": np.maximum(u[keep], v[keep]),
                         "line": way_code[keep]})
    segs = segs.sort_values(["lo", "hi", "line"], kind="stable").drop_duplicates(["lo", "hi"])
    pairs = segs[["lo", "hi"]].to_numpy()
    tail = np.concatenate([pairs[:, 0], pairs[:, 1]])
    head = np.concatenate([pairs[:, 1], pairs[:, 0]])
    line = np.concatenate([segs["line"].to_numpy(), segs["line"].to_numpy()])
    vec = xy[head] - xy[tail]
    length = np.hypot(vec[:, 0], vec[:, 1])
    unit = vec / length[:, None]
    order = np.argsort(tail, kind="stable")
    sorted_tail = tail[order]
    lo = np.searchsorted(sorted_tail, head, "left")
    hi = np.searchsorted(sorted_tail, head, "right")
    count = hi - lo
    src = np.repeat(np.arange(len(tail)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    dst = order[np.repeat(lo, count) + offset]
    ok = (head[dst] != tail[src]) & (
        (unit[src] * unit[dst]).sum(axis=1) >= math.cos(math.radians(max_turn_deg)))
    src, dst = src[ok], dst[ok]
    by_src = np.argsort(src, kind="stable")
    succ_ptr = np.searchsorted(src[by_src], np.arange(len(tail) + 1))
    return _Track(xy, tail, head, length, unit, succ_ptr, dst[by_src], line)


def _zones(track: _Track, station_xy: np.ndarray, radius: float, max_m: float) -> np.ndarray:
    """Station index owning each track node (-1: none): nodes within radius, nearest station wins.

    A station with no node within ``radius`` takes the nodes within 50 m beyond its nearest
    node, if that is within ``max_m``; otherwise it owns nothing (it is off this track).
    """
    tree = cKDTree(track.xy)
    nearest, _ = tree.query(station_xy)
    reach = np.where(nearest <= radius, radius, np.where(nearest <= max_m, nearest + 50.0, -1.0))
    owner = np.full(len(track.xy), -1, dtype=np.int64)
    ok = reach > 0
    hits = tree.query_ball_point(station_xy[ok], reach[ok])
    which = np.flatnonzero(ok)
    counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    if counts.sum() == 0:
        return owner
    s = np.repeat(which, counts)
    n = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=int(counts.sum()))
    d = np.hypot(*(track.xy[n] - station_xy[s]).T)
    table = pd.DataFrame({"n": n, "d": d, "s": s}).sort_values(["n", "d", "s"], kind="stable")
    table = table.drop_duplicates("n")
    owner[table["n"].to_numpy()] = table["s"].to_numpy()
    return owner


def _station_links(track: _Track, owner: np.ndarray, station_xy: np.ndarray, limit_m: float,
                   passing: frozenset[tuple[int, int]] = frozenset(),
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Directed links between stations that follow each other along the track, and through moves.

    From each station, a Dijkstra over directed segments records the first station zone it
    enters on each track (a link; the distance runs from the point of the track alongside the
    first station to the point alongside the second), then carries on through that zone to
    the next station (a through move first -> via -> next). Links come with the unit
    direction in which the track leaves the first station (``ux, uy``) and the OSM line name
    covering most of the link's track (``line``, -1 when unnamed). Through moves say
    which continuations the track allows at a station without reversing, so patterns never
    jump between lines that merely pass through one station (e.g. at Clapham Junction).
    A pair (s, p) in ``passing`` means trains from s run through p's zone without calling
    (p's point is near a line it has no platforms on).
    """
    head = track.head.tolist()
    length = track.length.tolist()
    ux = track.unit[:, 0].tolist()
    uy = track.unit[:, 1].tolist()
    nx_ = track.xy[:, 0].tolist()
    ny_ = track.xy[:, 1].tolist()
    own = owner.tolist()
    ptr = track.succ_ptr.tolist()
    succ = track.succ.tolist()
    head_owner = owner[track.head]
    segs = np.flatnonzero(head_owner >= 0)
    starts = pd.Series(segs).groupby(head_owner[segs]).apply(list).to_dict()
    line = track.line.tolist()
    rows = []
    moves: set[tuple[int, int, int]] = set()
    for s in sorted(starts):
        sx, sy = float(station_xy[s, 0]), float(station_xy[s, 1])
        best: dict[tuple[int, int], float] = {}
        pred: dict[int, int] = {}  # segment -> previous segment, before passing a station
        heap: list[tuple[float, int, int, int]] = []
        for e in starts[s]:
            h = head[e]
            d0 = max(0.0, (nx_[h] - sx) * ux[e] + (ny_[h] - sy) * uy[e])
            best[(e, -1)] = d0
            heap.append((d0, e, -1, -1))
        heapq.heapify(heap)
        found: dict[int, tuple[float, int, int]] = {}
        while heap:
            d, e, first, via = heapq.heappop(heap)
            if d > limit_m:
                break
            if d > best.get((e, via), math.inf):
                continue
            h = head[e]
            here = own[h]
            if (s, here) in passing:
                here = -1
            for f in succ[ptr[e]:ptr[e + 1]]:
                z = own[head[f]]
                if (s, z) in passing:
                    z = -1
                nvia = via
                if via < 0:  # not yet past a station
                    if z >= 0 and z != s:
                        tx, ty = station_xy[z]
                        val = d + max(0.0, (tx - nx_[h]) * ux[f] + (ty - ny_[h]) * uy[f])
                        leave = first if first >= 0 else f
                        if val < found.get(z, (math.inf, 0, 0))[0]:
                            found[z] = (val, leave, e)
                        nvia = z  # carry on through z's zone to find through moves
                    elif z == s and here != s:
                        continue  # back into our own zone round a loop
                elif z >= 0 and z != via:
                    if z != s:
                        moves.add((s, via, z))
                    continue
                elif z == via and here != via:
                    continue
                nd = d + length[f]
                leave = first if first >= 0 else (f if z != s else -1)
                if nd < best.get((f, nvia), math.inf):
                    best[(f, nvia)] = nd
                    if nvia < 0:
                        pred[f] = e
                    heapq.heappush(heap, (nd, f, leave, nvia))
        for t, (metres, leave, last) in found.items():
            # The link's line: the OSM name covering most of its track (unnamed ignored).
            weight: dict[int, float] = {}
            seg: int | None = last
            while seg is not None:
                if line[seg] >= 0:
                    weight[line[seg]] = weight.get(line[seg], 0.0) + length[seg]
                seg = pred.get(seg)
            name = max(weight, key=lambda k: (weight[k], -k)) if weight else -1
            rows.append((s, t, metres, ux[leave], uy[leave], name))
    links = pd.DataFrame(rows, columns=["a", "b", "metres", "ux", "uy", "line"])
    through = pd.DataFrame(sorted(moves), columns=["a", "via", "b"], dtype=np.int64)
    return links, through


def _kinematic_s(metres: np.ndarray, vmax_kmh: float, accel: float) -> np.ndarray:
    """Run seconds accelerating and braking at ``accel`` with top speed ``vmax_kmh``."""
    v = vmax_kmh / 3.6
    metres = np.asarray(metres, dtype=float)
    cruise = metres / v + v / accel
    short = 2.0 * np.sqrt(metres / accel)
    return np.where(metres >= v * v / accel, cruise, short)


def _through_patterns(exits: pd.DataFrame, through: pd.DataFrame,
                      through_max_deg: float) -> list[list[int]]:
    """Service patterns: station chains that carry straight on through stations.

    ``exits`` holds, for each station ``a`` and neighbour ``b``, the unit direction in which
    the track to ``b`` leaves ``a``; ``through`` the moves a -> via -> b the track allows. A
    train arriving at a station may continue on a link the track allows (in either direction)
    leaving within ``through_max_deg`` of straight ahead. At each station the links are first
    paired greedily, links on the same OSM line name first, then straightest first, so each
    trunk continues along itself; a branch left
    unpaired merges into the straightest trunk link (sharing it, as real branch services do).
    One pattern starts at every terminus (a station where a train cannot go on); patterns
    that are each other's reverse are kept once; links no pattern reaches (closed loops)
    get a loop pattern from their lowest station.
    """
    cos_limit = -math.cos(math.radians(through_max_deg))
    allowed = {(int(p), int(v), int(q)) for p, v, q in zip(through["a"], through["via"],
                                                           through["b"], strict=True)}
    allowed |= {(q, v, p) for p, v, q in allowed}
    by_station: dict[int, list[tuple[int, float, float, int]]] = {}
    for s, t, ux, uy, line in zip(exits["a"], exits["b"], exits["ux"], exits["uy"],
                                  exits["line"], strict=True):
        by_station.setdefault(int(s), []).append((int(t), float(ux), float(uy), int(line)))
    partner: dict[tuple[int, int], int] = {}  # (station, from) -> paired next station
    options: dict[tuple[int, int], int] = {}  # (station, from) -> straightest next station
    for s in sorted(by_station):
        links = sorted(by_station[s])
        pairs = []
        for i, (n1, x1, y1, l1) in enumerate(links):
            for n2, x2, y2, l2 in links[i + 1:]:
                c = x1 * x2 + y1 * y2
                if c <= cos_limit and (n1, s, n2) in allowed:
                    pairs.append((0 if l1 == l2 >= 0 else 1, c, n1, n2))
        taken: set[int] = set()
        for _, _, n1, n2 in sorted(pairs):
            options.setdefault((s, n1), n2)
            options.setdefault((s, n2), n1)
            if n1 not in taken and n2 not in taken:
                taken.update((n1, n2))
                partner[(s, n1)] = n2
                partner[(s, n2)] = n1

    def after(prev: int, here: int) -> int | None:
        return partner.get((here, prev), options.get((here, prev)))

    def walk(prev: int, here: int) -> list[int]:
        path = [prev, here]
        seen = {(min(prev, here), max(prev, here))}
        while (nxt := after(prev, here)) is not None:
            edge = (min(here, nxt), max(here, nxt))
            if edge in seen:
                break
            seen.add(edge)
            path.append(nxt)
            prev, here = here, nxt
        return path

    pairs_ab = sorted({(int(a), int(b)) for a, b in zip(exits["a"], exits["b"], strict=True)})
    chosen: dict[tuple[int, ...], list[int]] = {}
    for start, nxt in pairs_ab:
        if after(nxt, start) is None:  # a train reaching `start` from `nxt` cannot go on
            path = walk(start, nxt)
            key = min(tuple(path), tuple(path[::-1]))
            chosen.setdefault(key, list(key))
    covered = {(min(p, q), max(p, q)) for c in chosen.values() for p, q in itertools.pairwise(c)}
    for a, b in pairs_ab:
        if a < b and (a, b) not in covered:
            path = walk(a, b)
            covered.update((min(p, q), max(p, q)) for p, q in itertools.pairwise(path))
            chosen.setdefault(tuple(path), path)
    return [chosen[k] for k in sorted(chosen)]


def _drop_bypasses(links: pd.DataFrame, ratio: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split undirected links into kept and bypasses.

    A link S-T is a bypass when some station X has links S-X and X-T together at most
    ``ratio`` times as long: fast lines and freight avoiding lines that skip X. In an
    all-stations model the route via X already serves it.
    """
    und = links[["lo", "hi", "metres"]]
    ends = pd.concat([und, und.rename(columns={"lo": "hi", "hi": "lo"})], ignore_index=True)
    two = ends.merge(ends, left_on="hi", right_on="lo", suffixes=("_1", "_2"))
    two = two[two["lo_1"] < two["hi_2"]]
    two = two.assign(lo=two["lo_1"], hi=two["hi_2"], via=two["metres_1"] + two["metres_2"])
    shortest = two.groupby(["lo", "hi"])["via"].min()
    via = shortest.reindex(pd.MultiIndex.from_frame(und[["lo", "hi"]])).to_numpy()
    bypass = np.nan_to_num(via, nan=np.inf) <= ratio * und["metres"].to_numpy()
    return links[~bypass], links[bypass]


def _norm_name(name: str) -> str:
    """Station name key for matching lists: lower case, '&' as 'and', no qualifiers."""
    text = str(name).lower().replace("&", " and ").replace("'", "")
    text = re.sub(r"\(.*?\)", " ", text)
    text = re.sub(r"\b(rail|station|dlr)\b|^london ", " ", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _rail_stations(data_dir: Path, a: LondonAssumptions, bounds: np.ndarray) -> pd.DataFrame:
    """National Rail stations (with CRS) inside the track extent, placed at OSM station points.

    The station list and codes come from the GB station list; positions come from the OSM
    railway_station point (or area centroid) of the same name within 8 km when there is one,
    because OSM nodes sit on the platforms while the list's coordinates can be 100 m+ off.
    """
    table = _read_csv(data_dir, "rail_stations", ["stationName", "lat", "long", "crsCode"])
    table = table.dropna(subset=["lat", "long", "crsCode"])
    x, y = _to_bng(table["long"].to_numpy(float), table["lat"].to_numpy(float))
    x0, y0, x1, y1 = bounds
    inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    stations = pd.DataFrame({"crs": table["crsCode"].astype(str).to_numpy()[inside],
                             "name": table["stationName"].astype(str).to_numpy()[inside],
                             "x": x[inside], "y": y[inside]})
    stations = stations[~stations["crs"].isin(a.rail_excluded_stations)]
    stations = stations.sort_values("crs").drop_duplicates("crs").reset_index(drop=True)
    points = _read_parquet(data_dir, "transport_points", ["fclass", "name", "geometry"])
    areas = _read_parquet(data_dir, "transport_areas", ["fclass", "name", "geometry"])
    osm = pd.concat([
        pd.DataFrame({"key": points["name"], "rank": 0, "x": points.geometry.x,
                      "y": points.geometry.y})[points["fclass"].eq("railway_station").to_numpy()],
        pd.DataFrame({"key": areas["name"], "rank": 1, "x": areas.geometry.centroid.x,
                      "y": areas.geometry.centroid.y})[areas["fclass"].eq("railway_station")
                                                       .to_numpy()],
    ]).dropna(subset=["key"])
    osm["key"] = osm["key"].map(_norm_name)
    cand = stations.assign(key=stations["name"].map(_norm_name)).reset_index().merge(
        osm, on="key", suffixes=("", "_osm"))
    cand["d"] = np.hypot(cand["x"] - cand["x_osm"], cand["y"] - cand["y_osm"])
    cand = cand[cand["d"] <= 8000.0].sort_values(["index", "rank", "d"], kind="stable")
    cand = cand.drop_duplicates("index").set_index("index")
    stations["moved_m"] = 0.0
    stations.loc[cand.index, "moved_m"] = cand["d"]
    stations.loc[cand.index, "x"] = cand["x_osm"]
    stations.loc[cand.index, "y"] = cand["y_osm"]
    stations["stop_id"] = "rail:" + stations["crs"]
    return stations


def _tram_stops(data_dir: Path) -> pd.DataFrame:
    """Tramlink stops: OSM tram_stop nodes (one per platform) merged by name."""
    points = _read_parquet(data_dir, "transport_points", ["fclass", "name", "geometry"])
    trams = points[points["fclass"].eq("tram_stop") & points["name"].notna()]
    frame = pd.DataFrame({"name": trams["name"].astype(str).to_numpy(),
                          "x": trams.geometry.x.to_numpy(), "y": trams.geometry.y.to_numpy()})
    stops = frame.groupby("name", sort=True)[["x", "y"]].mean().reset_index()
    slug = stops["name"].map(lambda n: re.sub(r"[^a-z0-9]+", "-", n.lower()).strip("-"))
    stops["stop_id"] = "tram:" + slug
    return stops


def _track_mode(mode: str, lines: gpd.GeoDataFrame, stations: pd.DataFrame, *, radius: float,
                max_m: float, a: LondonAssumptions, vmax_kmh: float, accel: float,
                dwell_s: float, headway_min: float, agency: str, route_type: int,
                route_label: str) -> _Mode:
    """Stations on OSM track -> station links -> through-patterns with kinematic run times.

    Links are kept when found in either direction, are at most ``rail_max_detour`` times the
    straight line, are not listed in ``rail_excluded_links`` and do not bypass a station
    (``rail_bypass_ratio``). Run seconds = kinematic time over the track distance; dwell is
    added at intermediate stops.
    """
    track = _track_graph(lines.geometry, lines["name"], max_turn_deg=a.rail_max_turn_deg)
    xy = stations[["x", "y"]].to_numpy(float)
    ids = stations["stop_id"].to_numpy()
    names = stations["name"].to_numpy()
    owner = _zones(track, xy, radius, max_m)
    index = {str(i).split(":", 1)[1]: k for k, i in enumerate(ids)}
    codes = [tuple(str(c).split("-", 1)) for c in a.rail_excluded_links]
    skip = frozenset((index[p], index[q]) for pair in codes if all(c in index for c in pair)
                     for p, q in (pair, pair[::-1]))
    passes = [tuple(str(c).split(">", 1)) for c in a.rail_passing]
    passing = frozenset((index[p], index[q]) for p, q in passes if p in index and q in index)
    directed, through = _station_links(track, owner, xy, a.rail_max_link_km * 1000.0, passing)
    directed = directed.assign(lo=np.minimum(directed["a"], directed["b"]),
                               hi=np.maximum(directed["a"], directed["b"]))
    und = directed.groupby(["lo", "hi"], as_index=False)["metres"].min()
    crow = np.hypot(*(xy[und["lo"].to_numpy()] - xy[und["hi"].to_numpy()]).T)
    detour = und["metres"].to_numpy() > a.rail_max_detour * np.maximum(crow, 1.0)
    listed = np.array([(i, j) in skip or (i, j) in passing or (j, i) in passing
                       for i, j in zip(und["lo"], und["hi"], strict=True)], dtype=bool)
    kept, bypasses = _drop_bypasses(und[~detour & ~listed], a.rail_bypass_ratio)
    metres = kept.set_index(["lo", "hi"])["metres"]
    exits = directed.merge(kept[["lo", "hi"]], on=["lo", "hi"])[["a", "b", "ux", "uy", "line"]]
    # A link found one way only: the far station's exit points back along the link.
    have = set(zip(exits["a"], exits["b"], strict=True))
    back = [(b, a_, *(xy[a_] - xy[b]) / max(np.hypot(*(xy[a_] - xy[b])), 1.0), line)
            for a_, b, line in zip(exits["a"], exits["b"], exits["line"], strict=True)
            if (b, a_) not in have]
    exits = pd.concat([exits, pd.DataFrame(back, columns=["a", "b", "ux", "uy", "line"])],
                      ignore_index=True).sort_values(["a", "b"]).reset_index(drop=True)
    chains = sorted(_through_patterns(exits, through, a.rail_through_max_deg),
                    key=lambda c: tuple(ids[c]))
    patterns: list[_Pattern] = []
    routes = []
    for k, chain in enumerate(chains):
        hop_m = [metres[(min(p, q), max(p, q))] for p, q in itertools.pairwise(chain)]
        run_s = _kinematic_s(np.array(hop_m), vmax_kmh, accel)
        route_id = f"{mode}:{k:03d}"
        routes.append({"route_id": route_id, "agency_id": agency,
                       "route_short_name": f"{route_label} {k:03d}",
                       "route_long_name": f"{names[chain[0]]} - {names[chain[-1]]}",
                       "route_type": route_type})
        patterns += _both_directions(mode, route_id, route_id, list(ids[chain]), run_s.tolist(),
                                     dwell_s, round(headway_min * 60))
    served = sorted({s for c in chains for s in c})
    stops = stations.iloc[served][["stop_id", "name", "x", "y"]].rename(
        columns={"name": "stop_name"}).reset_index(drop=True)
    unsnapped = sorted(names[np.setdiff1d(np.arange(len(stations)), np.unique(owner[owner >= 0]))])

    def pairs(frame: pd.DataFrame) -> list[str]:
        return sorted(f"{names[i]} - {names[j]}" for i, j in zip(frame["lo"], frame["hi"],
                                                                 strict=True))

    notes = {"stations_off_track": [str(n) for n in unsnapped],
             "links": len(kept),
             "links_dropped_detour": pairs(und[detour]),
             "links_dropped_listed": pairs(und[listed]),
             "links_dropped_bypass": pairs(bypasses),
             "link_km_median": round(float(np.median(kept["metres"])) / 1000.0, 2)
             if len(kept) else 0.0}
    return _Mode(stops, pd.DataFrame(routes), patterns, notes)


def _rail_and_tram(data_dir: Path, a: LondonAssumptions) -> tuple[_Mode, _Mode]:
    """National Rail/Overground and Tramlink from OSM track, stations and tram stops."""
    tracks = _read_parquet(data_dir, "railways", ["fclass", "name", "geometry"])
    tracks = tracks[tracks.geometry.geom_type == "LineString"]
    rail_lines = tracks[tracks["fclass"].eq("rail") &
                        ~tracks["name"].isin(list(a.rail_excluded_track_names))]
    tram_lines = tracks[tracks["fclass"].eq("tram")]
    if rail_lines.empty or tram_lines.empty:
        raise _missing(_input(data_dir, "railways"), "holds no fclass 'rail' or 'tram' lines")
    stations = _rail_stations(data_dir, a, rail_lines.total_bounds)
    rail = _track_mode("rail", rail_lines, stations, radius=a.rail_snap_radius_m,
                       max_m=a.rail_snap_max_m, a=a, vmax_kmh=a.rail_max_speed_kmh,
                       accel=a.rail_accel_ms2, dwell_s=a.rail_dwell_s,
                       headway_min=a.rail_headway_min, agency="NR", route_type=2,
                       route_label="Rail")
    moved = stations[stations["moved_m"] > 300.0]
    rail.notes["stations_moved_to_osm_over_300m"] = sorted(moved["name"].tolist())
    tram = _track_mode("tram", tram_lines, _tram_stops(data_dir),
                       radius=a.tram_snap_radius_m, max_m=a.tram_snap_radius_m * 3, a=a,
                       vmax_kmh=a.tram_max_speed_kmh, accel=a.tram_accel_ms2,
                       dwell_s=a.tram_dwell_s, headway_min=a.tram_headway_min, agency="TfL",
                       route_type=0, route_label="Tram")
    return rail, tram


# ---------------------------------------------------------------------------------------------
# Writing the feed


_AGENCIES = pd.DataFrame({
    "agency_id": ["NR", "TfL"],
    "agency_name": ["National Rail and London Overground (modelled from OSM track)",
                    "Transport for London (modelled)"],
    "agency_url": ["https://www.nationalrail.co.uk", "https://tfl.gov.uk"],
    "agency_timezone": [_TIMEZONE, _TIMEZONE],
    "agency_lang": ["en", "en"],
})

_ROUTE_COLOURS = {"tube": "0019A8", "dlr": "00A4A7", "bus": "DC241F", "river": "0099CC",
                  "rail": "E21836", "tram": "5FB526"}


def _transfers(stops: pd.DataFrame, a: LondonAssumptions) -> pd.DataFrame:
    """Interchange transfers between tube/DLR, rail and tram stops (not buses): same stop,
    and different stops within ``interchange_radius_m`` (change time plus crow-fly walk)."""
    fixed = stops[~stops["stop_id"].str.startswith(("bus:", "river:"))].reset_index(drop=True)
    walk = WalkModel(speed_kmh=a.walk_speed_kmh, circuity=DEFAULT_CIRCUITY)
    xy = fixed[["x", "y"]].to_numpy(float)
    tree = cKDTree(xy)
    pairs = tree.query_pairs(a.interchange_radius_m, output_type="ndarray")
    i = np.concatenate([np.arange(len(fixed)), pairs[:, 0], pairs[:, 1]])
    j = np.concatenate([np.arange(len(fixed)), pairs[:, 1], pairs[:, 0]])
    metres = np.hypot(*(xy[i] - xy[j]).T)
    seconds = a.interchange_s + np.ceil(np.asarray(walk.minutes(metres)) * 60.0)
    out = pd.DataFrame({"from_stop_id": fixed["stop_id"].to_numpy()[i],
                        "to_stop_id": fixed["stop_id"].to_numpy()[j],
                        "transfer_type": 2, "min_transfer_time": seconds.astype(int)})
    return out.sort_values(["from_stop_id", "to_stop_id"]).reset_index(drop=True)


def _write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _feed_version(data_dir: Path, a: LondonAssumptions, service_date: dt.date) -> str:
    """Short sha256 of the input files, the assumptions and the service date."""
    digest = hashlib.sha256()
    for path in london_inputs(data_dir):
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes())
    digest.update(a.fingerprint().encode() + service_date.isoformat().encode())
    return digest.hexdigest()[:16]


def build_london_gtfs(
    data_dir: Path,
    out_dir: Path,
    assumptions: LondonAssumptions = LondonAssumptions(),
    *,
    service_date: dt.date,
) -> Path:
    """Build the modelled London GTFS folder (frequency-based, one weekday) and return its path.

    Writes agency, stops, routes, trips, stop_times, frequencies, transfers, calendar and
    feed_info .txt files (plus modelling_notes.json, which GTFS tools ignore), sorted so a rerun
    is byte-identical. Stop ids are prefixed by mode
    (``tube:<station id>``, ``bus:<NaPTAN>``, ``river:<NaPTAN>``, ``rail:<CRS>``,
    ``tram:<name>``); route ids by mode too (``tube:<line>``, ``dlr:13``, ``bus:<route>``...).
    """
    data_dir = Path(data_dir)
    out_dir = Path(out_dir)
    problem = assumptions.problem()
    if problem:
        raise ScenarioError(f"field `transit.assumptions.{problem[0]}` {problem[1]}")
    modes = [_tube(data_dir, assumptions), *_buses(data_dir, assumptions),
             *_rail_and_tram(data_dir, assumptions)]
    stops = pd.concat([m.stops for m in modes], ignore_index=True)
    stops = stops.sort_values("stop_id").drop_duplicates("stop_id").reset_index(drop=True)
    lon, lat = _TO_WGS.transform(stops["x"].to_numpy(float), stops["y"].to_numpy(float))
    routes = pd.concat([m.routes for m in modes], ignore_index=True).sort_values("route_id")
    routes["route_color"] = routes["route_id"].str.split(":").str[0].map(_ROUTE_COLOURS)
    routes["route_text_color"] = "FFFFFF"
    patterns = sorted((p for m in modes for p in m.patterns), key=lambda p: p.trip_id)
    start = _hhmm(assumptions.service_start)
    end = _hhmm(assumptions.service_end)
    names = dict(zip(stops["stop_id"], stops["stop_name"], strict=True))
    trips = pd.DataFrame({
        "route_id": [p.route_id for p in patterns],
        "service_id": "weekday",
        "trip_id": [p.trip_id for p in patterns],
        "trip_headsign": [names[p.stops[-1]] for p in patterns],
        "direction_id": [p.direction for p in patterns],
    })
    n = np.array([len(p.stops) for p in patterns])
    stop_times = pd.DataFrame({
        "trip_id": np.repeat([p.trip_id for p in patterns], n),
        "arrival_time": [_hms(start + t) for p in patterns for t in p.arrive_s],
        "departure_time": [_hms(start + t) for p in patterns for t in p.depart_s],
        "stop_id": [s for p in patterns for s in p.stops],
        "stop_sequence": np.concatenate([np.arange(1, k + 1) for k in n]),
        "timepoint": 0,
    })
    frequencies = pd.DataFrame({
        "trip_id": [p.trip_id for p in patterns],
        "start_time": _hms(start),
        "end_time": _hms(end),
        "headway_secs": [p.headway_s for p in patterns],
        "exact_times": 0,
    })
    day = service_date.strftime("%Y%m%d")
    calendar = pd.DataFrame([{
        "service_id": "weekday", "monday": 1, "tuesday": 1, "wednesday": 1, "thursday": 1,
        "friday": 1, "saturday": 1, "sunday": 1, "start_date": day, "end_date": day}])
    feed_info = pd.DataFrame([{
        "feed_publisher_name": "siting: modelled London network (TfL open data, OSM, "
                               "assumptions in docs/london-network.md)",
        "feed_publisher_url": "https://tfl.gov.uk/info-for/open-data-users/",
        "feed_lang": "en", "feed_start_date": day, "feed_end_date": day,
        "feed_version": _feed_version(data_dir, assumptions, service_date)}])
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(_AGENCIES, out_dir / "agency.txt")
    _write(pd.DataFrame({"stop_id": stops["stop_id"], "stop_name": stops["stop_name"],
                         "stop_lat": [f"{v:.6f}" for v in lat],
                         "stop_lon": [f"{v:.6f}" for v in lon],
                         "location_type": 0}), out_dir / "stops.txt")
    _write(routes, out_dir / "routes.txt")
    _write(trips, out_dir / "trips.txt")
    _write(stop_times, out_dir / "stop_times.txt")
    _write(frequencies, out_dir / "frequencies.txt")
    _write(_transfers(stops, assumptions), out_dir / "transfers.txt")
    _write(calendar, out_dir / "calendar.txt")
    _write(feed_info, out_dir / "feed_info.txt")
    notes = {name: m.notes for name, m in zip(("tube", "bus", "river", "rail", "tram"), modes,
                                               strict=True)}
    (out_dir / NOTES_FILE).write_text(json.dumps(notes, indent=1, sort_keys=True) + "\n",
                                      encoding="utf-8")
    return out_dir


# ---------------------------------------------------------------------------------------------
# Describing the modes for the report


_HOW = {
    "tube": "2010-era station graph with per-line run minutes (transit/tube_network); "
            "terminal-to-terminal patterns per line, frequencies fitted to a per-line headway",
    "dlr": "as the tube (line 13 of the same graph)",
    "bus": "TfL 2016 route stop sequences (runs 1-2); ring speed model from Charing Cross; "
           "one headway per route",
    "river": "TfL 2016 river-bus (RB*) pier sequences; constant speed; one headway per route",
    "rail": "2019 OSM track (fclass rail) with National Rail stations snapped on; adjacent "
            "stations by searching along directed track; kinematic run times plus dwell; "
            "all-stations patterns that carry straight on through junctions",
    "tram": "2019 OSM tram track with OSM tram stops; as rail with tram speeds",
}

_MISSING = [
    {"mode": "real timetables", "why": "no London GTFS/TransXChange timetable with stop "
     "coordinates in the data: every headway and run time is modelled"},
    {"mode": "Elizabeth line core", "why": "not open in 2017 (opened May 2022); TfL Rail "
     "Liverpool Street-Shenfield (to the extract edge) and Paddington-Heathrow run as "
     "ordinary rail"},
    {"mode": "Emirates Air Line cable car", "why": "not in any input file"},
    {"mode": "night buses and Night Tube", "why": "night routes (N*) are dropped; service "
     "hours are daytime only"},
    {"mode": "school buses (6xx), rail-replacement (UL*) and river tours (RT*)",
     "why": "no all-day weekday service"},
    {"mode": "DLR London City Airport / Woolwich Arsenal branch, Stratford International",
     "why": "not in the ~2010 tube/DLR station graph (nor is any later extension)"},
    {"mode": "rail fast, semi-fast and non-stop services (e.g. Heathrow Express)",
     "why": "derived rail patterns are all-stations"},
]


def describe_modes(feed_dir: Path) -> dict[str, Any]:
    """Which modes the modelled feed runs, how, with counts; and which modes are missing.

    Counts come from the written feed: routes, stops, trips (one per pattern and direction),
    the median headway, and connections per hour in the PTAL AM peak hour (08:15-09:15):
    for every trip running then, (stops - 1) * 3600 / headway.
    """
    feed_dir = Path(feed_dir)
    for name in ("routes.txt", "trips.txt", "stop_times.txt", "frequencies.txt"):
        if not (feed_dir / name).is_file():
            raise DataError(f"{feed_dir / name}: file not found; build the feed first with "
                            "build_london_gtfs(...).")
    routes = pd.read_csv(feed_dir / "routes.txt", dtype=str)
    trips = pd.read_csv(feed_dir / "trips.txt", dtype=str)
    stop_times = pd.read_csv(feed_dir / "stop_times.txt", dtype=str,
                             usecols=["trip_id", "stop_id"])
    freq = pd.read_csv(feed_dir / "frequencies.txt", dtype={"trip_id": str})
    peak_start, peak_end = 8 * 3600 + 15 * 60, 9 * 3600 + 15 * 60
    secs = lambda s: s.map(_hhmm)  # noqa: E731
    running = freq[(secs(freq["start_time"]) <= peak_start) & (secs(freq["end_time"]) >=
                                                                 peak_end)]
    hops = stop_times.groupby("trip_id").size() - 1
    modes: dict[str, Any] = {}
    trip_mode = trips["trip_id"].str.split(":").str[0]
    stop_mode = stop_times["stop_id"].str.split(":").str[0]
    for mode in ("tube", "dlr", "bus", "river", "rail", "tram"):
        mode_trips = trips[trip_mode == mode]
        if mode_trips.empty:
            continue
        f = running[running["trip_id"].isin(mode_trips["trip_id"])]
        per_hour = (hops.reindex(f["trip_id"]).to_numpy() * 3600.0 / f["headway_secs"]).sum()
        modes[mode] = {
            "modelled": True,
            "how": _HOW[mode],
            "routes": int(routes["route_id"].str.startswith(mode + ":").sum()),
            "stops": int(stop_times.loc[stop_mode.eq("tube" if mode == "dlr" else mode) &
                                        stop_times["trip_id"].isin(mode_trips["trip_id"]),
                                        "stop_id"].nunique()),
            "trips": len(mode_trips),
            "median_headway_min": round(float(f["headway_secs"].median()) / 60.0, 2)
            if len(f) else None,
            "peak_connections_per_hour": round(float(per_hour), 1),
        }
    notes_path = feed_dir / NOTES_FILE
    notes = json.loads(notes_path.read_text(encoding="utf-8")) if notes_path.is_file() else {}
    for mode, extra in notes.items():
        if mode in modes and extra:
            modes[mode]["notes"] = extra
    return {"feed": str(feed_dir), "modelled": True, "modes": modes, "missing": _MISSING,
            "peak_hour": "08:15-09:15 (PTAL AM peak)"}
