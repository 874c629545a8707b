"""Benchmark: the London final scenario's whole travel step (`analysis.lsoa_travel_times`).

Loads (or builds) the scenario's network, then times `lsoa_travel_times` --repeat times and prints
the least wall and CPU seconds. It imports whatever `siting` is first on PYTHONPATH, so the
same script times two versions side by side, e.g. before/after a change:

    PYTHONPATH=/path/to/old/src python bench/bench_travel_step.py --cache-dir /tmp/old
    PYTHONPATH=/path/to/new/src python bench/bench_travel_step.py --cache-dir /tmp/new

For an old checkout, run its own copy of this script (its scenarios/ match its code):
``git worktree add /tmp/today f7b6b52 && cp bench/bench_travel_step.py /tmp/today/bench/``.

With ``--per-draw`` (or ``--json FILE``, for bench/run_all.py) it also times the phase draws
alone (`siting.draws.served_over_draws`, both measures): the cost of each draw beyond the
first, as (time for 9 draws - time for 1) / 8, on all numba threads (wall) and on one (CPU),
beside the baseline of one draw with its shared set-up (walks, lower bounds) included.

Run: SITING_DATA_DIR=/path/to/data/london python bench/bench_travel_step.py [--repeat 3]
     [--per-draw] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import siting

try:
    from siting.analysis import lsoa_travel_times
except ImportError:  # main before the trust round (f7b6b52): the same step, then private
    from siting.analysis import _travel_times as lsoa_travel_times  # type: ignore[attr-defined,no-redef]
from siting.data import load_lsoas, scenario_counters
from siting.network.scenario_network import scenario_network
from siting.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "siting")
    parser.add_argument("--per-draw", action="store_true", help="also time the draws alone")
    parser.add_argument("--json", metavar="FILE", help="also write the Speed-table rows (bench/run_all.py)")
    args = parser.parse_args(argv)
    data_dir = Path(os.environ.get("SITING_DATA_DIR", REPO.parent / "shared" / "data" / "london"))
    scenario = load_scenario(REPO / "scenarios" / "london-2017-final.yaml", data_dir=data_dir)
    lsoas = load_lsoas(data_dir, scenario.data)
    counters = scenario_counters(scenario)
    network = scenario_network(scenario, data_dir, args.cache_dir)
    lsoa_travel_times(scenario, network, counters, lsoas.iloc[:5])  # numba compile / warm-up
    draws = getattr(scenario.transit, "draws", None)
    walls, cpus = [], []
    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        lsoa_travel_times(scenario, network, counters, lsoas)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(f"siting from {Path(siting.__file__).parent}")
    print(f"network: {network.n_stops:,} stops, {network.n_connections:,} connections; "
          f"draws: {draws if draws is not None else 'none (lock-step)'}")
    print(f"travel step (lsoa_travel_times, {len(lsoas):,} LSOAs, both measures): "
          f"least of {args.repeat}: {min(walls):.2f} s wall, {min(cpus):.2f} s CPU")
    if not (args.per_draw or args.json):
        return 0
    per = per_draw(scenario, network, counters, lsoas, args.repeat)
    print(f"phase draws alone (served_over_draws, both measures), least of {args.repeat}: "
          f"one draw {per['one_wall']:.2f} s wall; each further draw {per['wall']:.2f} s wall "
          f"on {per['threads']} threads, {per['cpu']:.2f} CPU-s on one thread")
    if args.json:
        import json
        row = {"bench": "bench/bench_travel_step.py",
               "workload": f"each phase draw, both measures, {len(lsoas):,} LSOAs x "
                           f"{per['departures']} departures, London final (9 draws less 1, / 8)",
               "figure": f"{per['wall']:.2f} s wall per draw on {per['threads']} threads; "
                         f"{per['cpu']:.2f} CPU-s per draw on one thread",
               "baseline": f"one draw with its shared set-up (walks, bounds) "
                           f"{per['one_wall']:.2f} s wall, {per['one_cpu']:.2f} CPU-s on one thread"}
        Path(args.json).write_text(json.dumps([row], indent=1), encoding="utf-8")
    return 0


def per_draw(scenario: Any, network: Any, counters: Any, lsoas: Any, repeat: int) -> dict[str, float]:
    """Least wall (all threads) and CPU (one thread) seconds of 1 and 9 draws; per draw."""
    import numba
    import numpy as np

    from siting.analysis import counter_targets
    from siting.draws import served_over_draws
    from siting.travel import Window

    targets = counter_targets(counters)
    start_s, end_s = scenario.transit.window_seconds
    window = Window(start_s=start_s, end_s=end_s, step_s=scenario.transit.step_minutes * 60)
    xy = np.column_stack([lsoas.geometry.x, lsoas.geometry.y])
    chosen = {"24h": targets.select(targets.always_open), "any": targets}

    def least(draws: int) -> tuple[float, float]:
        walls, cpus = [], []
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            served_over_draws(network, chosen, xy, window, draws=draws,
                              seed=scenario.transit.seed,
                              max_access_minutes=scenario.walking.max_access_minutes)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        return min(walls), min(cpus)

    threads = numba.get_num_threads()
    one_wall, _ = least(1)
    nine_wall, _ = least(9)
    numba.set_num_threads(1)
    try:
        _, one_cpu = least(1)
        _, nine_cpu = least(9)
    finally:
        numba.set_num_threads(threads)
    return {"threads": threads, "departures": len(window.departures), "one_wall": one_wall,
            "one_cpu": one_cpu, "wall": (nine_wall - one_wall) / 8, "cpu": (nine_cpu - one_cpu) / 8}


if __name__ == "__main__":
    sys.exit(main())
