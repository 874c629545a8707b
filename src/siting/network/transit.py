"""Public-transport network: one service day of GTFS as sorted connection arrays plus footpaths.

Built once and reused by many travel-time queries (like r5py's TransportNetwork), and cached on
disk as .npz keyed by a sha256 of its inputs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numba import njit

from siting._cache import discard, manifest_path, remove_stale_temporaries, usable, write_manifest
from siting._errors import FeedError
from siting.network._orders import departure_order, ride_edges, tie_order
from siting.network.gtfs import Feed, frequency_runs, read_feed, service_ids_on
from siting.network.stops import footpaths, project_stops, transfer_rules, walk_seconds, z_order
from siting.network.walk import WalkModel

__all__ = ["CACHE_VERSION", "TransitNetwork", "feed_digest", "project_stops", "walk_seconds"]

CACHE_VERSION = 3
"""Bump when the network arrays or their meaning change, so old cache files are not reused."""

DAY_S = 86_400

_ARRAYS = (
    "stop_ids", "stop_xy", "dep_stop", "arr_stop", "dep_time", "arr_time", "trip",
    "can_board", "can_alight", "run_ids", "fp_offsets", "fp_to", "fp_seconds",
    "run_entry", "run_slack", "entry_headway", "stop_change_s",
)
_NO_ENTRY = -1
_NEVER_ENDS = np.iinfo(np.int32).max


def feed_digest(path: Path) -> str:
    """sha256 of a feed's bytes: the zip file, or each .txt of a folder with its name."""
    digest = hashlib.sha256()
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.suffix == ".txt" and p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _key(feed_hash: str, date: dt.date, start_s: int, end_s: int, walk: WalkModel,
         transfer_max_minutes: float, min_change_seconds: int,
         boarding_allowance_s: dict[int, int] | None = None) -> str:
    payload = {
        "boarding_allowance_s": sorted((boarding_allowance_s or {}).items()),
        "version": CACHE_VERSION, "feed": feed_hash, "date": date.isoformat(),
        "start_s": int(start_s), "end_s": int(end_s), "speed_kmh": float(walk.speed_kmh),
        "circuity": float(walk.circuity), "transfer_max_minutes": float(transfer_max_minutes),
        "min_change_seconds": int(min_change_seconds),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, eq=False)
class TransitNetwork:
    """Connections of one service day in [start_s, end_s), with stops in EPSG:27700.

    Stops (``stop_ids``, ``stop_xy``) are numbered along a Z-order curve of their position,
    not by stop_id, for memory locality in the scan and the lookups.

    Connections (one per vehicle hop between consecutive stops of a trip run) are sorted by
    departure time, then zero-duration hops first, then trip, then position in the trip: the
    order the profile search needs. ``trip`` indexes ``run_ids`` (a trip run: a trip_id, a
    frequency run "trip_id@start_s", or a previous-day run suffixed "/-1d", its times shifted
    by -86400 so that an overnight trip past 24:00 is catchable in the morning).
    ``can_board``/``can_alight`` are False where pickup_type/drop_off_type is 1.

    Footpaths (CSR by origin stop) link distinct stops within ``transfer_max_minutes`` of
    walking; a change of vehicle costs ``stop_change_s[v]`` at the same stop v (-1: no change
    possible there) and ``fp_seconds + min_change_seconds`` between stops. Both come from the
    feed's transfers.txt where it speaks (see `siting.network.stops.transfer_rules`), else from the crow-fly walk
    and the global ``min_change_seconds``; an override's ``fp_seconds`` is its
    min_transfer_time minus ``min_change_seconds`` (it may be negative).

    Frequency-based runs (frequencies.txt with exact_times=0) carry ``run_entry`` (the index of
    their frequency entry, -1 for exact runs), ``run_slack`` (seconds from the run's lock-step
    start to the entry's end_time) and ``entry_headway``: `draw` shifts every run of an entry
    by one random phase in [0, headway) and keeps the runs that still start before end_time.
    The arrays as built are the lock-step timetable (all phases 0), plus the hops of phased
    runs departing up to one headway before ``start_s`` that a phase can move into range.
    """

    stop_ids: np.ndarray
    stop_xy: np.ndarray
    dep_stop: np.ndarray
    arr_stop: np.ndarray
    dep_time: np.ndarray
    arr_time: np.ndarray
    trip: np.ndarray
    can_board: np.ndarray
    can_alight: np.ndarray
    run_ids: np.ndarray
    fp_offsets: np.ndarray
    fp_to: np.ndarray
    fp_seconds: np.ndarray
    service_date: dt.date
    start_s: int
    end_s: int
    walk: WalkModel = field(default_factory=WalkModel)
    transfer_max_minutes: float = 5.0
    min_change_seconds: int = 0
    cache_key: str = ""
    run_entry: np.ndarray | None = None
    """Frequency entry of each run (exact_times=0), -1 for exact runs; None = all exact."""
    run_slack: np.ndarray | None = None
    """Seconds from each run's lock-step start to its entry's end_time (int32 max if exact)."""
    entry_headway: np.ndarray | None = None
    """Headway in seconds of each phased frequency entry."""
    stop_change_s: np.ndarray | None = None
    """Seconds to change vehicle at each stop (-1: not possible); None = min_change_seconds."""

    def __post_init__(self) -> None:
        n_runs, n_stops = len(self.run_ids), len(self.stop_ids)
        defaults = {
            "run_entry": np.full(n_runs, _NO_ENTRY, dtype=np.int32),
            "run_slack": np.full(n_runs, _NEVER_ENDS, dtype=np.int32),
            "entry_headway": np.zeros(0, dtype=np.int32),
            "stop_change_s": np.full(n_stops, self.min_change_seconds, dtype=np.int32),
        }
        for name, value in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)

    @property
    def n_phased_entries(self) -> int:
        """Number of frequency entries (exact_times=0) whose phase a draw randomises."""
        return len(self.entry_headway)

    def draw(self, seed: int, index: int, until: int | None = None) -> TransitNetwork:
        """The network with draw ``index`` of random phases (seeded by (seed, index)); with
        ``until``, only its connections departing before that second.

        Every phased frequency entry e gets a phase uniform on the integers [0, headway_e),
        as R5 does (conveyal/r5 ``FrequencyRandomOffsets.randomize``: ``mt.nextInt(headway)``
        per pattern, trip schedule and frequency entry). Its runs depart at
        start_time + phase + k * headway while before end_time (GTFS: end_time closes the
        entry; R5 also keeps a run starting exactly at end_time). The generator is
        ``numpy.random.default_rng([seed, index])``, so a draw does not depend on which
        other draws run, in what order or on which worker. Connections are re-sorted by a
        counting sort on the shifted departure second over a precomputed tie order, with no
        pandas; the result is an ordinary exact network (its cache_key names the draw).
        """
        rng = np.random.default_rng([int(seed), int(index)])
        headway = self.entry_headway.astype(np.int64)
        phase = rng.integers(0, headway) if len(headway) else np.zeros(0, dtype=np.int64)
        return self.with_phases(phase, f"draw:{int(seed)}:{int(index)}", until)

    def with_phases(self, phase: np.ndarray, label: str,
                    until: int | None = None) -> TransitNetwork:
        """The network with each phased frequency entry's runs moved by ``phase`` seconds
        (each in [0, its headway)); ``label`` names them in the cache key (`draw` explains)."""
        phase = np.asarray(phase, dtype=np.int64)
        if phase.shape != (self.n_phased_entries,) or (
                len(phase) and ((phase < 0).any() or (phase >= self.entry_headway).any())):
            raise ValueError(f"one phase in [0, headway) per phased entry "
                             f"({self.n_phased_entries}) is needed")
        has_entry = self.run_entry >= 0
        run_shift = np.zeros(len(self.run_ids), dtype=np.int32)
        run_shift[has_entry] = phase[self.run_entry[has_entry]]
        run_valid = run_shift < self.run_slack
        tied = self._tie_ordered()
        end_s = int(self.end_s) if until is None else max(int(self.start_s),
                                                          min(int(self.end_s), int(until)))
        arrays = _drawn_arrays(*tied, run_shift, run_valid, int(self.start_s), end_s)
        drawn = dataclasses.replace(
            self, end_s=end_s,
            dep_stop=arrays[0], arr_stop=arrays[1], dep_time=arrays[2], arr_time=arrays[3],
            trip=arrays[4], can_board=arrays[5], can_alight=arrays[6],
            run_entry=np.full(len(self.run_ids), _NO_ENTRY, dtype=np.int32),
            run_slack=np.where(run_valid, self.run_slack - run_shift, 0).astype(np.int32),
            entry_headway=np.zeros(0, dtype=np.int32),
            cache_key=f"{self.cache_key}/{label}"
                      + ("" if end_s == self.end_s else f":until:{end_s}"),
        )
        # A draw moves whole runs and keeps a subset of them: the undrawn network's least
        # ride times bound every draw's, so they are computed once and shared.
        object.__setattr__(drawn, "_ride_edges_cache", self.ride_edges())
        return drawn

    def prepare_draws(self) -> None:
        """Compute once what every draw of this network shares (its tie order and least ride
        times), so that threads drawing at once do not each compute it."""
        if self.n_phased_entries:
            self._tie_ordered()
        self.ride_edges()

    def ride_edges(self) -> tuple[np.ndarray, ...]:
        """Least boarding and staying-on times between stops (lower bounds for the scan).

        Returns board_from, board_to, board_s, stay_from, stay_to, stay_s. Board edges: a hop's
        dep_stop -> arr_stop with the least ``arr_time - dep_time`` (which includes any boarding
        allowance, a real cost of boarding). Stay edges: the arr_stop of a hop -> the arr_stop
        of the same run's next hop, with the least arrival difference (riding on pays no
        allowance). Cached; a draw shares its network's.
        """
        cached = self.__dict__.get("_ride_edges_cache")
        if cached is None:
            cached = ride_edges(self.dep_stop, self.arr_stop, self.dep_time, self.arr_time,
                                self.trip, self.n_stops)
            object.__setattr__(self, "_ride_edges_cache", cached)
        return cached

    def _tie_ordered(self) -> tuple[np.ndarray, ...]:
        """The connection arrays in tie order (zero-duration first, trip, position), cached:
        the order within one second, read in sequence by a draw."""
        cached = self.__dict__.get("_tie_ordered_cache")
        if cached is None:
            order = tie_order(self.arr_time, self.dep_time, self.trip)
            cached = tuple(np.ascontiguousarray(a[order]) for a in (
                self.dep_stop, self.arr_stop, self.dep_time, self.arr_time, self.trip,
                self.can_board, self.can_alight))
            object.__setattr__(self, "_tie_ordered_cache", cached)
        return cached

    @property
    def n_stops(self) -> int:
        """Number of stops served by at least one kept connection."""
        return len(self.stop_ids)

    @property
    def n_connections(self) -> int:
        """Number of vehicle hops departing in [start_s, end_s)."""
        return len(self.dep_time)

    @classmethod
    def build(
        cls,
        feed: Feed,
        date: dt.date | str,
        start_s: int,
        end_s: int,
        walk: WalkModel | None = None,
        *,
        transfer_max_minutes: float = 5.0,
        min_change_seconds: int = 0,
        boarding_allowance_s: dict[int, int] | None = None,
        cache_key: str | None = None,
    ) -> TransitNetwork:
        """Build the network of hops departing in [start_s, end_s) on a service date.

        Trips of the previous service day are included with times shifted by -86400.
        ``boarding_allowance_s`` (GTFS route_type -> seconds; TfL PTAL's reliability allowance)
        makes a passenger be at the stop that long before a vehicle of that type departs: every
        hop's boarding time is its departure minus the allowance (riding on is unaffected).
        """
        walk = walk or WalkModel()
        day = date if isinstance(date, dt.date) else dt.date.fromisoformat(str(date))
        if end_s <= start_s:
            raise ValueError(f"end_s ({end_s}) must be after start_s ({start_s})")
        hops, run_ids, phases = _hops(feed, day, int(start_s), int(end_s))
        n_names = len(hops["stop_names"])
        used = np.flatnonzero(np.bincount(hops["dep_stop"], minlength=n_names)
                              + np.bincount(hops["arr_stop"], minlength=n_names))
        stop_ids = hops["stop_names"][used].astype(str)
        stop_xy = project_stops(feed, stop_ids)
        # Stops numbered along a Z-order curve: footpath neighbours and one origin's access
        # stops get nearby numbers, so the scan's and the lookup's reads share cache lines.
        spatial = z_order(stop_xy)
        used, stop_ids, stop_xy = used[spatial], stop_ids[spatial], stop_xy[spatial]
        number = np.full(len(hops["stop_names"]), -1, dtype=np.int64)
        number[used] = np.arange(len(used))
        dep_stop = number[hops["dep_stop"]]
        arr_stop = number[hops["arr_stop"]]
        trip = hops["run"]
        dep_time = hops["dep_time"] - _allowance(feed, hops["run_trip_ids"],
                                                 boarding_allowance_s)[trip]
        arr_time = hops["arr_time"]
        order = departure_order(dep_time, arr_time, trip, hops["position"])
        stop_change_s, overrides = transfer_rules(feed, stop_ids, stop_xy, walk,
                                                   int(min_change_seconds))
        fp_offsets, fp_to, fp_seconds = footpaths(stop_xy, walk, transfer_max_minutes,
                                                   overrides, int(min_change_seconds))
        key = cache_key
        if key is None:
            key = _key(feed_digest(feed.path), day, start_s, end_s, walk, transfer_max_minutes,
                       min_change_seconds, boarding_allowance_s) if Path(feed.path).exists() else ""
        return cls(
            stop_ids=stop_ids,
            stop_xy=stop_xy,
            dep_stop=dep_stop[order].astype(np.int32),
            arr_stop=arr_stop[order].astype(np.int32),
            dep_time=dep_time[order].astype(np.int32),
            arr_time=arr_time[order].astype(np.int32),
            trip=trip[order].astype(np.int32),
            can_board=hops["can_board"][order],
            can_alight=hops["can_alight"][order],
            run_ids=run_ids,
            fp_offsets=fp_offsets,
            fp_to=fp_to,
            fp_seconds=fp_seconds,
            service_date=day,
            start_s=int(start_s),
            end_s=int(end_s),
            walk=walk,
            transfer_max_minutes=float(transfer_max_minutes),
            min_change_seconds=int(min_change_seconds),
            cache_key=key,
            run_entry=phases["run_entry"],
            run_slack=phases["run_slack"],
            entry_headway=phases["entry_headway"],
            stop_change_s=stop_change_s,
        )

    @classmethod
    def load_or_build(
        cls,
        feed_path: Path | str,
        date: dt.date | str,
        start_s: int,
        end_s: int,
        walk: WalkModel | None = None,
        *,
        transfer_max_minutes: float = 5.0,
        min_change_seconds: int = 0,
        boarding_allowance_s: dict[int, int] | None = None,
        cache_dir: Path | str,
    ) -> TransitNetwork:
        """Load the network from cache_dir if its inputs are unchanged, else read, build, save.

        The cache key is a sha256 of the feed bytes, the date, the time range, the walk
        parameters, the footpath limit, the change time and CACHE_VERSION.
        """
        walk = walk or WalkModel()
        feed_path = Path(feed_path)
        day = date if isinstance(date, dt.date) else dt.date.fromisoformat(str(date))
        if not feed_path.exists():
            raise FeedError(f"GTFS feed {feed_path}: not found. Pass the path of a GTFS .zip "
                            "or of a folder holding its .txt files.")
        key = _key(feed_digest(feed_path), day, start_s, end_s, walk, transfer_max_minutes,
                   min_change_seconds, boarding_allowance_s)
        cache_file = Path(cache_dir) / f"transit-{key[:24]}.npz"
        remove_stale_temporaries(Path(cache_dir), ".transit-*.tmp-p*")
        if cache_file.exists() or manifest_path(cache_file).exists():
            ok, why = usable(cache_file)
            if ok:
                try:
                    return cls.load(cache_file)
                except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
                    why = f"unreadable: {type(exc).__name__}: {exc}"
            discard(cache_file, why)
        network = cls.build(read_feed(feed_path), day, start_s, end_s, walk,
                            transfer_max_minutes=transfer_max_minutes,
                            min_change_seconds=min_change_seconds,
                            boarding_allowance_s=boarding_allowance_s, cache_key=key)
        network.save(cache_file)
        write_manifest(cache_file)  # last: an entry without a matching manifest is never reused
        return network

    def save(self, path: Path | str) -> None:
        """Write the network to an .npz (atomically: a temporary file then a rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "service_date": self.service_date.isoformat(), "start_s": self.start_s,
            "end_s": self.end_s, "speed_kmh": self.walk.speed_kmh,
            "circuity": self.walk.circuity, "transfer_max_minutes": self.transfer_max_minutes,
            "min_change_seconds": self.min_change_seconds, "cache_key": self.cache_key,
            "version": CACHE_VERSION,
        }
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        arrays["stop_ids"] = arrays["stop_ids"].astype(str)
        arrays["run_ids"] = arrays["run_ids"].astype(str)
        tmp = path.with_name(f".{path.name}.tmp-p{os.getpid()}-")
        try:
            with tmp.open("wb") as handle:
                np.savez(handle, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)
            manifest_path(path).unlink(missing_ok=True)  # the old manifest no longer applies
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path | str) -> TransitNetwork:
        """Read a network written by save()."""
        # Our own handle: np.load leaks the one it opens when the file is not a zip.
        with Path(path).open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name] for name in _ARRAYS}
        return cls(
            **arrays,
            service_date=dt.date.fromisoformat(meta["service_date"]),
            start_s=int(meta["start_s"]),
            end_s=int(meta["end_s"]),
            walk=WalkModel(speed_kmh=meta["speed_kmh"], circuity=meta["circuity"]),
            transfer_max_minutes=float(meta["transfer_max_minutes"]),
            min_change_seconds=int(meta["min_change_seconds"]),
            cache_key=str(meta["cache_key"]),
        )


def _allowance(feed: Feed, run_trip_ids: np.ndarray, by_type: dict[int, int] | None
               ) -> np.ndarray:
    """Boarding allowance in seconds of each trip run, from its route's GTFS route_type."""
    if not by_type:
        return np.zeros(len(run_trip_ids), dtype=np.int64)
    route_type = (feed.trips.drop_duplicates("trip_id").set_index("trip_id")["route_id"]
                  .map(feed.routes.drop_duplicates("route_id").set_index("route_id")["route_type"]))
    trip_ids, run_trip = np.unique(run_trip_ids.astype(str), return_inverse=True)
    types = pd.to_numeric(route_type.reindex(trip_ids), errors="coerce")
    seconds = types.map(lambda t: by_type.get(int(t), 0) if pd.notna(t) else 0)
    return seconds.to_numpy(dtype=np.int64)[run_trip]


def _hops(feed: Feed, day: dt.date, start_s: int, end_s: int
          ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
    """Vehicle hops departing in [start_s, end_s) from trip runs of this and the previous day.

    Vectorised over integer codes (no per-row strings): a run is a trip with a time shift
    (a frequency run's start minus the trip's first departure, and -86400 for the previous
    day). Runs of exact_times=0 entries keep the hops departing up to headway - 1 s before
    start_s too (a random phase can move them into range). Returns hop arrays (stop codes
    index ``stop_names``; ``run`` indexes the returned sorted run labels, and
    ``run_trip_ids`` holds each of those runs' trip_id), the run labels and
    the phase arrays (run_entry, run_slack, entry_headway) of `TransitNetwork`.
    """
    st = feed.stop_times
    trip_code, trip_names = pd.factorize(st["trip_id"].to_numpy(dtype=object))
    stop_code, stop_names = pd.factorize(st["stop_id"].to_numpy(dtype=object), sort=True)
    dep_s = st["departure_s"].to_numpy(dtype=np.int64)
    arr_s = st["arrival_s"].to_numpy(dtype=np.int64)
    pickup = st["pickup_type"].to_numpy()
    drop_off = st["drop_off_type"].to_numpy()
    # stop_times is sorted by trip_id, so each trip is one contiguous segment.
    seg_start = np.flatnonzero(np.r_[True, trip_code[1:] != trip_code[:-1]])
    seg_len = np.diff(np.r_[seg_start, len(st)])
    first_dep = dep_s[seg_start]
    last_hop_dep = dep_s[seg_start + np.maximum(seg_len - 2, 0)]
    trips = feed.trips.drop_duplicates("trip_id").set_index("trip_id")
    service = trips["service_id"].reindex(trip_names).astype(str).to_numpy()
    by_frequency = pd.Index(trip_names).isin(feed.frequencies["trip_id"])
    n_entries = len(feed.frequencies)

    run_trip, run_shift, run_label, run_entry, run_slack, run_headway = [], [], [], [], [], []
    for day_index, (offset, suffix) in enumerate(((0, ""), (-DAY_S, "/-1d"))):
        active = np.isin(service, list(service_ids_on(feed, day + dt.timedelta(seconds=offset))))
        scheduled = np.flatnonzero(active & ~by_frequency)
        runs = frequency_runs(feed, trip_names[active & by_frequency])
        freq_trip = pd.Index(trip_names).get_indexer(runs["trip_id"])
        freq_start = runs["start_s"].to_numpy(dtype=np.int64)
        phased = runs["exact_times"].to_numpy(dtype=np.int64) == 0
        headway = runs["headway_secs"].to_numpy(dtype=np.int64)
        trip_ix = np.r_[scheduled, freq_trip].astype(np.int64)
        shift = np.r_[np.zeros(len(scheduled), np.int64),
                      freq_start - first_dep[freq_trip]] + offset
        entry = np.r_[np.full(len(scheduled), _NO_ENTRY, np.int64),
                      np.where(phased, runs["entry"].to_numpy(dtype=np.int64)
                               + day_index * n_entries, _NO_ENTRY)]
        slack = np.r_[np.full(len(scheduled), _NEVER_ENDS, np.int64),
                      np.where(phased, runs["end_s"].to_numpy(dtype=np.int64) - freq_start,
                               _NEVER_ENDS)]
        lead = np.r_[np.zeros(len(scheduled), np.int64), np.where(phased, headway - 1, 0)]
        keep = ((first_dep[trip_ix] + shift < end_s)
                & (last_hop_dep[trip_ix] + shift + lead >= start_s) & (seg_len[trip_ix] > 1))
        # Labels only for kept runs: "trip_id", "trip_id@start_s", then "/-1d" if yesterday's.
        names = trip_names[trip_ix[keep]].astype(str).tolist()
        starts = np.array([""] * len(scheduled) + [f"@{v}" for v in freq_start.tolist()],
                          dtype=object)[keep].tolist()
        labels = [f"{n}{at}{suffix}" for n, at in zip(names, starts, strict=True)]
        run_trip.append(trip_ix[keep])
        run_shift.append(shift[keep])
        run_label.append(np.array(labels, dtype=object))
        run_entry.append(entry[keep])
        run_slack.append(slack[keep])
        run_headway.append(np.r_[np.zeros(len(scheduled), np.int64), headway][keep])
    trip_ix = np.concatenate(run_trip)
    shift = np.concatenate(run_shift)
    labels = np.concatenate(run_label).astype(str)
    label_order = np.argsort(labels, kind="stable")
    run_ids = labels[label_order]
    run_rank = np.empty(len(labels), dtype=np.int64)
    run_rank[label_order] = np.arange(len(labels))
    # Entries numbered compactly in (day, frequencies.txt row) order: the order draws use.
    entry = np.concatenate(run_entry)
    used_entries, entry_code = np.unique(entry[entry >= 0], return_inverse=True)
    compact = np.full(len(entry), _NO_ENTRY, dtype=np.int64)
    compact[entry >= 0] = entry_code
    entry_headway = np.zeros(len(used_entries), dtype=np.int64)
    entry_headway[compact[entry >= 0]] = np.concatenate(run_headway)[entry >= 0]
    lead = np.where(compact >= 0, np.concatenate(run_headway) - 1, 0)
    phases = {
        "run_entry": compact[label_order].astype(np.int32),
        "run_slack": np.minimum(np.concatenate(run_slack), _NEVER_ENDS)[label_order].astype(
            np.int32),
        "entry_headway": entry_headway.astype(np.int32),
    }

    n_hops = seg_len[trip_ix] - 1
    run = np.repeat(np.arange(len(trip_ix)), n_hops)
    position = np.arange(len(run)) - np.repeat(np.cumsum(n_hops) - n_hops, n_hops)
    i = seg_start[trip_ix[run]] + position
    dep = dep_s[i] + shift[run]
    keep = (dep + lead[run] >= start_s) & (dep < end_s)
    i, run, position, dep = i[keep], run[keep], position[keep], dep[keep]
    hops = {
        "run": run_rank[run],
        "position": position,
        "dep_stop": stop_code[i],
        "arr_stop": stop_code[i + 1],
        "dep_time": dep,
        "arr_time": arr_s[i + 1] + shift[run],
        "can_board": pickup[i] != 1,
        "can_alight": drop_off[i + 1] != 1,
        "stop_names": np.asarray(stop_names, dtype=object),
        "run_trip_ids": trip_names[trip_ix[label_order]],
    }
    return hops, run_ids, phases


@njit(cache=True, nogil=True)
def _drawn_arrays(dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight,
                  run_shift, run_valid, start_s, end_s):
    """The connection arrays of a draw in scan order, from arrays listed in tie order.

    A stable counting sort on the shifted departure second, reading the tie-ordered arrays in
    sequence. Each connection is scattered as two 64-bit words (its stops with their boarding
    flags, its run and duration) rather than into seven arrays, a seventh of the random
    writes; a sequential pass then unpacks them, the departure being the bucket's second.
    Stops and runs are the network's int32 indices (31 bits each, so a stop and its flag
    fit in 32).
    """
    span = end_s - start_s
    count = np.zeros(span + 1, dtype=np.int64)
    for k in range(len(dep_time)):
        tr = trip[k]
        if run_valid[tr]:
            t = dep_time[k] + run_shift[tr] - start_s
            if 0 <= t < span:
                count[t + 1] += 1
    for t in range(span):
        count[t + 1] += count[t]
    n = count[span]
    first = count.copy()
    low = np.uint64(0xFFFFFFFF)
    ends = np.empty(n, dtype=np.uint64)  # (dep_stop << 1 | board) << 32 | arr_stop << 1 | alight
    runs = np.empty(n, dtype=np.uint64)  # run << 32 | (arr_time - dep_time) as 32 bits
    for k in range(len(dep_time)):
        tr = trip[k]
        if run_valid[tr]:
            t = dep_time[k] + run_shift[tr] - start_s
            if 0 <= t < span:
                pos = count[t]
                count[t] += 1
                a = np.uint64(np.int64(dep_stop[k]) << 1 | np.int64(can_board[k])) & low
                b = np.uint64(np.int64(arr_stop[k]) << 1 | np.int64(can_alight[k])) & low
                ends[pos] = a << np.uint64(32) | b
                runs[pos] = (np.uint64(np.int64(tr)) << np.uint64(32)) | (
                    np.uint64(np.int64(arr_time[k]) - np.int64(dep_time[k])) & low)
    o_dep_stop = np.empty(n, dtype=dep_stop.dtype)
    o_arr_stop = np.empty(n, dtype=arr_stop.dtype)
    o_dep_time = np.empty(n, dtype=dep_time.dtype)
    o_arr_time = np.empty(n, dtype=arr_time.dtype)
    o_trip = np.empty(n, dtype=trip.dtype)
    o_board = np.empty(n, dtype=can_board.dtype)
    o_alight = np.empty(n, dtype=can_alight.dtype)
    for t in range(span):
        d = start_s + t
        for pos in range(first[t], first[t + 1]):
            a = np.int64(ends[pos] >> np.uint64(32))
            b = np.int64(ends[pos] & low)
            o_dep_stop[pos] = a >> 1
            o_board[pos] = (a & 1) != 0
            o_arr_stop[pos] = b >> 1
            o_alight[pos] = (b & 1) != 0
            o_trip[pos] = np.int64(runs[pos] >> np.uint64(32))
            o_dep_time[pos] = d
            o_arr_time[pos] = d + np.int64(np.int32(np.uint32(runs[pos] & low)))
    return o_dep_stop, o_arr_stop, o_dep_time, o_arr_time, o_trip, o_board, o_alight
