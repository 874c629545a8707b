"""How many phase draws: London final headline figures against N, with the seed varied.

For each seed, draws 0..N_max-1 of the frequency phases are scanned once (both measures, all
4,835 LSOAs x the scenario's departure minutes); the figures for N draws pool the first N
(so N = 1, 2, 4, ... share draws, as `transit.draws` = N would). Printed per N: people over 45
and 60 minutes (24h and any-open counters; residents of LSOAs whose median minutes over
departure x draw exceed the threshold, the report's rule), as min-max over the seeds and the
range as a share of the mean, plus the lock-step network (every phase 0) for reference, and
the cost of one draw (build the drawn network, both scans, both lookups).

Run: SITING_DATA_DIR=/path/to/data/london python bench/draws_convergence.py [--max-draws 16]
     [--seeds 0 1 2] [--cache-dir .cache/siting]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from siting.check import is_over
from siting.draws import served_over_draws
from siting.travel import summarise_served

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _london_final import final_inputs

REPO = Path(__file__).resolve().parents[1]
THRESHOLDS = (45, 60)


def headline(pooled: dict[str, tuple[np.ndarray, np.ndarray]], ids: dict[str, np.ndarray],
             departures: np.ndarray, lsoa_codes: np.ndarray, population: np.ndarray,
             n_draws: int) -> dict[str, int]:
    """People over each threshold for each measure, pooling the first n_draws draws."""
    out = {}
    n_dep = len(departures)
    for measure, (served, target) in pooled.items():
        take = n_dep * n_draws
        summary = summarise_served(served[:, :take], target[:, :take],
                                   np.tile(departures, n_draws), lsoa_codes, ids[measure])
        minutes = summary.set_index("origin_id")["minutes_p50"].reindex(lsoa_codes).to_numpy()
        for t in THRESHOLDS:
            out[f"over{t}_{measure}"] = int(population[is_over(minutes, t)].sum())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-draws", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "siting")
    args = parser.parse_args(argv)
    inputs = final_inputs(args.cache_dir)
    xy, codes, population = inputs.xy, inputs.codes, inputs.population
    chosen, window, network, access = inputs.chosen, inputs.window, inputs.network, inputs.access
    ids = {m: t.ids for m, t in chosen.items()}
    print(inputs.describe())
    # Warm numba so that the draw timings below exclude compilation.
    served_over_draws(network.draw(0, 0), chosen, xy[:2], window, draws=1, seed=0,
                      max_access_minutes=access)

    rows = []
    lock = served_over_draws(network, chosen, xy, window, draws=1, seed=0,
                             max_access_minutes=access)
    rows.append({"N": "lock-step", "seed": "-",
                 **headline(lock, ids, window.departures, codes, population, 1)})
    draw_seconds = []
    sizes = [n for n in (1, 2, 4, 8, 16, 32, 64) if n <= args.max_draws]
    for seed in args.seeds:
        parts = []
        for index in range(args.max_draws):
            began = time.perf_counter()
            drawn = network.draw(seed, index)
            parts.append(served_over_draws(drawn, chosen, xy, window, draws=1, seed=0,
                                           max_access_minutes=access))
            draw_seconds.append(time.perf_counter() - began)
        pooled = {m: (np.concatenate([p[m][0] for p in parts], axis=1),
                      np.concatenate([p[m][1] for p in parts], axis=1)) for m in chosen}
        for n in sizes:
            rows.append({"N": n, "seed": seed,
                         **headline(pooled, ids, window.departures, codes, population, n)})
        print(f"  seed {seed} done", flush=True)
    table = pd.DataFrame(rows)
    print("\nPeople over each threshold (median over departure x draw), per seed:")
    print(table.to_string(index=False))
    figures = [c for c in table.columns if c.startswith("over")]
    drawn_rows = table[table["seed"] != "-"]
    spread = drawn_rows.groupby("N")[figures].agg(lambda v: (v.max() - v.min()) / max(v.mean(), 1))
    print("\nRange over seeds as a share of the mean (0.010 = 1%):")
    print(spread.round(3).to_string())
    print(f"\ncost of one draw (drawn network + 2 scans + 2 lookups): median "
          f"{np.median(draw_seconds):.2f} s, max {np.max(draw_seconds):.2f} s over "
          f"{len(draw_seconds)} draws (wall, shared 2-core machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
