"""The backward profile scan kernel: shared profile rows and exact lower-bound pruning.

`siting.travel` states the semantics (served time to the best target, as a step function of
the departure time from every stop); this module is the hot loop that computes it, for one or
several target sets (layers) in one pass over the connections. Two things make it fast, and
neither changes an answer:

* **Shared rows.** A stop's profile is a list of rows (departure, one key per layer), newest
  last: a row is added when any layer's key improves and keeps, per layer, the least key of
  any departure at or after it, so one search for "least departure >= t" answers every layer
  (each layer's own profile is read back from the rows where its key improves). A key is one
  int64, ``served << G | target``, times relative to the network's first departure, with G
  bits for the target index.
* **Lower-bound pruning.** `board_bounds` is a lower bound, per stop and layer, on (served
  time - departure) of any journey boarding there: a reverse Dijkstra from the targets over
  the least in-vehicle, boarding, change and footpath times, ignoring every wait. After
  alighting at v at time a, a change at v can give no key below ``a + change + B[v]``, a
  footpath v->w none below ``a + footpath + B[w]``; the footpaths are sorted by that bound,
  so the loop stops at the first that cannot beat the best key found so far. Every skipped
  query is one whose answer could not change the minimum, so the profiles are the ones the
  unpruned scan computes, entry for entry (tests/test_scan.py checks this against a
  reference scan on real feeds).

Two more make it faster still, changing nothing it computes: the kernel is compiled once per
number of layers (see `_scan`), and it asks the CPU early for the lines a connection a few
steps ahead will read (`siting._prefetch`; docs/travel-model.md has the measurements).
"""

from __future__ import annotations

import heapq
from typing import NamedTuple

import numpy as np
from numba import njit

from siting._errors import ScenarioError
from siting._prefetch import prefetch

__all__ = ["UNREACHABLE", "SharedRows", "board_bounds", "pack_layout", "scan_profiles", "scan_rows"]

UNREACHABLE = 1 << 36
"""Bound of a stop from which no target can be reached (larger than any real bound)."""

_INF = np.iinfo(np.int64).max
_SLOTS = 1 << 20


# --------------------------------------------------------------------------- lower bounds

@njit(cache=True, nogil=True)
def _dijkstra(rev_off, rev_from, rev_w, dist):
    """Least distances to the sources (dist given finite there), over reversed CSR edges."""
    heap = [(np.int64(0), np.int64(0))]
    heap.pop()
    for v in range(len(dist)):
        if dist[v] < UNREACHABLE:
            heapq.heappush(heap, (dist[v], np.int64(v)))
    done = np.zeros(len(dist), dtype=np.bool_)
    while heap:
        key, node = heapq.heappop(heap)
        if done[node] or key > dist[node]:
            continue
        done[node] = True
        for e in range(rev_off[node], rev_off[node + 1]):
            u = rev_from[e]
            cand = key + rev_w[e]
            if cand < dist[u]:
                dist[u] = cand
                heapq.heappush(heap, (cand, u))
    return dist


def board_bounds(edges: tuple[np.ndarray, ...], n_stops: int, egress_min: np.ndarray,
                 change_s: np.ndarray, fp_offsets: np.ndarray, fp_to: np.ndarray,
                 fp_total: np.ndarray) -> np.ndarray:
    """Per layer and stop, a lower bound on (served time - boarding time) from that stop.

    Nodes: "on a vehicle arriving at x" (x) and "ready to board at u" (n + u). Forward edges:
    x -> n + x (change at x), x -> n + w (footpath), x -> y (stay on), n + u -> v (board and
    ride one hop); x reaches a target in ``egress_min[layer, x]`` (UNREACHABLE if none). A
    reverse Dijkstra per layer gives the least total; every wait counts as zero. ``edges`` is
    `TransitNetwork.ride_edges`.
    """
    b_from, b_to, b_w, s_from, s_to, s_w = edges
    n = n_stops
    can = change_s >= 0
    fp_from = np.repeat(np.arange(n), np.diff(fp_offsets))
    frm = np.concatenate([np.flatnonzero(can), fp_from, s_from, n + b_from])
    to = np.concatenate([n + np.flatnonzero(can), n + fp_to.astype(np.int64), s_to, b_to])
    weight = np.concatenate([change_s[can], fp_total, s_w, b_w]).astype(np.int64).clip(0)
    order = np.argsort(to, kind="stable")
    rev_off = np.zeros(2 * n + 1, dtype=np.int64)
    np.cumsum(np.bincount(to, minlength=2 * n), out=rev_off[1:])
    rev_from = frm[order].astype(np.int64)
    rev_w = weight[order]
    out = np.empty((len(egress_min), n), dtype=np.int64)
    for layer, start in enumerate(egress_min):
        dist = np.full(2 * n, UNREACHABLE, dtype=np.int64)
        dist[:n] = np.minimum(start, UNREACHABLE)
        out[layer] = np.minimum(_dijkstra(rev_off, rev_from, rev_w, dist)[n:], UNREACHABLE)
    return out


# --------------------------------------------------------------------------- packed scan

def pack_layout(n_targets: int, base: int, latest: int) -> tuple[int, int]:
    """Bits of a key (G for the target index, S for the served time); checks the range."""
    g_bits = max(1, int(n_targets).bit_length())
    s_bits = (63 - g_bits) // 2
    if latest - base >= (1 << s_bits) - 1:
        raise ScenarioError(
            f"The transit network spans {latest - base} s, more than the engine's "
            f"{(1 << s_bits) - 2} s with {n_targets} targets. Use a shorter network range.")
    return g_bits, s_bits


@njit(cache=True, inline="always")
def _find(prof, start, length, tq):
    """Row of the least departure >= tq, or -1.

    Rows have decreasing departures (column 0); gallop back from the newest (the answer is
    nearly always among the last few), then bisect.
    """
    if length == 0:
        return -1
    last = start + length - 1
    if prof[last, 0] >= tq:
        return last
    step = 1
    hi = last
    lo = last - 1
    while lo > start and prof[lo, 0] < tq:
        hi = lo
        step <<= 1
        lo = max(start, last - step)
    if lo < start or prof[lo, 0] < tq:
        return -1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if prof[mid, 0] >= tq:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _insert(prof, prof_start, prof_len, u, d_rel, keys, key_mask, n_layers):
    """Add departure d at stop u with each layer's key; a row keeps, per layer, the least
    key of any departure at or after it."""
    s = prof_start[u]
    n = prof_len[u]
    if n > 0:
        last = s + n - 1
        if prof[last, 0] == d_rel:
            for layer in range(n_layers):
                if keys[layer] < prof[last, 1 + layer]:
                    prof[last, 1 + layer] = keys[layer]
            return
        better = False
        for layer in range(n_layers):
            if keys[layer] < prof[last, 1 + layer]:
                better = True
        if not better:
            return
        row = s + n
        prof[row, 0] = d_rel
        for layer in range(n_layers):
            prof[row, 1 + layer] = min(keys[layer], prof[last, 1 + layer])
    else:
        better = False
        for layer in range(n_layers):
            if keys[layer] < key_mask:
                better = True
        if not better:
            return
        row = s
        prof[row, 0] = d_rel
        for layer in range(n_layers):
            prof[row, 1 + layer] = keys[layer]
    prof_len[u] = n + 1


@njit(cache=True, inline="always")
def _alight(v, a, out, prof, prof_start, prof_len, fp_off, fp_to, fp_total, fp_order_bound,
            bound, change_s, eg_off, eg_tgt, eg_sec, open_rel, close_rel, g_bits, n_layers):
    """Lower ``out[layer]`` (the best key so far) to the best key after alighting at v at a.

    One row search serves every layer; a layer reads it only where its bound allows a gain.
    """
    for layer in range(n_layers):
        best = out[layer]
        for e in range(eg_off[layer, v], eg_off[layer, v + 1]):
            tgt = eg_tgt[e]
            t = a + eg_sec[e]
            if t < close_rel[layer, tgt]:
                best = min(best, (max(t, open_rel[layer, tgt]) << g_bits) | tgt)
        out[layer] = best
    change = change_s[v]
    if change >= 0 and prof_len[v] > 0:
        useful = False
        for layer in range(n_layers):
            if ((a + change + bound[v, layer]) << g_bits) <= out[layer]:
                useful = True
        if useful:
            row = _find(prof, prof_start[v], prof_len[v], a + change)
            if row >= 0:
                for layer in range(n_layers):
                    out[layer] = min(out[layer], prof[row, 1 + layer])
    worst = out[0]
    for layer in range(1, n_layers):
        worst = max(worst, out[layer])
    for f in range(fp_off[v], fp_off[v + 1]):
        if ((a + fp_order_bound[f]) << g_bits) > worst:
            break  # footpaths ascend by this bound: none further can improve any layer
        w = fp_to[f]
        n = prof_len[w]
        if n == 0:
            continue
        t = a + fp_total[f]
        useful = False
        for layer in range(n_layers):
            if ((t + bound[w, layer]) << g_bits) <= out[layer]:
                useful = True
        if not useful:
            continue
        row = _find(prof, prof_start[w], n, t)
        if row >= 0:
            for layer in range(n_layers):
                out[layer] = min(out[layer], prof[row, 1 + layer])
            worst = out[0]
            for layer in range(1, n_layers):
                worst = max(worst, out[layer])


@njit(cache=True, nogil=True)
def _scan(dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight, n_trips, base,
          prof_start, fp_off, fp_to, fp_total, fp_order_bound, bound, change_s, iterate,
          eg_off, eg_tgt, eg_sec, open_rel, close_rel, g_bits, key_mask, layer_token):
    """The backward profile scan of `siting.travel`, all layers in one pass, shared rows.

    A stop's profile is rows (departure, one key per layer): a row is added when any layer's
    key improves, and keeps each layer's least key of any departure at or after it, so one
    row search answers every layer. ``layer_token`` is a tuple of one item per layer: its
    length is part of its numba type, so the kernel is compiled once per number of layers
    with every per-layer loop of a known length (0.78-0.85x the time of a run-time count).
    """
    n_layers = len(layer_token)
    n_stops = len(prof_start) - 1
    prof_len = np.zeros(n_stops, dtype=np.int32)
    prof = np.empty((prof_start[n_stops], 1 + n_layers), dtype=np.int64)
    best_trip = np.full((n_trips, n_layers), key_mask, dtype=np.int64)
    local = np.empty((len(dep_time), n_layers), dtype=np.int64)
    value = np.empty(n_layers, dtype=np.int64)
    i = len(dep_time) - 1
    while i >= 0:
        d = dep_time[i]
        d_rel = np.int64(d) - base
        j = i
        while j >= 0 and dep_time[j] == d:
            j -= 1
        # Positive-duration hops first: their alighting values only need departures > d.
        k = i
        while k > j and arr_time[k] > d:
            # Prefetch hints (no result depends on them): for the connection 16 ahead, the
            # newest rows of its boarding and alighting stops and the latter's first footpath
            # entry; for the one 8 ahead, the newest rows at the ends of its first two
            # footpaths. Random over tens of MB, these are the scan's costliest loads; asked
            # for early, their misses overlap. Written here, not in an inlined helper, which
            # measured 35% slower. A stop without rows gives an address before its own,
            # which a prefetch never reads.
            if k >= 16:
                u = dep_stop[k - 16]
                prefetch(prof, (prof_start[u] + prof_len[u]) * (n_layers + 1))
                v = arr_stop[k - 16]
                prefetch(prof, (prof_start[v] + prof_len[v] - 1) * (n_layers + 1))
                f = fp_off[v]
                prefetch(fp_order_bound, f)
                prefetch(fp_to, f)
            if k >= 8:
                v = arr_stop[k - 8]
                f = fp_off[v]
                end = min(fp_off[v + 1], f + 2)
                while f < end:
                    w = fp_to[f]
                    prefetch(prof, (prof_start[w] + prof_len[w] - 1) * (n_layers + 1))
                    f += 1
            tr = trip[k]
            if can_alight[k]:
                for layer in range(n_layers):
                    value[layer] = best_trip[tr, layer]
                _alight(arr_stop[k], np.int64(arr_time[k]) - base, value, prof, prof_start,
                        prof_len, fp_off, fp_to, fp_total, fp_order_bound, bound, change_s,
                        eg_off, eg_tgt, eg_sec, open_rel, close_rel, g_bits, n_layers)
                for layer in range(n_layers):
                    best_trip[tr, layer] = value[layer]
            if can_board[k]:
                _insert(prof, prof_start, prof_len, dep_stop[k], d_rel, best_trip[tr],
                        key_mask, n_layers)
            k -= 1
        # Zero-duration hops (trip, position descending): iterate while entries at d improve.
        low = j + 1
        high = k
        if high >= low:
            for m in range(low, high + 1):
                for layer in range(n_layers):
                    local[m, layer] = key_mask
            while True:
                changed = False
                for m in range(high, low - 1, -1):
                    tr = trip[m]
                    same = m < high and trip[m + 1] == tr
                    for layer in range(n_layers):
                        value[layer] = local[m + 1, layer] if same else best_trip[tr, layer]
                    if can_alight[m]:
                        _alight(arr_stop[m], np.int64(arr_time[m]) - base, value, prof,
                                prof_start, prof_len, fp_off, fp_to, fp_total, fp_order_bound,
                                bound, change_s, eg_off, eg_tgt, eg_sec, open_rel, close_rel,
                                g_bits, n_layers)
                    improved = False
                    for layer in range(n_layers):
                        if value[layer] < local[m, layer]:
                            local[m, layer] = value[layer]
                            improved = True
                    if improved:
                        changed = True
                        if can_board[m]:
                            _insert(prof, prof_start, prof_len, dep_stop[m], d_rel, local[m],
                                    key_mask, n_layers)
                if not changed or not iterate:
                    break
            for m in range(high, low - 1, -1):
                for layer in range(n_layers):
                    best_trip[trip[m], layer] = local[m, layer]
        i = j
    return prof_len, prof


@njit(cache=True)
def _layer_entries(prof, prof_start, prof_len, layer, base, g_bits, key_mask):
    """One layer's profiles from the shared rows: the rows where its key improves."""
    n_stops = len(prof_len)
    length = np.zeros(n_stops, dtype=np.int64)
    dep = np.zeros(prof.shape[0], dtype=np.int32)
    key = np.full(prof.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
    target_mask = (np.int64(1) << g_bits) - 1
    for s in range(n_stops):
        out = prof_start[s]
        previous = key_mask
        for r in range(prof_start[s], prof_start[s] + prof_len[s]):
            k = prof[r, 1 + layer]
            if k < previous:
                dep[out] = prof[r, 0] + base
                key[out] = ((k >> g_bits) + base) * 1048576 + (k & target_mask)
                out += 1
                previous = k
        length[s] = out - prof_start[s]
    return length, dep, key


class SharedRows(NamedTuple):
    """The scan's shared profile rows: stop s's rows are ``prof[start[s]:start[s] + length[s]]``
    (decreasing departures), each (departure - base, one key per layer); a key is
    ``(served - base) << g_bits | target``, and ``key_mask`` means none."""

    start: np.ndarray
    length: np.ndarray
    prof: np.ndarray
    base: int
    g_bits: int
    key_mask: int

    def layer(self, layer: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One layer's profiles: (length, departure int32, key = served * 2**20 + target)."""
        return _layer_entries(self.prof, self.start, self.length, layer, self.base,
                              self.g_bits, self.key_mask)


def scan_rows(connections: tuple[np.ndarray, ...], n_trips: int, prof_start: np.ndarray,
              footpaths: tuple[np.ndarray, np.ndarray, np.ndarray], change_s: np.ndarray,
              egress: tuple[np.ndarray, np.ndarray, np.ndarray], open_s: np.ndarray,
              close_s: np.ndarray, bound: np.ndarray) -> SharedRows:
    """Run the scan; the shared rows of every layer (`SharedRows`).

    ``connections``: dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight,
    sorted by departure as `TransitNetwork` keeps them. ``footpaths``: CSR offsets, to-stops
    and whole change seconds. ``egress``: per-layer CSR offsets (n_layers, n_stops + 1) into
    target indices and seconds. ``open_s``/``close_s``: (n_layers, width) hours. ``bound``:
    `board_bounds` (n_layers, n_stops).
    """
    dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight = connections
    fp_off, fp_to, fp_total = footpaths
    eg_off, eg_tgt, eg_sec = egress
    width = open_s.shape[1]
    n_stops = len(prof_start) - 1
    if len(dep_time) == 0:
        base = latest = 0
    else:
        base = int(dep_time.min())
        latest = int(arr_time.max()) + int(eg_sec.max(initial=0))
    finite_open = open_s[open_s > -(1 << 39)]
    if len(finite_open):
        latest = max(latest, int(finite_open.max()))
    g_bits, s_bits = pack_layout(width, base, latest)
    key_mask = (1 << (g_bits + s_bits)) - 1
    # Footpaths of each stop in ascending order of (change seconds + least bound at the end).
    least = bound.min(axis=0)
    fp_from = np.repeat(np.arange(n_stops), np.diff(fp_off))
    order_bound = fp_total.astype(np.int64) + least[fp_to]
    order = np.lexsort((order_bound, fp_from))
    clip = np.int64(-(1 << 40))
    open_rel = np.maximum(open_s - base, clip)
    close_rel = np.minimum(close_s - base, -clip)
    iterate = bool((change_s == 0).any() or (fp_total <= 0).any())
    prof_len, prof = _scan(
        dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight, n_trips, base,
        prof_start, fp_off, np.ascontiguousarray(fp_to[order]),
        np.ascontiguousarray(fp_total[order].astype(np.int64)),
        np.ascontiguousarray(order_bound[order]), np.ascontiguousarray(bound.T),
        change_s.astype(np.int64), iterate, eg_off, eg_tgt, eg_sec.astype(np.int64),
        open_rel, close_rel, g_bits, key_mask, (0,) * int(eg_off.shape[0]))
    return SharedRows(prof_start, prof_len, prof, base, g_bits, key_mask)


def scan_profiles(connections: tuple[np.ndarray, ...], n_trips: int, prof_start: np.ndarray,
                  footpaths: tuple[np.ndarray, np.ndarray, np.ndarray], change_s: np.ndarray,
                  egress: tuple[np.ndarray, np.ndarray, np.ndarray], open_s: np.ndarray,
                  close_s: np.ndarray, bound: np.ndarray
                  ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """`scan_rows`, unpacked per layer to (length, departure int32, key = served * 2**20 +
    target): the absolute times and keys `siting.travel.Profiles` keeps."""
    rows = scan_rows(connections, n_trips, prof_start, footpaths, change_s, egress, open_s,
                     close_s, bound)
    return [rows.layer(layer) for layer in range(open_s.shape[0])]
