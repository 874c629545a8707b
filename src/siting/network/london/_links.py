"""The track search of `siting.network.london.rail._station_links`, compiled (numba).

It was a Python Dijkstra per station (about 2 s of every London feed build, so of every sweep
sample that varies the feed); compiled it takes about 0.1 s, after numba compiles it once per
install (6-8 s, cached on disk). It is the same search step for step: the same heap order
(distance, segment, first, via), the same ties, the same float arithmetic, and links listed in
the order they were first found, so the modelled feed is byte-identical (tests compare it with
the Python search, kept in tests/test_rail_links.py, on a small track and on London's).
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit, types
from numba.typed import Dict, List

_ROW = types.UniTuple(types.int64, 4)
_MOVE = types.UniTuple(types.int64, 3)


@njit(cache=True)
def _search(station, seg_from, seg_to, starts_seg, sx, sy, head, length, ux, uy, nx, ny, own,
            succ_ptr, succ, line, passing_mask, station_xy, limit_m, rows_i, rows_f, moves):
    """One station's search (see `_station_links`); appends its links and through moves."""
    best = Dict.empty(key_type=types.int64, value_type=types.float64)
    pred = Dict.empty(key_type=types.int64, value_type=types.int64)
    found_val = Dict.empty(key_type=types.int64, value_type=types.float64)
    found_leave = Dict.empty(key_type=types.int64, value_type=types.int64)
    found_last = Dict.empty(key_type=types.int64, value_type=types.int64)
    found_order = List.empty_list(types.int64)
    n_via = np.int64(len(station_xy) + 1)
    heap = [(np.float64(0.0), np.int64(0), np.int64(0), np.int64(0))]
    heap.pop()
    for k in range(seg_from, seg_to):
        e = starts_seg[k]
        h = head[e]
        d0 = max(0.0, (nx[h] - sx) * ux[e] + (ny[h] - sy) * uy[e])
        best[e * n_via] = d0
        heap.append((d0, e, np.int64(-1), np.int64(-1)))
    heapq.heapify(heap)
    while len(heap) > 0:
        d, e, first, via = heapq.heappop(heap)
        if d > limit_m:
            break
        key = e * n_via + via + 1
        if key in best and d > best[key]:
            continue
        h = head[e]
        here = own[h]
        if here >= 0 and passing_mask[here]:
            here = -1
        for q in range(succ_ptr[e], succ_ptr[e + 1]):
            f = succ[q]
            z = own[head[f]]
            if z >= 0 and passing_mask[z]:
                z = -1
            nvia = via
            if via < 0:  # not yet past a station
                if z >= 0 and z != station:
                    tx = station_xy[z, 0]
                    ty = station_xy[z, 1]
                    val = d + max(0.0, (tx - nx[h]) * ux[f] + (ty - ny[h]) * uy[f])
                    leave = first if first >= 0 else f
                    if z not in found_val:
                        found_order.append(z)
                        found_val[z] = val
                        found_leave[z] = leave
                        found_last[z] = e
                    elif val < found_val[z]:
                        found_val[z] = val
                        found_leave[z] = leave
                        found_last[z] = e
                    nvia = z  # carry on through z's zone to find through moves
                elif z == station and here != station:
                    continue  # back into our own zone round a loop
            elif z >= 0 and z != via:
                if z != station:
                    moves.append((station, via, z))
                continue
            elif z == via and here != via:
                continue
            nd = d + length[f]
            leave = first if first >= 0 else (f if z != station else -1)
            nkey = f * n_via + nvia + 1
            if nkey not in best or nd < best[nkey]:
                best[nkey] = nd
                if nvia < 0:
                    pred[f] = e
                heapq.heappush(heap, (nd, f, leave, nvia))
    for z in found_order:
        # The link's line: the OSM name covering most of its track (unnamed ignored).
        weight = Dict.empty(key_type=types.int64, value_type=types.float64)
        seg = found_last[z]
        while True:
            if line[seg] >= 0:
                if line[seg] in weight:
                    weight[line[seg]] = weight[line[seg]] + length[seg]
                else:
                    weight[line[seg]] = length[seg]
            if seg not in pred:
                break
            seg = pred[seg]
        name = np.int64(-1)
        top = -np.inf
        for k, w in weight.items():
            if w > top or (w == top and k < name):
                top = w
                name = k
        leave = found_leave[z]
        rows_i.append((station, z, leave, name))
        rows_f.append(found_val[z])


@njit(cache=True)
def station_links(station_ids, seg_off, starts_seg, station_xy, head, length, ux, uy, nx, ny,
                  own, succ_ptr, succ, line, pass_off, pass_to, limit_m):
    """Every station's search, stations in the given order.

    Returns (rows (station, to, leave segment, line), metres per row, moves (s, via, next)).
    ``seg_off``/``starts_seg``: each station's start segments (CSR, in station order);
    ``pass_off``/``pass_to``: the stations each one's trains pass without calling (CSR by
    station index).
    """
    rows_i = List.empty_list(_ROW)
    rows_f = List.empty_list(types.float64)
    moves = List.empty_list(_MOVE)
    passing_mask = np.zeros(len(station_xy), dtype=np.bool_)
    for k in range(len(station_ids)):
        s = station_ids[k]
        for q in range(pass_off[s], pass_off[s + 1]):
            passing_mask[pass_to[q]] = True
        _search(s, seg_off[k], seg_off[k + 1], starts_seg, station_xy[s, 0], station_xy[s, 1],
                head, length, ux, uy, nx, ny, own, succ_ptr, succ, line, passing_mask,
                station_xy, limit_m, rows_i, rows_f, moves)
        for q in range(pass_off[s], pass_off[s + 1]):
            passing_mask[pass_to[q]] = False
    out_i = np.empty((len(rows_i), 4), dtype=np.int64)
    out_f = np.empty(len(rows_f), dtype=np.float64)
    for r in range(len(rows_i)):
        for c in range(4):
            out_i[r, c] = rows_i[r][c]
        out_f[r] = rows_f[r]
    out_m = np.empty((len(moves), 3), dtype=np.int64)
    for r in range(len(moves)):
        for c in range(3):
            out_m[r, c] = moves[r][c]
    return out_i, out_f, out_m
