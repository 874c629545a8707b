"""`siting sweep`: run a scenario's uncertainty sweep, counter sweeps and robust hubs on Dask."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting.scenario import Scenario
from siting.sweep import (
    SampleResult,
    ScenarioEvaluator,
    apply_params,
    base_values,
    check_applicable,
    draw_samples,
    gather,
    result_of,
    run_tasks,
    submit_tasks,
    varying,
)
from siting.sweep_summary import SweepSummary, headline_table, summarise_sweep

__all__ = ["CounterEvaluator", "counter_sweep", "scenario_sweep"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class _Deterministic:
    """The scenario as `siting run` computes it, plus its hub assignment (one Dask task)."""

    scenario: Scenario
    data_dir: Path
    cache_dir: Path

    def __call__(self, index: int, _: Any) -> tuple[SampleResult, pd.DataFrame]:
        from siting.analysis import analyse

        start = time.perf_counter()
        analysis = analyse(self.scenario, self.data_dir, cache_dir=self.cache_dir)
        return result_of(analysis, index, start), analysis.hub_assignment.copy()


def _areas(scenario: Scenario, data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, Any, Any]:
    """LSOAs (origin order of the results) and wards (ward order), as the analysis has them."""
    from siting.data import load_lsoas, load_wards, ward_population

    lsoas = load_lsoas(data_dir, scenario.data).sort_values("lsoa_code", kind="stable")
    wards = load_wards(data_dir, scenario.data)
    wards = wards.merge(ward_population(lsoas).rename("population").reset_index(),
                        on="ward_code", how="left").sort_values("ward_code", kind="stable")
    origins = pd.DataFrame({"lsoa_code": lsoas["lsoa_code"].to_numpy(),
                            "lsoa_name": lsoas["lsoa_name"].to_numpy(),
                            "ward_code": lsoas["ward_code"].to_numpy(),
                            "population": lsoas["population"].to_numpy()})
    ward_table = pd.DataFrame({"ward_code": wards["ward_code"].to_numpy(),
                               "ward_name": wards["ward_name"].to_numpy(),
                               "borough": wards["borough"].to_numpy(),
                               "population": wards["population"].fillna(0).astype(int).to_numpy()})
    return origins, ward_table, lsoas, wards


def _hub_section(scenario: Scenario, data_dir: Path, design: pd.DataFrame, lsoas: Any,
                 wards: Any, assignment: pd.DataFrame, share: float | None,
                 ) -> tuple[dict[str, Any], pd.DataFrame, list[str]]:
    """Wards whose hub may be beyond the walk limit, and the robust plan when asked."""
    from siting.sweep_hubs import hub_risk, robust_plan, walk_factors

    cfg = scenario.hubs
    base = base_values(scenario)
    street = bool(scenario.walking.network)
    factors = walk_factors(design, base, street=street)
    limit = cfg.walk_limit_minutes
    risk, holds = hub_risk(assignment, factors, limit)
    at_risk = risk[risk["chance_beyond_limit"] > 0]
    facts: dict[str, Any] = {
        "walk_limit_minutes": limit,
        "walk_factor_band": {"p10": float(np.percentile(factors, 10)),
                             "median": float(np.median(factors)),
                             "p90": float(np.percentile(factors, 90))},
        "share_of_samples_every_ward_keeps_its_hub": holds,
        "wards_at_risk": [{"ward_code": r.ward_code, "site_id": r.site_id,
                           "walk_minutes": float(r.minutes),
                           "chance_beyond_limit": float(r.chance_beyond_limit)}
                          for r in at_risk.itertuples()],
    }
    lines = ["### DWO hubs under the uncertainty", "",
             f"In {100 * holds:.0f}% of samples every ward keeps its hub within "
             f"{limit:g} minutes' walk (walk speed and circuity vary: walks are "
             f"{facts['walk_factor_band']['p10']:.2f}–{facts['walk_factor_band']['p90']:.2f} times "
             f"the scenario's). Wards at risk: {len(at_risk)}."]
    if len(at_risk):
        names = wards.set_index("ward_code")["ward_name"]
        lines += ["", "| ward | hub | walk (min) | chance beyond limit |", "|---|---|---:|---:|"]
        lines += [f"| {names.get(r.ward_code, r.ward_code)} ({r.ward_code}) | {r.site_id} | "
                  f"{r.minutes:.1f} | {100 * r.chance_beyond_limit:.0f}% |"
                  for r in at_risk.head(30).itertuples()]
    if share is not None:
        table, costs = _coverage_table(scenario, data_dir, lsoas, wards, float(factors.min()))
        plan = robust_plan(table, costs, factors, limit=limit, share=share,
                           must_open=cfg.must_open, time_limit_s=cfg.time_limit_s)
        facts["robust_plan"] = plan.figures()
        f = plan.figures()
        lines += ["", f"**Robust plan** (`hubs.robust: {share:g}`, CP-SAT {plan.status}): "
                  f"{f['hubs']} hubs at cost {f['cost']:g} cover every coverable ward in at least "
                  f"{100 * share:.0f}% of samples, against {f['baseline_hubs']} hubs at cost "
                  f"{f['baseline_cost']:g} for the scenario's own walking: "
                  f"{f['extra_hubs']:+d} hubs, {f['extra_cost']:+g} cost. Wards no candidate "
                  f"reaches in enough samples: {len(plan.uncoverable)} "
                  f"({', '.join(plan.uncoverable[:10]) or 'none'})."]
    return facts, risk, lines


def _coverage_table(scenario: Scenario, data_dir: Path, lsoas: Any, wards: Any,
                    min_factor: float) -> tuple[pd.DataFrame, pd.Series]:
    """(ward, site, minutes) at the scenario's walking, out to the reach the samples need."""
    from siting.data import scenario_counters
    from siting.hub_matrix import walk_matrix
    from siting.hub_plan import scenario_candidates, ward_centres, ward_scope
    from siting.network.scenario_network import scenario_walk
    from siting.network.walk import street_network

    cfg = scenario.hubs
    candidates = scenario_candidates(scenario, data_dir, wards, scenario_counters(scenario))
    sites = candidates.sites[~candidates.sites["site_id"].isin(set(cfg.forbidden))]
    street = street_network(scenario, data_dir)
    if street is not None:
        sites = sites[sites.geometry.within(street.core_box)].reset_index(drop=True)
    scope = wards if cfg.wards is None else ward_scope(scenario, wards)
    reach = cfg.walk_limit_minutes / min(min_factor, 1.0)
    table = walk_matrix(scope, sites, street or scenario_walk(scenario), limit_minutes=reach,
                        to=cfg.measure_to, centres=ward_centres(lsoas))
    return table, sites.set_index("site_id")["cost"]


def _prebuild(scenario: Scenario, data_dir: Path, cache_dir: Path, *, network: bool) -> None:
    """Build the scenario's London feed (and network) once, before tasks share the cache."""
    from siting.network.scenario_network import scenario_feed, scenario_network

    if scenario.transit.feed != "london-modelled" and not network:
        return
    feed = scenario_feed(scenario, data_dir, cache_dir)
    if network:
        scenario_network(apply_params(scenario, {}), data_dir, cache_dir, feed)


def scenario_sweep(scenario: Scenario, data_dir: Path, cache_dir: Path, client: Any, *,
                   samples: int | None = None, robust: float | None = None,
                   progress: bool = False) -> tuple[SweepSummary, dict[str, float]]:
    """Sample the scenario's uncertainty block, run every sample on Dask, summarise.

    Returns the summary and timings (seconds per task, wall time; not written to the files).
    """
    check_applicable(scenario)
    design = draw_samples(scenario.uncertainty, samples)
    names = varying(scenario.uncertainty)
    columns = [c for c in design.columns if c != "sample_index"]
    params = [{c: float(row[c]) for c in columns} for _, row in design.iterrows()]
    evaluator = ScenarioEvaluator.for_scenario(scenario, data_dir, cache_dir, names)
    origins, ward_table, lsoas, wards = _areas(scenario, data_dir)
    start = time.perf_counter()
    _prebuild(scenario, data_dir, cache_dir, network=False)
    # The deterministic run goes in with the samples, so no worker waits for it.
    first = submit_tasks(client, _Deterministic(scenario, Path(data_dir), Path(cache_dir)),
                         [None], label="deterministic")
    samples_futures = submit_tasks(client, evaluator, params, label="sample")
    results = gather(client, samples_futures, progress=progress)
    [(deterministic, assignment)] = gather(client, first)
    wall = time.perf_counter() - start
    share = robust if robust is not None else scenario.hubs.robust
    extra: dict[str, Any] = {"method": "latin hypercube (scipy.stats.qmc.LatinHypercube)"
                             if scenario.uncertainty.method == "lhs"
                             else "scrambled Sobol (scipy.stats.qmc.Sobol)",
                             "seed": scenario.uncertainty.seed}
    blocks: list[str] = []
    if scenario.hubs.enabled and len(assignment):
        hub_facts, _, lines = _hub_section(scenario, data_dir, design, lsoas, wards, assignment,
                                           share)
        extra["hubs"] = hub_facts
        blocks.append("\n".join(lines))
    extra["report_blocks"] = blocks
    distributions = {n: getattr(scenario.uncertainty, n).model_dump()
                     for n in columns if getattr(scenario.uncertainty, n) is not None}
    summary = summarise_sweep(scenario_id=scenario.id, design=design, names=names,
                              results=results, origins=origins, wards=ward_table,
                              thresholds=scenario.thresholds, deterministic=deterministic,
                              distributions=distributions, extra=extra)
    seconds = [r.seconds for r in results]
    timings = {"wall_s": wall, "task_median_s": float(np.median(seconds)),
               "deterministic_s": deterministic.seconds}
    return summary, timings


# ---------------------------------------------------------------------------------------------
# Counter sweeps


@dataclasses.dataclass(frozen=True)
class CounterEvaluator:
    """The scenario with one counter closed (or reopened 24/7): its travel times."""

    scenario: Scenario
    data_dir: Path
    cache_dir: Path

    def __call__(self, index: int, change: tuple[str, str]) -> SampleResult:
        """change = ('close' | 'open' | 'none', counter_id); 'none' is the scenario itself."""
        from siting.analysis import analyse

        start = time.perf_counter()
        action, cid = change
        c = self.scenario.counters
        if action == "close":
            counters = c.model_copy(update={
                "open_24h": [x for x in c.open_24h if x != cid],
                "open_daytime": [x for x in c.open_daytime if x != cid],
                "closed": sorted({*c.closed, cid}),
                "hours": {k: v for k, v in c.hours.items() if k != cid}})
        elif action == "open":
            counters = c.model_copy(update={
                "open_24h": [*c.open_24h, cid],
                "closed": [x for x in c.closed if x != cid]})
        else:
            counters = c
        variant = apply_params(self.scenario, {}).model_copy(update={"counters": counters})
        return result_of(analyse(variant, self.data_dir, cache_dir=self.cache_dir, journeys=False),
                         index, start)


def counter_sweep(scenario: Scenario, data_dir: Path, cache_dir: Path, client: Any, *,
                  action: str, progress: bool = False) -> pd.DataFrame:
    """Close each open 24/7 counter (action 'close') or reopen each closed one 24/7 ('open')
    as Dask tasks; rank counters by the people pushed over / brought within 45 minutes."""
    from siting.data import load_counters

    registry = load_counters().set_index("counter_id")
    if action == "close":
        ids = sorted(scenario.counters.open_24h)
    else:
        open_now = set(scenario.open_counters())
        ids = sorted(c for c in registry.index if c not in open_now)
    evaluator = CounterEvaluator(scenario, Path(data_dir), Path(cache_dir))
    _prebuild(scenario, data_dir, cache_dir, network=True)
    jobs: list[Any] = [("none", ""), *[(action, c) for c in ids]]
    origins, _, _, _ = _areas(scenario, data_dir)
    results = run_tasks(client, evaluator, jobs, progress=progress, label=f"{action}-each")
    thresholds = scenario.thresholds
    table = headline_table(results, origins["population"].to_numpy(float), thresholds)
    base = table.iloc[0]
    rows = []
    for cid, (_, row) in zip(ids, table.iloc[1:].iterrows(), strict=True):
        out: dict[str, Any] = {"counter_id": cid, "name": registry.loc[cid, "name"],
                               "borough": registry.loc[cid, "borough"]}
        for m in ("24h", "any"):
            for t in thresholds:
                key = f"people_over_{t}_{m}"
                out[key] = int(row[key])
                out[f"change_over_{t}_{m}"] = int(row[key] - base[key])
        rows.append(out)
    frame = pd.DataFrame(rows)
    first = f"change_over_{thresholds[0]}_24h"
    ascending = action != "close"  # closing: most people pushed over first; opening: most brought in
    frame = frame.sort_values([first, "counter_id"], ascending=[ascending, True], kind="stable")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame.reset_index(drop=True)
