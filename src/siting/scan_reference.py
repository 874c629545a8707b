"""The reference profile scan: unpacked entries, no pruning, one target set.

This is the plain backward profile Connection Scan that `siting.travel` describes, kept as the
executable specification the fast kernel (`siting.scan`) is tested against entry for entry,
and as the benchmarks' "before". Nothing in the pipeline calls it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from siting.travel import _INF, _served_key

__all__ = ["profile_scan", "profile_scan_changes"]


@njit(cache=True, inline="always")
def _query(prof_dep: np.ndarray, prof_key: np.ndarray, start: int, length: int, t: int) -> int:
    """Key of the entry with the least departure >= t (entries have decreasing departures).

    Galloping from the last-appended entry (the least departure): in a backward scan the
    answer is nearly always among the last few entries, so this costs O(log distance).
    """
    if length == 0 or prof_dep[start] < t:
        return _INF
    last = start + length - 1
    if prof_dep[last] >= t:
        return prof_key[last]
    # prof_dep[last] < t <= prof_dep[start]: gallop back for an index with departure >= t.
    step = 1
    hi = last  # departure < t
    lo = last - 1
    while lo > start and prof_dep[lo] < t:
        hi = lo
        step <<= 1
        lo = max(start, last - step)
    # Now prof_dep[lo] >= t > prof_dep[hi]: find the last index with departure >= t.
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if prof_dep[mid] >= t:
            lo = mid
        else:
            hi = mid
    return prof_key[lo]


@njit(cache=True, _nrt=False)  # type: ignore[call-overload]  # not in the stubs
def _alight_value(v, a, change_s, prof_start, prof_len, prof_dep, prof_key, fp_off, fp_to,
                  fp_total, eg_off, eg_tgt, eg_sec, open_s, close_s):
    best = _INF
    for e in range(eg_off[v], eg_off[v + 1]):
        key = _served_key(a + eg_sec[e], eg_tgt[e], open_s, close_s)
        best = min(best, key)
    change = change_s[v]
    if change >= 0:
        best = min(best, _query(prof_dep, prof_key, prof_start[v], prof_len[v], a + change))
    for f in range(fp_off[v], fp_off[v + 1]):
        w = fp_to[f]
        if prof_len[w] > 0:
            best = min(best, _query(prof_dep, prof_key, prof_start[w], prof_len[w],
                                    a + fp_total[f]))
    return best


@njit(cache=True, inline="always")
def _insert(u, d, key, prof_start, prof_len, prof_dep, prof_key):
    s = prof_start[u]
    n = prof_len[u]
    if n > 0:
        last = s + n - 1
        if prof_dep[last] == d:
            if key < prof_key[last]:
                prof_key[last] = key
            return
        if key >= prof_key[last]:
            return
    prof_dep[s + n] = d
    prof_key[s + n] = key
    prof_len[u] = n + 1


@njit(cache=True)
def _scan_changes(dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight, n_trips,
                  prof_start, fp_off, fp_to, fp_total, eg_off, eg_tgt, eg_sec, open_s, close_s,
                  change_s, iterate):
    """The backward profile scan; a change costs change_s[v] at stop v (-1: impossible) and
    fp_total[f] along footpath f. ``iterate``: some change can take 0 s, so zero-duration hops
    are iterated to a fixed point."""
    n_stops = len(prof_start) - 1
    prof_len = np.zeros(n_stops, dtype=np.int64)
    prof_dep = np.empty(prof_start[n_stops], dtype=np.int32)
    prof_key = np.empty(prof_start[n_stops], dtype=np.int64)
    best_trip = np.full(n_trips, _INF, dtype=np.int64)
    local = np.empty(len(dep_time), dtype=np.int64)
    _scan_loop(dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight, prof_start,
               fp_off, fp_to, fp_total, eg_off, eg_tgt, eg_sec, open_s, close_s, change_s,
               iterate, prof_len, prof_dep, prof_key, best_trip, local)
    return prof_len, prof_dep, prof_key


@njit(cache=True, _nrt=False)  # type: ignore[call-overload]  # not in the stubs
def _scan_loop(dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight, prof_start,
               fp_off, fp_to, fp_total, eg_off, eg_tgt, eg_sec, open_s, close_s, change_s,
               iterate, prof_len, prof_dep, prof_key, best_trip, local):
    """`_scan_changes`'s loop, without numba's reference counting (it allocates nothing), as
    `siting.scan._scan` is: a fair "before" for the benchmarks."""
    i = len(dep_time) - 1
    while i >= 0:
        d = dep_time[i]
        j = i
        while j >= 0 and dep_time[j] == d:
            j -= 1
        # Positive-duration hops first: their alighting values only need departures > d.
        k = i
        while k > j and arr_time[k] > d:
            tr = trip[k]
            key = best_trip[tr]
            if can_alight[k]:
                key = min(key, _alight_value(
                    arr_stop[k], arr_time[k], change_s, prof_start, prof_len, prof_dep,
                    prof_key, fp_off, fp_to, fp_total, eg_off, eg_tgt, eg_sec, open_s, close_s))
            best_trip[tr] = key
            if can_board[k] and key < _INF:
                _insert(dep_stop[k], d, key, prof_start, prof_len, prof_dep, prof_key)
            k -= 1
        # Zero-duration hops (trip, position descending): iterate while entries at d improve.
        low = j + 1
        high = k
        if high >= low:
            for m in range(low, high + 1):
                local[m] = _INF
            while True:
                changed = False
                prev_trip = -1
                prev_key = _INF
                for m in range(high, low - 1, -1):
                    tr = trip[m]
                    key = best_trip[tr] if tr != prev_trip else prev_key
                    if can_alight[m]:
                        key = min(key, _alight_value(
                            arr_stop[m], arr_time[m], change_s, prof_start, prof_len,
                            prof_dep, prof_key, fp_off, fp_to, fp_total, eg_off, eg_tgt,
                            eg_sec, open_s, close_s))
                    if key < local[m]:
                        local[m] = key
                        changed = True
                        if can_board[m]:
                            _insert(dep_stop[m], d, key, prof_start, prof_len, prof_dep,
                                    prof_key)
                    prev_trip = tr
                    prev_key = local[m]
                if not changed or not iterate:
                    break
            for m in range(high, low - 1, -1):
                best_trip[trip[m]] = local[m]
        i = j


@njit(cache=True)
def _scan(dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight, n_trips,
          prof_start, fp_off, fp_to, fp_sec, eg_off, eg_tgt, eg_sec, open_s, close_s,
          min_change):
    """The scan with one change time everywhere (footpath f costs fp_sec[f] + min_change)."""
    change_s = np.full(len(prof_start) - 1, min_change, dtype=np.int64)
    fp_total = fp_sec.astype(np.int64) + min_change
    return _scan_changes(dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight,
                         n_trips, prof_start, fp_off, fp_to, fp_total, eg_off, eg_tgt, eg_sec,
                         open_s, close_s, change_s, min_change == 0)


profile_scan = _scan
"""The reference scan with one global change time (arrays in, per-stop profiles out)."""

profile_scan_changes = _scan_changes
"""The reference scan with per-stop change times and whole footpath costs
(`siting.travel.change_costs`)."""
