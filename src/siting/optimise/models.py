"""The optimisers on a plain (origins x sites) minutes matrix: one per group, maximal covering.

Matrix first, geography elsewhere (spopt style): these take arrays and know nothing of London;
`siting.optimise.counters` and `siting.optimise.alternatives` build the matrix and call them.
The formulations are written in `siting.optimise`'s docstring.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from siting._cpsat import make_solver
from siting._errors import InfeasibleError, ScenarioError
from siting._signals import interruptible

__all__ = ["CoverChoice", "GroupChoice", "choose_one_per_group", "max_cover", "nearest_minutes",
           "population_over"]

# ---------------------------------------------------------------------------------------------
# Evaluating a choice on the matrix


def nearest_minutes(minutes: np.ndarray, chosen: Sequence[int]) -> np.ndarray:
    """Per origin: the least minutes over the chosen columns (NaN when none is reachable)."""
    block = np.asarray(minutes, dtype=float)[:, list(chosen)]
    if block.shape[1] == 0:
        return np.full(block.shape[0], np.nan)
    filled = np.where(np.isnan(block), np.inf, block).min(axis=1)
    return np.where(np.isfinite(filled), filled, np.nan)


def population_over(minutes: np.ndarray, population: np.ndarray, chosen: Sequence[int],
                    threshold: float) -> int:
    """People whose nearest chosen site is more than `threshold` minutes away (or unreachable)."""
    nearest = nearest_minutes(minutes, chosen)
    over = np.isnan(nearest) | (nearest > threshold)
    return int(np.asarray(population)[over].sum())


def _mean_minutes(nearest: np.ndarray, population: np.ndarray, cap: float) -> float:
    """Population-weighted mean of the nearest minutes, unreachable (or beyond cap) = cap."""
    total = float(np.sum(population))
    if total == 0:
        return float("nan")
    return float(np.sum(np.minimum(np.nan_to_num(nearest, nan=cap), cap) * population) / total)


# ---------------------------------------------------------------------------------------------
# CP-SAT models on the matrix

_TICKS = 120
"""Objective units per minute: a p50 is a multiple of half a second (a mean of two seconds)."""


def _parse_objective(objective: str) -> tuple[str, float | None]:
    if objective == "median":
        return "median", None
    match = re.fullmatch(r"over(\d+)", str(objective))
    if not match or int(match.group(1)) <= 0:
        raise ScenarioError(f"objective {objective!r} is not known. Use 'over45', 'over60' (the "
                            "population over T minutes, any T > 0 as 'overT') or 'median' (the "
                            "population-weighted mean of the median minutes).")
    return "over", float(match.group(1))


def _figures(solver: cp_model.CpSolver, status: Any, scale: float, offset: float,
             seconds: float) -> dict[str, Any]:
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        value = (solver.objective_value + offset) / scale
        bound = (solver.best_objective_bound + offset) / scale
    else:
        value = bound = float("nan")
    gap = abs(value - bound) / max(abs(value), 1e-9) if math.isfinite(value) else float("nan")
    return {"status": solver.status_name(status), "objective": value, "best_bound": bound,
            "gap": gap, "seconds": round(seconds, 3), "branches": int(solver.num_branches)}


@dataclass(frozen=True)
class GroupChoice:
    """One chosen column per group, and the solver's figures per stage."""

    chosen: tuple[int, ...]
    """Chosen column index of each group, in the order of sorted group labels."""
    groups: tuple[str, ...]
    """The sorted group labels."""
    primary: dict[str, Any]
    """Status, objective (people over T, or mean minutes), best bound, gap, seconds."""
    tie_break: dict[str, Any] | None
    """Second stage: the p-median objective with the primary optimum fixed (None if skipped)."""
    model_size: dict[str, int] = field(default_factory=dict)


def _group_terms(ticks: np.ndarray, minutes: np.ndarray, population: np.ndarray,
                 group_of: np.ndarray, group_size: np.ndarray, threshold: float | None,
                 ) -> tuple[dict[int, int], int, dict[int, int], int]:
    """Merged radius-formulation terms: p-median {set mask: weight}, base; cover {mask: pop}, const.

    Masks are Python ints with bit c for column c. Sets holding a whole group are dropped
    (some chosen counter is always inside them).
    """
    n_o, n_c = ticks.shape
    median: dict[int, int] = {}
    cover: dict[int, int] = {}
    base = 0
    over_const = 0
    order_all = np.argsort(ticks, axis=1, kind="stable")
    for i in range(n_o):
        pop = int(population[i])
        if pop == 0:
            continue
        order = order_all[i]
        values = ticks[i, order]
        base += pop * int(values[0])
        seen = np.zeros(len(group_size), dtype=np.int64)
        mask = 0
        k = 0
        while k < n_c:
            level = values[k]
            complete = False
            while k < n_c and values[k] == level:
                c = int(order[k])
                mask |= 1 << c
                seen[group_of[c]] += 1
                complete |= seen[group_of[c]] == group_size[group_of[c]]
                k += 1
            if complete:
                break
            step = int(values[k]) - int(level)
            median[mask] = median.get(mask, 0) + pop * step
        if threshold is not None:
            within = np.flatnonzero(minutes[i] <= threshold)
            if len(within) == 0:
                over_const += pop
                continue
            counts = np.bincount(group_of[within], minlength=len(group_size))
            if np.any(counts == group_size):
                continue
            cmask = 0
            for col in within.tolist():
                cmask |= 1 << col
            cover[cmask] = cover.get(cmask, 0) + pop
    return median, base, cover, over_const


def _bits(mask: int) -> list[int]:
    out = []
    c = 0
    while mask:
        if mask & 1:
            out.append(c)
        mask >>= 1
        c += 1
    return out


def choose_one_per_group(
    minutes: np.ndarray,
    population: np.ndarray,
    groups: Sequence[str],
    *,
    objective: str = "over45",
    cap_minutes: float = 180.0,
    tie_break: bool = True,
    hint: Sequence[int] | None = None,
    time_limit_s: float = 120.0,
    num_workers: int = 1,
    seed: int = 0,
) -> GroupChoice:
    """Choose exactly one column per group to minimise the objective (see the module docstring).

    Parameters
    ----------
    minutes
        Origins x candidates, median minutes (NaN = unreachable).
    population
        People per origin (non-negative integers).
    groups
        The group (borough) of each candidate column.
    objective
        'overT' (e.g. 'over45'): people whose nearest chosen candidate is over T minutes away;
        'median': sum of people x minutes to the nearest chosen candidate (minutes capped at
        ``cap_minutes``, unreachable = cap).
    tie_break
        After an 'overT' optimum, fix it and minimise the 'median' objective among the ties.
    hint
        A feasible choice (column indices) to start the search from.
    """
    minutes = np.asarray(minutes, dtype=float)
    population = np.asarray(population)
    n_o, n_c = minutes.shape
    if len(groups) != n_c or len(population) != n_o:
        raise ScenarioError(f"choose_one_per_group: {n_c} candidate columns but {len(groups)} "
                            f"group labels, {n_o} origins but {len(population)} populations. "
                            "Give one label per column and one population per origin.")
    if np.any(population < 0):
        raise ScenarioError("choose_one_per_group: negative population; give people counts >= 0.")
    kind, threshold = _parse_objective(objective)
    labels = tuple(sorted(set(map(str, groups))))
    group_of = np.array([labels.index(str(g)) for g in groups], dtype=np.int64)
    group_size = np.bincount(group_of, minlength=len(labels))
    capped = np.minimum(np.nan_to_num(minutes, nan=cap_minutes), cap_minutes)
    ticks = np.round(capped * _TICKS).astype(np.int64)
    median, base, cover, over_const = _group_terms(ticks, minutes, population, group_of,
                                                   group_size, threshold)

    model = cp_model.CpModel()
    y = [model.new_bool_var(f"y{c}") for c in range(n_c)]
    for g in range(len(labels)):
        model.add_exactly_one([y[c] for c in np.flatnonzero(group_of == g)])
    masks = sorted(set(median) | set(cover))
    u = {}
    for j, mask in enumerate(masks):
        u[mask] = model.new_bool_var(f"u{j}")
        model.add_bool_or([u[mask], *(y[c] for c in _bits(mask))])
    median_expr = sum(w * u[m] for m, w in sorted(median.items()))
    cover_expr = sum(w * u[m] for m, w in sorted(cover.items()))
    if hint is not None:
        for c in range(n_c):
            model.add_hint(y[c], c in set(hint))
    total = max(int(population.sum()), 1)
    size = {"candidates": n_c, "groups": len(labels), "set_variables": len(masks),
            "median_terms": len(median), "cover_terms": len(cover)}

    def solve(expr: Any, scale: float, offset: float) -> tuple[dict[str, Any], list[int]]:
        model.minimize(expr)
        solver = interruptible(make_solver(time_limit_s, workers=num_workers, seed=seed))
        start = time.perf_counter()
        status = solver.solve(model)
        figures = _figures(solver, status, scale, offset, time.perf_counter() - start)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise InfeasibleError(
                f"choose one counter per borough: CP-SAT found no solution ({figures['status']}) "
                f"within {time_limit_s:g} s. Check that every borough has a candidate, or raise "
                "the time limit.")
        return figures, [c for c in range(n_c) if solver.boolean_value(y[c])]

    if kind == "median":
        primary, chosen = solve(median_expr, _TICKS * total, base)
        second = None
    else:
        primary, chosen = solve(cover_expr, 1.0, over_const)
        second = None
        if tie_break and primary["status"] == "OPTIMAL" and median:
            if cover:
                model.add(cover_expr <= round(primary["objective"] - over_const))
            model.clear_hints()
            for c in range(n_c):
                model.add_hint(y[c], c in set(chosen))
            second, chosen = solve(median_expr, _TICKS * total, base)
    by_group = sorted(chosen, key=lambda c: group_of[c])
    return GroupChoice(chosen=tuple(int(c) for c in by_group), groups=labels, primary=primary,
                       tie_break=second, model_size=size)


@dataclass(frozen=True)
class CoverChoice:
    """The k chosen sites of a maximal covering problem and the people they bring within T."""

    chosen: tuple[int, ...]
    gained: int
    figures: dict[str, Any]


def max_cover(
    minutes: np.ndarray,
    population: np.ndarray,
    k: int,
    *,
    threshold: float,
    covered: np.ndarray | None = None,
    time_limit_s: float = 60.0,
    num_workers: int = 1,
    seed: int = 0,
) -> CoverChoice:
    """Choose at most k sites (columns) bringing most uncovered people within `threshold` minutes.

    ``covered`` marks origins already within the threshold (e.g. of a 24/7 counter); they gain
    nothing. Among choices gaining equally many people the fewest sites win, so fewer than k
    sites come back once every reachable person is covered. Returns the chosen columns
    (ascending) and the people gained.
    """
    minutes = np.asarray(minutes, dtype=float)
    population = np.asarray(population)
    n_o, n_s = minutes.shape
    if not 1 <= k <= n_s:
        raise ScenarioError(f"max_cover: k = {k} but there are {n_s} candidate sites; choose k "
                            f"between 1 and {n_s}.")
    covered = np.zeros(n_o, dtype=bool) if covered is None else np.asarray(covered, dtype=bool)
    weights: dict[int, int] = {}
    for i in np.flatnonzero(~covered & (population > 0)):
        within = np.flatnonzero(minutes[i] <= threshold)
        if len(within):
            mask = 0
            for s in within:
                mask |= 1 << int(s)
            weights[mask] = weights.get(mask, 0) + int(population[i])
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{s}") for s in range(n_s)]
    model.add(sum(x) <= k)
    terms = []
    for j, (mask, w) in enumerate(sorted(weights.items())):
        z = model.new_bool_var(f"z{j}")
        model.add_bool_or([x[s] for s in _bits(mask)]).only_enforce_if(z)
        terms.append(w * z)
    # people first; among equal gains, fewest sites (no site is added that gains nobody)
    scale = n_s + 1
    model.maximize(scale * sum(terms) - sum(x))
    solver = interruptible(make_solver(time_limit_s, workers=num_workers, seed=seed))
    start = time.perf_counter()
    status = solver.solve(model)
    figures = _figures(solver, status, 1.0, 0.0, time.perf_counter() - start)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # scale * people - sites with 0 <= sites < scale: people = ceil(value / scale)
        figures["objective"] = float(math.ceil(solver.objective_value / scale - 1e-9))
        figures["best_bound"] = float(math.ceil(solver.best_objective_bound / scale - 1e-9))
        figures["gap"] = (abs(figures["best_bound"] - figures["objective"])
                          / max(figures["objective"], 1e-9))
    figures["cover_sets"] = len(weights)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise InfeasibleError(f"max_cover: CP-SAT found no solution ({figures['status']}) within "
                              f"{time_limit_s:g} s; raise the time limit.")
    chosen = tuple(s for s in range(n_s) if solver.boolean_value(x[s]))
    gained = sum(w for mask, w in weights.items() if any(mask >> s & 1 for s in chosen))
    return CoverChoice(chosen=chosen, gained=int(gained), figures=figures)
