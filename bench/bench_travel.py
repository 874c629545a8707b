"""Benchmark: London final scenario travel times, profile search vs baselines, in one run.

Times, on the real London data: building the modelled London GTFS and the transit network
(cold), loading the cached network (warm); a minimal backward streaming pass over the same
connections (the floor) beside the profile scan of each measure, in ns per connection; the
lookup (origins x departures) in ns per origin-departure; one Monte Carlo phase draw (drawn
network, both scans, both lookups); and the scenario's whole travel step
(`analysis.lsoa_travel_times`, all draws). Baselines, on a sample of origins extrapolated to all:
one range (profile) query per origin, as R5 does (the same profile scan run on the
time-reversed network with the origin as its only target, giving the origin's earliest arrival
for every departure in one pass), and a forward earliest-arrival CSA per origin and departure
(bench_travel_engine.py). Both are checked against the profile search on the sample (24h
measure).

Run: SITING_DATA_DIR=../shared/data/london python bench/bench_travel.py [--sample 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory import measure
from bench_travel_engine import brute_force, range_query_per_origin

from siting.analysis import counter_targets, lsoa_travel_times
from siting.data import load_lsoas, scenario_counters
from siting.network.scenario_network import scenario_network
from siting.network.transit import TransitNetwork
from siting.scenario import load_scenario
from siting.travel import Window, profile_search, walk_csr

REPO = Path(__file__).resolve().parents[1]


@njit(cache=True)
def floor_pass(dep_stop, arr_stop, dep_time, arr_time, trip, n_trips, n_stops):
    """Minimal backward streaming pass: one value per stop and per trip, no profiles."""
    stop_best = np.full(n_stops, np.iinfo(np.int64).max, dtype=np.int64)
    trip_best = np.full(n_trips, np.iinfo(np.int64).max, dtype=np.int64)
    for i in range(len(dep_time) - 1, -1, -1):
        key = min(trip_best[trip[i]], stop_best[arr_stop[i]] + (arr_time[i] & 1))
        trip_best[trip[i]] = key
        if key < stop_best[dep_stop[i]]:
            stop_best[dep_stop[i]] = key
    return stop_best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=5, help="origins for the baselines")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="network cache (default: a fresh temporary folder, cold build)")
    args = parser.parse_args(argv)
    data_dir = Path(os.environ.get("SITING_DATA_DIR", REPO.parent / "shared" / "data" / "london"))
    scenario = load_scenario(REPO / "scenarios" / "london-2017-final.yaml", data_dir=data_dir)
    lsoas = load_lsoas(data_dir, scenario.data)
    origins = np.column_stack([lsoas.geometry.x, lsoas.geometry.y])
    counters = scenario_counters(scenario)
    targets = counter_targets(counters)
    chosen = {"24h": targets.select(targets.always_open), "any": targets}
    start_s, end_s = scenario.transit.window_seconds
    window = Window(start_s, end_s, 60)
    access = scenario.walking.max_access_minutes
    rows: list[dict[str, Any]] = []

    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache_dir or Path(tmp)

        def build() -> TransitNetwork:
            return scenario_network(scenario, data_dir, cache)

        measure("network build (GTFS + connections), cold unless --cache-dir", build, rows)
        network = measure("network load from cache, warm", build, rows)

    n = network.n_connections
    args_floor = (network.dep_stop, network.arr_stop, network.dep_time, network.arr_time,
                  network.trip, len(network.run_ids), network.n_stops)
    floor_pass(*args_floor)
    profile_search(network, chosen["24h"], max_access_minutes=access).served(origins[:2], window)
    floor_s = min(_clock(lambda: floor_pass(*args_floor)) for _ in range(3))
    scan_s = {m: _clock(lambda m=m: profile_search(network, chosen[m],
                                                   max_access_minutes=access))
              for m in chosen}
    acc = walk_csr(network, origins, network.stop_xy, round(access * 60))
    profiles = {m: profile_search(network, chosen[m], max_access_minutes=access) for m in chosen}
    lookup_s = {m: _clock(lambda m=m: profiles[m].served(origins, window, access=acc))
                for m in chosen}
    served = {m: profiles[m].served(origins, window, access=acc)[0] for m in chosen}
    pairs = len(origins) * len(window.departures)

    def one_draw() -> None:
        drawn = network.draw(scenario.transit.seed, 0)
        for m in chosen:
            profile_search(drawn, chosen[m], max_access_minutes=access).served(
                origins, window, access=acc)

    draw_s = min(_clock(one_draw) for _ in range(2))
    step = measure(f"travel step, {scenario.transit.draws} draws (analysis.lsoa_travel_times)",
                   lambda: lsoa_travel_times(scenario, network, counters, lsoas), rows)
    assert len(step) == len(lsoas)

    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(len(origins), size=args.sample, replace=False))
    range_query_per_origin(network, chosen["24h"], origins[:1], window, access)
    reference = measure(f"baseline: one range query per origin (24h), {args.sample} origins",
                        lambda: range_query_per_origin(network, chosen["24h"], origins[sample],
                                                       window, access), rows)
    brute_force(network, chosen["24h"], origins[:1], Window(start_s, start_s + 60, 60), access)
    brute = measure(f"baseline: CSA per origin x departure (24h), {args.sample} origins",
                    lambda: brute_force(network, chosen["24h"], origins[sample], window, access),
                    rows)

    print(pd.DataFrame(rows).to_string(index=False))
    print(f"\nnetwork: {network.n_stops:,} stops, {n:,} connections, "
          f"{network.n_phased_entries:,} phased frequency entries")
    print(f"floor (minimal backward streaming pass): {floor_s / n * 1e9:8.1f} ns/connection")
    for m in chosen:
        print(f"profile scan, {m:>3} ({len(chosen[m])} targets):     {scan_s[m] / n * 1e9:8.1f} "
              f"ns/connection = {scan_s[m] / floor_s:6.0f}x the floor")
    for m in chosen:
        print(f"lookup, {m:>3}: {lookup_s[m] / pairs * 1e9:8.1f} ns per origin-departure "
              f"({len(origins):,} origins x {len(window.departures)} departures)")
    print(f"one phase draw (drawn network + 2 scans + 2 lookups): {draw_s:.2f} s")
    one_pass = sum(scan_s.values()) + sum(lookup_s.values())
    print(f"both measures, one pass (scans + lookups, no draws): {one_pass:.2f} s")
    per_origin = rows[-2]["wall_s"] / args.sample
    print(f"range query per origin extrapolated to {len(origins):,} origins: "
          f"{per_origin * len(origins):,.0f} s per measure vs {scan_s['24h'] + lookup_s['24h']:.2f}"
          f" s for the profile search + lookup "
          f"({per_origin * len(origins) / (scan_s['24h'] + lookup_s['24h']):,.0f}x)")
    print(f"CSA per origin x departure extrapolated: "
          f"{rows[-1]['wall_s'] / args.sample * len(origins):,.0f} s per measure")
    mismatch = int((served["24h"][sample] != reference).sum())
    mismatch_brute = int((served["24h"][sample] != brute).sum())
    print(f"mismatching served times on the sample: range query {mismatch}, "
          f"CSA per departure {mismatch_brute}")
    return 0 if mismatch == mismatch_brute == 0 else 1


def _clock(func: Any) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
