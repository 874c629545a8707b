"""Writing the modelled London GTFS folder (`build_london_gtfs`) and its interchange transfers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from siting._beside import Beside, Forked
from siting._errors import ScenarioError
from siting.network.gtfs_calendar import WEEKDAYS
from siting.network.london.assumptions import LondonAssumptions, _hms
from siting.network.london.bus import _buses
from siting.network.london.inputs import _TO_WGS, NOTES_FILE, london_inputs
from siting.network.london.night import (
    CALENDAR,
    NIGHT,
    NIGHT_TUBE,
    day_runs,
    night_bus_runs,
    night_tube_runs,
)
from siting.network.london.rail import _rail_and_tram
from siting.network.london.tube import _tube
from siting.network.walk import DEFAULT_CIRCUITY, WalkModel

_TIMEZONE = "Europe/London"


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


def _clock_texts(seconds: np.ndarray) -> np.ndarray:
    """HH:MM:SS of each time (`_hms`), formatting each distinct second once."""
    distinct, index = np.unique(np.asarray(seconds, dtype=np.int64), return_inverse=True)
    return np.array([_hms(v) for v in distinct.tolist()], dtype=object)[index.reshape(-1)]


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


_DEFAULT = LondonAssumptions()


def _rail_and_tram_warmed(data_dir: Path, assumptions: LondonAssumptions) -> Any:
    """`_rail_and_tram`, its track-search kernels loaded from numba's cache on a thread while
    the OSM layers are read (the first kernel of a process takes about 0.5 s to load)."""
    from siting._warm import load_cached_kernels

    with Beside.later(load_cached_kernels, ["siting.network.london._links"]).start(
            uses_proj=False) as warming:
        out = _rail_and_tram(data_dir, assumptions)
        warming.result()
    return out


def build_london_gtfs(
    data_dir: Path,
    out_dir: Path,
    assumptions: LondonAssumptions = _DEFAULT,
    *,
    service_date: dt.date,
) -> Path:
    """Build the modelled London GTFS folder (frequency-based) and return its path.

    Day patterns run every day over their mode's ``day_service_hours``; night buses every
    night and the Night Tube on Friday and Saturday nights (night.py), with GTFS times past
    24:00 on the evening's service day. calendar.txt covers the service date and the day before
    it (services ``daily``, ``night``, ``night_fri_sat``), so a query early on a Saturday
    morning sees Friday night's Night Tube.

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
    # Rail and tram (OSM track searches) are built in a forked child while the tube and buses
    # are built here: independent inputs, so the same modes in the same order as in series.
    with Forked(_rail_and_tram_warmed, data_dir, assumptions) as rail_and_tram:
        modes = [_tube(data_dir, assumptions), *_buses(data_dir, assumptions),
                 *rail_and_tram.result()]
    stops = pd.concat([m.stops for m in modes], ignore_index=True)
    stops = stops.sort_values("stop_id").drop_duplicates("stop_id").reset_index(drop=True)
    lon, lat = _TO_WGS.transform(stops["x"].to_numpy(float), stops["y"].to_numpy(float))
    routes = pd.concat([m.routes for m in modes], ignore_index=True).sort_values("route_id")
    routes["route_color"] = routes["route_id"].str.split(":").str[0].map(_ROUTE_COLOURS)
    routes["route_text_color"] = "FFFFFF"
    patterns = [p for m in modes for p in m.patterns]
    night = [*night_bus_runs(patterns, assumptions),
             *night_tube_runs(data_dir, assumptions, service_date)]
    runs = sorted([*day_runs(patterns, assumptions), *night], key=lambda r: r.pattern.trip_id)
    names = dict(zip(stops["stop_id"], stops["stop_name"], strict=True))
    trips = pd.DataFrame({
        "route_id": [r.pattern.route_id for r in runs],
        "service_id": [r.service_id for r in runs],
        "trip_id": [r.pattern.trip_id for r in runs],
        "trip_headsign": [names[r.pattern.stops[-1]] for r in runs],
        "direction_id": [r.pattern.direction for r in runs],
    })
    n = np.array([len(r.pattern.stops) for r in runs])
    start = np.repeat([r.start_s for r in runs], n)
    stop_times = pd.DataFrame({
        "trip_id": np.repeat([r.pattern.trip_id for r in runs], n),
        "arrival_time": _clock_texts(start + [t for r in runs for t in r.pattern.arrive_s]),
        "departure_time": _clock_texts(start + [t for r in runs for t in r.pattern.depart_s]),
        "stop_id": [s for r in runs for s in r.pattern.stops],
        "stop_sequence": np.concatenate([np.arange(1, k + 1) for k in n]),
        "timepoint": 0,
    })
    frequencies = pd.DataFrame({
        "trip_id": [r.pattern.trip_id for r in runs],
        "start_time": [_hms(r.start_s) for r in runs],
        "end_time": [_hms(r.end_s) for r in runs],
        "headway_secs": [r.pattern.headway_s for r in runs],
        "exact_times": 0,
    })
    # The calendar covers the service date and the evening before it, whose night service
    # (times past 24:00) runs into the service date's early morning.
    first = (service_date - dt.timedelta(days=1)).strftime("%Y%m%d")
    day = service_date.strftime("%Y%m%d")
    calendar = pd.DataFrame([
        {"service_id": sid, **{w: int(i in on) for i, w in enumerate(WEEKDAYS)},
         "start_date": first, "end_date": day}
        for sid, on in sorted(CALENDAR.items())])
    feed_info = pd.DataFrame([{
        "feed_publisher_name": "siting: modelled London network (TfL open data, OSM, "
                               "assumptions in docs/london-network.md)",
        "feed_publisher_url": "https://tfl.gov.uk/info-for/open-data-users/",
        "feed_lang": "en", "feed_start_date": first, "feed_end_date": day,
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
    notes: dict[str, Any] = {
        name: m.notes for name, m in zip(("tube", "bus", "river", "rail", "tram"), modes,
                                         strict=True)}

    def night_routes(service: str, copy: bool, mode: str = "bus") -> list[str]:
        return sorted({r.pattern.route_id for r in night if r.service_id == service
                       and r.pattern.mode == mode
                       and r.pattern.trip_id.endswith(":night") == copy})

    notes["night"] = {"night_bus_routes": night_routes(NIGHT, copy=False),
                      "all_night_day_routes": night_routes(NIGHT, copy=True),
                      "weekend_night_day_routes": night_routes(NIGHT_TUBE, copy=True),
                      "night_tube_lines": night_routes(NIGHT_TUBE, copy=False, mode="tube")}
    (out_dir / NOTES_FILE).write_text(json.dumps(notes, indent=1, sort_keys=True) + "\n",
                                      encoding="utf-8")
    return out_dir
