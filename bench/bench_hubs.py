"""Benchmark: London-wide DWO hub siting, CP-SAT (siting.hubs.HubSiting) against spopt's LSCP.

For two candidate sets, all 630 wards (2014, City merged) and a 20-minute walk to the ward
boundary (crow-fly x DEFAULT_CIRCUITY at 4.8 km/h):

- "default": police (the 137 sites of the 2017 MOPAC list), fire, library, hospital, the
  scenario's default kinds: 700 sites; three wards have no site within 20 minutes, so the
  all-ward model is infeasible (its explanation is timed) and the solvers run on the 627 others;
- "every": the same plus open schools and places of worship: about 4,270 sites, all 630 wards
  coverable.

Steps timed (wall seconds; peak resident memory of this process during the step, which
includes what earlier steps left resident; for spopt also CBC's own process, polled): loading the candidates; building the sparse coverage matrix; CP-SAT on the
scenario costs (phase 1, the cost) and with the walk-time tie-break (phase 2); CP-SAT on unit
costs (the fewest hubs: the LSCP); spopt ``LSCP.from_cost_matrix`` + PuLP/CBC on the same
matrix (dense, as spopt needs it), in the same run. Time limits apply to the unproven runs;
``--time-limit`` sets them (CP-SAT deterministic seconds; CBC wall seconds).

Run: /work/venv/bin/python bench/bench_hubs.py [--time-limit 30] [--skip-every-spopt]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from _memory import peak_rss_mb, reset_peak_rss

from siting._crs import BNG
from siting._errors import InfeasibleError
from siting.candidates import load_candidates
from siting.hubs import HubSiting, HubSolution, walk_matrix
from siting.network.walk import DEFAULT_CIRCUITY, WalkModel

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SITING_DATA_DIR", REPO.parent / "shared" / "data" / "london"))
LIMIT = 20.0
DEFAULT_KINDS = {"police": 1.0, "fire": 3.0, "library": 3.0, "hospital": 4.0}
EVERY_KIND = {**DEFAULT_KINDS, "school": 5.0, "worship": 5.0}


def _children_rss_mb(pid: int) -> float:
    """Resident memory of a process's descendants (Linux /proc), in MB."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                with contextlib.suppress(OSError, ValueError):
                    status = Path(f"/proc/{child}/status").read_text()
                    total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1e3  # type: ignore[union-attr]
                total += _children_rss_mb(int(child))
    return total


class ChildPeak:
    """Peak resident memory of the child processes (CBC) while the block runs, polled every 20 ms."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, _children_rss_mb(os.getpid()))

    def __enter__(self) -> ChildPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(rows: list[dict[str, Any]], case: str, step: str, func: Callable[[], Any],
            describe: Callable[[Any], dict[str, Any]] | None = None) -> Any:
    """Run func once and add a row: wall time, peak memory, and what describe() says of the result."""
    reset_peak_rss()
    start = time.perf_counter()
    result = func()
    wall = time.perf_counter() - start
    row = {"case": case, "step": step, "wall_s": wall, "peak_rss_mb": peak_rss_mb(),
           "status": "", "objective": np.nan, "bound": np.nan, "gap": np.nan, "note": ""}
    row.update(describe(result) if describe else {})
    rows.append(row)
    return result


def police_sites() -> gpd.GeoDataFrame:
    raw = pd.read_csv(DATA / "osm/poi/mopac_police_front_counters_2017_original.csv")
    return gpd.GeoDataFrame({"site_id": [f"police:{i}" for i in range(len(raw))], "name": raw["name"]},
                            geometry=gpd.points_from_xy(raw["longitude"], raw["latitude"]), crs="EPSG:4326")


def describe_solution(solution: HubSolution, *, unit: bool = False) -> dict[str, Any]:
    hubs = f"{solution.n_hubs} hubs"
    tie = (f"; walk tie-break {solution.tie_break_status}, {solution.total_minutes:.1f} min"
           f" (bound {solution.total_minutes_bound:.1f})" if solution.tie_break_status != "SKIPPED" else "")
    return {"status": solution.status, "objective": solution.objective, "bound": solution.best_bound,
            "gap": solution.gap, "note": f"{hubs}{'' if unit else f', cost {solution.objective:g}'}{tie}"}


def run_spopt(matrix: pd.DataFrame, time_limit: float) -> dict[str, Any]:
    """spopt LSCP on the dense version of the same matrix, CBC single-threaded, log parsed for the bound."""
    import pulp
    from spopt.locate import LSCP

    wards = sorted(set(matrix["ward_code"]))
    sites = sorted(set(matrix["site_id"]))
    dense = (matrix.pivot(index="ward_code", columns="site_id", values="minutes")
             .reindex(index=wards, columns=sites).fillna(1e6).to_numpy())
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "cbc.log"
        with warnings.catch_warnings(), ChildPeak() as cbc:
            warnings.simplefilter("ignore")
            model = LSCP.from_cost_matrix(dense, LIMIT)
            model.solve(pulp.PULP_CBC_CMD(msg=False, threads=1, timeLimit=time_limit, logPath=str(log)))
        text = log.read_text() if log.exists() else ""
    objective = pulp.value(model.problem.objective)
    bound = re.search(r"Lower bound:\s*([0-9.]+)", text)
    best = float(bound.group(1)) if bound else (objective if "Optimal solution found" in text else np.nan)
    stopped = re.search(r"Result - (.*)", text)
    status = "OPTIMAL" if stopped and "Optimal" in stopped.group(1) else (
        stopped.group(1).strip() if stopped else pulp.LpStatus[model.problem.status])
    gap = 0.0 if status == "OPTIMAL" else (objective - best) / objective if objective else np.nan
    return {"status": status, "objective": objective, "bound": best, "gap": gap,
            "note": f"{round(objective)} hubs; CBC process peak {cbc.peak_mb:.0f} MB (polled)"}


def run_highs(matrix: pd.DataFrame, time_limit: float) -> dict[str, Any]:
    """The same LSCP as a 0-1 program for HiGHS (scipy.optimize.milp): min sum y, A y >= 1.

    Built from the sparse (ward, site) pairs, as the CP-SAT model is; one thread.
    """
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    wards = sorted(set(matrix["ward_code"]))
    sites = sorted(set(matrix["site_id"]))
    rows = pd.Index(wards).get_indexer(matrix["ward_code"])
    cols = pd.Index(sites).get_indexer(matrix["site_id"])
    cover = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(wards), len(sites)))
    result = milp(np.ones(len(sites)), constraints=LinearConstraint(cover, lb=1, ub=np.inf),
                  integrality=np.ones(len(sites)), bounds=Bounds(0, 1),
                  options={"time_limit": time_limit, "presolve": True, "disp": False})
    objective = float(result.fun) if result.x is not None else np.nan
    bound = float(getattr(result, "mip_dual_bound", np.nan) or np.nan)
    status = "OPTIMAL" if result.status == 0 else result.message
    gap = 0.0 if result.status == 0 else (objective - bound) / objective if objective else np.nan
    return {"status": status, "objective": objective, "bound": bound if result.status else objective,
            "gap": gap, "note": f"{round(objective)} hubs" if np.isfinite(objective) else ""}


def bench_case(rows: list[dict[str, Any]], case: str, kinds: dict[str, float], wards: gpd.GeoDataFrame,
               time_limit: float, spopt: bool) -> None:
    area = wards.geometry.union_all()
    police = police_sites()
    candidates = measure(rows, case, "load candidates",
                         lambda: load_candidates(DATA, kinds=kinds, area=area, police_sites=police),
                         lambda c: {"note": f"{len(c.sites)} sites"})
    sites = candidates.sites
    walk = WalkModel()
    matrix = measure(rows, case, "coverage matrix (630 wards)",
                     lambda: walk_matrix(wards, sites, walk, limit_minutes=LIMIT),
                     lambda m: {"note": f"{len(m)} ward-site pairs within {LIMIT:g} min"})
    covered = sorted(set(matrix["ward_code"]))
    missing = sorted(set(wards["ward_code"]) - set(covered))
    if missing:
        model = HubSiting.from_geodataframes(wards, sites, walk, limit_minutes=LIMIT, uncovered="raise")

        def explain() -> str:
            try:
                model.solve(time_limit_s=time_limit)
            except InfeasibleError as exc:
                return str(exc).splitlines()[0]
            return "feasible?"

        measure(rows, case, "all wards: infeasibility explained", explain,
                lambda text: {"status": "INFEASIBLE", "note": text})
    scope = f"{len(covered)} wards"
    # Every solver step below includes building its model from the same long matrix.
    site_table = sites.drop(columns="geometry")

    def costed() -> HubSiting:
        return HubSiting.from_cost_matrix(matrix, site_table, covered, limit_minutes=LIMIT)

    measure(rows, case, f"CP-SAT scenario costs, {scope}",
            lambda: costed().solve(time_limit_s=time_limit, tie_break=False), describe_solution)
    measure(rows, case, f"CP-SAT costs + walk tie-break, {scope}",
            lambda: costed().solve(time_limit_s=time_limit), describe_solution)
    unit_sites = sorted(set(matrix["site_id"]))
    measure(rows, case, f"CP-SAT fewest hubs (LSCP), {scope}",
            lambda: HubSiting.from_cost_matrix(matrix, unit_sites, covered, limit_minutes=LIMIT)
            .solve(time_limit_s=time_limit, tie_break=False),
            lambda s: describe_solution(s, unit=True))
    measure(rows, case, f"HiGHS LSCP (scipy milp), {scope}", lambda: run_highs(matrix, time_limit),
            lambda r: r)
    if spopt:
        measure(rows, case, f"spopt LSCP + CBC, {scope}", lambda: run_spopt(matrix, time_limit), lambda r: r)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=30.0,
                        help="seconds for each run that does not prove optimality (default 30)")
    parser.add_argument("--skip-every-spopt", action="store_true",
                        help="skip spopt on the ~4,270-site case (CBC does not prove it for minutes)")
    parser.add_argument("--json", metavar="FILE", help="also write the Speed-table rows (bench/run_all.py)")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    wards = measure(rows, "all", "load wards",
                    lambda: gpd.read_file(DATA / "boundaries/london_wards_2014_citymerged.geojson").to_crs(BNG)
                    .rename(columns={"GSS_Code": "ward_code", "Name": "ward_name"})[["ward_code", "ward_name", "geometry"]],
                    lambda w: {"note": f"{len(w)} wards"})
    bench_case(rows, "default", DEFAULT_KINDS, wards, args.time_limit, spopt=True)
    bench_case(rows, "every", EVERY_KIND, wards, args.time_limit, spopt=not args.skip_every_spopt)
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 120)
    print(f"DWO hubs: {LIMIT:g}-minute walk to the ward boundary, crow-fly x {DEFAULT_CIRCUITY} at 4.8 km/h; "
          f"CP-SAT 1 worker, linearization 2, seed 0; time limit {args.time_limit:g} s\n")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep=""))
    summary = []
    for case in ("default", "every"):
        part = table[table["case"] == case].set_index("step")

        def pick(prefix: str, part: pd.DataFrame = part) -> pd.Series | None:
            hits = part[part.index.str.startswith(prefix)]
            return hits.iloc[0] if len(hits) else None

        matrix = pick("coverage")
        costs, tie = pick("CP-SAT scenario"), pick("CP-SAT costs + walk")
        lscp, highs, spopt = pick("CP-SAT fewest"), pick("HiGHS"), pick("spopt")

        def solved(row: pd.Series | None) -> str:
            if row is None:
                return "not run"
            return f"{row['wall_s']:.2f} s ({row['status']}, {row['objective']:g})"

        line = (f"{case}: matrix {matrix['wall_s']:.2f} s ({matrix['note']}); CP-SAT scenario costs "
                f"{solved(costs)}, with walk tie-break {solved(tie)}; fewest hubs: CP-SAT {solved(lscp)} "
                f"vs HiGHS {solved(highs)} vs spopt LSCP + CBC {solved(spopt)} (model build included)")
        print("\n" + line)
        summary.append({
            "bench": "bench/bench_hubs.py", "workload": f"DWO hubs, 630 wards, {case} candidates "
            f"({matrix['note'].split(' ward-site')[0]} pairs within {LIMIT:g} min)",
            "figure": f"cheapest plan {solved(costs)}; + walk tie-break {solved(tie)}; "
                      f"fewest hubs (LSCP) CP-SAT {solved(lscp)}",
            "baseline": f"LSCP: HiGHS {solved(highs)}; spopt + CBC {solved(spopt)}",
        })
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
