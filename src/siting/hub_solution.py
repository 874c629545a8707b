"""A hub siting's answer, and why there is none: `HubSolution` and `InfeasibilityReport`.

The two report builders here need no solver: which wards no site reaches (with each one's
nearest site and the walk limit that would reach it), and must_open listing more sites than
max_hubs allows, each with its fix. The reports that need a solve (max_hubs or capacity too
tight) are built by `siting.hubs.HubSiting`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from siting._errors import InfeasibleError

__all__ = ["UNCOVERED_COLUMNS", "HubSolution", "InfeasibilityReport", "hub_count",
           "infeasible_error", "must_open_report", "uncovered_report"]

UNCOVERED_COLUMNS = ["ward_code", "ward_name", "nearest_site_id", "nearest_name",
                     "nearest_minutes", "limit_needed"]


@dataclass(frozen=True)
class InfeasibilityReport:
    """Why the hub model has no solution (or, in report mode, which wards it leaves out)."""

    reason: Literal["no_candidate_within_limit", "max_hubs", "capacity", "must_open"]
    message: str
    limit_minutes: float
    uncovered: pd.DataFrame = field(repr=False)
    """Wards no candidate reaches within the limit: ward_code, ward_name, nearest_site_id,
    nearest_name, nearest_minutes, limit_needed (empty for the other reasons)."""
    max_hubs: int | None = None
    min_hubs_needed: int | None = None
    """Fewest hubs that cover every ward (with the capacities, must_open and forbidden sites),
    ignoring max_hubs; None when that is itself infeasible."""
    min_hubs_proven: bool = True
    min_hubs_without_capacity: int | None = None
    suggested_limit_minutes: float | None = None
    """Smallest walk limit (0.1-minute steps) at which every uncovered ward has a candidate."""


@dataclass(frozen=True)
class HubSolution:
    """A solved hub model: the open hubs, every ward's hub, and how good the answer is."""

    status: str
    """'OPTIMAL' when the total cost is proven minimal, else 'FEASIBLE' (see gap)."""
    objective: float
    """Total cost of the open hubs (sum of site costs)."""
    best_bound: float
    gap: float
    """(objective - best_bound) / objective; 0 when proven optimal."""
    solve_seconds: float
    open_sites: pd.DataFrame = field(repr=False)
    """site_id, name, kind, cost, capacity, wards_served, officers, max_minutes; by site_id."""
    assignment: pd.DataFrame = field(repr=False)
    """ward_code, site_id, minutes; sorted by ward_code."""
    total_minutes: float
    """Sum over wards of the walk from hub to ward (the tie-break objective)."""
    tie_break_status: str
    """'OPTIMAL', 'FEASIBLE' (best found; see total_minutes_bound) or 'SKIPPED'."""
    total_minutes_bound: float
    limit_minutes: float
    n_hubs: int
    workers: int
    seed: int
    uncovered: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=UNCOVERED_COLUMNS),
                                    repr=False)
    """Wards left out because no candidate reaches them (only with ``uncovered='report'``)."""
    infeasibility: InfeasibilityReport | None = None
    """The explanation of ``uncovered`` (None when every ward is covered)."""

    @property
    def optimal(self) -> bool:
        """True when the total cost is proven minimal."""
        return self.status == "OPTIMAL"

    @property
    def walk_minutes(self) -> float:
        """Total ward-to-hub walk minutes (same as total_minutes)."""
        return self.total_minutes

    @property
    def max_minutes(self) -> float:
        """Longest walk from a ward to its hub."""
        return float(self.assignment["minutes"].max()) if len(self.assignment) else 0.0

    def explain_uncovered(self) -> str:
        """Why wards were left out and what would cover them ('' when none were)."""
        return self.infeasibility.message if self.infeasibility is not None else ""

    def figures(self) -> dict[str, Any]:
        """JSON-able solver figures for the report."""
        kinds = (self.open_sites.groupby("kind").size().sort_index()
                 if len(self.open_sites) and "kind" in self.open_sites else pd.Series(dtype=int))
        return {
            "status": self.status,
            "objective_cost": round(self.objective, 4),
            "best_bound": round(self.best_bound, 4),
            "gap": round(self.gap, 6),
            "total_walk_minutes": round(self.total_minutes, 2),
            "tie_break_status": self.tie_break_status,
            "hubs": self.n_hubs,
            "hubs_by_kind": {str(k): int(v) for k, v in kinds.items()},
            "wards_covered": len(self.assignment),
            "wards_uncovered": self.uncovered["ward_code"].tolist(),
            "uncovered_explained": self.explain_uncovered(),
            "max_walk_minutes": round(self.max_minutes, 2),
            "solve_seconds": round(self.solve_seconds, 3),
        }


def hub_count(n: int | None) -> str:
    """'1 hub' or 'n hubs', for messages."""
    return f"{n} hub" if n == 1 else f"{n} hubs"


def infeasible_error(report: InfeasibilityReport) -> InfeasibleError:
    """The `InfeasibleError` carrying ``report`` (as ``.report``)."""
    error = InfeasibleError(report.message)
    error.report = report  # type: ignore[attr-defined]
    return error


def must_open_report(must_open: tuple[str, ...], max_hubs: int | None, limit_minutes: float,
                     empty: pd.DataFrame) -> InfeasibilityReport | None:
    """The report when must_open lists more sites than max_hubs allows, else None."""
    if max_hubs is not None and len(must_open) > max_hubs:
        return InfeasibilityReport(
            reason="must_open", limit_minutes=limit_minutes, uncovered=empty.iloc[:0],
            max_hubs=max_hubs,
            message=(f"Hub siting is infeasible: hubs.must_open lists {len(must_open)} sites "
                     f"but hubs.max_hubs allows only {max_hubs}. Raise max_hubs to at least "
                     f"{len(must_open)} or shorten must_open."),
        )
    return None


def uncovered_report(uncovered: pd.DataFrame, limit_minutes: float, forbidden: tuple[str, ...],
                     max_hubs: int | None) -> InfeasibilityReport:
    """The report naming each ward no site reaches, its nearest site and the limit needed."""
    lines = []
    for row in uncovered.itertuples(index=False):
        if row.nearest_site_id is None:
            lines.append(f"  - {row.ward_name} ({row.ward_code}): no candidate site can be walked to")
        else:
            lines.append(
                f"  - {row.ward_name} ({row.ward_code}): nearest candidate {row.nearest_name} "
                f"({row.nearest_site_id!s}) is {row.nearest_minutes:.2f} min away; a limit of "
                f"{row.limit_needed:.1f} min would cover it"
            )
    n = len(uncovered)
    suggest = float(uncovered["limit_needed"].max()) if uncovered["limit_needed"].notna().all() else None
    raise_limit = f"raise hubs.walk_limit_minutes to {suggest:.1f}, " if suggest is not None else ""
    message = (
        f"Hub siting is infeasible: {n} ward{'s' if n != 1 else ''} "
        f"{'have' if n != 1 else 'has'} no candidate site within a {limit_minutes:g}-minute walk"
        f"{' (forbidden sites excluded)' if forbidden else ''}:\n" + "\n".join(lines) + "\n"
        f"Fix: add a candidate site in or near {'these wards' if n != 1 else 'this ward'} "
        f"(hubs.candidate_csv), {raise_limit}or leave {'them' if n != 1 else 'it'} out (hubs.wards)."
    )
    return InfeasibilityReport(reason="no_candidate_within_limit", message=message,
                               limit_minutes=limit_minutes, uncovered=uncovered,
                               max_hubs=max_hubs, suggested_limit_minutes=suggest)
