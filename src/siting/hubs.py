"""DWO hub siting: choose the cheapest set of hubs so every ward is within a walk of its hub.

Matrix first (spopt style): `HubSiting.from_cost_matrix` takes a long table of
(ward_code, site_id, minutes); `HubSiting.from_geodataframes` only computes that table with
`walk_matrix` (`siting.hub_matrix`) and delegates. `HubSiting.solve` runs OR-Tools CP-SAT and
returns a frozen `HubSolution`, or raises `InfeasibleError` carrying an `InfeasibilityReport`
that says why (`siting.hub_solution`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from siting._cpsat import make_solver, status_name
from siting._errors import DataError, ScenarioError, SitingError
from siting._signals import interruptible
from siting.hub_cover import integer_costs, reduce_cover
from siting.hub_matrix import Target, Walk, bng_frame, nearest_sites, walk_matrix
from siting.hub_solution import (
    UNCOVERED_COLUMNS,
    HubSolution,
    InfeasibilityReport,
    hub_count,
    infeasible_error,
    must_open_report,
    uncovered_report,
)
from siting.hub_tables import site_table, ward_table

__all__ = [
    "OFFICERS_PER_WARD",
    "HubSiting",
    "HubSolution",
    "InfeasibilityReport",
    "nearest_sites",
    "walk_matrix",
]

log = logging.getLogger(__name__)

OFFICERS_PER_WARD = 3
"""Officers based at a ward's hub: at least 2 DWOs and 1 PCSO per ward (the 2017 strategy)."""

NearestSource: TypeAlias = pd.DataFrame | Callable[[Sequence[str]], pd.DataFrame] | None
Uncovered: TypeAlias = Literal["report", "raise"]

_MINUTE_SCALE = 100
"""Walk minutes enter the tie-break objective as whole hundredths of a minute."""


class HubSiting:
    """Choose DWO hubs: the cheapest set of candidate sites such that every ward is based at
    an open hub within the walk limit (spopt's LSCP with costs, capacities and a walk-time
    tie-break).

    Formulation (OR-Tools CP-SAT). Wards w, candidate sites s, walk minutes t_ws; the allowed
    pairs P are those with t_ws <= limit and s not forbidden; c_s are the site costs made whole
    (times the smallest power of ten that does it) and m_ws = round(100 t_ws)::

        y_s in {0,1}  site s is an open hub          x_ws in {0,1}  ward w is based at hub s
        phase 1:  minimise  C = sum_s c_s y_s
                  sum_{s:(w,s) in P} x_ws = 1          every ward has exactly one hub in reach
                  x_ws <= y_s                          only at an open hub
                  sum_w o_w x_ws <= cap_s y_s          officers held (o_w = 3: 2 DWOs + 1 PCSO)
                  sum_w x_ws <= K y_s                  wards per hub (capacity_wards = K)
                  sum_s y_s <= max_hubs;   y_s = 1 for must_open;   forbidden sites have no pairs
        phase 2:  minimise  sum_ws m_ws x_ws   subject to the above and C <= C*   (tie-break)

    The two phases give the lexicographic optimum exactly: the cheapest hub set, then among the
    cheapest the shortest total walk. Without capacities the x variables are not needed:
    phase 1 is the set cover ``OR_{s:(w,s) in P} y_s`` for each ward, first reduced by
    dominance (drop a site whose wards a no-dearer site also covers; drop a ward whose
    candidates include all of another ward's); phase 2 uses the radius formulation (Elloumi
    2004): for ward w with candidates sorted by walk d_1 <= d_2 <= ..., a Boolean z_wk with
    z_wk OR y_{s_1} OR ... OR y_{s_k}, and the ward's walk is d_1 + sum_k (d_{k+1} - d_k) z_wk,
    i.e. each ward walks to its nearest open hub, which is how wards are then assigned.

    Solver settings, measured on the London matrix on 2 cores (bench/bench_hubs.py): one worker
    with ``linearization_level=2``. The covering clauses reach the LP only at level 2; with it one
    worker proves the 700-candidate optimum in about 0.1 s, while CP-SAT's default 2-worker
    portfolio left the bound at 42 against an optimum of 100 after 30 s. ``workers > 1`` uses
    ``interleave_search`` so runs stay deterministic. The time limit is CP-SAT's deterministic
    time (about seconds) so a run that stops early is reproducible; a wall-clock cap of twice the
    limit (+5 s) guards against runaway runs. An unproven phase 1 reports its ``gap``.
    The walk tie-break costs most (final scenario: about 2 CPU-s against 0.15 s for the cost):
    with the cost capped at its optimum its LP bound is 367,742 hundredths of a minute against
    an optimum of 380,944, so the search must close the gap. Measured alternatives were no
    faster: HiGHS on the same radius model (about 2 s), linearization 0 or 1 (no proof in 30 s),
    core, LB-tree or objective-LB search, fixing sites by LP reduced cost (10 of 610 fixed), and
    dominance between sites (7 of 610); the wards form one connected component, so the model
    does not split either.

    Wards that no candidate reaches within the limit make the model infeasible: with
    ``uncovered='raise'`` solve() raises `InfeasibleError` naming each ward, its nearest
    candidate and the limit that would cover it; with ``uncovered='report'`` (the default, for
    the analysis pipeline) it solves for the other wards and returns the same explanation in
    `HubSolution.uncovered` / ``infeasibility``.
    """

    def __init__(
        self,
        *,
        matrix: pd.DataFrame,
        beyond: pd.DataFrame,
        sites: pd.DataFrame,
        wards: pd.DataFrame,
        limit_minutes: float,
        max_hubs: int | None,
        must_open: tuple[str, ...],
        forbidden: tuple[str, ...],
        capacity_wards: int | None,
        nearest: NearestSource,
        uncovered: Uncovered,
    ) -> None:
        self.matrix = matrix
        self._beyond = beyond
        self.sites = sites
        self.wards = wards
        self.limit_minutes = limit_minutes
        self.max_hubs = max_hubs
        self.must_open = must_open
        self.forbidden = forbidden
        self.capacity_wards = capacity_wards
        self._nearest = nearest
        self.uncovered_mode = uncovered

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_cost_matrix(
        cls,
        matrix: pd.DataFrame,
        sites: pd.DataFrame | Sequence[str],
        wards: pd.DataFrame | Sequence[str],
        *,
        limit_minutes: float = 20.0,
        max_hubs: int | None = None,
        must_open: Iterable[str] = (),
        forbidden: Iterable[str] = (),
        capacity_wards: int | None = None,
        officers_per_ward: int = OFFICERS_PER_WARD,
        nearest: NearestSource = None,
        uncovered: Uncovered = "report",
    ) -> HubSiting:
        """Build the model from a long table of walk minutes.

        Parameters
        ----------
        matrix
            ward_code, site_id, minutes. Pairs beyond ``limit_minutes`` are not used as
            assignments but help explain infeasibility.
        sites
            site_id, optional cost (default 1), capacity (officers; NaN = no limit), name, kind;
            or just the site ids.
        wards
            ward_code, optional officers (default ``officers_per_ward``) and ward_name; or the codes.
        capacity_wards
            At most this many wards per hub (any site).
        nearest
            Each ward's nearest candidate without the limit, to explain uncovered wards: a table
            (ward_code, site_id, minutes; several rows per ward allowed) or a function of a list
            of ward codes returning one.
        uncovered
            'report': solve for the wards that can be covered and list the others in the
            solution; 'raise': raise InfeasibleError.
        """
        site_frame = site_table(sites)
        ward_frame = ward_table(wards, officers_per_ward)
        if not isinstance(matrix, pd.DataFrame) or not {"ward_code", "site_id", "minutes"} <= set(matrix.columns):
            found = ", ".join(map(str, getattr(matrix, "columns", [])))
            raise DataError(f"cost matrix: needs columns ward_code, site_id, minutes; found {found or 'none'}.")
        table = pd.DataFrame({"ward_code": matrix["ward_code"].astype(str).to_numpy(),
                              "site_id": matrix["site_id"].astype(str).to_numpy(),
                              "minutes": pd.to_numeric(matrix["minutes"], errors="coerce").to_numpy(dtype=float)})
        bad = np.flatnonzero(~np.isfinite(table["minutes"].to_numpy()) | (table["minutes"].to_numpy() < 0))
        if len(bad):
            row = table.iloc[bad[0]]
            raise DataError(f"cost matrix: ward {row['ward_code']}, site {row['site_id']}: minutes "
                            f"{matrix['minutes'].iloc[bad[0]]} is not a number >= 0. "
                            "Leave unreachable pairs out instead of writing NaN or inf.")
        unknown_sites = sorted(set(table["site_id"]) - set(site_frame["site_id"]))
        if unknown_sites:
            raise DataError(f"cost matrix: site_id(s) not among the sites: {', '.join(unknown_sites[:5])}. "
                            "Pass every candidate site in `sites`.")
        table = table[table["ward_code"].isin(set(ward_frame["ward_code"]))]
        must = tuple(sorted({str(s) for s in must_open}))
        banned = tuple(sorted({str(s) for s in forbidden}))
        for label, ids in (("must_open", must), ("forbidden", banned)):
            missing = sorted(set(ids) - set(site_frame["site_id"]))
            if missing:
                raise ScenarioError(f"hubs.{label}: unknown site id(s) {', '.join(missing[:5])}. Use ids "
                                    "from the candidate table (e.g. 'fire:12', 'library:9085').")
        both = sorted(set(must) & set(banned))
        if both:
            raise ScenarioError(f"hubs.must_open and hubs.forbidden both list {', '.join(both)}. "
                                "Remove the site from one of them.")
        if max_hubs is not None and max_hubs < 1:
            raise ScenarioError(f"hubs.max_hubs: {max_hubs} must be at least 1 (or unset).")
        if capacity_wards is not None and capacity_wards < 1:
            raise ScenarioError(f"hubs.capacity_wards: {capacity_wards} must be at least 1 (or unset).")
        if not limit_minutes > 0:
            raise ScenarioError(f"hubs.walk_limit_minutes: {limit_minutes} must be positive.")
        if uncovered not in ("report", "raise"):
            raise ScenarioError(f"uncovered: {uncovered!r} is not 'report' or 'raise'.")
        table = table.groupby(["ward_code", "site_id"], sort=True)["minutes"].min().reset_index()
        table = table[~table["site_id"].isin(set(banned))]
        within = table["minutes"].to_numpy() <= limit_minutes + 1e-9
        return cls(
            matrix=table[within].reset_index(drop=True),
            beyond=table[~within].reset_index(drop=True),
            sites=site_frame,
            wards=ward_frame,
            limit_minutes=float(limit_minutes),
            max_hubs=max_hubs,
            must_open=must,
            forbidden=banned,
            capacity_wards=capacity_wards,
            nearest=nearest,
            uncovered=uncovered,
        )

    @classmethod
    def from_geodataframes(
        cls,
        wards: gpd.GeoDataFrame,
        sites: gpd.GeoDataFrame,
        walk: Walk,
        *,
        limit_minutes: float = 20.0,
        to: Target = "boundary",
        centres: gpd.GeoDataFrame | None = None,
        **options: Any,
    ) -> HubSiting:
        """Compute the coverage table with `walk_matrix` and delegate to `from_cost_matrix`.

        ``options`` go on to from_cost_matrix (max_hubs, must_open, forbidden, capacity_wards,
        uncovered, ...); an uncovered ward's nearest candidate is found on demand with
        `nearest_sites` (on the same walk model, without the limit).
        """
        wards_bng = bng_frame(wards, "wards", "ward_code")
        sites_bng = bng_frame(sites, "sites", "site_id")
        matrix = walk_matrix(wards_bng, sites_bng, walk, limit_minutes=limit_minutes, to=to, centres=centres)
        banned = {str(s) for s in options.get("forbidden", ())}

        def nearest(codes: Sequence[str]) -> pd.DataFrame:
            chosen = wards_bng[wards_bng["ward_code"].astype(str).isin(set(codes))]
            allowed = sites_bng[~sites_bng["site_id"].astype(str).isin(banned)]
            return nearest_sites(chosen, allowed, walk, to=to, centres=centres)

        options.setdefault("nearest", nearest)
        site_table = pd.DataFrame(sites_bng.drop(columns=sites_bng.geometry.name))
        ward_table = pd.DataFrame(wards_bng.drop(columns=wards_bng.geometry.name))
        return cls.from_cost_matrix(matrix, site_table, ward_table, limit_minutes=limit_minutes, **options)

    # ---------------------------------------------------------------- diagnosis

    def _nearest_table(self, codes: list[str]) -> pd.DataFrame:
        frames = [self._beyond[self._beyond["ward_code"].isin(codes)]]
        source = self._nearest
        if callable(source):
            frames.append(source(codes))
        elif isinstance(source, pd.DataFrame):
            frames.append(source[source["ward_code"].astype(str).isin(codes)])
        frames = [f[["ward_code", "site_id", "minutes"]] for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=["ward_code", "site_id", "minutes"])
        table = pd.concat(frames, ignore_index=True).dropna(subset=["minutes"])
        table = table[~table["site_id"].astype(str).isin(set(self.forbidden))]
        return (table.astype({"ward_code": str, "site_id": str, "minutes": float})
                .sort_values(["ward_code", "minutes", "site_id"], kind="stable")
                .drop_duplicates("ward_code"))

    def uncovered_wards(self) -> pd.DataFrame:
        """Wards with no allowed candidate within the limit, with their nearest candidate."""
        codes = sorted(set(self.wards["ward_code"]) - set(self.matrix["ward_code"]))
        if not codes:
            return pd.DataFrame(columns=UNCOVERED_COLUMNS)
        names = self.wards.set_index("ward_code")["ward_name"] if "ward_name" in self.wards else None
        site_names = self.sites.set_index("site_id")["name"] if "name" in self.sites else None
        near = self._nearest_table(codes).set_index("ward_code")
        rows = []
        for code in codes:
            site = str(near.at[code, "site_id"]) if code in near.index else None
            minutes = float(near.at[code, "minutes"]) if code in near.index else math.nan
            rows.append({
                "ward_code": code,
                "ward_name": str(names[code]) if names is not None else code,
                "nearest_site_id": site,
                "nearest_name": str(site_names[site]) if site is not None and site_names is not None else site,
                "nearest_minutes": minutes,
                "limit_needed": math.ceil(minutes * 10 - 1e-9) / 10 if math.isfinite(minutes) else math.nan,
            })
        return pd.DataFrame(rows, columns=UNCOVERED_COLUMNS)

    def diagnose(self) -> InfeasibilityReport | None:
        """Infeasibility visible without solving: wards out of reach, too many must_open sites."""
        uncovered = self.uncovered_wards()
        if len(uncovered):
            return uncovered_report(uncovered, self.limit_minutes, self.forbidden, self.max_hubs)
        return must_open_report(self.must_open, self.max_hubs, self.limit_minutes, uncovered)

    # ---------------------------------------------------------------- solving

    def _arrays(self, ward_codes: list[str]) -> dict[str, Any]:
        """Integer indices of the sites and wards in the model, and of the allowed pairs."""
        matrix = self.matrix[self.matrix["ward_code"].isin(set(ward_codes))]
        site_ids = sorted(set(matrix["site_id"]) | set(self.must_open))
        s_index = {s: i for i, s in enumerate(site_ids)}
        w_index = {w: i for i, w in enumerate(ward_codes)}
        sites = self.sites.set_index("site_id").loc[site_ids]
        cost, scale = integer_costs(sites["cost"].to_numpy(dtype=float))
        officers = self.wards.set_index("ward_code").loc[ward_codes, "officers"].to_numpy(dtype=np.int64)
        return {
            "site_ids": site_ids, "w_codes": ward_codes, "cost": cost, "scale": scale,
            "officers": officers, "capacity": sites["capacity"].to_numpy(dtype=float),
            "minutes": matrix["minutes"].to_numpy(dtype=float),
            "pw": matrix["ward_code"].map(w_index).to_numpy(dtype=np.int64),
            "ps": matrix["site_id"].map(s_index).to_numpy(dtype=np.int64),
            "pm": np.round(matrix["minutes"].to_numpy(dtype=float) * _MINUTE_SCALE).astype(np.int64),
            "must": [s_index[s] for s in self.must_open],
        }

    def _capacitated(self, a: dict[str, Any]) -> bool:
        return self.capacity_wards is not None or bool(np.isfinite(a["capacity"]).any())

    def _build(self, a: dict[str, Any], *, phase: int, max_hubs: int | None, capacity: bool,
               unit_cost: bool = False, cost_cap: int | None = None,
               hint: set[int] | None = None) -> tuple[cp_model.CpModel, list[Any], dict[str, Any]]:
        """One CP-SAT model; returns it, the y variables and extras (the x variables)."""
        model = cp_model.CpModel()
        n_sites = len(a["site_ids"])
        cost = np.ones(n_sites, dtype=np.int64) if unit_cost else a["cost"]
        pw, ps, pm = a["pw"], a["ps"], a["pm"]
        y = [model.new_bool_var(f"y{s}") for s in range(n_sites)]
        extras: dict[str, Any] = {}
        hints: list[tuple[Any, bool]] = []
        if capacity:
            x = [model.new_bool_var(f"x{k}") for k in range(len(pw))]
            by_ward: dict[int, list[int]] = {}
            by_site: dict[int, list[int]] = {}
            for k, (w, s) in enumerate(zip(pw, ps, strict=True)):
                by_ward.setdefault(int(w), []).append(k)
                by_site.setdefault(int(s), []).append(k)
                model.add_implication(x[k], y[s])
            for w in sorted(by_ward):
                model.add_exactly_one([x[k] for k in by_ward[w]])
            for s in sorted(by_site):
                cap = a["capacity"][s]
                if np.isfinite(cap):
                    model.add(sum(int(a["officers"][pw[k]]) * x[k] for k in by_site[s])
                              <= math.floor(cap) * y[s])
                if self.capacity_wards is not None:
                    model.add(sum(x[k] for k in by_site[s]) <= self.capacity_wards * y[s])
            extras["x"] = x
            if phase == 2:
                model.minimize(sum(int(pm[k]) * x[k] for k in range(len(pw))))
        elif phase == 1:
            cover: dict[int, frozenset[int]] = {s: frozenset() for s in a["must"]}
            for s, group in pd.Series(pw).groupby(ps, sort=True):
                cover[int(s)] = frozenset(int(w) for w in group)
            # Dominance keeps the optimum with max_hubs too: swapping a site for one that covers
            # more at no more cost never adds a hub.
            reduced = reduce_cover(cover, cost, set(a["must"]))
            for s in range(n_sites):
                if s not in reduced:
                    model.add(y[s] == 0)
            by_ward_y: dict[int, list[Any]] = {}
            for s in sorted(reduced):
                for w in sorted(reduced[s]):
                    by_ward_y.setdefault(w, []).append(y[s])
            for w in sorted(by_ward_y):
                model.add_bool_or(by_ward_y[w])
        else:
            order = np.lexsort((ps, pm, pw))
            terms = []
            bounds = np.flatnonzero(np.diff(pw[order])) + 1
            for block in np.split(order, bounds):
                prefix: list[Any] = []
                opened = False
                for j, k in enumerate(block):
                    s = int(ps[k])
                    prefix.append(y[s])
                    opened = opened or (hint is not None and s in hint)
                    if j + 1 == len(block):
                        model.add_bool_or(prefix)
                        continue
                    step = int(pm[block[j + 1]] - pm[k])
                    if step == 0:
                        continue
                    z = model.new_bool_var("")
                    model.add_bool_or([*prefix, z])
                    terms.append(step * z)
                    hints.append((z, not opened))
            model.minimize(sum(terms))
        for s in a["must"]:
            model.add(y[s] == 1)
        if max_hubs is not None:
            model.add(sum(y) <= max_hubs)
        if phase == 1:
            model.minimize(sum(int(cost[s]) * y[s] for s in range(n_sites)))
        elif cost_cap is not None:
            model.add(sum(int(cost[s]) * y[s] for s in range(n_sites)) <= cost_cap)
        if hint is not None:
            for s in range(n_sites):
                model.add_hint(y[s], s in hint)
            for var, value in hints:
                model.add_hint(var, value)
        return model, y, extras

    @staticmethod
    def _solver(time_limit_s: float, workers: int, seed: int) -> cp_model.CpSolver:
        return interruptible(make_solver(time_limit_s, workers=workers, seed=seed, deterministic_time=True,
                           linearization_level=2))

    def _min_hubs(self, a: dict[str, Any], *, capacity: bool, time_limit_s: float, workers: int,
                  seed: int) -> tuple[int | None, bool]:
        """Fewest hubs covering every ward, ignoring max_hubs: (count, or None if impossible; proven)."""
        model, _y, _ = self._build(a, phase=1, max_hubs=None, capacity=capacity, unit_cost=True)
        solver = self._solver(time_limit_s, workers, seed)
        status = solver.solve(model)
        if status == cp_model.OPTIMAL:
            return round(solver.objective_value), True
        if status == cp_model.FEASIBLE:
            return math.ceil(solver.best_objective_bound - 1e-9), False
        return None, status == cp_model.INFEASIBLE

    def _infeasible_report(self, a: dict[str, Any], time_limit_s: float, workers: int,
                           seed: int) -> InfeasibilityReport:
        """Explain an infeasible model whose every ward has a candidate: max_hubs or capacity."""
        budget = max(1.0, time_limit_s / 2)
        capacitated = self._capacitated(a)
        plain, plain_proven = self._min_hubs(a, capacity=False, time_limit_s=budget, workers=workers, seed=seed)
        with_cap, cap_proven = (self._min_hubs(a, capacity=True, time_limit_s=budget, workers=workers, seed=seed)
                                if capacitated else (plain, plain_proven))
        at_least = "" if cap_proven else "at least "
        empty = pd.DataFrame(columns=UNCOVERED_COLUMNS)
        if with_cap is None:
            limits = []
            caps = a["capacity"]
            if np.isfinite(caps).any():
                limits.append(f"the limited sites hold {int(np.nansum(np.floor(caps)))} officers in all, "
                              f"against {int(a['officers'].sum())} officers for the wards")
            if self.capacity_wards is not None:
                limits.append(f"each hub takes at most {self.capacity_wards} wards")
            too_big = self._wards_too_big(a)
            detail = f" Wards that fit in no hub within reach: {', '.join(too_big)}." if too_big else ""
            message = (
                "Hub siting is infeasible because of hub capacity: even with every candidate open, "
                f"the hubs within a {self.limit_minutes:g}-minute walk cannot take every ward's "
                f"officers ({'; '.join(limits)}).{detail} Without capacities {hub_count(plain)} would do. "
                "Fix: raise the capacities (hubs.capacity_wards or the candidate CSV's capacity "
                "column), add candidate sites, or raise the walk limit."
            )
            return InfeasibilityReport(reason="capacity", message=message, limit_minutes=self.limit_minutes,
                                       uncovered=empty, max_hubs=self.max_hubs, min_hubs_needed=None,
                                       min_hubs_proven=cap_proven, min_hubs_without_capacity=plain)
        if self.max_hubs is not None and with_cap > self.max_hubs:
            note = f" with the capacities ({plain} without them)" if capacitated and plain != with_cap else ""
            allows = hub_count(self.max_hubs)
            message = (
                f"Hub siting is infeasible: hubs.max_hubs allows {allows}, but covering every ward "
                f"within a {self.limit_minutes:g}-minute walk needs {at_least}{hub_count(with_cap)}{note}. "
                f"Fix: raise max_hubs to {with_cap}, raise the walk limit, or add "
                "candidate sites that cover more wards."
            )
            return InfeasibilityReport(reason="max_hubs", message=message, limit_minutes=self.limit_minutes,
                                       uncovered=empty, max_hubs=self.max_hubs, min_hubs_needed=with_cap,
                                       min_hubs_proven=cap_proven, min_hubs_without_capacity=plain)
        message = (
            f"Hub siting is infeasible: the must_open sites with max_hubs={self.max_hubs} and the "
            f"capacities leave no way to serve every ward (covering all wards needs {at_least}"
            f"{hub_count(with_cap)} on its own). Fix: shorten hubs.must_open or raise max_hubs."
        )
        return InfeasibilityReport(reason="must_open", message=message, limit_minutes=self.limit_minutes,
                                   uncovered=empty, max_hubs=self.max_hubs, min_hubs_needed=with_cap,
                                   min_hubs_proven=cap_proven, min_hubs_without_capacity=plain)

    @staticmethod
    def _wards_too_big(a: dict[str, Any]) -> list[str]:
        """Wards whose officers exceed the capacity of every hub in reach."""
        room = np.where(np.isfinite(a["capacity"]), a["capacity"], np.inf)
        best = pd.Series(room[a["ps"]]).groupby(a["pw"]).max()
        need = a["officers"][best.index.to_numpy()]
        return [a["w_codes"][w] for w in best.index[best.to_numpy() < need]]

    def solve(self, *, time_limit_s: float = 60.0, workers: int = 1, seed: int = 0,
              tie_break: bool = True) -> HubSolution:
        """Solve to the cheapest hub set, then the shortest total walk among the cheapest.

        ``time_limit_s`` is shared by the two phases, in CP-SAT deterministic time so that a
        run cut short is reproducible: about wall seconds on the 700-candidate London model,
        up to three wall seconds per unit on the 4,270-candidate tie-break; the wall clock is
        capped at twice the limit plus 5 s. Raises `InfeasibleError` (with ``.report``, an
        `InfeasibilityReport`) when no hub set works (uncovered wards only with
        ``uncovered='raise'``), and `SitingError` when time ran out before any solution.
        """
        started = time.perf_counter()
        uncovered = self.uncovered_wards()
        coverage: InfeasibilityReport | None = None
        if len(uncovered):
            coverage = uncovered_report(uncovered, self.limit_minutes, self.forbidden, self.max_hubs)
            if self.uncovered_mode == "raise":
                raise infeasible_error(coverage)
            # Logged at info: the CLI warns once per command (siting.check.uncovered_warning),
            # and not for wards the scenario records as exceptions or an expected finding.
            log.info("%s", coverage.message.replace(
                "Hub siting is infeasible:", "Hubs are planned for the other wards, but", 1))
        report = must_open_report(self.must_open, self.max_hubs, self.limit_minutes, uncovered)
        if report is not None:
            raise infeasible_error(report)
        covered = sorted(set(self.wards["ward_code"]) - set(uncovered["ward_code"]))
        a = self._arrays(covered)
        capacity = self._capacitated(a)
        model, y, extras = self._build(a, phase=1, max_hubs=self.max_hubs, capacity=capacity)
        solver = self._solver(time_limit_s, workers, seed)
        status = solver.solve(model)
        if status == cp_model.INFEASIBLE:
            raise infeasible_error(self._infeasible_report(a, time_limit_s, workers, seed))
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise SitingError(
                f"Hub siting found no solution within {time_limit_s:g} s (CP-SAT status "
                f"{status_name(status)}). Raise hubs.time_limit_s, or make the model smaller "
                "(fewer candidate kinds, or hubs.wards)."
            )
        phase1 = status_name(status)
        objective = round(solver.objective_value)
        bound = math.ceil(solver.best_objective_bound - 1e-9)
        opened = {s for s in range(len(y)) if solver.boolean_value(y[s])}
        x_values = [solver.boolean_value(v) for v in extras["x"]] if capacity else None
        tie_status, minutes_bound = "SKIPPED", math.nan
        remaining = time_limit_s - solver.deterministic_time
        if tie_break and remaining > 0.01 and len(covered):
            model2, y2, extras2 = self._build(a, phase=2, max_hubs=self.max_hubs, capacity=capacity,
                                              cost_cap=objective, hint=opened)
            solver2 = self._solver(remaining, workers, seed)
            status2 = solver2.solve(model2)
            tie_status = status_name(status2)
            if status2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                opened = {s for s in range(len(y2)) if solver2.boolean_value(y2[s])}
                if capacity:
                    x_values = [solver2.boolean_value(v) for v in extras2["x"]]
                base = 0.0 if capacity else self._nearest_minutes_sum(a)
                minutes_bound = solver2.best_objective_bound / _MINUTE_SCALE + base
        assignment = self._assignment(a, opened, x_values)
        total = float(assignment["minutes"].sum())
        if tie_status == "OPTIMAL":
            minutes_bound = total
        scale = a["scale"]
        return HubSolution(
            status=phase1,
            objective=objective / scale,
            best_bound=bound / scale,
            gap=0.0 if phase1 == "OPTIMAL" or objective == 0 else (objective - bound) / objective,
            solve_seconds=time.perf_counter() - started,
            open_sites=self._open_table(a, opened, assignment),
            assignment=assignment,
            total_minutes=total,
            tie_break_status=tie_status,
            total_minutes_bound=float(minutes_bound),
            limit_minutes=self.limit_minutes,
            n_hubs=len(opened),
            workers=max(1, int(workers)),
            seed=int(seed),
            uncovered=uncovered,
            infeasibility=coverage,
        )

    @staticmethod
    def _nearest_minutes_sum(a: dict[str, Any]) -> float:
        """Sum over wards of the walk to their nearest candidate (the radius model's constant)."""
        return float(pd.Series(a["pm"]).groupby(a["pw"]).min().sum()) / _MINUTE_SCALE

    @staticmethod
    def _assignment(a: dict[str, Any], opened: set[int], x_values: list[bool] | None) -> pd.DataFrame:
        """Each ward's hub: the x variables with capacities, else the nearest open hub."""
        table = pd.DataFrame({"ward_code": np.asarray(a["w_codes"], dtype=object)[a["pw"]],
                              "site_id": np.asarray(a["site_ids"], dtype=object)[a["ps"]],
                              "minutes": a["minutes"]})
        if x_values is not None:
            table = table[np.asarray(x_values, dtype=bool)]
        else:
            table = table[np.isin(a["ps"], sorted(opened))]
            table = (table.sort_values(["ward_code", "minutes", "site_id"], kind="stable")
                     .drop_duplicates("ward_code"))
        return (table.sort_values("ward_code", kind="stable").reset_index(drop=True)
                .astype({"ward_code": str, "site_id": str, "minutes": float}))

    def _open_table(self, a: dict[str, Any], opened: set[int], assignment: pd.DataFrame) -> pd.DataFrame:
        ids = sorted(a["site_ids"][s] for s in opened)
        officers = self.wards.set_index("ward_code")["officers"]
        served = assignment.assign(officers=assignment["ward_code"].map(officers).to_numpy())
        stats = served.groupby("site_id").agg(wards_served=("ward_code", "size"),
                                              officers=("officers", "sum"),
                                              max_minutes=("minutes", "max"))
        columns = [c for c in ("site_id", "name", "kind", "cost", "capacity") if c in self.sites.columns]
        table = self.sites.set_index("site_id").loc[ids].reset_index()[columns]
        table = table.merge(stats, left_on="site_id", right_index=True, how="left")
        return (table.fillna({"wards_served": 0, "officers": 0})
                .astype({"wards_served": np.int64, "officers": np.int64})
                .sort_values("site_id", kind="stable").reset_index(drop=True))
