"""Service coverage of a feed: its dates, its hours on a date, the stops near the study area.

Checked before any travel time is computed, so a feed with no service on the scenario's date,
a window outside its hours, stops nowhere near the wards, or a window with no departures stops
with a named error instead of reporting a walk-only result as a public-transport one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyproj import Transformer

from siting._crs import BNG, WGS84
from siting._errors import (
    FeedError,
    NoConnectionsError,
    NoServiceOnDateError,
    StudyAreaNotServedError,
    WindowOutsideServiceError,
)
from siting.network.gtfs import Feed, busiest_date, read_feed, service_ids_on
from siting.network.walk import WalkModel

__all__ = [
    "FeedService",
    "check_connections",
    "check_date",
    "check_study_area",
    "check_window",
    "clock",
    "feed_service",
    "study_area_coverage",
    "summarise_feed",
    "window_beyond_service",
]

log = logging.getLogger(__name__)

DAY_S = 86_400
_SERVICE_VERSION = 2
"""Bump when FeedService's fields or meaning change, so cached summaries are recomputed."""


def clock(seconds: int) -> str:
    """'HH:MM' of seconds after the service day's midnight (GTFS style: 25:10 after midnight)."""
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


@dataclass(frozen=True)
class FeedService:
    """What a feed runs: its calendar's date range and busiest date, and on the service date
    the trips running and their service hours (first and last trip departures)."""

    feed: str
    """How messages name the feed (its path, or 'london-modelled (...)')."""
    first_date: str | None
    last_date: str | None
    busiest_date: str | None
    service_date: str
    trips_on_date: int
    first_departure_s: int | None
    """Earliest departure of a trip from its first stop on the service date (seconds; 0 when a
    trip of the day before is still running after midnight)."""
    last_departure_s: int | None
    """Latest departure of a trip from its first stop on the service date."""
    stops: int
    route_types: tuple[int, ...]
    stop_xy: tuple[tuple[float, float], ...] = ()
    """Every stop in EPSG:27700 (metres, rounded to 0.1 m)."""

    @property
    def date_range(self) -> str:
        """'YYYY-MM-DD to YYYY-MM-DD', or 'no dates'."""
        if self.first_date is None:
            return "no dates"
        return f"{self.first_date} to {self.last_date}"

    @property
    def hours(self) -> str | None:
        """Service hours on the date, 'HH:MM-HH:MM' of first and last trip departures."""
        if self.first_departure_s is None or self.last_departure_s is None:
            return None
        return f"{clock(self.first_departure_s)}-{clock(self.last_departure_s)}"

    def facts(self) -> dict[str, Any]:
        """JSON-able facts for summary.json and report.md (no stop coordinates)."""
        return {
            "feed": self.feed, "calendar": {"first_date": self.first_date,
                                            "last_date": self.last_date},
            "busiest_date": self.busiest_date, "service_date": self.service_date,
            "trips_on_service_date": self.trips_on_date,
            "service_hours": self.hours, "first_departure_s": self.first_departure_s,
            "last_departure_s": self.last_departure_s, "stops": self.stops,
            "route_types": list(self.route_types),
        }


def _date_range(feed: Feed) -> tuple[dt.date, dt.date] | None:
    stamps: list[str] = []
    if len(feed.calendar):
        stamps += [str(feed.calendar["start_date"].min()), str(feed.calendar["end_date"].max())]
    cd = feed.calendar_dates
    if len(cd):
        stamps += list(cd.loc[cd["exception_type"] == 1, "date"].astype(str))
    if not stamps:
        return None
    days = sorted(dt.datetime.strptime(s, "%Y%m%d").date() for s in stamps)
    return days[0], days[-1]


def _trip_starts(feed: Feed, trip_ids: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, last hop departure) seconds of every run of these trips, shifted by `shift`.

    A scheduled trip is one run; a frequency trip runs at start_s, start_s + headway, ... <
    end_s, keeping its stop times relative to its first departure.
    """
    st = feed.stop_times
    st = st[st["trip_id"].isin(pd.Index(trip_ids))]
    if st.empty:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # stop_times is sorted by trip then stop_sequence: each trip is one contiguous segment
    trip = st["trip_id"].to_numpy(dtype=object)
    dep = st["departure_s"].to_numpy(dtype=np.int64)
    head = np.flatnonzero(np.r_[True, trip[1:] != trip[:-1]])
    tail = np.r_[head[1:], len(trip)] - 1
    # a trip's last departure is from its second-last stop (the last stop is only arrived at)
    first = pd.Series(dep[head], index=trip[head])
    last = pd.Series(dep[np.maximum(tail - 1, head)], index=trip[head])
    freq = feed.frequencies[feed.frequencies["trip_id"].isin(first.index)]
    scheduled = first.index.difference(pd.Index(freq["trip_id"].unique()))
    starts = [first.reindex(scheduled).to_numpy(np.int64)]
    lasts = [last.reindex(scheduled).to_numpy(np.int64)]
    if len(freq):
        start = freq["start_s"].to_numpy(np.int64)
        headway = freq["headway_secs"].to_numpy(np.int64)
        runs = np.maximum(-(-(freq["end_s"].to_numpy(np.int64) - start) // headway), 0)
        ok = runs > 0
        last_start = start + (runs - 1) * headway
        length = (last.reindex(freq["trip_id"]).to_numpy(np.int64)
                  - first.reindex(freq["trip_id"]).to_numpy(np.int64))
        starts.append(start[ok])
        lasts.append((last_start + length)[ok])
        # only a row's first and last run matter for the span; both are kept
        starts.append(last_start[ok])
        lasts.append((last_start + length)[ok])
    return np.concatenate(starts) + shift, np.concatenate(lasts) + shift


def _route_types(feed: Feed) -> tuple[int, ...]:
    """The feed's GTFS route types; FeedError when a route has none (no allowance would apply)."""
    column = feed.routes.get("route_type")
    if column is None:
        raise FeedError(f"GTFS feed {feed.path}: routes.txt: field 'route_type' is missing. Add "
                        "it (0 tram, 1 subway, 2 rail, 3 bus, 4 ferry...): the reliability "
                        "allowance of each route depends on it.")
    types = pd.to_numeric(column, errors="coerce")
    bad = types.isna() | (types != types.round())
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        value = column.iloc[row]
        shown = "empty" if pd.isna(value) or not str(value).strip() else repr(value)
        raise FeedError(f"GTFS feed {feed.path}: routes.txt: line {row + 2}: field 'route_type' "
                        f"is {shown}, not a route type number. Give every route a "
                        "route_type (0 tram, 1 subway, 2 rail, 3 bus, 4 ferry...).")
    return tuple(sorted({int(t) for t in types}))


def summarise_feed(feed: Feed, service_date: dt.date, *, label: str) -> FeedService:
    """The FeedService of a read feed on a date (trips of the day before that run past
    midnight count, shifted by a day)."""
    span = _date_range(feed)
    trips = feed.trips.drop_duplicates("trip_id")
    service = trips["service_id"].astype(str)
    today = trips.loc[service.isin(service_ids_on(feed, service_date)), "trip_id"].to_numpy()
    yesterday = trips.loc[service.isin(service_ids_on(feed, service_date - dt.timedelta(days=1))),
                          "trip_id"].to_numpy()
    s0, _ = _trip_starts(feed, today, 0)
    s1, l1 = _trip_starts(feed, yesterday, -DAY_S)
    # Yesterday's runs still departing after midnight count from midnight on (their first
    # departure on the date is unknown without expanding them; 00:00 is a lower bound).
    starts = np.concatenate([s0, np.maximum(s1[l1 >= 0], 0)])
    lon = feed.stops["stop_lon"].to_numpy(float)
    lat = feed.stops["stop_lat"].to_numpy(float)
    x, y = Transformer.from_crs(WGS84, BNG, always_xy=True).transform(lon, lat)
    xy = tuple((round(a, 1), round(b, 1)) for a, b in zip(np.asarray(x, float).tolist(),
                                                          np.asarray(y, float).tolist(), strict=True)
               if math.isfinite(a) and math.isfinite(b))
    types = _route_types(feed)
    busiest = busiest_date(feed).isoformat() if span is not None else None
    return FeedService(
        feed=label,
        first_date=span[0].isoformat() if span else None,
        last_date=span[1].isoformat() if span else None,
        busiest_date=busiest,
        service_date=service_date.isoformat(),
        trips_on_date=len(today),
        first_departure_s=int(starts.min()) if len(starts) else None,
        last_departure_s=int(starts.max()) if len(starts) else None,
        stops=len(feed.stops),
        route_types=types,
        stop_xy=xy,
    )


def feed_service(path: Path, service_date: dt.date, *, label: str,
                 cache_dir: Path | None = None, digest: str | None = None) -> FeedService:
    """The FeedService of the feed at `path` on a date; cached in cache_dir as JSON keyed by
    the feed's sha256 `digest` (when given) and the date, so a rerun does not read the feed."""
    cache_file = None
    if cache_dir is not None and digest:
        cache_file = (Path(cache_dir)
                      / f"service-{digest[:20]}-{service_date:%Y%m%d}-v{_SERVICE_VERSION}.json")
        if cache_file.is_file():
            try:
                stored = json.loads(cache_file.read_text(encoding="utf-8"))
                text = json.dumps(stored["summary"], sort_keys=True)
                if hashlib.sha256(text.encode()).hexdigest() != stored["sha256"]:
                    raise ValueError("content hash differs")
                raw = stored["summary"]
                raw["route_types"] = tuple(raw["route_types"])
                raw["stop_xy"] = tuple(tuple(p) for p in raw["stop_xy"])
                return FeedService(**{**raw, "feed": label})
            except (OSError, ValueError, TypeError, KeyError) as exc:
                log.warning("%s: cached feed summary unusable (%s); reading the feed again",
                            cache_file, exc)
    summary = summarise_feed(read_feed(path), service_date, label=label)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
        # a shallow dict: json writes the tuples as lists (asdict's deep copy of 20,000 stop
        # coordinates: 0.10 s against 0.04 s, the same text)
        text = json.dumps({f.name: getattr(summary, f.name) for f in fields(summary)}, sort_keys=True)
        # the content hash is checked on load, so a damaged summary is never used
        tmp.write_text(json.dumps({"sha256": hashlib.sha256(text.encode()).hexdigest(),
                                   "summary": json.loads(text)}, sort_keys=True),
                       encoding="utf-8")
        tmp.replace(cache_file)
    return summary


# ---------------------------------------------------------------------------------------------
# The checks: each failure is a named error naming the file, the field, the value and the fix


def check_date(service: FeedService, *, source: str) -> None:
    """NoServiceOnDateError when no trip runs on the scenario's service date."""
    if service.trips_on_date:
        return
    if service.first_date is None:
        where = "its calendar.txt and calendar_dates.txt list no dates"
    elif not service.first_date <= service.service_date <= service.last_date:  # type: ignore[operator]
        where = f"the date is outside its calendar, which runs {service.date_range}"
    else:
        where = (f"no trip runs on that day, although the date is inside its calendar "
                 f"({service.date_range})")
    fix = (f" Set transit.service_date to a date the feed serves, e.g. its busiest date "
           f"{service.busiest_date}." if service.busiest_date else
           " Use a feed whose calendar lists service dates.")
    raise NoServiceOnDateError(
        f"{source}: field `transit.service_date` = {service.service_date}: the GTFS feed "
        f"{service.feed} has no service on that date: {where}.{fix}"
    )


def check_window(service: FeedService, window: tuple[int, int], text: str, *,
                 source: str) -> None:
    """WindowOutsideServiceError when no trip departs during the departure window."""
    first, last = service.first_departure_s, service.last_departure_s
    start, end = window
    if first is None or last is None or (first < end and last >= start):
        return
    raise WindowOutsideServiceError(
        f"{source}: field `transit.departure_window` = {text!r}: the GTFS feed {service.feed} "
        f"runs no trips in that window on {service.service_date}: its first trip departs at "
        f"{clock(first)} and its last at {clock(last)}. Set transit.departure_window inside "
        f"{clock(first)}-{clock(last)}, or use a feed with service at those hours."
    )


def study_area_coverage(stop_xy: np.ndarray, origins: pd.DataFrame, walk: WalkModel,
                        max_access_minutes: float) -> dict[str, Any]:
    """Wards (and people) with a stop within the walking access limit of one of their origins.

    ``origins`` has ward_code, population and x, y (EPSG:27700): the LSOA population-weighted
    centroids travel times start from. A stop is within the limit when the crow-fly walk
    (speed and circuity of `walk`) takes at most ``max_access_minutes``.
    """
    radius = max_access_minutes * walk.metres_per_minute / walk.circuity
    xy = origins[["x", "y"]].to_numpy(float)
    stops = np.asarray(stop_xy, dtype=float).reshape(-1, 2)
    if len(stops):
        from scipy.spatial import cKDTree

        distance, _ = cKDTree(stops).query(xy, k=1, distance_upper_bound=radius * (1 + 1e-12))
        served = np.isfinite(distance)
    else:
        served = np.zeros(len(xy), dtype=bool)
    by_ward = pd.Series(served).groupby(origins["ward_code"].to_numpy()).any()
    population = origins["population"].to_numpy(float)
    total = float(population.sum())
    return {
        "access_limit_minutes": float(max_access_minutes),
        "access_radius_m": round(float(radius), 1),
        "wards": len(by_ward),
        "wards_served": int(by_ward.sum()),
        "share_wards_served": round(float(by_ward.mean()), 4) if len(by_ward) else 0.0,
        "population_served": round(float(population[served].sum())),
        "share_population_served": round(float(population[served].sum()) / total, 4)
        if total else 0.0,
    }


def window_beyond_service(first: int | None, last: int | None,
                          window: tuple[int, int]) -> str | None:
    """A clause when part of the departure window lies outside the first..last trip departures
    (those minutes can only use trips already under way, or walk), else None."""
    if first is None or last is None:
        return None
    parts = []
    if window[0] < first:
        parts.append(f"starts before the first trip departure ({clock(first)})")
    if window[1] > last + 60:
        parts.append(f"ends after the last trip departure ({clock(last)})")
    return " and ".join(parts) or None


def check_study_area(coverage: dict[str, Any], feed: str, *, source: str) -> None:
    """StudyAreaNotServedError when no ward has a stop within the access limit."""
    if coverage["wards_served"]:
        return
    raise StudyAreaNotServedError(
        f"{source}: field `transit.feed` = {feed!r}: none of the {coverage['wards']} wards of "
        f"the study area has a stop of this feed within the walking access limit "
        f"(walking.max_access_minutes = {coverage['access_limit_minutes']:g}, about "
        f"{coverage['access_radius_m']:.0f} m crow-fly), so every result would be walk-only. "
        "Use a feed that covers the study area, or set `transit.feed: none` for a walk-only study."
    )


def check_connections(n_in_window: int, service: FeedService, text: str, *,
                      source: str) -> None:
    """NoConnectionsError when the built network has no departure in the window."""
    if n_in_window:
        return
    hours = f" (its trips depart {service.hours})" if service.hours else ""
    raise NoConnectionsError(
        f"{source}: field `transit.departure_window` = {text!r}: the network built from "
        f"{service.feed} on {service.service_date} has no vehicle departures in that "
        f"window{hours}, so every result would be walk-only. Move transit.departure_window "
        "into the feed's service hours, or set `transit.feed: none` for a walk-only study."
    )

