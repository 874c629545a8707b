"""Phase sampling: independent draws (R5's, the default) against stratified ones, London final.

Issue 12's warm run (5 CPU-s) and the trust issue's 16 phase draws pull apart: the draws alone
take about 4 CPU-s. Fewer draws would do only if each carried more information. This bench
measures whether stratified (Latin hypercube) phases do: for N draws, each phased frequency
entry's N phases are one per stratum [k, k + 1) * headway / N, the strata in random order per
entry, uniform within. Each draw's phases are still uniform per entry, as in an independent
draw; only their spread across the N draws is evened out.

For each sampling, N and seed it pools N draws (24h counters, every LSOA x the scenario's
departure minutes) and prints how much the figures move with the seed:
- people over 45 and 60 minutes (the report's rule: median over departure x draw), min-max
  over the seeds, the range as a share of the mean and the standard deviation over the seeds;
- each LSOA's median and 80th-percentile minutes: their standard deviation over the seeds,
  averaged over LSOAs, and its 95th percentile over LSOAs.
The independent draws of a seed are those `siting run` makes (`TransitNetwork.draw`), N = 4
and 8 the first of the 16; stratified draws are made anew for each N. Last, for the largest N
of independent draws, it sets the spread each run reports of itself (`siting.draw_spread`:
balanced half-samples of the run's own draws) beside the spread over the seeds it estimates.

Run: SITING_DATA_DIR=/path/to/data/london python bench/draws_sampling.py
     [--sizes 4 8 16] [--seeds 0 1 2 3 4 5] [--cache-dir .cache/siting]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from siting.check import is_over
from siting.draw_spread import draw_spread_of
from siting.draws import served_over_draws
from siting.network.transit import TransitNetwork
from siting.summaries import summarise_served

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _london_final import final_inputs

REPO = Path(__file__).resolve().parents[1]
THRESHOLDS = (45, 60)


def stratified_phases(headway: np.ndarray, n: int, seed: int) -> np.ndarray:
    """(n, entries) phases: entry e's n phases one per stratum of [0, headway_e), shuffled."""
    rng = np.random.default_rng([int(seed), int(n), 0x5157])
    strata = rng.permuted(np.tile(np.arange(n), (len(headway), 1)), axis=1).T
    phase = np.floor((strata + rng.random(strata.shape)) * headway / n).astype(np.int64)
    return np.minimum(phase, headway - 1)


def drawn(network: TransitNetwork, sampling: str, n: int, seed: int) -> list[TransitNetwork]:
    """The n networks one seed's draws give under this sampling."""
    if sampling == "independent":
        return [network.draw(seed, i) for i in range(n)]
    phases = stratified_phases(network.entry_headway.astype(np.int64), n, seed)
    return [network.with_phases(phases[i], f"stratified:{seed}:{n}:{i}") for i in range(n)]


def figures(parts: list[dict[str, tuple[np.ndarray, np.ndarray]]], ids: np.ndarray,
            departures: np.ndarray, codes: np.ndarray, population: np.ndarray
            ) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """Headline people over each threshold, and each LSOA's p50 and p80 minutes, pooled."""
    served = np.concatenate([p["24h"][0] for p in parts], axis=1)
    target = np.concatenate([p["24h"][1] for p in parts], axis=1)
    summary = summarise_served(served, target, np.tile(departures, len(parts)), codes, ids,
                               percentiles=(50, 80)).set_index("origin_id").reindex(codes)
    p50 = summary["minutes_p50"].to_numpy()
    over = {f"over{t}": int(population[is_over(p50, t)].sum()) for t in THRESHOLDS}
    return over, p50, summary["minutes_p80"].to_numpy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "siting")
    args = parser.parse_args(argv)
    inputs = final_inputs(args.cache_dir, measures=("24h",))
    xy, codes, population = inputs.xy, inputs.codes, inputs.population
    chosen, window, network, access = inputs.chosen, inputs.window, inputs.network, inputs.access
    print(f"{inputs.describe()}; seeds {args.seeds}", flush=True)

    def one(net: TransitNetwork) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return served_over_draws(net, chosen, xy, window, draws=1, seed=0,
                                 max_access_minutes=access)

    began = time.perf_counter()
    rows, p50s, p80s, in_run = [], {}, {}, []
    largest = max(args.sizes)
    for seed in args.seeds:
        independent = [one(net) for net in drawn(network, "independent", largest, seed)]
        pooled = np.concatenate([p["24h"][0] for p in independent], axis=1)
        own = draw_spread_of(pooled, window.departures, THRESHOLDS, population)
        in_run.append({"seed": seed, **{f"over{t} estimate": own[str(t)]["sd"]
                                        for t in THRESHOLDS}})
        for n in args.sizes:
            for sampling in ("independent", "stratified"):
                parts = (independent[:n] if sampling == "independent"
                         else [one(net) for net in drawn(network, sampling, n, seed)])
                over, p50, p80 = figures(parts, chosen["24h"].ids, window.departures, codes,
                                         population)
                rows.append({"sampling": sampling, "N": n, "seed": seed, **over})
                p50s.setdefault((sampling, n), []).append(p50)
                p80s.setdefault((sampling, n), []).append(p80)
        print(f"  seed {seed} done ({time.perf_counter() - began:.0f} s)", flush=True)

    table = pd.DataFrame(rows)
    print("\nPeople over each threshold (median over departure x draw, 24h counters), per seed:")
    print(table.pivot_table(index=["sampling", "N"], columns="seed",
                            values="over45").to_string())
    summary = []
    for (sampling, n), group in table.groupby(["sampling", "N"], sort=False):
        line = {"sampling": sampling, "N": n}
        for t in THRESHOLDS:
            v = group[f"over{t}"]
            line[f"over{t} min-max"] = f"{v.min():,}-{v.max():,}"
            line[f"over{t} range/mean"] = round((v.max() - v.min()) / max(v.mean(), 1), 3)
            line[f"over{t} sd"] = round(float(v.std(ddof=1)))
        for name, store in (("p50", p50s), ("p80", p80s)):
            sd = np.nanstd(np.vstack(store[(sampling, n)]), axis=0)
            line[f"{name} sd mean"] = round(float(np.nanmean(sd)), 3)
            line[f"{name} sd p95"] = round(float(np.nanpercentile(sd, 95)), 3)
        summary.append(line)
    print("\nHow much each figure moves with the seed (sd in minutes, over LSOAs):")
    print(pd.DataFrame(summary).sort_values(["N", "sampling"]).to_string(index=False))
    estimates = pd.DataFrame(in_run)
    print(f"\nEach run's own estimate of its spread (independent, N = {largest}; balanced "
          "half-samples), per seed:")
    print(estimates.to_string(index=False))
    last = table[(table["sampling"] == "independent") & (table["N"] == largest)]
    for t in THRESHOLDS:
        column = estimates[f"over{t} estimate"]
        print(f"over {t}: estimates {column.min():,}-{column.max():,} (mean {column.mean():,.0f}) "
              f"against the seeds' sd {last[f'over{t}'].std(ddof=1):,.0f}")
    print(f"\n{time.perf_counter() - began:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
