"""One OR-Tools CP-SAT solver setup for every model in siting (hubs, counters, alternatives)."""

from __future__ import annotations

from typing import Any

from ortools.sat.python import cp_model

__all__ = ["make_solver", "status_name"]


def make_solver(time_limit_s: float, *, workers: int = 1, seed: int = 0,
                deterministic_time: bool = False,
                linearization_level: int | None = None) -> cp_model.CpSolver:
    """A seeded CP-SAT solver; several workers interleave their search so runs stay deterministic.

    ``deterministic_time``: the limit is CP-SAT's deterministic time (a run cut short is
    reproducible), with a wall-clock cap of twice the limit plus 5 s against runaway runs;
    otherwise it is wall seconds. ``linearization_level`` 2 puts covering clauses in the LP
    (see `siting.hubs.HubSiting`).
    """
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = max(1, int(workers))
    params.random_seed = int(seed)
    limit = max(0.01, float(time_limit_s))
    if deterministic_time:
        params.max_deterministic_time = limit
        params.max_time_in_seconds = 2.0 * limit + 5.0
    else:
        params.max_time_in_seconds = limit
    if linearization_level is not None:
        params.linearization_level = int(linearization_level)
    if params.num_workers > 1:
        params.interleave_search = True
    return solver


def status_name(status: Any) -> str:
    """'OPTIMAL', 'FEASIBLE', 'INFEASIBLE', 'MODEL_INVALID' or 'UNKNOWN'."""
    return {cp_model.OPTIMAL: "OPTIMAL", cp_model.FEASIBLE: "FEASIBLE",
            cp_model.INFEASIBLE: "INFEASIBLE",
            cp_model.MODEL_INVALID: "MODEL_INVALID"}.get(status, "UNKNOWN")
