"""The transit network's stops: EPSG:27700 coordinates, a spatial order, change times and
footpaths.

`walk_seconds` is the one definition of a walk leg's duration; `transfer_rules` reads the
feed's transfers.txt (change times at a stop, and stop-to-stop overrides); `footpaths` are the
crow-fly walks between stops within the transfer limit, with those overrides applied.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyproj import Transformer

from siting._crs import BNG, WGS84
from siting._errors import FeedError
from siting.network.gtfs import Feed
from siting.network.walk import WalkModel

__all__ = ["footpaths", "project_stops", "transfer_rules", "walk_seconds", "z_order"]


def walk_seconds(walk: WalkModel, metres: np.ndarray | float) -> np.ndarray:
    """Whole walking seconds for crow-fly metres: ceil(walk minutes * 60), as int64.

    This is the one definition of a walk leg's duration used by the network and the engine
    (a 1e-9 s tolerance keeps exact multiples, e.g. 120.0000000001 s, at 120 s).
    """
    seconds = np.asarray(walk.minutes(np.asarray(metres, dtype=float)), dtype=float) * 60.0
    return np.ceil(seconds - 1e-9).astype(np.int64)


def z_order(xy: np.ndarray) -> np.ndarray:
    """Order of points along a Z-order (Morton) curve on a 65,536-cell grid, ties stable."""
    if len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    low = xy.min(axis=0)
    span = max(float((xy.max(axis=0) - low).max()), 1.0)
    cells = np.minimum((xy - low) / span * 65535.0, 65535.0).astype(np.uint64)

    def spread(v: np.ndarray) -> np.ndarray:
        v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
        v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
        return (v | (v << np.uint64(1))) & np.uint64(0x55555555)

    code = spread(cells[:, 0]) | (spread(cells[:, 1]) << np.uint64(1))
    return np.argsort(code, kind="stable")


def project_stops(feed: Feed, stop_ids: np.ndarray) -> np.ndarray:
    """EPSG:27700 coordinates of the given stops (their stop_lat/stop_lon, projected)."""
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


def transfer_rules(feed: Feed, stop_ids: np.ndarray, stop_xy: np.ndarray, walk: WalkModel,
                    min_change: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Change time per stop and stop-to-stop transfer times from the feed's transfers.txt.

    GTFS transfer_type: 0 (or empty) recommended, 1 timed (the vehicle waits: no change time),
    2 needs min_transfer_time seconds from arrival to departure, 3 not possible. A row with
    from_stop_id == to_stop_id sets the change time at that stop (0: the global change time,
    1: 0 s, 2: min_transfer_time, 3: no change there). A row between two stops is a footpath
    with that whole change time (0: crow-fly walk + global change, 1: crow-fly walk, 2:
    min_transfer_time, 3: none), overriding the crow-fly footpath and kept at any distance.
    Several rows for one pair: "not possible" wins, else the quickest. Rows naming routes or
    trips (from_route_id, from_trip_id, ...) and in-seat types 4-5 apply to particular vehicles,
    which a stop-level model cannot represent, so they are skipped; stops the network does not
    serve are skipped. Returns stop_change_s (-1 = no change) and the overrides
    (i_from, i_to, seconds; -1 = not possible) in network stop indices.
    """
    change = np.full(len(stop_ids), min_change, dtype=np.int32)
    empty = {"i_from": np.zeros(0, np.int64), "i_to": np.zeros(0, np.int64),
             "seconds": np.zeros(0, np.int64)}
    table = feed.transfers
    if table is None or not len(table) or "from_stop_id" not in table.columns:
        return change, empty
    file = "transfers.txt"

    def column(name: str) -> pd.Series:
        if name in table.columns:
            return table[name].astype(object).where(table[name].notna(), "").astype(str).str.strip()
        return pd.Series([""] * len(table), index=table.index, dtype=object)

    kind_text = column("transfer_type")
    kind = pd.to_numeric(kind_text.where(kind_text != "", "0"), errors="coerce").to_numpy()
    bad = np.isnan(kind) | ~np.isin(kind, [0, 1, 2, 3, 4, 5])
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise FeedError(f"GTFS feed {feed.path}: {file}: line {row + 2}: field 'transfer_type' "
                        f"has bad value {kind_text.iloc[row]!r}. Use 0, 1, 2, 3 (or 4, 5 for "
                        "in-seat transfers).")
    time_text = column("min_transfer_time")
    seconds = pd.to_numeric(time_text.where(time_text != ""), errors="coerce").to_numpy()
    bad = (kind == 2) & (np.isnan(seconds) | (seconds < 0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise FeedError(f"GTFS feed {feed.path}: {file}: line {row + 2}: transfer_type 2 needs "
                        f"a min_transfer_time in whole seconds >= 0, got "
                        f"{time_text.iloc[row]!r}. Give the minimum time to change there.")
    vehicle_specific = np.zeros(len(table), dtype=bool)
    for name in ("from_route_id", "to_route_id", "from_trip_id", "to_trip_id"):
        vehicle_specific |= (column(name) != "").to_numpy()
    index = pd.Index(stop_ids)
    i_from = index.get_indexer(column("from_stop_id").to_numpy())
    i_to = index.get_indexer(column("to_stop_id").to_numpy())
    use = (i_from >= 0) & (i_to >= 0) & (kind <= 3) & ~vehicle_specific
    i_from, i_to, kind, seconds = i_from[use], i_to[use], kind[use].astype(int), seconds[use]
    if not len(i_from):
        return change, empty
    metres = np.hypot(*(stop_xy[i_from] - stop_xy[i_to]).T)
    walk_s = walk_seconds(walk, metres)
    total = np.select([kind == 0, kind == 1, kind == 2],
                      [walk_s + min_change, walk_s, np.nan_to_num(seconds).astype(np.int64)],
                      -1).astype(np.int64)
    # Per pair: "not possible" (-1) wins, else the quickest.
    rank = np.where(total < 0, -1, total)
    order = np.lexsort((rank, i_to, i_from))
    i_from, i_to, total = i_from[order], i_to[order], total[order]
    first = np.r_[True, (i_from[1:] != i_from[:-1]) | (i_to[1:] != i_to[:-1])]
    i_from, i_to, total = i_from[first], i_to[first], total[first]
    same = i_from == i_to
    change[i_from[same]] = total[same]
    return change, {"i_from": i_from[~same], "i_to": i_to[~same], "seconds": total[~same]}


def footpaths(stop_xy: np.ndarray, walk: WalkModel, max_minutes: float,
               overrides: dict[str, np.ndarray] | None = None, min_change: int = 0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR footpaths between distinct stops with walk_seconds <= max_minutes * 60.

    ``overrides`` (i_from, i_to, whole change seconds; -1 = not possible) replace or remove
    the crow-fly footpath of their pair, at any distance; their stored footpath seconds are
    the whole change minus ``min_change`` (the engine adds ``min_change`` back).
    """
    limit = round(max_minutes * 60)
    # One extra second of radius so the KD-tree never drops a pair the rounding keeps.
    pairs = walk.pairs_within(stop_xy, stop_xy, max_minutes + 1 / 60)
    seconds = walk_seconds(walk, pairs["metres"].to_numpy())
    keep = (pairs["i_from"].to_numpy() != pairs["i_to"].to_numpy()) & (seconds <= limit)
    i_from = pairs["i_from"].to_numpy()[keep].astype(np.int64)
    i_to = pairs["i_to"].to_numpy()[keep].astype(np.int64)
    seconds = seconds[keep].astype(np.int64)
    if overrides is not None and len(overrides["i_from"]):
        n = len(stop_xy)
        pair = i_from * n + i_to
        o_pair = overrides["i_from"] * n + overrides["i_to"]
        crow = ~np.isin(pair, o_pair)
        allowed = overrides["seconds"] >= 0
        i_from = np.r_[i_from[crow], overrides["i_from"][allowed]]
        i_to = np.r_[i_to[crow], overrides["i_to"][allowed]]
        seconds = np.r_[seconds[crow], overrides["seconds"][allowed] - min_change]
        order = np.lexsort((i_to, i_from))
        i_from, i_to, seconds = i_from[order], i_to[order], seconds[order]
    offsets = np.zeros(len(stop_xy) + 1, dtype=np.int64)
    np.cumsum(np.bincount(i_from, minlength=len(stop_xy)), out=offsets[1:])
    return offsets, i_to.astype(np.int32), seconds.astype(np.int32)
