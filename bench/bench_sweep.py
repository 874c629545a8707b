"""Benchmark: `siting sweep` throughput on 1 and 2 Dask workers, per-task cost and bytes shipped.

In one run, on the real London data and the final scenario (departure window shortened with
--window to keep the run affordable): the same N Latin-hypercube samples are run

* serially in this process with no Dask at all (the baseline: what a plain loop costs),
* on an embedded LocalCluster of 1 worker process, and
* on a LocalCluster of 2 worker processes,

and the table gives samples per minute, the speed-up of 2 workers over 1, the median task time,
and the bytes that cross the network per task: the scattered evaluator (sent once per worker),
one sample's parameters (to the worker) and one sample's result (back). Workers read the data
directory and write the per-sample network to their local cache, so the bytes a remote worker
also needs once are the data files (listed at the end).

Run: SITING_DATA_DIR=../shared/data/london python bench/bench_sweep.py [--samples 4]
     [--window 07:00-07:30] [--step 5]
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from siting.network.london import london_inputs
from siting.scenario import load_scenario
from siting.sweep import ScenarioEvaluator, dask_client, draw_samples, run_tasks, varying

REPO = Path(__file__).resolve().parents[1]


def _run(label: str, func: Any, rows: list[dict[str, Any]], n: int) -> list[Any]:
    start = time.perf_counter()
    results = func()
    wall = time.perf_counter() - start
    tasks = [r.seconds for r in results]
    rows.append({"how": label, "samples": n, "wall_s": wall, "per_min": 60 * n / wall,
                 "task_median_s": statistics.median(tasks)})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--window", default="07:00-07:30")
    parser.add_argument("--step", type=int, default=5)
    args = parser.parse_args(argv)
    data_dir = Path(os.environ.get("SITING_DATA_DIR", REPO.parent / "shared" / "data" / "london"))
    scenario = load_scenario(REPO / "scenarios" / "london-2017-final.yaml", data_dir=data_dir)
    scenario = scenario.model_copy(update={"transit": scenario.transit.model_copy(update={
        "departure_window": args.window, "step_minutes": args.step, "percentiles": [50]})})
    design = draw_samples(scenario.uncertainty, args.samples)
    columns = [c for c in design.columns if c != "sample_index"]
    params = [{c: float(row[c]) for c in columns} for _, row in design.iterrows()]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        evaluator = ScenarioEvaluator.for_scenario(scenario, data_dir, cache,
                                                   varying(scenario.uncertainty))
        evaluator(-1, {})  # warm: numba compile and the scenario's own feed in the cache
        serial = _run("serial loop, no Dask", lambda: [evaluator(i, p) for i, p in enumerate(params)],
                      rows, len(params))
        for workers in (1, 2):
            with dask_client(workers=workers) as client:
                run_tasks(client, evaluator, params[:workers], label=f"warm{workers}")
                _run(f"LocalCluster, {workers} worker{'s' * (workers > 1)}",
                     lambda c=client: run_tasks(c, evaluator, params), rows, len(params))
    evaluator_bytes = len(pickle.dumps(evaluator))
    params_bytes = max(len(pickle.dumps(p)) for p in params)
    result_bytes = max(len(pickle.dumps(r)) for r in serial)
    inputs = sorted({*london_inputs(data_dir),
                     *(data_dir / getattr(scenario.data, f) for f in ("wards", "lsoas", "boroughs", "ptai"))})
    data_mb = sum(p.stat().st_size for p in inputs if p.is_file()) / 1e6

    print(f"London final scenario, window {args.window} every {args.step} min, {args.samples} "
          f"samples varying {len(varying(scenario.uncertainty))} assumptions; {os.cpu_count()} cores")
    print(f"| {'how':<26} | samples | wall (s) | samples/min | median task (s) |")
    print(f"|{'-' * 28}|--------:|---------:|------------:|----------------:|")
    for r in rows:
        print(f"| {r['how']:<26} | {r['samples']:>7} | {r['wall_s']:>8.1f} | {r['per_min']:>11.2f} "
              f"| {r['task_median_s']:>15.1f} |")
    one, two = rows[1]["per_min"], rows[2]["per_min"]
    print(f"speed-up, 2 workers over 1: {two / one:.2f}x; Dask 1 worker vs serial loop: "
          f"{rows[1]['per_min'] / rows[0]['per_min']:.2f}x")
    print(f"bytes shipped: evaluator {evaluator_bytes:,} (once per worker), parameters "
          f"{params_bytes:,} per task, result {result_bytes:,} per task")
    print(f"data each worker reads once from SITING_DATA_DIR: {data_mb:.1f} MB in {len(inputs)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
