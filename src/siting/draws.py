"""Monte Carlo phase draws: every draw of the frequency-based services scanned and looked up.

Frequency-based trips (GTFS ``exact_times=0``) get random phases per draw, as R5 does
(`siting.network.transit.TransitNetwork.draw`; docs/travel-model.md). `served_over_draws`
pools the served times of every origin and departure over the draws, both measures at once:
each draw is scanned once (`siting.travel`'s engine, first on the connections before the
window's end + 2 h, then in full only if a result falls later) and looked up on the scan's
shared rows, on up to ``numba.get_num_threads()`` threads.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from numba import get_num_threads, njit

from siting._errors import ScenarioError
from siting.network.transit import TransitNetwork
from siting.scan import SharedRows
from siting.travel import (
    _INF,
    _SLOTS,
    ALWAYS_CLOSE,
    ALWAYS_OPEN,
    Profiles,
    Targets,
    Window,
    _check_window,
    _hours_table,
    _scan_shared,
    _unpacked,
    _walk_keys,
    direct_walk_seconds,
    scan_layout,
    search_bounds,
    walk_csr,
)

__all__ = ["draw_networks", "served_over_draws"]


@njit(cache=True, nogil=True)
def _evaluate_rows(acc_off, acc_stop, acc_sec, acc_least, direct_sec, n_targets, open_s,
                   close_s, departures, prof_start, prof_len, prof, base, g_bits, key_mask,
                   layer_token):
    """`_evaluate` for every layer at once, on the scan's shared rows (calling thread only).

    ``direct_sec``/``open_s``/``close_s``: (layers, origins, width) and (layers, width),
    padded; ``n_targets`` per layer. A row keeps each layer's least key of any departure at
    or after it, so the row of the least departure >= t answers every layer, as its own
    profile would (whose rows are those where the layer's key improves). Returns
    (layers, origins, departures) keys: served * 2**20 + target, `_INF` if none.
    ``layer_token``: one item per layer, so the kernel is compiled per number of layers
    (as `siting.scan._scan`).

    ``acc_least``: per access entry, its walk plus the scan's lower bound at the stop (least
    over layers), entries of each origin in ascending order of it. A journey boarding at that
    stop is served no earlier than departure + acc_least, so once that exceeds the origin's
    longest current time (served - departure, over departures and layers), neither this stop
    nor any later one can lower a key: the rest are skipped. Exact (see `_access_order`).
    """
    n_layers = len(layer_token)
    n_origins = len(acc_off) - 1
    n_dep = len(departures)
    target_mask = (np.int64(1) << g_bits) - 1
    out = np.empty((n_layers, n_origins, n_dep), dtype=np.int64)
    for o in range(n_origins):
        for layer in range(n_layers):
            _walk_keys(out[layer, o], direct_sec[layer, o], open_s[layer], close_s[layer],
                       n_targets[layer], departures)
        longest = _longest(out, o, departures)
        for a in range(acc_off[o], acc_off[o + 1]):
            if acc_least[a] > longest:
                break  # ascending: no journey from here on can be served in time to win
            s = acc_stop[a]
            n = prof_len[s]
            if n == 0:
                continue
            first = prof_start[s]
            walk = acc_sec[a] - base
            j = first + n - 1
            lowered = False
            for it in range(n_dep):
                t = departures[it] + walk
                while j >= first and prof[j, 0] < t:
                    j -= 1
                if j < first:
                    break
                for layer in range(n_layers):
                    k = prof[j, 1 + layer]
                    if k < key_mask:
                        key = ((k >> g_bits) + base) * _SLOTS + (k & target_mask)
                        if key < out[layer, o, it]:
                            out[layer, o, it] = key
                            lowered = True
            if lowered:
                longest = _longest(out, o, departures)
    return out


@njit(cache=True, inline="always")
def _longest(out, o, departures):
    """The origin's longest current time (served - departure) over layers and departures."""
    longest = np.int64(0)
    for layer in range(out.shape[0]):
        for it in range(len(departures)):
            key = out[layer, o, it]
            if key == _INF:
                return _INF
            longest = max(longest, key // _SLOTS - departures[it])
    return longest


@njit(cache=True, nogil=True)
def _store_keys(keys, served, target, column):
    """Served time (-1 if never) and target index (-1) of each engine key (origins x
    departures), written into ``served``/``target`` from ``column`` on (`_served_and_target`
    and the copy into a draw's columns, in one pass)."""
    for o in range(keys.shape[0]):
        for it in range(keys.shape[1]):
            k = keys[o, it]
            if k == _INF:
                served[o, column + it] = -1
                target[o, column + it] = -1
            else:
                served[o, column + it] = k // _SLOTS
                target[o, column + it] = k % _SLOTS


def _access_order(access: tuple[np.ndarray, np.ndarray, np.ndarray], bound: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The origins' access entries, each origin's in ascending order of walk + least bound.

    ``bound`` is the scan's (layers, stops) lower bound on served time - boarding time
    (`siting.travel.search_bounds`): it holds for every draw, whose connections are a
    shifted subset of the network's. Returns offsets, stops, walk seconds and walk + bound.
    """
    acc_off, acc_stop, acc_sec = access
    least = acc_sec + bound.min(axis=0)[acc_stop]
    origin = np.repeat(np.arange(len(acc_off) - 1), np.diff(acc_off))
    order = np.lexsort((acc_stop, least, origin))
    return acc_off, acc_stop[order], acc_sec[order], least[order]


def draw_networks(network: TransitNetwork, draws: int, seed: int) -> Iterator[TransitNetwork]:
    """The networks to pool: ``draws`` phase draws, or the network itself if nothing is phased.

    A feed without exact_times=0 frequencies is an exact timetable, so one pass is exact.
    Each draw is built when the iteration reaches it, so memory does not grow with draws.
    """
    for index in range(_rounds(network, draws)):
        yield _drawn(network, seed, index)


def _rounds(network: TransitNetwork, draws: int) -> int:
    """How many networks `draw_networks` gives: ``draws``, or 1 if nothing is phased."""
    if draws < 1:
        raise ScenarioError(f"transit.draws is {draws}. Use at least 1 Monte Carlo draw.")
    return draws if network.n_phased_entries else 1


def _drawn(network: TransitNetwork, seed: int, index: int,
           until: int | None = None) -> TransitNetwork:
    """Draw ``index`` of the network's phases (only its connections departing before
    ``until``, if given), or the network itself if nothing is phased."""
    return network.draw(seed, index, until) if network.n_phased_entries else network


def served_over_draws(network: TransitNetwork, targets: dict[str, Targets],
                      origins_xy: np.ndarray, window: Window, *, draws: int, seed: int,
                      max_access_minutes: float, street: Any = None,
                      on_first: Callable[[dict[str, Profiles],
                                          dict[str, tuple[np.ndarray, np.ndarray]]], None]
                      | None = None,
                      ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Served times and targets per measure, pooled over the phase draws.

    For each named target set: (served, target), each (origins, draws x departures) with the
    departures of draw 0 first (see `Profiles.served`). The origins' access walks and the
    stops' egress walks are found once and reused by every draw and measure. Draws are
    scanned and looked up on up to ``numba.get_num_threads()`` threads at a time (the kernels
    release the GIL), at most that many in memory at once; each draw writes only its own
    columns, so the result does not depend on the number of threads. ``on_first``, if given,
    is called (on that draw's thread, as soon as they are made) with draw 0's profiles by name
    (on the connections that draw was finally scanned on, exact for every result) and its
    (served, target) by name, so journeys can be traced on that draw beside the other draws
    without scanning it again.
    """
    _check_window(network, window)
    origins_xy = np.asarray(origins_xy, dtype=float).reshape(-1, 2)
    max_access_s = round(max_access_minutes * 60)
    access = walk_csr(network, origins_xy, network.stop_xy, max_access_s, street)
    names = list(targets)
    egress = [walk_csr(network, network.stop_xy, targets[n].xy, max_access_s, street)
              for n in names]
    network.prepare_draws()  # computed once, before the threads share it

    sets = [targets[n] for n in names]
    cut = window.end_s + _FIRST_HORIZON_S
    bound = search_bounds(network, egress)
    layout = scan_layout(network, egress, bound)
    ordered = _access_order(access, bound)
    open_s, close_s = _hours_table(sets)
    n_targets = np.array([len(t) for t in sets], dtype=np.int64)
    direct_all = np.zeros((len(sets), len(origins_xy), open_s.shape[1]), dtype=np.int64)
    for layer, t in enumerate(sets):
        direct_all[layer, :, :len(t)] = direct_walk_seconds(network, origins_xy, t.xy, street)
    n_dep = len(window.departures)
    rounds = _rounds(network, draws)
    served_type, target_type = _narrowest(network, egress, direct_all, open_s, window)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {
        name: (np.empty((len(origins_xy), rounds * n_dep), dtype=served_type),
               np.empty((len(origins_xy), rounds * n_dep), dtype=target_type))
        for name in names}

    workers = get_num_threads()

    def one(index: int) -> None:
        # The draw's connections departing before the cut are made on this worker's thread
        # (so at most one draw per worker is in memory), then both measures (all target sets)
        # in one pass over those departing in the window or before the cut (`_certified` says
        # when that is exact), then the lookups; each draw writes only its own columns.
        columns = slice(index * n_dep, (index + 1) * n_dep)

        def served(drawn: TransitNetwork, upto: int) -> tuple[TransitNetwork, SharedRows]:
            part = _between(drawn, window.start_s, upto)
            rows = _scan_shared(part, sets, egress, bound, layout)
            keys = _evaluate_rows(*ordered, direct_all, n_targets, open_s, close_s,
                                  window.departures, rows.start, rows.length, rows.prof,
                                  rows.base, rows.g_bits, rows.key_mask, (0,) * len(sets))
            for layer, name in enumerate(names):  # this draw's columns only
                _store_keys(keys[layer], out[name][0], out[name][1], columns.start)
            return part, rows

        part, rows = served(_drawn(network, seed, index, until=cut), cut)
        if not all(_certified(out[name][0][:, columns], cut) for name in names):
            whole = _drawn(network, seed, index)  # made again, whole, only when needed
            part, rows = served(whole, whole.end_s + 1)
        if index == 0 and on_first is not None:
            profiles = dict(zip(names, _unpacked(rows, part, sets, max_access_minutes, street),
                                strict=True))
            on_first(profiles, {name: (out[name][0][:, columns].copy(),
                                       out[name][1][:, columns].copy()) for name in names})

    for _ in _in_order(one, iter(range(rounds)), workers):
        pass
    return out


def _narrowest(network: TransitNetwork, egress: Sequence[tuple[np.ndarray, ...]],
               direct: np.ndarray, open_s: np.ndarray, window: Window) -> tuple[type, type]:
    """The narrowest integer types that hold every served time and target index.

    The pooled arrays hold every draw at once (for London about 330 MB in 64 and 32 bits, 139 MB
    in 32 and 8), and on this VM first touching memory costs more than the scan: a served time
    is at most the latest arrival of a draw (the network's, moved by up to a headway) plus an
    egress walk, a departure plus a direct walk, or an opening time.
    """
    finite = open_s[(open_s > ALWAYS_OPEN) & (open_s < ALWAYS_CLOSE)]
    headway = network.entry_headway
    shift = int(headway.max(initial=0)) if headway is not None else 0
    latest = max(int(network.arr_time.max(initial=0)) + shift
                 + max((int(e[2].max(initial=0)) for e in egress), default=0),
                 int(window.end_s) + int(direct.max(initial=0)), int(finite.max(initial=0)))
    served = np.int32 if latest < np.iinfo(np.int32).max else np.int64
    width = direct.shape[-1]  # target indices run to width - 1; -1 is "none"
    target = next(t for t in (np.int8, np.int16, np.int32) if width < np.iinfo(t).max)
    return served, target


_FIRST_HORIZON_S = 2 * 3600
"""Draws are first scanned on the connections departing before the window's end + 2 h."""


def _between(network: TransitNetwork, start: int, cut: int) -> TransitNetwork:
    """The network keeping only the connections departing in [start, cut) (views, no copy).

    Departing the origin at ``start`` or later, no journey boards a connection departing
    before it; and a journey served before ``cut`` only uses connections departing before
    the cut. So on this network every served time before the cut is the full network's
    (`_certified`).
    """
    first = int(np.searchsorted(network.dep_time, start, side="left"))
    keep = int(np.searchsorted(network.dep_time, cut, side="left"))
    if first == 0 and keep == network.n_connections:
        return network
    part = slice(first, keep)
    truncated = dataclasses.replace(
        network, dep_stop=network.dep_stop[part], arr_stop=network.arr_stop[part],
        dep_time=network.dep_time[part], arr_time=network.arr_time[part],
        trip=network.trip[part], can_board=network.can_board[part],
        can_alight=network.can_alight[part])
    object.__setattr__(truncated, "_ride_edges_cache", network.ride_edges())
    return truncated


def _certified(served: np.ndarray, cut: int) -> bool:
    """Whether every result of a scan truncated at ``cut`` is exact: all served before it.

    The truncated network lacks only connections departing at or after the cut, which no
    journey served before the cut uses; a later or missing result might improve on the full
    network, so then the draw is scanned again in full.
    """
    return bool(served.size == 0 or (served.min() >= 0 and served.max() < cut))


def _in_order(func: Any, items: Iterator[Any], workers: int) -> Iterator[Any]:
    """``map(func, items)`` on up to ``workers`` threads, results in order, at most ``workers``
    items taken from the iterator ahead of the one being returned."""
    if workers <= 1:
        yield from map(func, items)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[Any]] = deque()
        for item in items:
            pending.append(pool.submit(func, item))
            if len(pending) >= workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
