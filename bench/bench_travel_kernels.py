"""Benchmark: the engine's kernels side by side on the London network, in one run.

Same process, same data, interleaved, so the ratios hold on a busy machine: the floor (a
minimal backward streaming pass), the plain reference scan (`siting.scan_reference`: unpacked
entries, no pruning, one pass per measure) against the engine's scan (`siting.scan`: packed
entries, lower-bound pruning, both measures in one pass, checked identical), and the lookup as
one binary search per origin, access stop and departure (the previous `_evaluate`) against the
merge walk per access stop. Each figure is the least of --repeat runs; the floor and both
scans run in turn within each round.

The engine's scan is timed as each phase draw runs it: given the egress walks, its lower
bounds and its per-stop words, which a network's draws share (the reference scan is given the
egress walks too). That set-up, once per network, is timed on its own, and so is the whole
`profile_search_many` (set-up, scan and each measure's profiles unpacked).

Run: SITING_DATA_DIR=/path/to/data/london python bench/bench_travel_kernels.py
     [--cache-dir .cache/siting] [--repeat 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit, prange

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_travel import floor_pass

from siting.analysis import counter_targets
from siting.data import load_lsoas, scenario_counters
from siting.network.scenario_network import scenario_network
from siting.scan import row_starts
from siting.scan_reference import profile_scan_changes
from siting.scenario import load_scenario
from siting.travel import (
    Window,
    _scan_shared,
    change_costs,
    direct_walk_seconds,
    profile_search_many,
    scan_layout,
    search_bounds,
    walk_csr,
)

REPO = Path(__file__).resolve().parents[1]
INF = np.iinfo(np.int64).max
SLOTS = 1 << 20


@njit(cache=True, parallel=True)
def binary_search_lookup(acc_off, acc_stop, acc_sec, direct_sec, departures, prof_start,
                         prof_len, prof_dep, prof_key):
    """The previous lookup: a binary search per origin, access stop and departure (24/7)."""
    out = np.empty((len(acc_off) - 1, len(departures)), dtype=np.int64)
    for o in prange(len(acc_off) - 1):
        for it in range(len(departures)):
            tau = departures[it]
            best = INF
            for c in range(direct_sec.shape[1]):
                best = min(best, (tau + direct_sec[o, c]) * SLOTS + c)
            for a in range(acc_off[o], acc_off[o + 1]):
                s = acc_stop[a]
                start, length, t = prof_start[s], prof_len[s], tau + acc_sec[a]
                if length == 0 or prof_dep[start] < t:
                    continue
                lo, hi = 0, length - 1
                while lo < hi:
                    mid = (lo + hi + 1) >> 1
                    if prof_dep[start + mid] >= t:
                        lo = mid
                    else:
                        hi = mid - 1
                best = min(best, prof_key[start + lo])
            out[o, it] = best
    return out


def least(func, repeat: int) -> float:
    return least_each([func], repeat)[0]


def least_each(funcs: list, repeat: int) -> list[float]:
    """The least time of each function over ``repeat`` rounds of one call each, in turn, so
    that a slow spell of this shared machine hits all of them alike."""
    best = [float("inf")] * len(funcs)
    for _ in range(repeat):
        for i, func in enumerate(funcs):
            start = time.perf_counter()
            func()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "siting")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", metavar="FILE", help="also write the Speed-table rows (bench/run_all.py)")
    args = parser.parse_args(argv)
    data_dir = Path(os.environ.get("SITING_DATA_DIR", REPO.parent / "shared" / "data" / "london"))
    scenario = load_scenario(REPO / "scenarios" / "london-2017-final.yaml", data_dir=data_dir)
    lsoas = load_lsoas(data_dir, scenario.data)
    origins = np.column_stack([lsoas.geometry.x, lsoas.geometry.y])
    targets = counter_targets(scenario_counters(scenario))
    sets = [targets.select(targets.always_open), targets]
    network = scenario_network(scenario, data_dir, args.cache_dir)
    start_s, end_s = scenario.transit.window_seconds
    window = Window(start_s, end_s, 60)
    limit = round(scenario.walking.max_access_minutes * 60)
    n = network.n_connections
    change_s, fp_total = change_costs(network)
    prof_start = row_starts(network.dep_stop, network.can_board, network.n_stops)
    egress = [walk_csr(network, network.stop_xy, t.xy, limit) for t in sets]

    def single(layer: int) -> tuple[np.ndarray, ...]:
        return profile_scan_changes(
            network.dep_stop, network.arr_stop, network.dep_time, network.arr_time,
            network.trip, network.can_board, network.can_alight, len(network.run_ids),
            prof_start, network.fp_offsets, network.fp_to, fp_total, *egress[layer],
            sets[layer].open_s, sets[layer].close_s, change_s, True)

    floor_args = (network.dep_stop, network.arr_stop, network.dep_time, network.arr_time,
                  network.trip, len(network.run_ids), network.n_stops)
    floor_pass(*floor_args)
    single(0)
    found = profile_search_many(network, sets, max_access_minutes=limit / 60)
    access = walk_csr(network, origins, network.stop_xy, limit)
    direct = np.ascontiguousarray(direct_walk_seconds(network, origins, sets[0].xy))
    prof = found[0]
    old_args = (*access, direct, window.departures, prof.start, prof.length, prof.dep, prof.key)
    binary_search_lookup(*old_args)
    prof.served(origins[:2], window)

    def set_up() -> tuple[list[tuple[np.ndarray, ...]], np.ndarray, object]:
        walks = [walk_csr(network, network.stop_xy, t.xy, limit) for t in sets]
        bounds = search_bounds(network, walks)
        return walks, bounds, scan_layout(network, walks, bounds)

    shared = set_up()
    floor_s, two_s, scan_s = least_each([lambda: floor_pass(*floor_args),
                                         lambda: (single(0), single(1)),
                                         lambda: _scan_shared(network, sets, *shared)],
                                        args.repeat)
    set_up_s = least(set_up, args.repeat)
    one_pass_s = least(lambda: profile_search_many(network, sets,
                                                   max_access_minutes=limit / 60), args.repeat)
    old_lookup = least(lambda: binary_search_lookup(*old_args), args.repeat)
    new_lookup = least(lambda: prof.served(origins, window, access=access), args.repeat)
    same = np.array_equal(np.where(binary_search_lookup(*old_args) == INF, -1,
                                   binary_search_lookup(*old_args) // SLOTS),
                          prof.served(origins, window, access=access)[0])
    pairs = len(origins) * len(window.departures)
    identical = all(np.array_equal(single(layer)[0], found[layer].length) for layer in (0, 1))
    print(f"network: {network.n_stops:,} stops, {n:,} connections; least of {args.repeat}")
    print(f"floor (minimal backward streaming pass):  {floor_s / n * 1e9:9.1f} ns/connection")
    print(f"reference scan, one pass per measure:     {two_s / n * 1e9:9.1f} ns/connection "
          f"= {two_s / floor_s:5.0f}x the floor")
    print(f"engine scan, both measures in one pass:   {scan_s / n * 1e9:9.1f} ns/connection "
          f"= {scan_s / floor_s:5.0f}x the floor ({two_s / scan_s:.1f}x faster)")
    print(f"  its set-up, once per network (egress walks, bounds, stop words): {set_up_s:.3f} s")
    print(f"  profile_search_many whole (set-up, scan, profiles unpacked): {one_pass_s:.3f} s "
          f"= {one_pass_s / floor_s:.0f}x the floor; identical profiles: {identical}")
    print(f"lookup (24h), binary search per departure: {old_lookup / pairs * 1e9:8.1f} ns per "
          f"origin-departure")
    print(f"lookup (24h), merge walk per access stop:  {new_lookup / pairs * 1e9:8.1f} ns per "
          f"origin-departure; identical served times: {same}")
    if args.json:
        import json
        rows = [
            {"bench": "bench/bench_travel_kernels.py",
             "workload": f"profile scan, both measures, London final ({n:,} connections)",
             "figure": f"engine (packed, pruned, one pass) {scan_s:.2f} s = "
                       f"{scan_s / floor_s:.0f}x the floor, as each draw scans (set-up once "
                       f"per network {set_up_s:.2f} s; whole search {one_pass_s:.2f} s = "
                       f"{one_pass_s / floor_s:.0f}x); identical profiles: {identical}",
             "baseline": f"reference scan (one pass per measure) {two_s:.2f} s = "
                         f"{two_s / floor_s:.0f}x; floor {floor_s * 1e3:.1f} ms"},
            {"bench": "bench/bench_travel_kernels.py",
             "workload": f"lookup (24h), {len(origins):,} LSOAs x {len(window.departures)} departures",
             "figure": f"merge walk {new_lookup:.3f} s",
             "baseline": f"binary search per departure {old_lookup:.3f} s; identical: {same}"},
        ]
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0 if same and identical else 1


if __name__ == "__main__":
    sys.exit(main())
