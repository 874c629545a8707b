"""Public-transport network: one service day of GTFS as sorted connection arrays plus footpaths.

Built once and reused by many travel-time queries (like r5py's TransportNetwork), and cached on
disk as .npz keyed by a sha256 of its inputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from siting._crs import BNG, WGS84
from siting._errors import FeedError
from siting.network.gtfs import Feed, expand_frequencies, read_feed, service_ids_on
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
    files = sorted(p for p in path.iterdir() if p.suffix == ".txt") if path.is_dir() else [path]
    for file in files:
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _key(feed_hash: str, date: dt.date, start_s: int, end_s: int, walk: WalkModel,
         transfer_max_minutes: float, min_change_seconds: int) -> str:
    payload = {
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
        cache_key: str | None = None,
    ) -> TransitNetwork:
        """Build the network of hops departing in [start_s, end_s) on a service date.

        Trips of the previous service day are included with times shifted by -86400.
        """
        walk = walk or WalkModel()
        day = date if isinstance(date, dt.date) else dt.date.fromisoformat(str(date))
        if end_s <= start_s:
            raise ValueError(f"end_s ({end_s}) must be after start_s ({start_s})")
        parts = []
        for offset, suffix in ((0, ""), (-DAY_S, "/-1d")):
            services = service_ids_on(feed, day + dt.timedelta(seconds=offset))
            trip_ids = feed.trips.loc[feed.trips["service_id"].astype(str).isin(services),
                                      "trip_id"]
            runs = expand_frequencies(feed, trip_ids)
            hops = _hops(runs, offset, start_s, end_s)
            hops["run"] = hops["run"] + suffix
            parts.append(hops)
        hops = pd.concat(parts, ignore_index=True)

        stop_ids = np.sort(pd.unique(np.concatenate([
            hops["dep_stop"].to_numpy(dtype=object), hops["arr_stop"].to_numpy(dtype=object)])))
        stop_ids = stop_ids.astype(str)
        stop_xy = _project_stops(feed, stop_ids)
        run_ids, trip = np.unique(hops["run"].to_numpy(dtype=str), return_inverse=True)
        dep_stop = np.searchsorted(stop_ids, hops["dep_stop"].to_numpy(dtype=str))
        arr_stop = np.searchsorted(stop_ids, hops["arr_stop"].to_numpy(dtype=str))
        dep_time = hops["dep_time"].to_numpy(dtype=np.int64)
        arr_time = hops["arr_time"].to_numpy(dtype=np.int64)
        position = hops["position"].to_numpy(dtype=np.int64)
        positive = (arr_time > dep_time).astype(np.int8)
        order = np.lexsort((position, trip, positive, dep_time))
        fp_offsets, fp_to, fp_seconds = _footpaths(stop_xy, walk, transfer_max_minutes)
        key = cache_key
        if key is None:
            key = _key(feed_digest(feed.path), day, start_s, end_s, walk, transfer_max_minutes,
                       min_change_seconds) if Path(feed.path).exists() else ""
        return cls(
            stop_ids=stop_ids,
            stop_xy=stop_xy,
            dep_stop=dep_stop[order].astype(np.int32),
            arr_stop=arr_stop[order].astype(np.int32),
            dep_time=dep_time[order].astype(np.int32),
            arr_time=arr_time[order].astype(np.int32),
            trip=trip[order].astype(np.int32),
            can_board=hops["can_board"].to_numpy(dtype=bool)[order],
            can_alight=hops["can_alight"].to_numpy(dtype=bool)[order],
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
                   min_change_seconds)
        cache_file = Path(cache_dir) / f"transit-{key[:24]}.npz"
        if cache_file.exists():
            return cls.load(cache_file)
        network = cls.build(read_feed(feed_path), day, start_s, end_s, walk,
                            transfer_max_minutes=transfer_max_minutes,
                            min_change_seconds=min_change_seconds, cache_key=key)
        network.save(cache_file)
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
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            np.savez(handle, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | str) -> TransitNetwork:
        """Read a network written by save()."""
        with np.load(Path(path), allow_pickle=False) as data:
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


def _hops(runs: pd.DataFrame, offset: int, start_s: int, end_s: int) -> pd.DataFrame:
    """Consecutive stop pairs of each run departing in [start_s, end_s) after the day shift."""
    run = runs["run"].to_numpy(dtype=object)
    same = run[1:] == run[:-1]
    i = np.flatnonzero(same)
    j = i + 1
    dep = runs["departure_s"].to_numpy()[i] + offset
    keep = (dep >= start_s) & (dep < end_s)
    i, j, dep = i[keep], j[keep], dep[keep]
    first = np.r_[True, ~same]
    position = np.arange(len(run)) - np.maximum.accumulate(np.where(first, np.arange(len(run)),
                                                                    0))
    return pd.DataFrame({
        "run": run[i].astype(str),
        "position": position[i],
        "dep_stop": runs["stop_id"].to_numpy(dtype=object)[i],
        "arr_stop": runs["stop_id"].to_numpy(dtype=object)[j],
        "dep_time": dep,
        "arr_time": runs["arrival_s"].to_numpy()[j] + offset,
        "can_board": runs["pickup_type"].to_numpy()[i] != 1,
        "can_alight": runs["drop_off_type"].to_numpy()[j] != 1,
    })


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
