"""Every modelling choice of the London feed (`LondonAssumptions`), with its doc and source."""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin, get_type_hints

from siting._errors import ScenarioError

_PTAL = "TfL PTAL method (Assessing transport connectivity in London, 2015)"


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

_DAY_HOURS = {"tube": "05:30-24:30", "dlr": "05:30-24:30", "bus": "06:00-24:30",
              "river": "06:00-22:00", "rail": "05:30-24:00", "tram": "05:30-24:00"}
"""Daily span per mode (day_service_hours); the cited sources are in the field's source."""

_24H_ROUTES = ("12", "14", "24", "25", "36", "43", "47", "53", "65", "69", "76", "83", "85",
               "88", "94", "108", "134", "139", "148", "149", "159", "176", "188", "213",
               "220", "222", "238", "243", "250", "266", "281", "285", "341", "344", "390",
               "453")
"""Day routes run all night (bus_24h_routes); none of them has an N counterpart in the data."""

_WEEKEND_NIGHT_ROUTES = ("34", "114", "123", "132", "145", "154", "158", "183", "296", "307",
                         "319", "486", "E1", "H32", "W3", "W7")
"""Day routes run on Friday and Saturday nights (bus_weekend_night_routes), sources below."""

_NIGHT_TUBE = (
    "Central Line: Ealing Broadway > White City > Leytonstone > Loughton every 20",
    "Central Line: White City > Leytonstone > Newbury Park > Hainault every 20",
    "Jubilee Line: Stanmore > Stratford every 10",
    "Northern Line: Morden > Charing Cross > Camden Town > Edgware every 15",
    "Northern Line: Morden > Charing Cross > Camden Town > High Barnet every 15",
    "Piccadilly Line: Cockfosters > Acton Town > Heathrow Terminals 1, 2 & 3 every 10",
    "Victoria Line: Brixton > Walthamstow Central every 10",
)
"""Night Tube patterns: two Central patterns of 20 min give 10 min White City-Leytonstone and 20
on each outer section; two Northern ones of 15 min give 7.5 min (published ~8) on the core."""

_NIGHT_TUBE_FROM = {"Central Line": "2016-08-19", "Victoria Line": "2016-08-19",
                    "Jubilee Line": "2016-10-07", "Northern Line": "2016-11-18",
                    "Piccadilly Line": "2016-12-16"}

_NIGHT_TUBE_RE = re.compile(r"(?P<line>[^:>]+?)\s*:\s*(?P<stops>[^:]+?)\s+every\s+"
                            r"(?P<minutes>\d+(?:\.\d+)?)")


def _span(text: str) -> tuple[int, int]:
    """Seconds (start, end) of 'HH:MM-HH:MM'; ValueError with the fix when malformed or empty."""
    parts = str(text).split("-")
    if len(parts) != 2:
        raise ValueError(f"service span {text!r} must look like 'HH:MM-HH:MM', e.g. '06:00-24:30'.")
    start, end = _hhmm(parts[0]), _hhmm(parts[1])
    if end <= start:
        raise ValueError(f"service span {text!r} must end after it starts (write times after "
                         "midnight as 24:30, 25:00...).")
    return start, end


def _night_tube_pattern(text: str) -> tuple[str, list[str], float]:
    """(line name, station names, headway minutes) of one night_tube_patterns entry."""
    match = _NIGHT_TUBE_RE.fullmatch(str(text).strip())
    stops = [s.strip() for s in match["stops"].split(">")] if match else []
    if not match or len(stops) < 2 or not all(stops) or not float(match["minutes"]) > 0:
        raise ValueError(f"{text!r} must look like 'Victoria Line: Brixton > Walthamstow "
                         "Central every 10' (at least two stations, a positive headway).")
    return match["line"].strip(), stops, float(match["minutes"])


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
    day_service_hours: dict[str, str] = _f(  # noqa: RUF009 (_f copies via default_factory)
        _DAY_HOURS,
        "Daily service span per mode, 'HH:MM-HH:MM' (the end may pass 24:00): each mode's day "
        "patterns run at their day headway from start to end, every day of the week.",
        "tube: TfL's Night Tube announcement as reported by Gizmodo (2016-05): 'six trains per "
        "hour between 00.30 and 05.30', the hours outside the day timetable; "
        "DLR: 05:30-00:30 Monday to Saturday (TfL, as reported by Yahoo News 2024: 'the DLR "
        "usually stops running at 12.30am from Monday to Saturday'); bus: 'standard bus services "
        "run from around 06:00-00:30' (One-Two-Go London guide, 2014); tram: 'first Tramlink "
        "trams start around 5.30am from Monday to Friday ... last services ... about midnight' "
        "(visitlondon.com); rail: 'most London train services start running around 5:30 am and "
        "continue until approximately midnight' (runningescapades.com, a travel blog: weak); "
        "river: assumption, unchanged 06:00-22:00 (no published span in hand)")
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
        (r"^6\d\d$", r"^UL\d", r"^RT\d", r"^9\d\d$"),
        "Regexes of route codes not run: school 6xx, rail-replacement UL*, river tours RT*, "
        "limited 9xx (night N* routes run at night: night_bus_routes).",
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
    # -- night service (see night.py and docs/london-network.md) ---------------------------
    night_bus_routes: str = _f(
        r"^N\d", "Regex of route codes that run only at night (N-prefixed night buses).",
        "TfL route numbering: N = night route; bus-sequences_2016.csv holds 50 of them")
    bus_24h_routes: tuple[str, ...] = _f(
        _24H_ROUTES,
        "Day routes that also run all night, every night (at night_bus_headway_min over "
        "night_bus_hours). A partial list: routes with an N counterpart in the data are left out.",
        "partly sourced route by route (docs/london-network.md quotes each source), no "
        "complete list found: 47, 222, 238 every night from 12 September 2015 (Mayor's "
        "Question Time 2015/2668); 12, 148, 453 '24hr' (TfL FOI-0251-1516, May 2015); 149 "
        "(TfL press release, October 2015); 285 (TfL press release, June 2015); 94 (TfL "
        "stakeholder email, July 2016); 76, 341 'run 24 hours a day' and 14, 134 '(24 hour)' "
        "(TfL consultations, September 2018); 83 24-hour until 9 September 2016, then the "
        "N83 over the same stops (Ealing Today, June 2016); 53, 266 night service under the "
        "day number until 2019 (greenwichwire.co.uk 2019; unormlondonbusblog July 2017); 108 "
        "(Wikipedia copy of about 2016); 65 (transportdesigned.com, about 2019); 88 (Evening "
        "Standard 2015); 390 (TfL text, December 2013); 24, 36, 43, 69, 85, 159, 176, 188, "
        "213, 220, 243, 25, 14, 281: sources from 2004-2014 or undated Wikipedia copies; 139, "
        "250, 344: no source found (assumption). CILT news (17 August 2016) counted 73 "
        "24-hour routes including the 11 weekend-only ones of then, so this list of 36 is "
        "about 26 short")
    bus_weekend_night_routes: tuple[str, ...] = _f(
        _WEEKEND_NIGHT_ROUTES, "Day routes that also run all night on Friday and Saturday "
        "nights only (at night_bus_weekend_headway_min over night_bus_hours).",
        "132, 154, 486 from 12 September 2015 (Mayor's Question Time 2015/2668); 34, 123, "
        "145, 158, 296, E1, W3, W7 from 19 August 2016, and 114, 183, 307, 319 with the "
        "Jubilee and Northern Night Tube (October-November 2016), H32 with the Piccadilly "
        "(December 2016): TfL stakeholder email, July 2016, quoted by "
        "carshaltoncentral.mycouncillor.org.uk/2016/07/22/night-tube-and-night-buses; "
        "lskel.com (2022) quotes TfL's later list of 13 of them. Not confirmed for November "
        "2017 specifically")
    night_bus_weekend_headway_min: float = _f(
        30.0, "Headway (min) of bus_weekend_night_routes on Friday and Saturday nights.",
        "lskel.com (2022), quoting TfL: weekend night routes every 30 minutes (W7 every 20)")
    night_bus_headway_min: float = _f(
        20.0, "Headway (min) of every night bus route and of the 24-hour routes at night.",
        "assumption: TfL night buses mostly run every 15-30 minutes; no per-route night data")
    night_bus_hours: str = _f(
        "00:00-06:00", "Night bus hours after midnight, every night (24-hour routes start "
        "their night service when their day span ends).",
        "Wikipedia 'Night buses in London': services broadly run 23:00-06:00; route "
        "infoboxes e.g. N5 00:00-06:00, N8 00:00-06:39 (as mirrored by piglix.com)")
    night_tube_patterns: tuple[str, ...] = _f(
        _NIGHT_TUBE,
        "Night Tube service patterns, 'Line: station > via > ... > end every MIN' (each leg the "
        "shortest path on the line's graph), Friday and Saturday nights only.",
        "TfL Night Tube service details (2016; quoted by Metro 2016-08-19 and accesstolondon): "
        "Central ~10 min White City-Leytonstone, ~20 min Ealing Broadway-White City and "
        "Leytonstone-Loughton/Hainault (via Newbury Park); Jubilee and Victoria ~10 min whole "
        "line; Northern ~8 min Morden-Camden Town via Charing Cross, ~15 min to High Barnet "
        "and Edgware; Piccadilly ~10 min Cockfosters-Heathrow T5 (the 2010 graph has no T5: "
        "runs to T1-3), no T4 loop or Uxbridge branch")
    night_tube_hours: str = _f(
        "00:30-05:30", "Night Tube hours after midnight on Friday and Saturday nights.",
        "TfL via Gizmodo (2016-05): 'six trains per hour between 00.30 and 05.30'")
    night_tube_from: dict[str, str] = _f(  # noqa: RUF009 (_f copies via default_factory)
        _NIGHT_TUBE_FROM,
        "First night (YYYY-MM-DD, a Friday) each line ran the Night Tube; earlier service "
        "dates get no Night Tube on that line.",
        "Press reports of the time: Central, Victoria 19 August 2016 (Metro 2016-08-19); "
        "Jubilee 7 October 2016 (Evening Standard 2016-10-07; City AM 2016-08-26); Northern "
        "18 November 2016 (City AM, the day before launch); Piccadilly 16 December 2016 "
        "(Guardian 2016-12-16; City AM). No TfL page for the dates was found")
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
            if key in ("service_start", "service_end"):
                raise ScenarioError(
                    f"{source}: field `transit.assumptions.{key}` was replaced by "
                    "`day_service_hours`, a span per mode, e.g. day_service_hours: "
                    "{\"bus\": \"06:00-24:30\"} (modes: "
                    f"{', '.join(_DAY_HOURS)})."
                )
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
        for mode in sorted(set(_DAY_HOURS) - set(self.day_service_hours)):
            return "day_service_hours", f"has no span for the mode {mode!r}; add e.g. " \
                f"{{{mode!r}: '06:00-24:00'}}."
        for key, text in [*((f"day_service_hours[{m!r}]", s)
                            for m, s in sorted(self.day_service_hours.items())),
                          ("night_bus_hours", self.night_bus_hours),
                          ("night_tube_hours", self.night_tube_hours)]:
            try:
                _, end = _span(text)
            except ValueError as exc:
                return key.split("[")[0], f"{key} = {exc}"
            if key.startswith("night") and end > 12 * 3600:
                return key, (f"= {text!r} must be hours after midnight (end by 12:00), e.g. "
                             "'00:30-05:30'.")
        for text in self.night_tube_patterns:
            try:
                _night_tube_pattern(text)
            except ValueError as exc:
                return "night_tube_patterns", str(exc)
        for line, day in sorted(self.night_tube_from.items()):
            try:
                dt.date.fromisoformat(day)
            except ValueError:
                return "night_tube_from", f"[{line!r}] = {day!r} must be a date YYYY-MM-DD."
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
        for name in ("bus_excluded_routes", "river_routes", "night_bus_routes"):
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
    "walk_speed_kmh", "night_bus_headway_min", "night_bus_weekend_headway_min", "bus_headway_min", "river_headway_min", "rail_headway_min",
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
        return ("a mapping of names to strings" if get_args(tp)[1] is str
                else "a mapping of names to numbers")
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
            if key in ("tube_headway_min", "day_service_hours") and name not in known:
                what = "line" if key == "tube_headway_min" else "mode"
                close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.4)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ScenarioError(
                    f"{where}: unknown {what} {name!r}.{hint} Valid keys: "
                    f"{', '.join(close + [k for k in known if k not in close])}."
                )
            if get_args(tp)[1] is str:
                if not isinstance(value[name], str):
                    raise bad()
                merged[str(name)] = value[name]
            else:
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
