"""Which modes the modelled feed runs, how, with counts; and which modes are missing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from siting._errors import DataError
from siting.network.london.assumptions import _hhmm
from siting.network.london.inputs import NOTES_FILE

_HOW = {
    "tube": "2010-era station graph with per-line run minutes (transit/tube_network); "
            "terminal-to-terminal patterns per line, frequencies fitted to a per-line headway; "
            "Night Tube on Friday and Saturday nights (TfL's published sections)",
    "dlr": "as the tube (line 13 of the same graph)",
    "bus": "TfL 2016 route stop sequences (runs 1-2); ring speed model from Charing Cross; "
           "one headway per route; night (N) routes and 24-hour routes at night",
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
    {"mode": "night rail, DLR, tram and river; London Overground night service",
     "why": "no night service modelled on these (the Overground's Friday/Saturday night "
     "service began in December 2017); night buses and the Night Tube are modelled"},
    {"mode": "part of the 24-hour bus network", "why": "by default 36 day routes run all "
     "night (bus_24h_routes; docs/london-network.md gives each one's source, 3 have none); CILT "
     "counted 73 24-hour routes in August 2016, 11 of them weekend-only, so about 26 "
     "every-night routes are missing and night travel times lean long"},
    {"mode": "weekend and off-peak timetables", "why": "day headways are the weekday peak ones "
     "on every day of the week and all day; Sunday's later start is not modelled"},
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
            "service_hours": _hours(freq[freq["trip_id"].isin(mode_trips["trip_id"])],
                                    mode_trips),
        }
    notes_path = feed_dir / NOTES_FILE
    notes = json.loads(notes_path.read_text(encoding="utf-8")) if notes_path.is_file() else {}
    for mode, extra in notes.items():
        if mode in modes and extra:
            modes[mode]["notes"] = extra
    return {"feed": str(feed_dir), "modelled": True, "modes": modes, "missing": _MISSING,
            "peak_hour": "08:15-09:15 (PTAL AM peak)", "night": notes.get("night", {})}


def _hours(freq: pd.DataFrame, trips: pd.DataFrame) -> dict[str, str]:
    """Per calendar service: first frequency start - last end (GTFS times, may pass 24:00)."""
    rows = freq.merge(trips[["trip_id", "service_id"]], on="trip_id")
    out = {}
    for service, group in rows.groupby("service_id", sort=True):
        start = group["start_time"].map(_hhmm).min()
        end = group["end_time"].map(_hhmm).max()
        out[str(service)] = f"{start // 3600:02d}:{start % 3600 // 60:02d}-" \
                            f"{end // 3600:02d}:{end % 3600 // 60:02d}"
    return out
