"""Benchmark: one profile CSA from all counters vs one search per origin and departure.

Part 1 (Newport, real BODS GTFS): the profile search + evaluation against a numba forward
earliest-arrival CSA run once per (origin, departure) - the per-origin brute force the profile
search replaces - checking that both give identical served times.
Part 2 (London-sized synthetic GTFS with frequencies.txt, ~2.5 M hops, ~25k stops): read, build,
search and evaluate 5,465 origins x 180 departures, the issue-3 target (< 10 s after build).

Run: /work/venv/bin/python bench/bench_travel_engine.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numba import njit, prange
from pyproj import Transformer

from siting._crs import BNG, WGS84
from siting.network.gtfs import busiest_date, read_feed
from siting.network.transit import TransitNetwork, walk_seconds
from siting.network.walk import WalkModel
from siting.scan_reference import profile_scan_changes
from siting.travel import (
    ALWAYS_CLOSE,
    ALWAYS_OPEN,
    Targets,
    Window,
    change_costs,
    profile_search,
    walk_csr,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory import measure

DATA = Path(os.environ.get("SITING_DATA_DIR", Path(__file__).resolve().parents[2] / "shared"
                           / "data" / "london"))
INF = np.iinfo(np.int64).max
SLOTS = 1 << 20


# --------------------------------------------------------------------------- brute force


@njit(cache=True, parallel=True)
def _forward_all(dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight, n_trips,
                 n_stops, fp_off, fp_to, fp_total, eg_off, eg_tgt, eg_sec, open_s, close_s,
                 change_s, iterate, acc_off, acc_stop, acc_sec, direct, departures):
    """Earliest-arrival CSA for every (origin, departure) separately; same semantics."""
    n_origins = len(acc_off) - 1
    n_dep = len(departures)
    out = np.empty((n_origins, n_dep), dtype=np.int64)
    for o in prange(n_origins):
        ready = np.empty(n_stops, dtype=np.int64)
        boarded = np.empty(n_trips, dtype=np.bool_)
        for it in range(n_dep):
            tau = departures[it]
            ready[:] = INF
            boarded[:] = False
            best = INF
            for c in range(len(open_s)):
                t = tau + direct[o, c]
                if t < close_s[c]:
                    best = min(best, max(t, open_s[c]) * SLOTS + c)
            for a in range(acc_off[o], acc_off[o + 1]):
                ready[acc_stop[a]] = min(ready[acc_stop[a]], tau + acc_sec[a])
            first = np.searchsorted(dep_time, tau)
            # Hops with equal departures are rescanned until nothing changes (zero-duration
            # hops can make a same-second change possible).
            i = first
            n = len(dep_time)
            while i < n:
                if dep_time[i] > best // SLOTS:
                    break  # target pruning: nothing departing later can be served earlier
                j = i
                while j < n and dep_time[j] == dep_time[i]:
                    j += 1
                while True:
                    changed = False
                    for k in range(i, j):
                        tr = trip[k]
                        if not boarded[tr] and can_board[k] and ready[dep_stop[k]] <= dep_time[k]:
                            boarded[tr] = True
                            changed = True
                        if boarded[tr] and can_alight[k]:
                            v = arr_stop[k]
                            a_t = arr_time[k]
                            for e in range(eg_off[v], eg_off[v + 1]):
                                c = eg_tgt[e]
                                t = a_t + eg_sec[e]
                                if t < close_s[c]:
                                    best = min(best, max(t, open_s[c]) * SLOTS + c)
                            if change_s[v] >= 0 and a_t + change_s[v] < ready[v]:
                                ready[v] = a_t + change_s[v]
                                changed = True
                            for f in range(fp_off[v], fp_off[v + 1]):
                                w = fp_to[f]
                                if a_t + fp_total[f] < ready[w]:
                                    ready[w] = a_t + fp_total[f]
                                    changed = True
                    if not changed or not iterate:
                        break
                i = j
            out[o, it] = best
    return out


def brute_force(network: TransitNetwork, targets: Targets, origins: np.ndarray,
                window: Window, max_access_minutes: float) -> np.ndarray:
    limit = round(max_access_minutes * 60)

    def csr(xy_from: np.ndarray, xy_to: np.ndarray) -> tuple[np.ndarray, ...]:
        pairs = network.walk.pairs_within(xy_from, xy_to, (limit + 1) / 60)
        secs = walk_seconds(network.walk, pairs["metres"].to_numpy())
        keep = secs <= limit
        off = np.zeros(len(xy_from) + 1, dtype=np.int64)
        np.cumsum(np.bincount(pairs["i_from"].to_numpy()[keep], minlength=len(xy_from)),
                  out=off[1:])
        return off, pairs["i_to"].to_numpy()[keep].astype(np.int64), secs[keep]

    eg = csr(network.stop_xy, targets.xy)
    acc = csr(origins, network.stop_xy)
    direct = walk_seconds(network.walk, np.hypot(
        origins[:, None, 0] - targets.xy[None, :, 0],
        origins[:, None, 1] - targets.xy[None, :, 1])).reshape(len(origins), len(targets))
    change_s, fp_total = change_costs(network)
    iterate = bool((change_s == 0).any() or (fp_total <= 0).any())
    keys = _forward_all(network.dep_stop, network.arr_stop, network.dep_time, network.arr_time,
                        network.trip, network.can_board, network.can_alight,
                        len(network.run_ids), network.n_stops, network.fp_offsets,
                        network.fp_to, fp_total, *eg, targets.open_s, targets.close_s,
                        change_s, iterate, *acc, direct, window.departures)
    return np.where(keys == INF, -1, keys // SLOTS)


# --------------------------------------------------------------------------- range query


@njit(cache=True)
def _reversed_lookup(prof_start, prof_len, prof_dep, prof_key, eg_off, eg_tgt, eg_sec,
                     direct, departures):
    """Earliest served key per departure from one origin's reversed-time profiles.

    Stop s's entries, in stored order, are (arrival at s = -dep, latest origin departure =
    -(key >> 20)), both ascending; for a departure tau the earliest usable arrival is the first
    entry whose origin departure is >= tau.
    """
    n_dep = len(departures)
    out = np.empty(n_dep, dtype=np.int64)
    for it in range(n_dep):
        tau = departures[it]
        best = INF
        for c in range(len(direct)):
            best = min(best, (tau + direct[c]) * SLOTS + c)
        for s in range(len(eg_off) - 1):
            if eg_off[s] == eg_off[s + 1] or prof_len[s] == 0:
                continue
            first = prof_start[s]
            last = first + prof_len[s] - 1
            if -(prof_key[last] >> 20) < tau:
                continue  # even the latest origin departure is too early
            lo, hi = first, last
            while lo < hi:
                mid = (lo + hi) >> 1
                if -(prof_key[mid] >> 20) >= tau:
                    hi = mid
                else:
                    lo = mid + 1
            arrival = -np.int64(prof_dep[lo])
            for e in range(eg_off[s], eg_off[s + 1]):
                best = min(best, (arrival + eg_sec[e]) * SLOTS + eg_tgt[e])
        out[it] = best
    return out


def range_query_per_origin(network: TransitNetwork, targets: Targets, origins: np.ndarray,
                           window: Window, max_access_minutes: float) -> np.ndarray:
    """One range (profile) query per origin, as R5 runs one range-RAPTOR per origin.

    The profile scan runs on the time-reversed network (hops reversed and negated, footpaths
    transposed) with the origin as its only target: in one pass it gives, for every stop, the
    Pareto set of (arrival at the stop, latest departure from the origin), so the origin's
    earliest arrival at every 24/7 target for every departure follows by lookup. Served times
    (24/7 targets only), as `brute_force`.
    """
    assert targets.always_open.all(), "the range-query baseline handles 24/7 targets only"
    limit = round(max_access_minutes * 60)
    n = network.n_connections
    dep_stop, arr_stop = network.arr_stop, network.dep_stop
    dep_time = -network.arr_time.astype(np.int64)
    arr_time = -network.dep_time.astype(np.int64)
    positive = (arr_time > dep_time).astype(np.int8)
    order = np.lexsort((-np.arange(n), network.trip, positive, dep_time))
    rev = (dep_stop[order], arr_stop[order], dep_time[order].astype(np.int32),
           arr_time[order].astype(np.int32), network.trip[order], network.can_alight[order],
           network.can_board[order])
    change_s, fp_total = change_costs(network)
    src = np.repeat(np.arange(network.n_stops), np.diff(network.fp_offsets))
    fp_order = np.lexsort((src, network.fp_to))
    fp_to_rev = src[fp_order].astype(np.int32)
    fp_total_rev = fp_total[fp_order]
    fp_off_rev = np.zeros(network.n_stops + 1, dtype=np.int64)
    np.cumsum(np.bincount(network.fp_to, minlength=network.n_stops), out=fp_off_rev[1:])
    iterate = bool((change_s == 0).any() or (fp_total <= 0).any())
    boardable = np.bincount(rev[0][rev[5]], minlength=network.n_stops)
    prof_start = np.zeros(network.n_stops + 1, dtype=np.int64)
    np.cumsum(boardable, out=prof_start[1:])
    eg_off, eg_tgt, eg_sec = walk_csr(network, network.stop_xy, targets.xy, limit)
    always_open = np.array([ALWAYS_OPEN], dtype=np.int64)
    always_close = np.array([ALWAYS_CLOSE], dtype=np.int64)
    out = np.empty((len(origins), len(window.departures)), dtype=np.int64)
    for o, xy in enumerate(origins):
        # The origin is the reversed scan's only target; its "egress" is the access walk.
        acc_off, _, acc_sec = walk_csr(network, network.stop_xy, xy[None, :], limit)
        prof_len, prof_dep, prof_key = profile_scan_changes(
            *rev, len(network.run_ids), prof_start, fp_off_rev, fp_to_rev, fp_total_rev,
            acc_off, np.zeros(len(acc_sec), dtype=np.int64), acc_sec, always_open,
            always_close, change_s, iterate)
        direct = walk_seconds(network.walk, np.hypot(*(targets.xy - xy).T)).astype(np.int64)
        out[o] = _reversed_lookup(prof_start, prof_len, prof_dep, prof_key, eg_off, eg_tgt,
                                  eg_sec, direct, window.departures)
    return np.where(out == INF, -1, out // SLOTS)


# --------------------------------------------------------------------------- part 1


def _hours(n: int) -> tuple[list[float], list[float]]:
    opening = [np.nan if i % 3 == 0 else 8 * 3600 + (i % 4) * 1800 for i in range(n)]
    closing = [np.nan if i % 3 == 0 else 17 * 3600 + (i % 5) * 1800 for i in range(n)]
    return opening, closing


def part_newport(n_origins: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    print(f"Part 1: Newport GTFS, {n_origins} origins x 180 departures (07:00-10:00)")
    feed = measure("read_feed", lambda: read_feed(
        DATA / "transit" / "uk_test_feeds" / "newport-20230613_gtfs.zip"), rows)
    network = measure("TransitNetwork.build (07:00-13:00)", lambda: TransitNetwork.build(
        feed, busiest_date(feed), 7 * 3600, 13 * 3600, WalkModel(), transfer_max_minutes=5.0,
        min_change_seconds=60), rows)
    rng = np.random.default_rng(0)
    chosen = rng.choice(network.n_stops, 12, replace=False)
    opening, closing = _hours(12)
    targets = Targets.from_arrays([f"T{i}" for i in range(12)], network.stop_xy[chosen],
                                  opening, closing)
    origins = network.stop_xy[rng.integers(0, network.n_stops, n_origins)] + rng.normal(
        0, 400, (n_origins, 2))
    window = Window(7 * 3600, 10 * 3600, 60)
    # Warm the numba caches so that the timings below exclude compilation.
    profile_search(network, targets).served(origins[:2], window)
    brute_force(network, targets, origins[:2], window, 10.0)
    profiles = measure("profile_search (all 12 counters, one scan)",
                       lambda: profile_search(network, targets), rows)
    served = measure("Profiles.served (all origins x departures)",
                     lambda: profiles.served(origins, window)[0], rows)
    brute = measure("brute force: forward CSA per origin x departure",
                    lambda: brute_force(network, targets, origins, window, 10.0), rows)
    mismatches = int((served != brute).sum())
    profile_total = rows[-3]["wall_s"] + rows[-2]["wall_s"]
    print(f"  {network.n_connections:,} hops, {network.n_stops:,} stops; "
          f"{served.size:,} (origin, departure) pairs; mismatches vs brute force: {mismatches}")
    print(f"  speed-up of profile search + lookup over brute force: "
          f"{rows[-1]['wall_s'] / max(profile_total, 1e-9):.1f}x")
    return rows


# --------------------------------------------------------------------------- part 2


def write_synthetic_feed(folder: Path, *, n_stops: int = 25_000, n_routes: int = 700,
                         stops_per_route: int = 40, seed: int = 0) -> None:
    """A London-sized bus network as GTFS: routes as random walks, frequencies.txt headways."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    x = rng.uniform(505_000, 555_000, n_stops)
    y = rng.uniform(160_000, 200_000, n_stops)
    lon, lat = Transformer.from_crs(BNG, WGS84, always_xy=True).transform(x, y)
    pd.DataFrame({"stop_id": [f"S{i:05d}" for i in range(n_stops)], "stop_lat": lat,
                  "stop_lon": lon}).to_csv(folder / "stops.txt", index=False)
    pd.DataFrame({"route_id": [f"R{r}" for r in range(n_routes)], "route_type": 3}).to_csv(
        folder / "routes.txt", index=False)
    (folder / "calendar.txt").write_text(
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,"
        "end_date\nWK,1,1,1,1,1,0,0,20170101,20171231\n")
    order = np.argsort(x)
    trips, stop_times, frequencies = [], [], []
    for r in range(n_routes):
        # A route: start somewhere, hop to nearby stops (~400 m apart on average).
        current = rng.integers(n_stops)
        path = [current]
        for _ in range(stops_per_route - 1):
            near = order[max(0, np.searchsorted(x[order], x[current]) - 40):
                         np.searchsorted(x[order], x[current]) + 40]
            near = near[np.abs(y[near] - y[current]) < 1200]
            near = near[~np.isin(near, path)]
            current = rng.choice(near) if len(near) else rng.integers(n_stops)
            path.append(current)
        headway = int(rng.choice([300, 480, 600, 720, 900]))
        for direction, stops in enumerate((path, path[::-1])):
            trip_id = f"R{r}_{direction}"
            trips.append((f"R{r}", "WK", trip_id))
            dist = np.r_[0, np.cumsum(np.hypot(np.diff(x[stops]), np.diff(y[stops])))]
            times = np.round(dist / (12 / 3.6)).astype(int)  # 12 km/h
            for seq, (stop, t) in enumerate(zip(stops, times, strict=True)):
                hms = f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"
                stop_times.append((trip_id, hms, hms, f"S{stop:05d}", seq))
            frequencies.append((trip_id, "05:00:00", "25:00:00", headway))
    pd.DataFrame(trips, columns=["route_id", "service_id", "trip_id"]).to_csv(
        folder / "trips.txt", index=False)
    pd.DataFrame(stop_times, columns=["trip_id", "arrival_time", "departure_time", "stop_id",
                                      "stop_sequence"]).to_csv(folder / "stop_times.txt",
                                                               index=False)
    pd.DataFrame(frequencies, columns=["trip_id", "start_time", "end_time",
                                       "headway_secs"]).to_csv(folder / "frequencies.txt",
                                                               index=False)


def part_london_sized(n_origins: int, n_targets: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    print(f"Part 2: London-sized synthetic GTFS, {n_origins} origins x 180 departures, "
          f"{n_targets} counters")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "feed"
        write_synthetic_feed(folder)
        feed = measure("read_feed (frequency-based)", lambda: read_feed(folder), rows)
        network = measure("TransitNetwork.build (07:00-13:00, +footpaths 5 min)",
                          lambda: TransitNetwork.build(feed, "2017-06-06", 7 * 3600,
                                                       13 * 3600, WalkModel(),
                                                       transfer_max_minutes=5.0,
                                                       min_change_seconds=120), rows)
        cache_dir = Path(tmp) / "cache"
        measure("TransitNetwork.save (npz)", lambda: network.save(cache_dir / "n.npz"), rows)
        measure("TransitNetwork.load (npz)", lambda: TransitNetwork.load(cache_dir / "n.npz"),
                rows)
    rng = np.random.default_rng(1)
    chosen = rng.choice(network.n_stops, n_targets, replace=False)
    opening, closing = _hours(n_targets)
    targets = Targets.from_arrays([f"C{i:03d}" for i in range(n_targets)],
                                  network.stop_xy[chosen] + 30, opening, closing)
    origins = network.stop_xy[rng.integers(0, network.n_stops, n_origins)] + rng.normal(
        0, 300, (n_origins, 2))
    window = Window(7 * 3600, 10 * 3600, 60)
    profile_search(network, targets.select([0])).served(origins[:2], window)  # warm-up
    profiles = measure(f"profile_search ({n_targets} counters, one scan)",
                       lambda: profile_search(network, targets), rows)
    measure("Profiles.served (origins x 180 departures)",
            lambda: profiles.served(origins, window), rows)
    table = measure("Profiles.evaluate (long table)",
                    lambda: profiles.evaluate(origins, [f"o{i}" for i in range(n_origins)],
                                              window), rows)
    measure("profile_search (24/7 counters only)",
            lambda: profile_search(network, targets.select(targets.always_open)), rows)
    measure("profile_search (one counter, issue 7)",
            lambda: profile_search(network, targets.select([1])), rows)
    n_small = 10
    small = origins[:n_small]
    brute_force(network, targets, small[:1], Window(7 * 3600, 7 * 3600 + 60), 10.0)
    brute = measure(f"brute force: {n_small} origins x 180 departures",
                    lambda: brute_force(network, targets, small, window, 10.0), rows)
    mismatches = int((profiles.served(small, window)[0] != brute).sum())
    print(f"  {network.n_connections:,} hops, {network.n_stops:,} stops, "
          f"{network.fp_offsets[-1]:,} footpaths, {len(table):,} result rows; "
          f"mismatches vs brute force on {n_small} origins: {mismatches}")
    per_origin = rows[-1]["wall_s"] / n_small
    engine = sum(r["wall_s"] for r in rows if r["step"].startswith(("profile_search (",
                                                                     "Profiles.served")))
    print(f"  brute force extrapolated to {n_origins} origins: {per_origin * n_origins:.0f} s "
          f"vs profile search + lookup {engine:.2f} s")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller London-sized run")
    args = parser.parse_args(argv)
    rows = part_newport(200)
    rows += part_london_sized(1000 if args.quick else 5465, 40)
    print()
    print(pd.DataFrame(rows).to_string(index=False))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"process peak RSS: {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
