"""Low-cost alternatives: the k extra sites that bring most residents within T minutes."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from siting._errors import ScenarioError
from siting.candidates import load_candidates
from siting.data import load_boroughs, load_counters
from siting.optimise.matrix import _check_ids, _counter_matrix, _plan_columns, _window, site_times
from siting.optimise.models import max_cover, nearest_minutes
from siting.optimise.outputs import _md_table, _people
from siting.scenario import Scenario

__all__ = ["AlternativesPlan", "optimise_alternatives"]

# ---------------------------------------------------------------------------------------------
# Low-cost alternatives: k extra sites (maximal covering)


@dataclass(frozen=True, eq=False)
class AlternativesPlan:
    """The k extra sites bringing most people within the threshold, for k = 1..k_max.

    table
        k, sites (ids joined by ';'), names, n_sites (at most k: no site is added that
        gains nobody), people_gained, pop_over_T (after adding them), status (CP-SAT), gap.
    candidates
        site_id, name, kind ('counter' or 'library'), status (the counter's status in the
        scenario, or 'library'), alone (people the site brings within T on its own).
    """

    scenario_id: str
    threshold: int
    base: tuple[str, ...]
    total_population: int
    base_pop_over: int
    table: pd.DataFrame
    candidates: pd.DataFrame
    figures: Mapping[str, Any]
    timings: Mapping[str, float] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """A report: people gained for k = 1..k_max, the sites, and the method."""
        t = self.threshold
        lines = [
            f"# Low-cost alternatives: extra sites within {t} minutes for `{self.scenario_id}`",
            "",
            f"With the scenario's {len(self.base)} 24/7 counters, **{self.base_pop_over:,}** of "
            f"{self.total_population:,} residents are more than {t} minutes from the nearest one "
            "(per-counter matrix). Each row adds the k sites (daytime counters or contact-session "
            "venues) that bring the most of them within "
            f"{t} minutes (maximal covering, CP-SAT, solved for each k separately).",
            "",
            f"Candidates: {len(self.candidates)} sites "
            f"({self.figures.get('candidate_rule', 'given')}).",
            "",
        ]
        header = ["k", "sites used", "people gained", f"still over {t}", "sites", "solver"]
        rows = [[r["k"], r["n_sites"], _people(r["people_gained"]), _people(r[f"pop_over_{t}"]),
                 r["names"].replace(";", "; "), f"{r['status']}, gap {r['gap']:.1%}"]
                for _, r in self.table.iterrows()]
        lines += _md_table(header, rows, "rrrrll")
        lines += ["", "Fewer sites than k are used once no further site brings anyone within "
                  f"{t} minutes.", ""]
        top = self.candidates.sort_values(["alone", "site_id"], ascending=[False, True],
                                          kind="stable").head(10)
        lines += ["", "## Best single sites", ""]
        lines += _md_table(["site", "kind", "status", f"people brought within {t} alone"],
                           [[r["name"], r["kind"], r["status"], _people(r["alone"])]
                            for _, r in top.iterrows()], "lllr")
        lines += ["", "Sites are taken as open whenever residents arrive (a contact session is "
                  "scheduled; a daytime counter's hours are ignored).", ""]
        return "\n".join(lines)


def _libraries_near(data_dir: Path, boroughs: gpd.GeoDataFrame, points: np.ndarray,
                    reach_m: float, limit: int) -> gpd.GeoDataFrame:
    """Libraries within reach_m of any given point, the `limit` closest to one (ties by id)."""
    sites = load_candidates(data_dir, kinds={"library": 1.0}, area=boroughs).sites
    if len(sites) == 0 or len(points) == 0:
        return sites.iloc[:0]
    xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    distance, _ = cKDTree(points).query(xy)
    sites = sites.assign(_d=distance)
    sites = sites[sites["_d"] <= reach_m].sort_values(["_d", "site_id"], kind="stable")
    return sites.head(limit).drop(columns="_d").sort_values("site_id", kind="stable")


def optimise_alternatives(
    scenario: Scenario,
    data_dir: Path,
    *,
    cache_dir: Path = Path(".cache/siting"),
    k: int = 10,
    threshold: int = 45,
    candidates: Sequence[str] | None = None,
    libraries: bool = False,
    library_reach_m: float = 1500.0,
    max_libraries: int = 60,
    time_limit_s: float = 60.0,
    num_workers: int = 1,
    seed: int = 0,
    progress: bool = False,
) -> AlternativesPlan:
    """Choose k extra sites (for k = 1..k) bringing most people within `threshold` minutes.

    Parameters
    ----------
    candidates
        Registry counter ids usable as extra sites. Default: every registry counter that is not
        24/7 in the scenario (its closed counters' buildings and its daytime counters).
    libraries
        Also consider public libraries (OS OpenMap Local): those within ``library_reach_m`` of
        an LSOA centroid over the threshold, at most ``max_libraries`` (the closest), since each
        needs its own profile search (about a second).
    progress
        Show a progress bar while travel times to the sites are computed (on a terminal only).
    """
    data_dir = Path(data_dir)
    cache_dir = Path(cache_dir)
    timings: dict[str, float] = {}
    if threshold <= 0:
        raise ScenarioError(f"optimise_alternatives: threshold {threshold} minutes; use a "
                            "number of minutes > 0, e.g. 45.")
    clock = time.perf_counter()
    registry = load_counters()
    known = registry["counter_id"]
    base = tuple(sorted(scenario.counters.open_24h))
    if candidates is None:
        rule = "registry counters not 24/7 in the scenario"
        candidates = sorted(set(known) - set(base))
    else:
        rule = "given counters"
    cands = [c for c in _check_ids(candidates, known, "optimise_alternatives: candidates")
             if c not in base]
    matrix, lsoas, network = _counter_matrix(scenario, data_dir, cache_dir,
                                             sorted(set(base) | set(cands)), registry,
                                             progress=progress)
    population = lsoas["population"].to_numpy()
    base_near = nearest_minutes(matrix.minutes, _plan_columns(base, {c: j for j, c in
                                                               enumerate(matrix.site_ids)}))
    covered = ~np.isnan(base_near) & (base_near <= threshold)
    status = {c: scenario.counters.status(c) for c in cands}
    names = dict(zip(registry["counter_id"], registry["name"], strict=True))
    site_frame = pd.DataFrame({"site_id": cands, "name": [names[c] for c in cands],
                               "kind": "counter", "status": [status[c] for c in cands]})
    minutes = matrix.columns(cands)
    if libraries:
        rule += (f", plus up to {max_libraries} libraries within {library_reach_m:g} m of an "
                 f"LSOA centroid over {threshold} minutes")
        far = ~covered & (population > 0)
        points = np.column_stack([lsoas.geometry.x, lsoas.geometry.y])[far]
        libs = _libraries_near(data_dir, load_boroughs(data_dir, scenario.data), points,
                               library_reach_m, max_libraries)
        if len(libs):
            lib_times = site_times(
                network, lsoas["lsoa_code"].to_numpy(),
                np.column_stack([lsoas.geometry.x, lsoas.geometry.y]),
                libs["site_id"].to_numpy(), np.column_stack([libs.geometry.x, libs.geometry.y]),
                _window(scenario), max_access_minutes=scenario.walking.max_access_minutes,
                cache_dir=cache_dir, progress=progress)
            minutes = np.concatenate([minutes, lib_times.minutes], axis=1)
            site_frame = pd.concat([site_frame, pd.DataFrame({
                "site_id": libs["site_id"].to_numpy(), "name": libs["name"].astype(str).to_numpy(),
                "kind": "library", "status": "library"})], ignore_index=True)
    timings["matrix"] = time.perf_counter() - clock
    if len(site_frame) == 0:
        raise ScenarioError("optimise_alternatives: no candidate sites (every given counter is "
                            "already 24/7). Give closed or daytime counters, or libraries=True.")
    within = (minutes <= threshold) & ~covered[:, None] & (population[:, None] > 0)
    site_frame["alone"] = (within * population[:, None]).sum(axis=0).astype(np.int64)
    base_over = int(population[~covered].sum())

    clock = time.perf_counter()
    rows = []
    per_k = {}
    for kk in range(1, min(k, len(site_frame)) + 1):
        result = max_cover(minutes, population, kk, threshold=threshold, covered=covered,
                           time_limit_s=time_limit_s, num_workers=num_workers, seed=seed)
        ids = [site_frame["site_id"].iloc[s] for s in result.chosen]
        rows.append({"k": kk, "sites": ";".join(ids),
                     "names": ";".join(site_frame["name"].iloc[s] for s in result.chosen),
                     "n_sites": len(result.chosen), "people_gained": result.gained,
                     f"pop_over_{threshold}": base_over - result.gained,
                     "status": result.figures["status"], "gap": result.figures["gap"]})
        per_k[kk] = result.figures
    timings["solve"] = time.perf_counter() - clock
    return AlternativesPlan(
        scenario_id=scenario.id, threshold=int(threshold), base=base,
        total_population=int(population.sum()), base_pop_over=base_over,
        table=pd.DataFrame(rows), candidates=site_frame.reset_index(drop=True),
        figures={"candidate_rule": rule, "per_k": per_k, "seed": seed,
                 "num_workers": num_workers},
        timings={k_: round(v, 3) for k_, v in timings.items()})
