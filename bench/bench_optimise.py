"""Benchmark: London-wide choice of one 24/7 counter per borough, as `siting optimise counters`.

Steps timed (wall seconds and the process's peak resident memory during each):

1. the modelled London GTFS and transit network (cached after the first run);
2. the per-counter matrix: 4,835 LSOAs x the command's candidates (77 for the final strategy:
   its open counters and the 73 open in 2017), one profile search per counter with the
   sites in parallel (`siting.optimise.site_times`), against the public-API path it replaces
   (`profile_search` + `evaluate` + `summarise` per counter, timed on a few counters and
   extrapolated), checking that both give identical minutes;
3. CP-SAT to proven optimality for each objective (over 45, over 60, p-median);
4. baselines in the same run: the final strategy's choice, and a greedy start plus a
   best-improvement local search (swap one borough's counter at a time) on the same matrix;
5. exact re-evaluation of the optimum and of the final strategy as `siting run` computes its
   24/7 measure (the 32 counters together, on the scenario's phase draws; one pass for both).

The candidates are `siting.optimise.default_candidates`, as the command uses: an earlier
version took only the 73 open in 2017, so its optimum (44,049 over 45) disagreed with the
command's (README, 42,502: Pinner, named only by the final strategy, is in the command's set).

Run: /work/venv/bin/python bench/bench_optimise.py [--scenario FILE] [--cache DIR]
(a fresh temporary cache by default, so the matrix is really computed).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting import optimise
from siting.data import load_counters, load_lsoas
from siting.network.transit import TransitNetwork
from siting.network.walk import street_network
from siting.optimise.counters import _exact_over
from siting.scenario import load_scenario
from siting.travel import Targets, Window, profile_search, summarise

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory import measure

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SITING_DATA_DIR", REPO.parent / "shared" / "data" / "london"))


def lexicographic(minutes: np.ndarray, population: np.ndarray, cols: list[int],
                  threshold: float, cap: float) -> tuple[int, float]:
    """(people over threshold, people x capped minutes): the optimiser's primary and tie-break."""
    nearest = optimise.nearest_minutes(minutes, cols)
    over = int(population[np.isnan(nearest) | (nearest > threshold)].sum())
    cost = float(np.sum(np.minimum(np.nan_to_num(nearest, nan=cap), cap) * population))
    return over, cost


def greedy_local_search(minutes: np.ndarray, population: np.ndarray, groups: list[str],
                        threshold: float, cap: float) -> list[int]:
    """Greedy (per borough, the counter with the lowest mean minutes for all London with the
    other boroughs at their current pick) then best-improvement single swaps until none helps."""
    labels = sorted(set(groups))
    members = {g: [c for c, h in enumerate(groups) if h == g] for g in labels}
    pick = {g: members[g][0] for g in labels}
    def value(g: str, c: int) -> tuple[int, float]:
        return lexicographic(minutes, population, [*(pick[h] for h in labels if h != g), c],
                             threshold, cap)

    for g in labels:  # greedy pass
        pick[g] = min(members[g], key=functools.partial(value, g))
    current = lexicographic(minutes, population, list(pick.values()), threshold, cap)
    while True:
        best: tuple[tuple[int, float], str, int] | None = None
        for g in labels:
            for c in members[g]:
                if c != pick[g] and value(g, c) < (best[0] if best else current):
                    best = (value(g, c), g, c)
        if best is None:
            return sorted(pick.values())
        current, g_best, c_best = best
        pick[g_best] = c_best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(REPO / "scenarios" / "london-2017-final.yaml"))
    parser.add_argument("--cache", default=None, help="cache dir (default: a fresh temp dir)")
    parser.add_argument("--reference-counters", type=int, default=3,
                        help="counters timed through the public API for the comparison")
    parser.add_argument("--json", metavar="FILE", help="also write the Speed-table rows (bench/run_all.py)")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario)
    cache = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="bench-optimise-"))
    registry = load_counters()
    # The same candidates as `siting optimise counters` (README's figure comes from that command).
    candidates = optimise.default_candidates(scenario)
    borough_of = dict(zip(registry["counter_id"], registry["borough_gss"], strict=True))
    lsoas = load_lsoas(DATA, scenario.data)
    population = lsoas["population"].to_numpy()
    cap = float(scenario.transit.max_trip_minutes)
    start_s, end_s = scenario.transit.window_seconds
    window = Window(start_s=start_s, end_s=end_s, step_s=scenario.transit.step_minutes * 60)
    steps: list[dict[str, Any]] = []
    print(f"Scenario {scenario.id}: {len(candidates)} candidate counters "
          f"({optimise.DEFAULT_CANDIDATE_RULE}), {len(lsoas):,} LSOAs, "
          f"window {scenario.transit.departure_window} every {scenario.transit.step_minutes} "
          f"min; cache {cache}")

    network: TransitNetwork = measure(
        "network (modelled London GTFS + connections)",
        lambda: optimise.scenario_network(scenario, DATA, cache), steps)
    print(f"  {network.n_connections:,} hops, {network.n_stops:,} stops")
    table = measure(f"per-counter matrix, {len(candidates)} counters (parallel kernel)",
                    lambda: optimise.per_counter_times(scenario, DATA, cache_dir=cache,
                                                       counter_ids=candidates), steps)
    wide = table.pivot(index="lsoa_code", columns="counter_id", values="minutes")
    wide = wide.reindex(index=lsoas["lsoa_code"], columns=candidates)
    minutes = wide.to_numpy()
    print(f"  unreachable (origin, counter) pairs: {int(np.isnan(minutes).sum())}")

    # The public-API path it replaces, on a few counters; identical minutes required.
    rows = registry.set_index("counter_id").loc[candidates[:args.reference_counters]]
    xy = np.column_stack([lsoas.geometry.x, lsoas.geometry.y])

    def reference() -> list[np.ndarray]:
        out = []
        for cid, point in zip(rows.index, zip(rows.geometry.x, rows.geometry.y, strict=True),
                              strict=True):
            targets = Targets.from_arrays([cid], np.array([point]))
            profiles = profile_search(network, targets,
                                      max_access_minutes=scenario.walking.max_access_minutes)
            frame = profiles.evaluate(xy, lsoas["lsoa_code"].to_numpy(), window)
            out.append(summarise(frame, (50,))["minutes_p50"].to_numpy())
        return out

    ref = measure(f"  baseline: public API, {len(rows)} counters one by one", reference, steps)
    for j, values in enumerate(ref):
        np.testing.assert_array_equal(values, minutes[:, j])
    per_counter = steps[-1]["wall_s"] / len(rows)
    print(f"  identical minutes; public API {per_counter:.2f} s per counter -> "
          f"{per_counter * len(candidates):.0f} s for {len(candidates)} (extrapolated), "
          f"kernel {steps[-2]['wall_s'] / len(candidates):.2f} s per counter")

    groups = [borough_of[c] for c in candidates]
    final = optimise.strategy_choices()["final"]
    final_cols = [candidates.index(c) for c in final]
    results: list[dict[str, Any]] = []

    def add(method: str, cols: list[int], seconds: float, status: str) -> None:
        over45, cost = lexicographic(minutes, population, cols, 45, cap)
        over60, _ = lexicographic(minutes, population, cols, 60, cap)
        results.append({"method": method, "status": status, "seconds": round(seconds, 3),
                        "over_45": over45, "over_60": over60,
                        "mean_minutes": round(cost / population.sum(), 3)})

    add("final strategy (evaluated)", final_cols, 0.0, "-")
    for objective in ("over45", "over60", "median"):
        solve = functools.partial(optimise.choose_one_per_group, minutes, population, groups,
                                  objective=objective, cap_minutes=cap, hint=final_cols,
                                  time_limit_s=600)
        choice: optimise.GroupChoice = measure(f"CP-SAT {objective}", solve, steps)
        status = choice.primary["status"] + (f" / tie-break {choice.tie_break['status']}"
                                             if choice.tie_break else "")
        add(f"CP-SAT {objective}", list(choice.chosen), steps[-1]["wall_s"], status)
        if objective == "over45":
            optimum = [candidates[c] for c in choice.chosen]
            print(f"  model: {choice.model_size}; primary {choice.primary}; "
                  f"tie-break {choice.tie_break}")
    local = measure("greedy + local search (over 45, then mean)",
                    lambda: greedy_local_search(minutes, population, groups, 45, cap), steps)
    add("greedy + local search (over45)", local, steps[-1]["wall_s"], "local optimum")

    def exact() -> dict[str, list[int]]:
        plans = {"optimum": tuple(sorted(optimum)), "final": tuple(sorted(final))}
        p50 = _exact_over(network, plans.values(), registry, lsoas, scenario,
                          street_network(scenario, DATA))
        return {name: [int(population[np.isnan(p50[ids]) | (p50[ids] > t)].sum())
                       for t in (45, 60)] for name, ids in plans.items()}

    exact_of = measure("exact re-evaluation of the over-45 optimum and the final strategy "
                       "(phase draws)", exact, steps)
    exact_over = exact_of["optimum"]

    print()
    print(pd.DataFrame(steps).to_string(index=False))
    print()
    print(pd.DataFrame(results).to_string(index=False))
    print()
    print(f"over-45 optimum, exact (as `siting run`, on the phase draws): over 45 "
          f"{exact_over[0]:,}, over 60 {exact_over[1]:,}; final strategy: over 45 "
          f"{exact_of['final'][0]:,}, over 60 {exact_of['final'][1]:,}")
    print("chosen:", ", ".join(optimum))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"process peak RSS: {peak:.0f} MB")
    if args.json:
        by_method = {row["method"]: row for row in results}
        matrix = next(row for row in steps if row["step"].startswith("per-counter matrix"))
        cpsat, local = by_method["CP-SAT over45"], by_method["greedy + local search (over45)"]
        final_row = by_method["final strategy (evaluated)"]
        reference_counters = len(rows)
        table_rows = [
            {"bench": "bench/bench_optimise.py",
             "workload": f"per-counter matrix: {len(lsoas):,} LSOAs x {len(candidates)} counters x "
                         f"{len(window.departures)} departures",
             "figure": f"{matrix['wall_s']:.0f} s ({matrix['wall_s'] / len(candidates):.2f} s per counter, "
                       f"sites in parallel), {matrix['peak_rss_MB']} MB peak",
             "baseline": f"public API one counter at a time: {per_counter:.2f} s per counter "
                         f"(~{per_counter * len(candidates):.0f} s for {len(candidates)}, extrapolated "
                         f"from {reference_counters}); identical minutes"},
            {"bench": "bench/bench_optimise.py",
             "workload": "one 24/7 counter per borough, fewest people over 45 min (tie: mean minutes)",
             "figure": f"CP-SAT {cpsat['status']} in {cpsat['seconds']:.1f} s: {cpsat['over_45']:,} over 45 "
                       f"(matrix), {exact_over[0]:,} as `siting run` computes it (phase draws); "
                       f"final strategy {final_row['over_45']:,} (matrix), "
                       f"{exact_of['final'][0]:,} (phase draws)",
             "baseline": f"greedy + local search {local['seconds']:.1f} s: {local['over_45']:,} over 45 "
                         "(matrix)"},
        ]
        Path(args.json).write_text(json.dumps(table_rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
