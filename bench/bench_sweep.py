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

``--newport`` runs the same comparison on the real Newport GTFS test feed instead (2023-06-14,
200 stops as origins, 3 counters; walking, allowances, change time and access limit vary): a
cheap run that shows the Dask overhead and the speed-up when London tasks are too dear.

Run: SITING_DATA_DIR=../shared/data/london python bench/bench_sweep.py [--samples 4]
     [--window 07:00-07:30] [--step 5] [--newport]
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import tempfile
import time
from datetime import date
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
    parser.add_argument("--newport", action="store_true", help="the Newport feed, not London")
    args = parser.parse_args(argv)
    data_dir = Path(os.environ.get("SITING_DATA_DIR", REPO.parent / "shared" / "data" / "london"))
    if args.newport:
        return _newport(data_dir, args)
    scenario = load_scenario(REPO / "scenarios" / "london-2017-final.yaml", data_dir=data_dir)
    scenario = scenario.model_copy(update={"transit": scenario.transit.model_copy(update={
        "departure_window": args.window, "step_minutes": args.step, "percentiles": [50]})})
    design = draw_samples(scenario.uncertainty, args.samples)
    columns = [c for c in design.columns if c != "sample_index"]
    params = [{c: float(row[c]) for c in columns} for _, row in design.iterrows()]
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        evaluator = ScenarioEvaluator.for_scenario(scenario, data_dir, cache,
                                                   varying(scenario.uncertainty))
        evaluator(-1, {})  # warm: numba compile and the scenario's own feed in the cache
        rows, serial = _compare(evaluator, params)
    _print(rows, evaluator, params, serial,
           f"London final scenario, window {args.window} every {args.step} min, {args.samples} "
           f"samples varying {len(varying(scenario.uncertainty))} assumptions; "
           f"{os.cpu_count()} cores")
    inputs = sorted({*london_inputs(data_dir),
                     *(data_dir / getattr(scenario.data, f) for f in ("wards", "lsoas", "boroughs", "ptai"))})
    data_mb = sum(p.stat().st_size for p in inputs if p.is_file()) / 1e6
    print(f"data each worker reads once from SITING_DATA_DIR: {data_mb:.1f} MB in {len(inputs)} files")
    return 0


def _compare(evaluator: Any, params: list[dict[str, float]]) -> tuple[list[dict[str, Any]], list[Any]]:
    """Serial loop, then 1 and 2 LocalCluster worker processes, on the same samples."""
    rows: list[dict[str, Any]] = []
    serial = _run("serial loop, no Dask", lambda: [evaluator(i, p) for i, p in enumerate(params)],
                  rows, len(params))
    for workers in (1, 2):
        with dask_client(workers=workers) as client:
            run_tasks(client, evaluator, params[:workers], label=f"warm{workers}")
            _run(f"LocalCluster, {workers} worker{'s' * (workers > 1)}",
                 lambda c=client: run_tasks(c, evaluator, params), rows, len(params))
    return rows, serial


def _newport(data_dir: Path, args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from siting.network.gtfs import read_feed
    from siting.network.transit import project_stops
    from siting.scenario import Uncertainty
    from siting.sweep import LONDON_ONLY, FeedEvaluator

    path = data_dir / "transit" / "uk_test_feeds" / "newport-20230613_gtfs.zip"
    feed = read_feed(path)
    stops = feed.stops.sort_values("stop_id").iloc[::10].head(200)
    xy = project_stops(feed, stops["stop_id"].to_numpy())
    origins = pd.DataFrame({"origin_id": stops["stop_id"].astype(str).to_numpy(),
                            "x": xy[:, 0] + 150, "y": xy[:, 1], "population": 100,
                            "ward_code": [f"W{i // 10:02d}" for i in range(len(stops))]})
    origins = origins.sort_values("origin_id").reset_index(drop=True)
    targets = pd.DataFrame({"counter_id": ["A", "B", "C"], "x": xy[[0, 70, 140], 0],
                            "y": xy[[0, 70, 140], 1], "open_s": [np.nan, np.nan, 9 * 3600],
                            "close_s": [np.nan, np.nan, 17 * 3600]})
    base = {"walk_speed_kmh": 4.8, "circuity": 1.287, "max_access_minutes": 12.0,
            "bus_reliability_min": 2.0, "rail_reliability_min": 0.75, "interchange_minutes": 2.0}
    start, end = (int(x[:2]) * 3600 + int(x[3:]) * 60 for x in args.window.split("-"))
    evaluator = FeedEvaluator(path, date(2023, 6, 14), (start, end), args.step, origins,
                              targets, base, max_trip_minutes=120)
    u = Uncertainty(**dict.fromkeys(LONDON_ONLY))
    design = draw_samples(u, args.samples)
    columns = [c for c in design.columns if c != "sample_index"]
    params = [{c: float(row[c]) for c in columns} for _, row in design.iterrows()]
    evaluator(-1, {})  # warm: numba compile
    rows, serial = _compare(evaluator, params)
    _print(rows, evaluator, params, serial,
           f"Newport GTFS, 2023-06-14, window {args.window} every {args.step} min, "
           f"{len(origins)} origins, {args.samples} samples varying {len(varying(u))} "
           f"assumptions; {os.cpu_count()} cores")
    return 0


def _print(rows: list[dict[str, Any]], evaluator: Any, params: list[dict[str, float]],
           serial: list[Any], title: str) -> None:
    evaluator_bytes = len(pickle.dumps(evaluator))
    params_bytes = max(len(pickle.dumps(p)) for p in params)
    result_bytes = max(len(pickle.dumps(r)) for r in serial)
    print(title)
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


if __name__ == "__main__":
    sys.exit(main())
