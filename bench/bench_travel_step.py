"""Benchmark: the London final scenario's whole travel step (`analysis.lsoa_travel_times`).

Loads (or builds) the scenario's network, then times `lsoa_travel_times` --repeat times and prints
the least wall and CPU seconds. It imports whatever `siting` is first on PYTHONPATH, so the
same script times two versions side by side, e.g. before/after a change:

    PYTHONPATH=/path/to/old/src python bench/bench_travel_step.py --cache-dir /tmp/old
    PYTHONPATH=/path/to/new/src python bench/bench_travel_step.py --cache-dir /tmp/new

For an old checkout, run its own copy of this script (its scenarios/ match its code):
``git worktree add /tmp/today f7b6b52 && cp bench/bench_travel_step.py /tmp/today/bench/``.

Run: SITING_DATA_DIR=/path/to/data/london python bench/bench_travel_step.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
