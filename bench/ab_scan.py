"""Interleaved A/B of two copies of the scan kernel (`scan.py` files) on London's inputs.

For trying a change to `src/siting/scan.py`: both copies are loaded into one process and run
alternately on the same inputs (the London final network; both measures, and one counter as
`siting optimise counters` scans it), so this VM's minute-to-minute drift hits both alike.
Prints the median and least time of each, the median of the per-run ratios B/A, and whether
every layer's profiles are identical (a speed change must not change one entry).

Run: SITING_DATA_DIR=/path/to/data/london python bench/ab_scan.py B_SCAN_PY [--a A_SCAN_PY]
     [--runs 7] [--cache-dir .cache/siting]
Give each copy its own file name; numba caches compiled kernels per file, so after editing a
copy in place, set NUMBA_CACHE_DIR to a fresh folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np

from siting.data import load_counters
from siting.network.scenario_network import scenario_network
from siting.scan import row_starts
from siting.scenario import load_scenario
from siting.travel import (
    Targets,
    _egress_layers,
    _hours_table,
    change_costs,
    search_bounds,
    walk_csr,
)

REPO = Path(__file__).resolve().parents[1]


def load(path: Path, name: str) -> ModuleType:
    """Import one copy of scan.py under its own module name."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path}: not a Python file that can be imported")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("b", type=Path, help="the changed copy of scan.py")
    parser.add_argument("--a", type=Path, default=REPO / "src" / "siting" / "scan.py")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "siting")
    args = parser.parse_args(argv)
    a, b = load(args.a, "scan_a"), load(args.b, "scan_b")
    data_dir = Path(os.environ.get("SITING_DATA_DIR", REPO.parent / "shared" / "data" / "london"))
    scenario = load_scenario(REPO / "scenarios" / "london-2017-final.yaml", data_dir=data_dir)
    net = scenario_network(scenario, data_dir, args.cache_dir)
    registry = load_counters()

    def targets(ids: list[str]) -> Targets:
        rows = registry[registry["counter_id"].isin(ids)]
        return Targets.from_arrays(rows["counter_id"].to_numpy(),
                                   np.column_stack([rows.geometry.x, rows.geometry.y]))

    cases = {"both measures": [targets(scenario.counters.open_24h),
                               targets(scenario.open_counters())],
             "one counter (croydon)": [targets(["croydon"])]}
    limit = round(scenario.walking.max_access_minutes * 60)
    start = row_starts(net.dep_stop, net.can_board, net.n_stops)
    change_s, fp_total = change_costs(net)
    connections = (net.dep_stop, net.arr_stop, net.dep_time, net.arr_time, net.trip,
                   net.can_board, net.can_alight)
    for name, sets in cases.items():
        egress = [walk_csr(net, net.stop_xy, t.xy, limit) for t in sets]
        open_s, close_s = _hours_table(sets)
        scan_args = (connections, len(net.run_ids), start, (net.fp_offsets, net.fp_to, fp_total),
                     change_s, _egress_layers(egress, net.n_stops), open_s, close_s,
                     search_bounds(net, egress))
        rows_a, rows_b = a.scan_rows(*scan_args), b.scan_rows(*scan_args)  # compile, compare
        same = all(np.array_equal(x, y) for layer in range(len(sets))
                   for x, y in zip(rows_a.layer(layer), rows_b.layer(layer), strict=True))
        times_a, times_b = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            a.scan_rows(*scan_args)
            times_a.append(time.perf_counter() - t)
            t = time.perf_counter()
            b.scan_rows(*scan_args)
            times_b.append(time.perf_counter() - t)
        ratio = float(np.median(np.array(times_b) / np.array(times_a)))
        print(f"{name}: A {np.median(times_a):.3f} s (least {min(times_a):.3f}), "
              f"B {np.median(times_b):.3f} s (least {min(times_b):.3f}); B/A median {ratio:.3f}; "
              f"identical rows: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
