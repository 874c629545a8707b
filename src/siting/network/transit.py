"""Public-transport network: one service day of GTFS as sorted connection arrays plus footpaths.

Built once and reused by many travel-time queries (like r5py's TransportNetwork), and cached on
disk as .npz keyed by a sha256 of its inputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from siting._cache import discard, manifest_path, remove_stale_temporaries, usable, write_manifest
from siting._crs import BNG, WGS84
from siting._errors import FeedError
from siting.network.gtfs import Feed, frequency_runs, read_feed, service_ids_on
from siting.network.walk import WalkModel

__all__ = ["CACHE_VERSION", "TransitNetwork", "feed_digest", "walk_seconds"]

CACHE_VERSION = 1
"""Bump when the network arrays or their meaning change, so old cache files are not reused."""

DAY_S = 86_400

_ARRAYS = (
    "stop_ids", "stop_xy", "dep_stop", "arr_stop", "dep_time", "arr_time", "trip",
    "can_board", "can_alight", "run_ids", "fp_offsets", "fp_to", "fp_seconds",
)


def walk_seconds(walk: WalkModel, metres: np.ndarray | float) -> np.ndarray:
    """Whole walking seconds for crow-fly metres: ceil(walk minutes * 60), as int64.

    This is the one definition of a walk leg's duration used by the network and the engine
    (a 1e-9 s tolerance keeps exact multiples, e.g. 120.0000000001 s, at 120 s).
    """
    seconds = np.asarray(walk.minutes(np.asarray(metres, dtype=float)), dtype=float) * 60.0
    return np.ceil(seconds - 1e-9).astype(np.int64)


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

    Connections (one per vehicle hop between consecutive stops of a trip run) are sorted by
    departure time, then zero-duration hops first, then trip, then position in the trip: the
    order the profile search needs. ``trip`` indexes ``run_ids`` (a trip run: a trip_id, a
    frequency run "trip_id@start_s", or a previous-day run suffixed "/-1d", its times shifted
    by -86400 so that an overnight trip past 24:00 is catchable in the morning).
    ``can_board``/``can_alight`` are False where pickup_type/drop_off_type is 1.

    Footpaths (CSR by origin stop) link distinct stops within ``transfer_max_minutes`` of
    walking; a change of vehicle costs ``min_change_seconds`` at the same stop and
    footpath seconds + ``min_change_seconds`` between stops.
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
        hops, run_ids = _hops(feed, day, int(start_s), int(end_s))
        used = np.unique(np.concatenate([hops["dep_stop"], hops["arr_stop"]]))
        stop_ids = hops["stop_names"][used].astype(str)
        stop_xy = _project_stops(feed, stop_ids)
        dep_stop = np.searchsorted(used, hops["dep_stop"])
        arr_stop = np.searchsorted(used, hops["arr_stop"])
        trip = hops["run"]
        dep_time = hops["dep_time"] - _allowance(feed, run_ids, boarding_allowance_s)[trip]
        arr_time = hops["arr_time"]
        positive = (arr_time > dep_time).astype(np.int8)
        order = np.lexsort((hops["position"], trip, positive, dep_time))
        fp_offsets, fp_to, fp_seconds = _footpaths(stop_xy, walk, transfer_max_minutes)
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


def _allowance(feed: Feed, run_ids: np.ndarray, by_type: dict[int, int] | None) -> np.ndarray:
    """Boarding allowance in seconds of each trip run, from its route's GTFS route_type."""
    if not by_type:
        return np.zeros(len(run_ids), dtype=np.int64)
    trip_of_run = pd.Series(run_ids.astype(str)).str.replace(r"(@-?\d+)?(/-1d)?$", "", regex=True)
    route_type = (feed.trips.drop_duplicates("trip_id").set_index("trip_id")["route_id"]
                  .map(feed.routes.drop_duplicates("route_id").set_index("route_id")["route_type"]))
    types = pd.to_numeric(route_type.reindex(trip_of_run.to_numpy()), errors="coerce")
    return types.map(lambda t: by_type.get(int(t), 0) if pd.notna(t) else 0).to_numpy(dtype=np.int64)


def _hops(feed: Feed, day: dt.date, start_s: int, end_s: int
          ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Vehicle hops departing in [start_s, end_s) from trip runs of this and the previous day.

    Vectorised over integer codes (no per-row strings): a run is a trip with a time shift
    (a frequency run's start minus the trip's first departure, and -86400 for the previous
    day). Returns hop arrays (stop codes index ``stop_names``; ``run`` indexes the returned
    sorted run labels) and the run labels.
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

    run_trip, run_shift, run_label = [], [], []
    for offset, suffix in ((0, ""), (-DAY_S, "/-1d")):
        active = np.isin(service, list(service_ids_on(feed, day + dt.timedelta(seconds=offset))))
        scheduled = np.flatnonzero(active & ~by_frequency)
        runs = frequency_runs(feed, trip_names[active & by_frequency])
        freq_trip = pd.Index(trip_names).get_indexer(runs["trip_id"])
        freq_start = runs["start_s"].to_numpy(dtype=np.int64)
        trip_ix = np.r_[scheduled, freq_trip].astype(np.int64)
        shift = np.r_[np.zeros(len(scheduled), np.int64),
                      freq_start - first_dep[freq_trip]] + offset
        keep = ((first_dep[trip_ix] + shift < end_s) & (last_hop_dep[trip_ix] + shift >= start_s)
                & (seg_len[trip_ix] > 1))
        # Labels only for kept runs: "trip_id", "trip_id@start_s", then "/-1d" if yesterday's.
        names = trip_names[trip_ix[keep]].astype(str)
        starts = np.r_[np.full(len(scheduled), "", dtype=object),
                       ("@" + pd.Series(freq_start, dtype=object).astype(str)).to_numpy(object)]
        labels = pd.Series(names, dtype=object) + pd.Series(starts[keep], dtype=object) + suffix
        run_trip.append(trip_ix[keep])
        run_shift.append(shift[keep])
        run_label.append(labels.to_numpy(dtype=object))
    trip_ix = np.concatenate(run_trip)
    shift = np.concatenate(run_shift)
    labels = np.concatenate(run_label).astype(str)
    label_order = np.argsort(labels, kind="stable")
    run_ids = labels[label_order]
    run_rank = np.empty(len(labels), dtype=np.int64)
    run_rank[label_order] = np.arange(len(labels))

    n_hops = seg_len[trip_ix] - 1
    run = np.repeat(np.arange(len(trip_ix)), n_hops)
    position = np.arange(len(run)) - np.repeat(np.cumsum(n_hops) - n_hops, n_hops)
    i = seg_start[trip_ix[run]] + position
    dep = dep_s[i] + shift[run]
    keep = (dep >= start_s) & (dep < end_s)
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
    }
    return hops, run_ids


def _project_stops(feed: Feed, stop_ids: np.ndarray) -> np.ndarray:
    stops = feed.stops.drop_duplicates("stop_id").set_index("stop_id")
    lat = stops["stop_lat"].reindex(stop_ids).to_numpy(dtype=float)
    lon = stops["stop_lon"].reindex(stop_ids).to_numpy(dtype=float)
    missing = np.isnan(lat) | np.isnan(lon)
    if missing.any():
        raise FeedError(
            f"GTFS feed {feed.path}: stops.txt: stop {stop_ids[np.flatnonzero(missing)[0]]!r} "
            "is used by stop_times.txt but has no stop_lat/stop_lon. Give every served stop "
            "its coordinates."
        )
    x, y = Transformer.from_crs(WGS84, BNG, always_xy=True).transform(lon, lat)
    return np.column_stack([x, y]).astype(float)


def _footpaths(stop_xy: np.ndarray, walk: WalkModel,
               max_minutes: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR footpaths between distinct stops with walk_seconds <= max_minutes * 60."""
    limit = round(max_minutes * 60)
    # One extra second of radius so the KD-tree never drops a pair the rounding keeps.
    pairs = walk.pairs_within(stop_xy, stop_xy, max_minutes + 1 / 60)
    seconds = walk_seconds(walk, pairs["metres"].to_numpy())
    keep = (pairs["i_from"].to_numpy() != pairs["i_to"].to_numpy()) & (seconds <= limit)
    i_from = pairs["i_from"].to_numpy()[keep]
    offsets = np.zeros(len(stop_xy) + 1, dtype=np.int64)
    np.cumsum(np.bincount(i_from, minlength=len(stop_xy)), out=offsets[1:])
    return offsets, pairs["i_to"].to_numpy()[keep].astype(np.int32), seconds[keep].astype(
        np.int32)
