"""One 24/7 counter per borough on London: the optimum against the strategy's draft and final."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import InfeasibleError
from siting.data import load_boroughs, load_counters
from siting.draws import served_over_draws
from siting.network.transit import TransitNetwork
from siting.network.walk import street_network
from siting.optimise.matrix import _check_ids, _counter_matrix, _plan_columns, _window
from siting.optimise.models import (
    _mean_minutes,
    _parse_objective,
    choose_one_per_group,
    nearest_minutes,
)
from siting.optimise.outputs import _md_table, _people, _signed, _stage
from siting.scenario import Scenario
from siting.summaries import summarise_served
from siting.travel import Targets

__all__ = ["BASELINE_24H", "DEFAULT_CANDIDATE_RULE", "NAMED_ONLY_IN_FINAL", "STRATEGY_SWAPS",
           "CounterPlan", "Objective", "default_candidates", "optimise_counters", "strategy_choices"]

Objective = Literal["over45", "over60", "median"]

# ---------------------------------------------------------------------------------------------
# Strategy facts (MOPAC/MPS Public Access and Engagement Strategy 2017, annex 3; see
# shared/strategy/README.md). tests/test_optimise.py checks them against scenarios/*.yaml.

BASELINE_24H: tuple[str, ...] = (
    "acton", "bethnal-green", "bexleyheath", "brixton", "bromley", "charing-cross", "chingford",
    "colindale", "croydon", "dagenham", "edmonton", "forest-gate", "hammersmith", "harrow",
    "hounslow", "ilford", "islington", "kentish-town", "kingston", "lavender-hill", "lewisham",
    "notting-hill", "plumstead", "romford", "stoke-newington", "sutton", "tottenham", "twickenham",
    "uxbridge", "walworth", "wembley", "wimbledon",
)
"""The 24/7 counter of each borough before the strategy (the 2016 baseline scenario)."""

STRATEGY_SWAPS: tuple[tuple[str, str, bool], ...] = (
    ("dagenham", "barking-learning-centre", False),
    ("bexleyheath", "marlowe-house", False),
    ("uxbridge", "hayes", True),
    ("notting-hill", "kensington", True),
    ("wimbledon", "mitcham", True),
)
"""The draft's five swaps (from, to, kept in the final strategy)."""

NAMED_ONLY_IN_FINAL: tuple[str, ...] = ("church-street", "grenfell", "pinner", "ruislip")
"""Registry counters that only the final strategy names: the other 73 were open in 2017."""


def strategy_choices() -> dict[str, tuple[str, ...]]:
    """The strategy's 24/7 counter sets: baseline (2016), draft (2017) and final (2017), sorted."""

    def swapped(kept_only: bool) -> tuple[str, ...]:
        moves = {a: b for a, b, kept in STRATEGY_SWAPS if kept or not kept_only}
        return tuple(sorted(moves.get(c, c) for c in BASELINE_24H))

    return {"draft": swapped(False), "final": swapped(True), "baseline": tuple(sorted(BASELINE_24H))}


# ---------------------------------------------------------------------------------------------
# One 24/7 counter per borough, on London


@dataclass(frozen=True, eq=False)
class CounterPlan:
    """The optimal 24/7 counter per borough, against the strategy's draft and final choices.

    table
        One row per borough (the City of London, with no Met counter, included): borough_code,
        borough, population, candidates, then for each plan P in ``plans`` (chosen = the
        optimum, draft, final, baseline, ...) the counter(s) ``P`` and ``pop_over_T_P`` for each
        threshold T (residents of the borough whose nearest chosen counter, in any borough, is
        over T minutes away on the per-counter matrix); with a 'final' plan also
        ``switch_delta_over_T``: the change in people over T across London when only this
        borough moves from the final plan's counter to the optimum's.
    totals
        One row per plan: plan, counters, pop_over_T (matrix), mean_minutes (population-weighted
        mean of the nearest median minutes, capped at max_trip_minutes), and exact_pop_over_T /
        exact_mean_minutes from the plan's counters searched together on the scenario's phase
        draws, as `siting run` computes its 24/7 measure.
    swaps
        The draft's five swaps: borough, from_id, to_id, kept_in_final, and for each T
        ``delta_over_T_vs_baseline`` (people over T with only this swap made to the 2016
        baseline, minus the baseline) and ``delta_over_T_vs_final`` (the final plan with this
        swap made, minus the final plan without it), and the same from exact re-evaluation
        (``exact_delta_...``, None when ``exact`` is off). Positive = the swap costs people.
    """

    scenario_id: str
    objective: str
    thresholds: tuple[int, ...]
    candidates: tuple[str, ...]
    plans: Mapping[str, tuple[str, ...]]
    table: pd.DataFrame
    totals: pd.DataFrame
    swaps: pd.DataFrame
    figures: Mapping[str, Any]
    names: Mapping[str, str] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)
    """Wall seconds per step (not written to the deterministic outputs)."""

    def to_markdown(self) -> str:
        """A report: totals per plan, the choice borough by borough, and the five swaps."""
        ts = self.thresholds
        plans = list(self.plans)
        objective = self.figures.get("objective_text", self.objective)
        lines = [
            f"# One 24/7 front counter per borough: optimum for `{self.scenario_id}`",
            "",
            f"Objective: **{objective}**, residents going to the nearest chosen counter in any "
            f"borough. Candidates: {len(self.candidates)} counters "
            f"({self.figures.get('candidate_rule', 'given')}).",
            "",
            f"- Solver (CP-SAT, seed {self.figures.get('seed')}, "
            f"{self.figures.get('num_workers')} worker(s)): primary "
            f"{_stage(self.figures.get('primary'), self.figures.get('primary_unit', ''))}.",
        ]
        if self.figures.get("tie_break"):
            lines.append(f"- Tie-break among equal optima (population-weighted mean minutes): "
                         f"{_stage(self.figures['tie_break'], 'min')}.")
        size = self.figures.get("model_size", {})
        if size:
            lines.append(f"- Model: {size.get('candidates')} candidates in {size.get('groups')} "
                         f"boroughs, {size.get('set_variables')} set variables.")
        lines += ["", "## Totals", ""]
        header = ["plan", "counters", *[f"over {t} min" for t in ts], "mean min",
                  *[f"over {t} (exact)" for t in ts], "mean (exact)"]
        rows = []
        for _, r in self.totals.iterrows():
            rows.append([r["plan"], r["counters"], *[_people(r[f"pop_over_{t}"]) for t in ts],
                         f"{r['mean_minutes']:.1f}",
                         *[_people(r.get(f"exact_pop_over_{t}")) for t in ts],
                         "n/a" if pd.isna(r.get("exact_mean_minutes")) else
                         f"{r['exact_mean_minutes']:.1f}"])
        lines += _md_table(header, rows, "lr" + "r" * (2 * len(ts) + 2))
        lines += [
            "",
            "The first columns use the per-counter matrix (each LSOA's median minutes to each "
            "counter, the least over the plan's counters, on the frequency services' exact "
            "timetable); the *exact* columns search the plan's counters together on the "
            "scenario's phase draws and take the median over departure minute x draw of the "
            "per-departure minimum, as `siting run` does, so the final plan's match its 24/7 "
            "figures. The two can differ either way: the matrix takes the least of medians, "
            "and the timetable is not the draws.",
            "",
            "## Borough by borough",
            "",
        ]
        switch = [t for t in ts if f"switch_delta_over_{t}" in self.table]
        header = ["borough", "candidates", *plans,
                  *[f"over {t}: {p}" for t in ts for p in plans],
                  *[f"over {t}: final, switched" for t in switch]]
        rows = []
        for _, r in self.table.iterrows():
            choice = []
            for p in plans:
                ids = [c for c in str(r[p]).split("+") if c]
                text = ", ".join(self.names.get(c, c) for c in ids) or "-"
                if p != "chosen" and r[p] != r["chosen"]:
                    text = f"**{text}**"
                choice.append(text)
            rows.append([r["borough"], r["candidates"], *choice,
                         *[_people(r[f"pop_over_{t}_{p}"]) for t in ts for p in plans],
                         *[_signed(r[f"switch_delta_over_{t}"]) for t in switch]])
        lines += _md_table(header, rows, "lr" + "l" * len(plans)
                           + "r" * (len(ts) * len(plans) + len(switch)))
        lines += ["", "Bold: differs from the optimum. *over T: P*: residents of the borough over "
                  "T minutes from the nearest counter of plan P (in any borough). *final, "
                  "switched*: change in people over T across London when only this borough "
                  "moves from the final strategy's counter to the optimum's (negative: fewer).",
                  ""]
        if len(self.swaps) == 0:
            return "\n".join(lines)
        lines += ["## The draft's five swaps", ""]
        kinds = [("", "")]
        if self.swaps[f"exact_delta_over_{ts[0]}_vs_baseline"].notna().all():
            kinds.append(("exact_", " (exact)"))
        keys = [(e, ref, t) for e, _ in kinds for ref in ("baseline", "final") for t in ts]
        header = ["swap", "kept in final",
                  *[f"over {t}: vs {ref}{dict(kinds)[e]}" for e, ref, t in keys]]
        rows = []
        for _, r in self.swaps.iterrows():
            rows.append([f"{self.names.get(r['from_id'], r['from_id'])} -> "
                         f"{self.names.get(r['to_id'], r['to_id'])}",
                         "yes" if r["kept_in_final"] else "no (reversed)",
                         *[_signed(r[f"{e}delta_over_{t}_vs_{ref}"]) for e, ref, t in keys]])
        lines += _md_table(header, rows, "ll" + "r" * len(keys))
        lines += [
            "",
            "People over T minutes after the swap minus before (positive: the swap puts more "
            "people over T). *vs baseline*: the 2016 24/7 counters with only this swap made; "
            "*vs final*: the final strategy with this swap made, against the final strategy with "
            "it undone. Per-counter matrix figures, and (exact) as `siting run` computes them, "
            "on the phase draws.",
            "",
        ]
        return "\n".join(lines)


def _exact_over(network: TransitNetwork, plans: Iterable[tuple[str, ...]],
                registry: gpd.GeoDataFrame, lsoas: gpd.GeoDataFrame, scenario: Scenario,
                street: Any = None) -> dict[tuple[str, ...], np.ndarray]:
    """Each plan's median minutes to its nearest counter, as `siting run` computes them.

    The plan's counters are searched as always open (the run's 24/7 measure) on the
    scenario's phase draws, the median taken over departure minute x draw of the
    per-departure minimum, with the scenario's walking (its street network if it names one);
    two plans share each pass over the connections.
    """
    window = _window(scenario)
    xy = np.column_stack([lsoas.geometry.x, lsoas.geometry.y])
    codes = lsoas["lsoa_code"].to_numpy()
    where = registry.set_index("counter_id")
    keys = sorted({tuple(sorted(ids)) for ids in plans})
    out: dict[tuple[str, ...], np.ndarray] = {}
    for first in range(0, len(keys), 2):
        pair = keys[first:first + 2]
        points = [where.loc[list(ids)].geometry for ids in pair]
        targets = {str(j): Targets.from_arrays(np.asarray(ids), np.column_stack([at.x, at.y]))
                   for j, (ids, at) in enumerate(zip(pair, points, strict=True))}
        pooled = served_over_draws(network, targets, xy, window, draws=scenario.transit.draws,
                                   seed=scenario.transit.seed,
                                   max_access_minutes=scenario.walking.max_access_minutes,
                                   street=street)
        for j, ids in enumerate(pair):
            served, target = pooled[str(j)]
            departures = np.tile(window.departures, served.shape[1] // len(window.departures))
            summary = summarise_served(served, target, departures, codes, targets[str(j)].ids)
            out[ids] = (summary.set_index("origin_id")["minutes_p50"].reindex(codes)
                        .to_numpy(dtype=float))
    return out


DEFAULT_CANDIDATE_RULE = "the scenario's open counters and the 73 open in 2017"


def default_candidates(scenario: Scenario) -> list[str]:
    """The counters `optimise_counters` chooses from by default, sorted: the scenario's open
    counters and the 73 open in 2017 (77 for the final strategy, which also names Church Street,
    Grenfell, Pinner and Ruislip). Benchmarks use this too, so their optimum is the CLI's."""
    known = load_counters()["counter_id"]
    return sorted(set(scenario.open_counters()) | (set(known) - set(NAMED_ONLY_IN_FINAL)))


def optimise_counters(
    scenario: Scenario,
    data_dir: Path,
    *,
    cache_dir: Path = Path(".cache/siting"),
    objective: Objective = "over45",
    candidates: Sequence[str] | None = None,
    references: Mapping[str, Sequence[str]] | None = None,
    exact: bool = True,
    time_limit_s: float = 120.0,
    num_workers: int = 1,
    seed: int = 0,
    progress: bool = False,
) -> CounterPlan:
    """Choose one 24/7 counter per borough (CP-SAT), compared with the strategy's choices.

    Parameters
    ----------
    candidates
        Registry counter ids to choose from. Default: the scenario's open counters plus the 73
        counters open in 2017 (every registry counter but those only the final strategy names,
        ``NAMED_ONLY_IN_FINAL``). Every borough with a registry counter needs a candidate.
    references
        Named 24/7 counter sets to compare with; default `strategy_choices()` (draft, final,
        baseline). The scenario's own 24/7 set is added as ``scenario`` when it differs. The
        five swaps are costed when both 'baseline' and 'final' are given.
    exact
        Also evaluate every plan (and each swap's counter sets) as `siting run` does: the
        plan's counters together, on the scenario's phase draws (two sets per pass over the
        connections).
    progress
        Show a progress bar while the per-counter matrix is computed (on a terminal only).
    """
    data_dir = Path(data_dir)
    cache_dir = Path(cache_dir)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    kind, threshold = _parse_objective(objective)
    registry = load_counters()
    known = registry["counter_id"]
    if candidates is None:
        rule = DEFAULT_CANDIDATE_RULE
        candidates = default_candidates(scenario)
    else:
        rule = "given"
    cands = _check_ids(candidates, known, "optimise_counters: candidates")
    refs = {name: tuple(_check_ids(ids, known, f"optimise_counters: references[{name!r}]"))
            for name, ids in (strategy_choices() if references is None else references).items()}
    own = tuple(sorted(scenario.counters.open_24h))
    if own not in refs.values():
        refs["scenario"] = own
    with_swaps = "baseline" in refs and "final" in refs
    swap_ids = {c for a, b, _ in STRATEGY_SWAPS for c in (a, b)} if with_swaps else set()
    needed = sorted(set(cands) | {c for ids in refs.values() for c in ids} | swap_ids)

    borough_of = dict(zip(registry["counter_id"], registry["borough_gss"], strict=True))
    names = dict(zip(registry["counter_id"], registry["name"], strict=True))
    boroughs = load_boroughs(data_dir, scenario.data)
    borough_name = dict(zip(boroughs["borough_code"], boroughs["borough"], strict=True))
    missing = sorted(set(borough_of.values()) - {borough_of[c] for c in cands})
    if missing:
        code = missing[0]
        options = sorted(c for c in known if borough_of[c] == code)
        raise InfeasibleError(
            f"optimise_counters: no candidate counter in {borough_name.get(code, code)} ({code}), "
            "so no plan can keep one 24/7 counter in every borough. Add one of its counters "
            f"({', '.join(options)}) to the candidates.")
    timings["setup"] = time.perf_counter() - clock

    clock = time.perf_counter()
    matrix, lsoas, network = _counter_matrix(scenario, data_dir, cache_dir, needed, registry,
                                             progress=progress)
    timings["matrix"] = time.perf_counter() - clock
    population = lsoas["population"].to_numpy()
    index = {c: j for j, c in enumerate(matrix.site_ids)}
    cand_cols = _plan_columns(cands, index)
    cap = float(scenario.transit.max_trip_minutes)

    clock = time.perf_counter()
    hint = None
    final = refs.get("final")
    if final and all(c in cands for c in final) and len({borough_of[c] for c in final}) == len(final):
        hint = [cands.index(c) for c in final]
    choice = choose_one_per_group(
        matrix.minutes[:, cand_cols], population, [borough_of[c] for c in cands],
        objective=objective, cap_minutes=cap, hint=hint, time_limit_s=time_limit_s,
        num_workers=num_workers, seed=seed)
    timings["solve"] = time.perf_counter() - clock
    plans: dict[str, tuple[str, ...]] = {"chosen": tuple(sorted(cands[c] for c in choice.chosen))}
    plans.update(refs)

    clock = time.perf_counter()
    nearest = {p: nearest_minutes(matrix.minutes, _plan_columns(ids, index))
               for p, ids in plans.items()}
    base = list(plans.get("baseline", ()))
    fin = list(plans.get("final", ()))
    # every counter set the exact figures need (the plans', then each swap's), in one batch
    wanted = [*plans.values(), *(ids for a, b, _ in (STRATEGY_SWAPS if with_swaps else ())
                                 for pair in _swap_pairs(a, b, base, fin).values()
                                 for ids in pair)]
    exact_minutes = (_exact_over(network, wanted, registry, lsoas, scenario,
                                 street_network(scenario, data_dir)) if exact else {})

    def exact_of(ids: Iterable[str]) -> np.ndarray:
        return exact_minutes[tuple(sorted(ids))]

    exact_nearest = {p: exact_of(ids) for p, ids in plans.items()} if exact else {}
    ts = tuple(scenario.thresholds)

    def over(values: np.ndarray, t: float, mask: np.ndarray | None = None) -> int:
        flag = np.isnan(values) | (values > t)
        if mask is not None:
            flag &= mask
        return int(population[flag].sum())

    totals = []
    for p, ids in plans.items():
        row: dict[str, Any] = {"plan": p, "counters": len(ids)}
        row.update({f"pop_over_{t}": over(nearest[p], t) for t in ts})
        row["mean_minutes"] = round(_mean_minutes(nearest[p], population, cap), 4)
        for t in ts:
            row[f"exact_pop_over_{t}"] = over(exact_nearest[p], t) if exact else None
        row["exact_mean_minutes"] = (round(_mean_minutes(exact_nearest[p], population, cap), 4)
                                     if exact else None)
        totals.append(row)
    swap_columns = ["borough", "from_id", "to_id", "kept_in_final",
                    *[f"{e}delta_over_{t}_vs_{ref}" for e in ("", "exact_")
                      for ref in ("baseline", "final") for t in ts]]

    rows = []
    lsoa_borough = lsoas["borough_code"].to_numpy()
    cand_count = pd.Series([borough_of[c] for c in cands]).value_counts()
    for code in sorted(set(borough_name) | set(borough_of.values())):
        inside = lsoa_borough == code
        row = {"borough_code": code, "borough": borough_name.get(code, code),
               "population": int(population[inside].sum()),
               "candidates": int(cand_count.get(code, 0))}
        for p, ids in plans.items():
            row[p] = "+".join(c for c in ids if borough_of[c] == code)
        for t in ts:
            for p in plans:
                row[f"pop_over_{t}_{p}"] = over(nearest[p], t, inside)
        if "final" in plans:
            # the final plan with only this borough switched to the optimum's counter(s)
            switched = [c for c in plans["final"] if borough_of[c] != code] + \
                [c for c in plans["chosen"] if borough_of[c] == code]
            near = nearest_minutes(matrix.minutes, _plan_columns(switched, index))
            for t in ts:
                row[f"switch_delta_over_{t}"] = over(near, t) - over(nearest["final"], t)
        rows.append(row)
    table = pd.DataFrame(rows)

    swaps = []
    for a, b, kept in STRATEGY_SWAPS if with_swaps else ():
        row = {"borough": borough_name.get(borough_of[a], borough_of[a]), "from_id": a,
               "to_id": b, "kept_in_final": kept}
        for ref, (before, after) in _swap_pairs(a, b, base, fin).items():
            for t in ts:
                row[f"delta_over_{t}_vs_{ref}"] = (
                    over(nearest_minutes(matrix.minutes, _plan_columns(after, index)), t)
                    - over(nearest_minutes(matrix.minutes, _plan_columns(before, index)), t))
                row[f"exact_delta_over_{t}_vs_{ref}"] = (
                    over(exact_of(after), t) - over(exact_of(before), t) if exact else None)
        swaps.append(row)
    timings["exact"] = time.perf_counter() - clock

    unit = "people" if kind == "over" else "min"
    objective_text = (f"fewest people over {threshold:g} minutes (ties: lowest mean minutes)"
                      if kind == "over" else
                      "lowest population-weighted mean of the median minutes (p-median)")
    figures = {
        "objective": objective, "objective_text": objective_text, "primary_unit": unit,
        "primary": choice.primary, "tie_break": choice.tie_break, "model_size": choice.model_size,
        "seed": seed, "num_workers": num_workers, "time_limit_s": time_limit_s,
        "candidate_rule": rule, "cap_minutes": cap,
    }
    return CounterPlan(
        scenario_id=scenario.id, objective=objective, thresholds=ts, candidates=tuple(cands),
        plans=plans, table=table, totals=pd.DataFrame(totals),
        swaps=pd.DataFrame(swaps, columns=swap_columns),
        figures=figures, names=names, timings={k: round(v, 3) for k, v in timings.items()})


def _swap_pairs(a: str, b: str, baseline: list[str], final: list[str]
                ) -> dict[str, tuple[list[str], list[str]]]:
    """The counter sets before and after swapping ``a`` for ``b``, against the baseline and
    against the final plan (the final with the swap undone, and as it is)."""
    return {"baseline": (baseline, [b if c == a else c for c in baseline]),
            "final": ([a if c == b else c for c in final], [b if c == a else c for c in final])}

