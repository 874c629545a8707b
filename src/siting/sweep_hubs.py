"""Hub plans under uncertainty: which wards lose their hub, and the cheapest robust plan.

Walking varies between samples through the walk speed v and the circuity c. A crow-fly walk of
d metres takes d * c / v, so every ward-site walk of a sample is the scenario's walk times
k_s = (c_s / c_0) * (v_0 / v_s) (on a real street network only v varies: k_s = v_0 / v_s).
One coverage table computed at the longest reach the samples need therefore gives every
sample's coverage: pair (w, j) is within the limit L in sample s iff minutes_wj * k_s <= L.

Robust plan (OR-Tools CP-SAT), for a share q (e.g. 0.9) of the S samples::

    y_j in {0,1}   site j is an open hub          z_ws in {0,1}   ward w has a hub in sample s
    minimise  sum_j cost_j y_j
    z_ws  =>  OR_{j: minutes_wj k_s <= L} y_j        (z_ws = 0 when no site reaches w in s)
    sum_s z_ws >= ceil(q S)     for every ward w that the full candidate set covers in at
                                least ceil(q S) samples ("coverable"); the others are listed
    y_j = 1 for must_open; forbidden sites have no pairs

With q = 1 and one sample at k = 1 this is the scenario's own set cover (its cost is the
baseline the robust plan's extra cost is measured against). Capacities, max_hubs and the walk
tie-break of `siting run` are not part of this model (docs/sweep.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RobustPlan", "hub_risk", "robust_plan", "walk_factors"]


def walk_factors(design: pd.DataFrame, base: dict[str, float], *, street: bool = False) -> np.ndarray:
    """k_s per sample: how much longer each walk is than in the scenario (see module doc)."""
    n = len(design)
    speed = design["walk_speed_kmh"].to_numpy(float) if "walk_speed_kmh" in design else np.full(
        n, base["walk_speed_kmh"])
    circuity = design["circuity"].to_numpy(float) if "circuity" in design else np.full(
        n, base["circuity"])
    k = base["walk_speed_kmh"] / speed
    if not street:
        k = k * circuity / base["circuity"]
    return k


def hub_risk(assignment: pd.DataFrame, factors: np.ndarray, limit: float) -> tuple[pd.DataFrame, float]:
    """Per assigned ward, the chance its hub is beyond the walk limit; and the share of samples
    in which every ward keeps its hub within the limit.

    ``assignment``: ward_code, site_id, minutes (the scenario's plan).
    """
    minutes = assignment["minutes"].to_numpy(float)
    beyond = minutes[:, None] * np.asarray(factors)[None, :] > limit + 1e-9
    frame = assignment[["ward_code", "site_id", "minutes"]].copy()
    frame["chance_beyond_limit"] = beyond.mean(axis=1) if len(factors) else 0.0
    frame["walk_minutes_p90"] = (np.percentile(minutes[:, None] * factors[None, :], 90, axis=1)
                                 if len(factors) and len(minutes) else np.nan)
    holds = float((~beyond.any(axis=0)).mean()) if len(factors) and len(minutes) else 1.0
    frame = frame.sort_values(["chance_beyond_limit", "ward_code"], ascending=[False, True],
                              kind="stable").reset_index(drop=True)
    return frame, holds


@dataclass(frozen=True)
class RobustPlan:
    """The cheapest hub plan covering every coverable ward in at least `share` of the samples."""

    share: float
    status: str
    sites: list[str]
    cost: float
    baseline_sites: list[str]
    baseline_cost: float
    uncoverable: list[str]
    """Wards no candidate set covers in enough samples (listed, not fatal)."""

    def figures(self) -> dict[str, Any]:
        """JSON-able figures: hubs and cost of both plans and the robust plan's extra."""
        return {
            "share": self.share, "status": self.status,
            "hubs": len(self.sites), "cost": self.cost,
            "baseline_hubs": len(self.baseline_sites), "baseline_cost": self.baseline_cost,
            "extra_hubs": len(self.sites) - len(self.baseline_sites),
            "extra_cost": round(self.cost - self.baseline_cost, 6),
            "uncoverable_wards": self.uncoverable, "sites": self.sites,
        }


def _solve(table: pd.DataFrame, costs: pd.Series, factors: np.ndarray, limit: float,
           share: float, must_open: Sequence[str], time_limit_s: float,
           ) -> tuple[str, list[str], float, list[str]]:
    from ortools.sat.python import cp_model

    sites = sorted(set(table["site_id"]) | set(must_open))
    index = {s: i for i, s in enumerate(sites)}
    scale = 100
    model = cp_model.CpModel()
    y = [model.NewBoolVar(f"y{i}") for i in range(len(sites))]
    for s in must_open:
        model.Add(y[index[s]] == 1)
    n_samples = len(factors)
    need = max(1, math.ceil(share * n_samples - 1e-9))
    uncoverable = []
    for ward, group in table.groupby("ward_code", sort=True):
        site_idx = group["site_id"].map(index).to_numpy()
        minutes = group["minutes"].to_numpy(float)
        covers = minutes[:, None] * factors[None, :] <= limit + 1e-9  # pairs x samples
        reachable = covers.any(axis=0)
        if reachable.sum() < need:
            uncoverable.append(str(ward))
            continue
        # Samples with the same covering set share one indicator (weighted by how many they are).
        groups: dict[tuple[int, ...], int] = {}
        for s in np.flatnonzero(reachable):
            key = tuple(sorted(site_idx[covers[:, s]]))
            groups[key] = groups.get(key, 0) + 1
        terms = []
        for key, count in sorted(groups.items()):
            z = model.NewBoolVar("")
            model.AddBoolOr([y[i] for i in key]).OnlyEnforceIf(z)
            terms.append(count * z)
        model.Add(sum(terms) >= need)
    cost_int = [round(float(costs.get(s, 1.0)) * scale) for s in sites]
    model.Minimize(sum(c * v for c, v in zip(cost_int, y, strict=True)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = time_limit_s
    solver.parameters.linearization_level = 2
    status = solver.Solve(model)
    name = solver.StatusName(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return name, [], float("nan"), uncoverable
    chosen = [s for s, v in zip(sites, y, strict=True) if solver.Value(v)]
    return name, chosen, sum(float(costs.get(s, 1.0)) for s in chosen), uncoverable


def robust_plan(table: pd.DataFrame, costs: pd.Series, factors: np.ndarray, *, limit: float,
                share: float, must_open: Sequence[str] = (), time_limit_s: float = 60.0) -> RobustPlan:
    """Solve the robust model and the scenario's own (k = 1) set cover on the same table.

    ``table``: ward_code, site_id, minutes at the scenario's walking (pairs out to the longest
    reach any sample needs); ``costs``: site_id -> cost; ``factors``: k_s per sample.
    """
    factors = np.asarray(factors, dtype=float)
    status, chosen, cost, uncoverable = _solve(table, costs, factors, limit, share, must_open,
                                               time_limit_s)
    _, base_sites, base_cost, _ = _solve(table, costs, np.ones(1), limit, 1.0, must_open,
                                         time_limit_s)
    return RobustPlan(share=share, status=status, sites=chosen, cost=cost,
                      baseline_sites=base_sites, baseline_cost=base_cost, uncoverable=uncoverable)
