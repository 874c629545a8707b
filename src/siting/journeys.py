"""Journey breakdown: minutes walking, waiting, riding and changing on each origin's median journey.

The profile search (`siting.travel`) gives every origin's served time for every departure
minute but not the journey behind it. Here, for one departure per origin (the one whose time is
the origin's median: the lower middle departure of the sorted window), a forward earliest-arrival
Connection Scan (Dibbelt et al. 2013) with journey pointers runs on the same `TransitNetwork`
arrays with the engine's semantics, so its total equals the profile engine's minutes at that
departure exactly (tests check this on hand-built feeds and the real Newport feed):

* access: walk to a stop within ``max_access_minutes``, board a hop departing at >= arrival
  (the TfL boarding allowance is already folded into the hop's departure); or walk all the way;
* staying on a trip is free; alighting at v at t, change at v (board at >= t + change time) or
  walk one footpath v->w (board at >= t + footpath + change time), or walk to a counter within
  ``max_access_minutes``; no footpath right after access or before egress;
* a counter serves an arrival at t at t if open, at its opening time if earlier, never after it
  closes; the least (served time, counter index) wins, as in the profile search.

Because served time never decreases with arrival time, the earliest arrival at every stop gives
the best served time, so one forward scan from the departure is exact. The scan stops at the
first connection departing after the best served time found.

The breakdown (whole seconds, summing to the journey's total):

* walk: access + footpaths between vehicles + egress (or the walk all the way);
* ride: on board, from each vehicle's timetabled departure to the arrival where one alights;
* change: the change time of each change of vehicle (the scenario's interchange time);
* wait: the rest: waiting at stops, including TfL's boarding (reliability) allowance and any
  wait beyond the change time, and, for a daytime counter, waiting for it to open.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
from numba import njit

from siting._threads import run_blocks
from siting.journey_words import describe
from siting.network.transit import TransitNetwork
from siting.travel import (
    _INF,
    _SLOTS,
    Profiles,
    Window,
    _served_key,
    direct_walk_seconds,
    walk_csr,
)

__all__ = [
    "BREAKDOWN_PARTS",
    "describe",
    "earliest_journeys",
    "journey_breakdown",
    "median_departures",
    "run_routes",
]

BREAKDOWN_PARTS = ("walk", "wait", "ride", "change")
"""The parts of a journey's minutes, in the order they are shown."""

_NONE32 = np.int32(np.iinfo(np.int32).max)
"""Not yet reached, in the per-lane scratch: times, connection indices and walk seconds are
held in 32 bits there (half the memory of 64; the network's times and indices are int32)."""

# The engine's served-time key and its constants: one definition, shared with travel.py.


@njit(cache=True)
def _batch(lanes, taus, bounds, dep_stop, arr_stop, dep_time, arr_time, trip, can_board,
           can_alight, fp_off, fp_to, fp_sec, eg_off, eg_tgt, eg_sec, open_s, close_s,
           min_change, acc_off, acc_stop, acc_sec, direct, run_allowance,
           ready, ready_min, src_kind, src_conn, src_walk, board, board_any, alighted,
           touched_stops, touched_trips, out_key, out_walk, out_ride, out_changes, out_first):
    """Forward CSA for a batch of origins ("lanes") sharing one pass over the connections.

    Per-lane state lives in [stop, lane] / [trip, lane] scratch arrays (INF / -1 on entry,
    restored on exit); ``ready_min``/``board_any`` let a connection no lane can use be skipped
    in O(1), so the pass costs about as much as one origin's.
    """
    n_lanes = len(lanes)
    n_ts = 0
    n_tt = 0
    best = np.full(n_lanes, _INF, dtype=np.int64)
    best_conn = np.full(n_lanes, -1, dtype=np.int64)
    best_eg = np.full(n_lanes, -1, dtype=np.int64)
    t_lo = _INF
    t_hi = 0
    for ln in range(n_lanes):
        o = lanes[ln]
        tau = taus[o]
        t_lo = min(t_lo, tau)
        for c in range(len(open_s)):
            key = _served_key(tau + direct[o, c], c, open_s, close_s)
            if key < best[ln]:
                best[ln] = key
                best_eg[ln] = c
        for a in range(acc_off[o], acc_off[o + 1]):
            s = acc_stop[a]
            t = tau + acc_sec[a]
            if ready_min[s] == _INF:
                touched_stops[n_ts] = s
                n_ts += 1
            if t < ready[s, ln]:
                ready[s, ln] = t
                src_kind[s, ln] = 0
                src_walk[s, ln] = acc_sec[a]
                if t < ready_min[s]:
                    ready_min[s] = t
    for ln in range(n_lanes):
        limit = min(bounds[lanes[ln]], best[ln] // _SLOTS)
        t_hi = max(t_hi, limit)
    lo = 0
    hi = len(dep_time)
    while lo < hi:
        mid = (lo + hi) >> 1
        if dep_time[mid] < t_lo:
            lo = mid + 1
        else:
            hi = mid
    i = lo
    n = len(dep_time)
    while i < n:
        d = dep_time[i]
        if d > t_hi:
            break
        j = i
        while j < n and dep_time[j] == d:
            j += 1
        while True:
            again = False
            for k in range(i, j):
                tr = trip[k]
                s0 = dep_stop[k]
                if not board_any[tr] and (not can_board[k] or ready_min[s0] > d):
                    continue
                v = arr_stop[k]
                a = arr_time[k]
                for ln in range(n_lanes):
                    if d > bounds[lanes[ln]] or d > best[ln] // _SLOTS:
                        continue  # this lane's journey is settled
                    if board[tr, ln] < 0:
                        if not can_board[k] or ready[s0, ln] > d:
                            continue
                        board[tr, ln] = k
                        if not board_any[tr]:
                            board_any[tr] = True
                            touched_trips[n_tt] = tr
                            n_tt += 1
                        again = True
                    if not can_alight[k] or a >= alighted[v, ln]:
                        continue
                    if ready_min[v] == _INF:
                        touched_stops[n_ts] = v
                        n_ts += 1
                        ready_min[v] = _INF - 1  # touched, nothing ready yet
                    alighted[v, ln] = a
                    for e in range(eg_off[v], eg_off[v + 1]):
                        key = _served_key(a + eg_sec[e], eg_tgt[e], open_s, close_s)
                        if key < best[ln]:
                            best[ln] = key
                            best_conn[ln] = k
                            best_eg[ln] = e
                    t = a + min_change
                    if t < ready[v, ln]:
                        ready[v, ln] = t
                        src_kind[v, ln] = 1
                        src_conn[v, ln] = k
                        src_walk[v, ln] = 0
                        if t < ready_min[v]:
                            ready_min[v] = t
                        again = again or t <= d
                    for f in range(fp_off[v], fp_off[v + 1]):
                        w = fp_to[f]
                        t = a + fp_sec[f] + min_change
                        if t < ready[w, ln]:
                            if ready_min[w] == _INF:
                                touched_stops[n_ts] = w
                                n_ts += 1
                            ready[w, ln] = t
                            src_kind[w, ln] = 2
                            src_conn[w, ln] = k
                            src_walk[w, ln] = fp_sec[f]
                            if t < ready_min[w]:
                                ready_min[w] = t
                            again = again or t <= d
            # With no change time a hop arriving at d can feed a hop departing at d that was
            # scanned before it: scan the group again while a trip is newly boarded or a stop
            # newly ready by d (a vehicle already boarded can bring a lane there).
            if not again or min_change > 0:
                break
        i = j
    for ln in range(n_lanes):
        o = lanes[ln]
        walk = 0
        ride = 0
        changes = 0
        first_trip = -1
        if best[ln] != _INF:
            if best_conn[ln] < 0:
                walk = direct[o, best_eg[ln]]
            else:
                walk = eg_sec[best_eg[ln]]
                k = best_conn[ln]
                legs = 0
                while True:
                    tr = trip[k]
                    b = board[tr, ln]
                    ride += arr_time[k] - dep_time[b] - run_allowance[tr]
                    first_trip = tr
                    legs += 1
                    s = dep_stop[b]
                    walk += src_walk[s, ln]
                    if src_kind[s, ln] == 0:
                        break
                    k = src_conn[s, ln]
                changes = legs - 1
        out_key[o] = best[ln]
        out_walk[o] = walk
        out_ride[o] = ride
        out_changes[o] = changes
        out_first[o] = first_trip
    for m in range(n_ts):
        s = touched_stops[m]
        ready_min[s] = _INF
        for ln in range(n_lanes):
            ready[s, ln] = _NONE32
            alighted[s, ln] = _NONE32
    for m in range(n_tt):
        tr = touched_trips[m]
        board_any[tr] = False
        for ln in range(n_lanes):
            board[tr, ln] = -1


_LANES = 32
"""Origins scanned together in one pass over the connections."""


def _forward(dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight, n_trips,
             fp_off, fp_to, fp_sec, eg_off, eg_tgt, eg_sec, open_s, close_s, min_change,
             acc_off, acc_stop, acc_sec, direct, taus, bounds, run_allowance, n_blocks):
    """Each origin's earliest journey: batches of `_LANES` origins of similar departure times,
    the batches split into ``n_blocks`` blocks on threads (`_forward_batches`)."""
    n_origins = len(taus)
    out_key = np.full(n_origins, _INF, dtype=np.int64)
    out_walk = np.zeros(n_origins, dtype=np.int64)
    out_ride = np.zeros(n_origins, dtype=np.int64)
    out_changes = np.zeros(n_origins, dtype=np.int64)
    out_first = np.full(n_origins, -1, dtype=np.int64)
    # Batches of similar departure times, and within one, of similar served times: a batch
    # scans from its first departure to its latest bound (a quarter fewer connections for
    # London's LSOAs than by departure alone). Each lane's journey is its own either way.
    order = np.lexsort((bounds, taus))
    n_batches = (n_origins + _LANES - 1) // _LANES
    run_blocks(_forward_batches, n_batches, order, taus, bounds, dep_stop, arr_stop, dep_time,
               arr_time, trip, can_board, can_alight, n_trips, fp_off, fp_to, fp_sec, eg_off,
               eg_tgt, eg_sec, open_s, close_s, min_change, acc_off, acc_stop, acc_sec, direct,
               run_allowance, out_key, out_walk, out_ride, out_changes, out_first,
               blocks=n_blocks)
    return out_key, out_walk, out_ride, out_changes, out_first


@njit(cache=True, nogil=True)
def _forward_batches(start, stop, order, taus, bounds, dep_stop, arr_stop, dep_time, arr_time,
                     trip, can_board, can_alight, n_trips, fp_off, fp_to, fp_sec, eg_off, eg_tgt,
                     eg_sec, open_s, close_s, min_change, acc_off, acc_stop, acc_sec, direct,
                     run_allowance, out_key, out_walk, out_ride, out_changes, out_first):
    """`_forward` for batches start..stop-1, with one set of working arrays."""
    n_origins = len(taus)
    n_stops = len(eg_off) - 1
    ready = np.full((n_stops, _LANES), _NONE32, dtype=np.int32)
    alighted = np.full((n_stops, _LANES), _NONE32, dtype=np.int32)
    ready_min = np.full(n_stops, _INF, dtype=np.int64)
    src_kind = np.zeros((n_stops, _LANES), dtype=np.int8)
    src_conn = np.full((n_stops, _LANES), -1, dtype=np.int32)
    src_walk = np.zeros((n_stops, _LANES), dtype=np.int32)
    board = np.full((n_trips, _LANES), -1, dtype=np.int32)
    board_any = np.zeros(n_trips, dtype=np.bool_)
    touched_stops = np.empty(n_stops, dtype=np.int64)
    touched_trips = np.empty(n_trips, dtype=np.int64)
    for batch in range(start, stop):
        lanes = order[batch * _LANES:min((batch + 1) * _LANES, n_origins)]
        _batch(lanes, taus, bounds, dep_stop, arr_stop, dep_time, arr_time, trip,
               can_board, can_alight, fp_off, fp_to, fp_sec, eg_off, eg_tgt, eg_sec,
               open_s, close_s, min_change, acc_off, acc_stop, acc_sec, direct,
               run_allowance, ready, ready_min, src_kind, src_conn, src_walk, board,
               board_any, alighted, touched_stops, touched_trips, out_key, out_walk,
               out_ride, out_changes, out_first)


def earliest_journeys(profiles: Profiles, origins_xy: np.ndarray, departures_s: np.ndarray, *,
                      run_allowance: np.ndarray | None = None,
                      bound_s: np.ndarray | None = None) -> pd.DataFrame:
    """The best journey of each origin at its own departure time, with its breakdown in seconds.

    Uses the network, targets, walking limit and street network of ``profiles`` (so the
    semantics match `Profiles.served`). Columns: departure_s, served_s (-1 if never),
    target (index, -1), walk_s, wait_s, ride_s, change_s, changes, first_run (index into
    ``network.run_ids`` of the first vehicle, -1 when walking all the way or unreached).
    ``run_allowance`` (seconds per trip run) is the boarding allowance folded into each hop's
    departure; it is counted as waiting rather than riding. ``bound_s`` (per origin, e.g. the
    served time the profile search found; -1 = none) stops the scan at connections departing
    after it: no journey using them can be served by then.
    """
    network: TransitNetwork = profiles.network
    targets = profiles.targets
    xy = np.asarray(origins_xy, dtype=float).reshape(-1, 2)
    taus = np.asarray(departures_s, dtype=np.int64).reshape(-1)
    if len(taus) != len(xy):
        raise ValueError(f"earliest_journeys: {len(xy)} origins but {len(taus)} departures")
    max_s = profiles.max_access_seconds
    acc_off, acc_stop, acc_sec = walk_csr(network, xy, network.stop_xy, max_s, profiles.street)
    direct = np.ascontiguousarray(direct_walk_seconds(network, xy, targets.xy, profiles.street))
    eg_off, eg_tgt, eg_sec = walk_csr(network, network.stop_xy, targets.xy, max_s, profiles.street)
    n_trips = len(network.run_ids)
    allowance = (np.zeros(n_trips, dtype=np.int64) if run_allowance is None
                 else np.asarray(run_allowance, dtype=np.int64))
    change = int(network.min_change_seconds)
    bounds = np.full(len(taus), np.iinfo(np.int64).max, dtype=np.int64)
    if bound_s is not None:
        given = np.asarray(bound_s, dtype=np.int64).reshape(-1)
        bounds = np.where(given >= 0, given, bounds)
    key, walk, ride, changes, first = _forward(
        network.dep_stop, network.arr_stop, network.dep_time, network.arr_time, network.trip,
        network.can_board, network.can_alight, n_trips, network.fp_offsets, network.fp_to,
        network.fp_seconds.astype(np.int64), eg_off, eg_tgt, eg_sec, targets.open_s,
        targets.close_s, change, acc_off, acc_stop, acc_sec, direct, taus, bounds, allowance,
        max(1, min(-(-len(taus) // _LANES), numba.get_num_threads())))
    reached = key != _INF
    served = np.where(reached, key // _SLOTS, -1)
    total = np.where(reached, served - taus, 0)
    change_s = np.where(reached, changes * change, 0)
    return pd.DataFrame({
        "departure_s": taus,
        "served_s": served,
        "target": np.where(reached, key % _SLOTS, -1),
        "walk_s": np.where(reached, walk, 0),
        "wait_s": total - np.where(reached, walk + ride, 0) - change_s,
        "ride_s": np.where(reached, ride, 0),
        "change_s": change_s,
        "changes": np.where(reached, changes, 0),
        "first_run": np.where(reached, first, -1),
    })


def median_departures(profiles: Profiles, origins_xy: np.ndarray, window: Window, *,
                      served: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each origin's median departure (the lower middle of its departures sorted by minutes).

    Returns (departure seconds, served seconds at it: -1 if unreachable). Ties in minutes go to
    the earlier departure. ``served`` reuses `Profiles.served` output for these origins.
    """
    if served is None:
        served, _target = profiles.served(origins_xy, window)
    departures = window.departures
    minutes = np.where(served >= 0, served - departures[None, :], np.iinfo(np.int64).max)
    order = np.argsort(minutes, axis=1, kind="stable")
    middle = (served.shape[1] - 1) // 2
    pick = order[:, middle]
    rows = np.arange(len(pick))
    return departures[pick], served[rows, pick]


def _read_table(feed_path: Path, name: str) -> pd.DataFrame | None:
    path = Path(feed_path)
    if path.is_dir():
        file = path / name
        return pd.read_csv(file, dtype=str, keep_default_na=False) if file.is_file() else None
    with zipfile.ZipFile(path) as archive:
        member = next((n for n in archive.namelist() if n.rsplit("/", 1)[-1] == name), None)
        if member is None:
            return None
        return pd.read_csv(io.BytesIO(archive.read(member)), dtype=str, keep_default_na=False,
                           encoding="utf-8-sig")


_RUN_SUFFIX = re.compile(r"(@-?\d+)?(/-1d)?$")


def run_routes(feed_path: Path | str, run_ids: np.ndarray,
               boarding_allowance_s: Mapping[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Route label (short name, else long name, else id) and boarding allowance of each trip run."""
    # Arrow's regex engine over the whole column (Python's re ran once per run: 0.15 s)
    trip_ids = pd.Series(np.asarray(run_ids).astype(str), dtype="string[pyarrow]").str.replace(
        _RUN_SUFFIX.pattern, "", regex=True)
    trips = _read_table(Path(feed_path), "trips.txt")
    routes = _read_table(Path(feed_path), "routes.txt")
    if trips is None or routes is None:
        return np.full(len(trip_ids), "", dtype=object), np.zeros(len(trip_ids), dtype=np.int64)
    routes = routes.drop_duplicates("route_id").set_index("route_id")
    short = routes.get("route_short_name", pd.Series("", index=routes.index)).fillna("")
    long = routes.get("route_long_name", pd.Series("", index=routes.index)).fillna("")
    label = short.where(short.str.strip() != "", long).where(lambda s: s.str.strip() != "",
                                                            routes.index.to_series())
    route_of_trip = trips.drop_duplicates("trip_id").set_index("trip_id")["route_id"]
    route = route_of_trip.reindex(trip_ids.to_numpy())
    labels = route.map(label).fillna("").to_numpy(dtype=object)
    allowance = np.zeros(len(trip_ids), dtype=np.int64)
    if boarding_allowance_s:
        types = pd.to_numeric(route.map(routes["route_type"]), errors="coerce").to_numpy()
        allowance = np.array([int(boarding_allowance_s.get(int(t), 0)) if np.isfinite(t) else 0
                              for t in types], dtype=np.int64)
    return labels, allowance


def journey_breakdown(profiles: Profiles, origins_xy: np.ndarray,
                      origin_ids: Sequence[str] | np.ndarray,
                      window: Window, *, routes: np.ndarray | None = None,
                      run_allowance: np.ndarray | None = None,
                      served: np.ndarray | None = None) -> pd.DataFrame:
    """Per origin: its median departure's journey in minutes (walk, wait, ride, change), changes
    and the route of the first ride.

    Columns origin_id, departure_s, minutes, counter_id, walk_min, wait_min, ride_min,
    change_min, changes, first_route ('' when walking all the way or unreached).
    ``served`` reuses `Profiles.served` output for these origins.
    """
    xy = np.asarray(origins_xy, dtype=float).reshape(-1, 2)
    taus, at_median = median_departures(profiles, xy, window, served=served)
    table = earliest_journeys(profiles, xy, taus, run_allowance=run_allowance,
                              bound_s=at_median)
    reached = table["served_s"].to_numpy() >= 0
    counter = np.asarray(profiles.targets.ids, dtype=object)[
        np.maximum(table["target"].to_numpy(), 0)]
    counter[~reached] = None
    first = table["first_run"].to_numpy()
    labels = np.full(len(table), "", dtype=object)
    if routes is not None:
        labels[first >= 0] = np.asarray(routes, dtype=object)[first[first >= 0]]
    out = pd.DataFrame({
        "origin_id": np.asarray(origin_ids).astype(str),
        "departure_s": taus,
        "minutes": np.where(reached, (table["served_s"] - taus) / 60.0, np.nan),
        "counter_id": pd.Series(counter, dtype="str"),
    })
    for part in BREAKDOWN_PARTS:
        out[f"{part}_min"] = np.where(reached, table[f"{part}_s"] / 60.0, np.nan)
    out["changes"] = np.where(reached, table["changes"], -1)
    out["first_route"] = labels
    return out


def _clock(seconds: np.ndarray) -> np.ndarray:
    minutes = np.asarray(seconds, dtype=np.int64) // 60
    return np.array([f"{m // 60:02d}:{m % 60:02d}" for m in minutes], dtype=object)


def lsoa_journeys(scenario: Any, network: TransitNetwork, feed: Any, targets: Any,
                  lsoas: pd.DataFrame, street: Any = None,
                  profiles: Mapping[str, Profiles] | None = None,
                  served: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None
                  ) -> pd.DataFrame:
    """Per LSOA and measure: the median journey's departure (HH:MM), parts, changes, first route.

    On the first phase draw of frequency-based services (``draw_networks(network, 1, seed)``),
    the median over that draw's departures; the travel step's minutes pool all its draws, so
    a journey's total can differ from the LSOA's pooled median by the phase spread.

    Columns lsoa_code and, for m in ('24h', 'any'): journey_m_departure, journey_m_walk_min,
    journey_m_wait_min, journey_m_ride_min, journey_m_change_min, journey_m_changes,
    journey_m_first_route. ``profiles`` (by measure) reuses scans already made, and ``served``
    the (served, target) they give these LSOAs over the window (`Profiles.served`), if known.
    """
    from siting.draws import draw_networks
    from siting.travel import MEASURES, profile_search_many

    start_s, end_s = scenario.transit.window_seconds
    window = Window(start_s=start_s, end_s=end_s, step_s=scenario.transit.step_minutes * 60)
    xy = np.column_stack([lsoas.geometry.x, lsoas.geometry.y])
    out = pd.DataFrame({"lsoa_code": lsoas["lsoa_code"].to_numpy()})
    if feed.path is None:  # a walk-only study: no journeys to break down
        return out
    from siting.network.scenario_network import boarding_allowances

    routes_table = _read_table(Path(feed.path), "routes.txt")
    types = sorted({int(t) for t in pd.to_numeric(routes_table["route_type"], errors="coerce")
                    .dropna()}) if routes_table is not None and "route_type" in routes_table else []
    labels, allowance = run_routes(feed.path, network.run_ids,  # a draw keeps these labels
                                   boarding_allowances(scenario, types, feed.label))
    codes = out["lsoa_code"].to_numpy()
    sets = {m: targets.for_measure(m) for m in MEASURES if len(targets.for_measure(m))}
    missing = [m for m in sets if not (profiles or {}).get(m)]
    # Frequency-based services get random phases (transit.draws pooled by the travel step);
    # the journey is traced on the first phase draw (the network itself when nothing is
    # phased): profiles not given are scanned on it, both measures in one pass.
    scanned = dict(zip(missing, profile_search_many(
        next(draw_networks(network, 1, scenario.transit.seed)), [sets[m] for m in missing],
        max_access_minutes=scenario.walking.max_access_minutes, street=street),
        strict=True)) if missing else {}
    before: tuple[np.ndarray, np.ndarray, pd.DataFrame] | None = None
    for measure, chosen in sets.items():
        given = (profiles or {}).get(measure)
        prof = given or scanned[measure]
        known = (served or {}).get(measure) if given else None
        times, target = known if known is not None else prof.served(xy, window)
        reached_ids = np.where(target >= 0, np.asarray(chosen.ids, dtype=object)[
            np.maximum(target, 0)], "")
        todo = np.ones(len(xy), dtype=bool)
        if before is not None:
            # Where every departure reaches the same counter at the same time as in the
            # previous measure, the median journey is the same: reuse it.
            todo = ~((times == before[0]).all(axis=1) & (reached_ids == before[1]).all(axis=1))
        fresh = journey_breakdown(prof, xy[todo], codes[todo], window, routes=labels,
                                  run_allowance=allowance, served=times[todo])
        fresh.index = np.flatnonzero(todo)
        table = fresh if before is None else pd.concat(
            [before[2][~todo], fresh]).sort_index(kind="stable")
        before = (times, reached_ids, table)
        prefix = f"journey_{measure}_"
        out[prefix + "departure"] = _clock(table["departure_s"].to_numpy())
        for part in BREAKDOWN_PARTS:
            out[f"{prefix}{part}_min"] = table[f"{part}_min"].to_numpy()
        out[prefix + "changes"] = table["changes"].to_numpy()
        out[prefix + "first_route"] = table["first_route"].to_numpy()
    return out


def ward_journeys(lsoas: pd.DataFrame) -> pd.DataFrame:
    """Per ward: population-weighted mean parts and changes of its LSOAs' median journeys, and
    the first route most of its people take (ties to the first in name order).

    A ward whose LSOAs with a journey all have zero population gets their plain mean; one with
    no journey at all gets NaN and no route. Columns are whole-frame sums per ward (bincount),
    not a loop over wards.
    """
    measures = sorted({c.split("_")[1] for c in lsoas.columns
                       if c.startswith("journey_") and c.endswith("_walk_min")})
    codes, ward = np.unique(lsoas["ward_code"].to_numpy(dtype=str), return_inverse=True)
    n = len(codes)
    weights = lsoas["population"].clip(lower=0).astype(float).to_numpy()
    out: dict[str, Any] = {"ward_code": codes.astype(object)}
    for m in measures:
        prefix = f"journey_{m}_"
        ok = lsoas[prefix + "walk_min"].notna().to_numpy()
        w = np.where(ok, weights, 0.0)
        total = np.bincount(ward, weights=w, minlength=n)
        count = np.bincount(ward, weights=ok.astype(float), minlength=n)
        for part in (*BREAKDOWN_PARTS, "changes"):
            column = prefix + (part if part == "changes" else f"{part}_min")
            values = np.where(ok, lsoas[column].to_numpy(dtype=float), 0.0)
            weighted = np.bincount(ward, weights=w * values, minlength=n)
            plain = np.bincount(ward, weights=values, minlength=n)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[column] = np.where(total > 0, weighted / total,
                                       np.where(count > 0, plain / count, np.nan))
        routes = pd.DataFrame({"ward": ward[ok], "route": lsoas.loc[ok, prefix + "first_route"]
                               .fillna("").astype(str).to_numpy(), "w": weights[ok]})
        routes = routes[routes["route"] != ""]
        sums = routes.groupby(["ward", "route"], sort=True)["w"].sum().reset_index()
        best = sums.loc[sums.groupby("ward", sort=True)["w"].idxmax()]
        first = np.full(n, "", dtype=object)
        first[best["ward"].to_numpy()] = best["route"].to_numpy()
        out[prefix + "first_route"] = first
    return pd.DataFrame(out)
