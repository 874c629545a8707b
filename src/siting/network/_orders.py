"""Linear-time orders of a network's connections: counting sorts in place of argsorts.

A London network has about 1.7 million connections but only about 20,000 stops and 100,000
runs, so sorting on a stop or run key is a counting sort over that small range: one pass to
count, one to place. These give, array for array, what the numpy sorts they replace gave
(`tests/test_orders.py` checks them against those sorts).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["least_edges", "ride_edges", "tie_order"]


@njit(cache=True, nogil=True)
def _starts(key: np.ndarray, n_keys: int) -> np.ndarray:
    """Where each key's bucket starts in a stable counting sort of ``key`` (n_keys + 1)."""
    start = np.zeros(n_keys + 1, dtype=np.int64)
    for k in range(len(key)):
        start[key[k] + 1] += 1
    for b in range(n_keys):
        start[b + 1] += start[b]
    return start


@njit(cache=True, nogil=True)
def _bucket(key: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable counting sort of ``key`` (values in [0, n_keys)): bucket starts and positions."""
    start = _starts(key, n_keys)
    fill = start[:-1].copy()
    items = np.empty(len(key), dtype=np.int64)
    for k in range(len(key)):
        b = key[k]
        items[fill[b]] = k
        fill[b] += 1
    return start, items


@njit(cache=True, nogil=True)
def _least(frm, to, seconds, n_stops):
    """(from, to, least seconds) per distinct stop pair, in ascending (from, to) order."""
    start = _starts(frm, n_stops)
    fill = start[:-1].copy()
    by_to = np.empty(len(frm), dtype=np.int64)
    by_s = np.empty(len(frm), dtype=np.int64)
    for k in range(len(frm)):  # read in sequence, write each pair into its from-stop's bucket
        i = fill[frm[k]]
        fill[frm[k]] += 1
        by_to[i] = to[k]
        by_s[i] = seconds[k]
    out_to = np.empty(len(frm), dtype=np.int64)
    out_s = np.empty(len(frm), dtype=np.int64)
    out_from = np.empty(len(frm), dtype=np.int64)
    seen = np.full(n_stops, -1, dtype=np.int64)  # the bucket that last met each `to`
    slot = np.zeros(n_stops, dtype=np.int64)
    m = 0
    for f in range(n_stops):
        first = m
        for i in range(start[f], start[f + 1]):
            t = by_to[i]
            if seen[t] != f:
                seen[t] = f
                slot[t] = m
                out_to[m] = t
                out_s[m] = by_s[i]
                out_from[m] = f
                m += 1
            elif by_s[i] < out_s[slot[t]]:
                out_s[slot[t]] = by_s[i]
        if m - first > 1:
            order = np.argsort(out_to[first:m])
            out_to[first:m] = out_to[first:m][order]
            out_s[first:m] = out_s[first:m][order]
    return out_from[:m].copy(), out_to[:m].copy(), out_s[:m].copy()


def least_edges(frm: np.ndarray, to: np.ndarray, seconds: np.ndarray, n_stops: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One edge per (from, to) stop pair with its least seconds, in (from, to) order (int64).

    The inputs are read in their own integer types (a network's are int32: no 64-bit copies).
    """
    frm, to, seconds = (np.ascontiguousarray(a) for a in (frm, to, seconds))
    if len(frm) and (min(frm.min(), to.min()) < 0 or max(frm.max(), to.max()) >= n_stops):
        raise ValueError(f"stop indices must lie in [0, {n_stops})")
    return _least(frm, to, seconds, max(int(n_stops), 0))


@njit(cache=True, nogil=True)
def _stay_hops(arr_stop, arr_time, trip, t_min, n_trips):
    """Each run's consecutive hops in (run, arrival) order, stable: (from, to, seconds)."""
    run_of = trip - t_min
    start = _starts(run_of, n_trips)
    fill = start[:-1].copy()
    n = len(trip)
    stop = np.empty(n, dtype=np.int64)
    time = np.empty(n, dtype=np.int64)
    for k in range(n):  # read in sequence, write each hop into its run's bucket
        i = fill[run_of[k]]
        fill[run_of[k]] += 1
        stop[i] = arr_stop[k]
        time[i] = arr_time[k]
    frm = np.empty(n, dtype=np.int64)
    to = np.empty(n, dtype=np.int64)
    sec = np.empty(n, dtype=np.int64)
    m = 0
    for r in range(n_trips):
        a, b = start[r], start[r + 1]
        for i in range(a + 1, b):
            if time[i] < time[i - 1]:  # not in arrival order: sort the run (stable)
                order = np.argsort(time[a:b], kind="mergesort")
                stop[a:b] = stop[a:b][order]
                time[a:b] = time[a:b][order]
                break
        for i in range(a + 1, b):
            frm[m] = stop[i - 1]
            to[m] = stop[i]
            sec[m] = max(time[i] - time[i - 1], 0)
            m += 1
    return frm[:m], to[:m], sec[:m]


def ride_edges(dep_stop: np.ndarray, arr_stop: np.ndarray, dep_time: np.ndarray,
               arr_time: np.ndarray, trip: np.ndarray, n_stops: int) -> tuple[np.ndarray, ...]:
    """Least boarding and staying-on edges (`TransitNetwork.ride_edges`), in linear time."""
    ride = np.subtract(arr_time, dep_time, dtype=np.result_type(arr_time, dep_time))
    board = least_edges(dep_stop, arr_stop, np.maximum(ride, 0, out=ride), n_stops)
    if len(trip) == 0:
        return board + least_edges(trip, trip, trip, n_stops)
    t_min = int(trip.min())
    hops = _stay_hops(np.ascontiguousarray(arr_stop), np.ascontiguousarray(arr_time),
                      np.ascontiguousarray(trip), t_min, int(trip.max()) - t_min + 1)
    frm, to, seconds = hops
    return board + least_edges(frm, to, seconds, n_stops)


def tie_order(arr_time: np.ndarray, dep_time: np.ndarray, trip: np.ndarray) -> np.ndarray:
    """Connection order by (positive duration, run, position): zero-duration hops first.

    The same as ``np.lexsort((np.arange(n), trip, arr_time > dep_time))``.
    """
    if len(trip) == 0:
        return np.zeros(0, dtype=np.int64)
    t_min = int(trip.min())
    span = int(trip.max()) - t_min + 1
    key = (trip.astype(np.int64) - t_min) + span * (arr_time > dep_time)
    return _bucket(key, 2 * span)[1]


@njit(cache=True, nogil=True)
def _by_departure(dep_time, positive, trip, position, t_min, n_trips, d_min, d_span):
    """Stable counting sorts: by (positive, run), then by departure second; and whether the
    positions rose within each (positive, run) group, so the first sort also ordered them."""
    n = len(dep_time)
    key = (trip - t_min) + n_trips * positive
    tied = _bucket(key, 2 * n_trips)[1]
    rising = True
    for i in range(1, n):
        a, b = tied[i - 1], tied[i]
        if key[a] == key[b] and position[b] <= position[a]:
            rising = False
            break
    start = _starts(dep_time - d_min, d_span)
    fill = start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        k = tied[i]
        d = dep_time[k] - d_min
        order[fill[d]] = k
        fill[d] += 1
    return order, rising


def departure_order(dep_time: np.ndarray, arr_time: np.ndarray, trip: np.ndarray,
                    position: np.ndarray) -> np.ndarray:
    """Connection order by (departure, positive duration, run, position): the scan's order.

    The same as ``np.lexsort((position, trip, arr_time > dep_time, dep_time))``, by two
    counting sorts when each run's hops come in rising position (as `_hops` lists them), else
    by that lexsort.
    """
    if len(trip) == 0:
        return np.zeros(0, dtype=np.int64)
    dep = np.ascontiguousarray(dep_time, dtype=np.int64)
    positive = (arr_time > dep_time).astype(np.int64)
    t_min, d_min = int(trip.min()), int(dep.min())
    n_trips, d_span = int(trip.max()) - t_min + 1, int(dep.max()) - d_min + 1
    if d_span > 4 * len(dep) + (1 << 20):  # a sparse range of seconds: sort instead
        return np.lexsort((position, trip, positive, dep_time))
    order, rising = _by_departure(dep, positive, np.ascontiguousarray(trip, dtype=np.int64),
                                  np.ascontiguousarray(position, dtype=np.int64),
                                  t_min, n_trips, d_min, d_span)
    return order if rising else np.lexsort((position, trip, positive, dep_time))
