"""Which of a GTFS feed's services run on a date, and the runs of its frequency-based trips.

Works on a `siting.network.gtfs.Feed`'s plain tables (calendar, calendar_dates, trips,
frequencies, stop_times), as gtfs-kit does; `siting.network.gtfs` re-exports every name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from siting._errors import FeedError

if TYPE_CHECKING:
    from siting.network.gtfs import Feed

__all__ = ["WEEKDAYS", "busiest_date", "expand_frequencies", "frequency_runs", "service_ids_on"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""calendar.txt's day columns, Monday first (as `datetime.date.weekday` counts)."""


def _as_date(date: dt.date | str) -> dt.date:
    """A date from a date or a "YYYYMMDD" / "YYYY-MM-DD" string."""
    if isinstance(date, str):
        return dt.datetime.strptime(date.replace("-", ""), "%Y%m%d").date()
    return date


def service_ids_on(feed: Feed, date: dt.date | str) -> set[str]:
    """Service ids running on a date: calendar weekday within its range, then calendar_dates."""
    day = _as_date(date)
    stamp = day.strftime("%Y%m%d")
    active: set[str] = set()
    cal = feed.calendar
    if len(cal):
        weekday = WEEKDAYS[day.weekday()]
        on = (cal[weekday].to_numpy() == 1) & (cal["start_date"].to_numpy(dtype=object) <= stamp)
        on &= cal["end_date"].to_numpy(dtype=object) >= stamp
        active = set(cal.loc[on, "service_id"].astype(str))
    cd = feed.calendar_dates
    if len(cd):
        today = cd[cd["date"].astype(str) == stamp]
        active |= set(today.loc[today["exception_type"] == 1, "service_id"].astype(str))
        active -= set(today.loc[today["exception_type"] == 2, "service_id"].astype(str))
    return active


def busiest_date(feed: Feed) -> dt.date:
    """The date with the most trips running (earliest date on a tie), like partridge's."""
    stamps: set[str] = set()
    cal = feed.calendar
    if len(cal):
        first = _as_date(str(cal["start_date"].min()))
        last = _as_date(str(cal["end_date"].max()))
        stamps |= {(first + dt.timedelta(days=i)).strftime("%Y%m%d")
                   for i in range((last - first).days + 1)}
    if len(feed.calendar_dates):
        stamps |= set(feed.calendar_dates["date"].astype(str))
    if not stamps:
        raise FeedError(f"GTFS feed {feed.path}: calendar.txt and calendar_dates.txt list no "
                        "dates. Add service dates to one of them.")
    trips_per_service = feed.trips["service_id"].astype(str).value_counts()
    best: tuple[int, str] | None = None
    for stamp in sorted(stamps):
        count = int(trips_per_service.reindex(list(service_ids_on(feed, stamp))).fillna(0).sum())
        if best is None or count > best[0]:
            best = (count, stamp)
    assert best is not None
    return _as_date(best[1])


def frequency_runs(feed: Feed, trip_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Start times of frequency-based trip runs: start_s, start_s + headway_secs, ... < end_s.

    One row (trip_id, start_s) per run, in frequencies.txt order; exact_times 0 and 1 alike
    (the lock-step expansion). ``entry`` is the run's row in frequencies.txt, with that row's
    ``end_s``, ``headway_secs`` and ``exact_times``, so an engine can shift the runs of one
    exact_times=0 entry by a random phase (see `siting.network.transit`). ``trip_ids`` limits
    the trips.
    """
    freq = feed.frequencies
    entry_index = np.arange(len(freq), dtype=np.int64)
    if trip_ids is not None:
        wanted = freq["trip_id"].isin(pd.Index(list(trip_ids))).to_numpy()
        freq, entry_index = freq[wanted], entry_index[wanted]
    start = freq["start_s"].to_numpy(dtype=np.int64)
    end = freq["end_s"].to_numpy(dtype=np.int64)
    headway = freq["headway_secs"].to_numpy(dtype=np.int64)
    exact = (freq["exact_times"].to_numpy(dtype=np.int64) if "exact_times" in freq.columns
             else np.zeros(len(freq), dtype=np.int64))
    count = np.maximum(-(-(end - start) // headway), 0)
    row = np.repeat(np.arange(len(freq)), count)
    nth = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)
    return pd.DataFrame({
        "trip_id": freq["trip_id"].to_numpy(dtype=object)[row],
        "start_s": start[row] + nth * headway[row],
        "entry": entry_index[row],
        "end_s": end[row],
        "headway_secs": headway[row],
        "exact_times": exact[row],
    })


def expand_frequencies(feed: Feed, trip_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Stop times of every trip run: scheduled trips once, frequency trips once per headway.

    Frequency runs are those of `frequency_runs`, keeping the trip's stop times relative to
    its first departure. Returns the stop_times columns plus ``run`` (the trip_id, or
    "trip_id@start_s" for a frequency run), sorted by run then stop_sequence. ``trip_ids``
    limits the trips.
    """
    st = feed.stop_times
    freq = feed.frequencies
    if trip_ids is not None:
        wanted = pd.Index(pd.unique(np.asarray(list(trip_ids), dtype=object)))
        st = st[st["trip_id"].isin(wanted)]
        freq = freq[freq["trip_id"].isin(wanted)]
    by_frequency = st["trip_id"].isin(freq["trip_id"]).to_numpy()
    scheduled = st[~by_frequency].assign(run=lambda t: t["trip_id"])
    parts = [scheduled]
    if len(freq):
        template = st[by_frequency]
        first_dep = template.groupby("trip_id", sort=False)["departure_s"].transform("first")
        template = template.assign(
            arrival_s=template["arrival_s"] - first_dep,
            departure_s=template["departure_s"] - first_dep,
        )
        runs = frequency_runs(feed, freq["trip_id"])[["trip_id", "start_s"]].rename(
            columns={"start_s": "run_start"})
        expanded = runs.merge(template, on="trip_id", how="inner", sort=False)
        expanded = expanded.assign(
            arrival_s=expanded["arrival_s"] + expanded["run_start"],
            departure_s=expanded["departure_s"] + expanded["run_start"],
            run=expanded["trip_id"] + "@" + expanded["run_start"].astype(str),
        ).drop(columns="run_start")
        parts.append(expanded[scheduled.columns])
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["run", "stop_sequence"], kind="stable").reset_index(drop=True)
