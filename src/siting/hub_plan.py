"""A scenario's DWO hub plan: its candidate sites and wards, the CP-SAT solve, the output tables.

`plan_hubs` is the hub step of `siting.analysis.analyse` (candidates from the scenario's kinds
and CSV, the wards it plans, walks crow-fly or on its street network); `check_hub_inputs` is
what `siting validate` checks of it without solving. The model itself is `siting.hubs`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import shapely

from siting._crs import BNG
from siting._errors import ScenarioError
from siting.data import load_wards, scenario_counters
from siting.scenario import Scenario

if TYPE_CHECKING:
    from siting.hubs import HubSolution
    from siting.network.walk import WalkModel

__all__ = ["attach_hubs", "check_hub_inputs", "hub_outputs", "london_area", "plan_hubs",
           "police_sites", "scenario_candidates", "ward_centres", "ward_scope"]


def police_sites(counters: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Police buildings that can host a hub: open counters, and closed ones whose building stays."""
    kept = (counters["status"] != "closed") | (counters["building_disposed_final"] == 0)
    sites = counters.loc[kept, ["counter_id", "name", "geometry"]]
    return gpd.GeoDataFrame(
        {"site_id": "police:" + sites["counter_id"], "name": sites["name"] + " police station"},
        geometry=sites.geometry.to_numpy(), crs=BNG,
    )


def ward_centres(lsoas: pd.DataFrame) -> gpd.GeoDataFrame:
    """Each ward's population centre: the population-weighted mean of its LSOA centroids."""
    weights = lsoas["population"].clip(lower=1).to_numpy(dtype=float)
    frame = pd.DataFrame({"ward_code": lsoas["ward_code"], "w": weights,
                          "x": lsoas.geometry.x * weights, "y": lsoas.geometry.y * weights})
    sums = frame.groupby("ward_code", sort=True)[["w", "x", "y"]].sum()
    return gpd.GeoDataFrame({"ward_code": sums.index.to_numpy()},
                            geometry=gpd.points_from_xy(sums["x"] / sums["w"], sums["y"] / sums["w"]),
                            crs=BNG)


def plan_hubs(
    scenario: Scenario, data_dir: Path, wards: gpd.GeoDataFrame, counters: gpd.GeoDataFrame,
    walk: WalkModel, street: Any = None, *, centres: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, Any]]:
    """Choose DWO hubs with CP-SAT; wards no candidate can reach are reported, not fatal."""
    from siting.hubs import HubSiting
    from siting.walk_comparison import compare_walk_models

    hubs_cfg = scenario.hubs
    empty_hubs = gpd.GeoDataFrame(
        {c: [] for c in ("site_id", "name", "kind", "cost", "wards_served", "officers")},
        geometry=[], crs=BNG)
    empty_assignment = pd.DataFrame({"ward_code": pd.Series(dtype=str), "site_id": pd.Series(dtype=str),
                                     "minutes": pd.Series(dtype=float)})
    if not hubs_cfg.enabled:
        return empty_hubs, empty_assignment, {"enabled": False}
    candidates = scenario_candidates(scenario, data_dir, wards, counters)
    scope = wards if hubs_cfg.wards is None else ward_scope(scenario, wards)
    options = {"centres": centres, "max_hubs": hubs_cfg.max_hubs, "must_open": hubs_cfg.must_open,
               "forbidden": hubs_cfg.forbidden, "capacity_wards": hubs_cfg.capacity_wards}
    sites = candidates.sites
    comparison: dict[str, Any] = {}
    if street is not None:
        # On a street extract only sites inside its complete core can be walked to.
        sites = sites[sites.geometry.within(street.core_box)].reset_index(drop=True)
        compared = compare_walk_models(scope, sites, street, crowfly=walk,
                                       limit_minutes=hubs_cfg.walk_limit_minutes,
                                       to=hubs_cfg.measure_to, time_limit_s=hubs_cfg.time_limit_s,
                                       **options)
        comparison = {"streets_vs_crowfly": compared.summary()}
    model = HubSiting.from_geodataframes(
        scope, sites, street or walk,
        limit_minutes=hubs_cfg.walk_limit_minutes, to=hubs_cfg.measure_to, **options,
    )
    solution = model.solve(time_limit_s=hubs_cfg.time_limit_s)
    hubs, assignment, figures = hub_outputs(solution, sites, candidates.dropped)
    figures["walk_model"] = (f"OSM street network {scenario.walking.network}" if street is not None
                             else f"crow-fly x {walk.circuity} at {walk.speed_kmh} km/h")
    return hubs, assignment, {**figures, **comparison}


def london_area(wards: gpd.GeoDataFrame) -> Any:
    """The union of the ward polygons, by a coverage union (25x faster than union_all).

    Wards tile London without overlaps, which is what a coverage union assumes; should they not
    (the union's area short of the summed areas), fall back to the general union.
    """
    geoms = wards.geometry.to_numpy()
    area = shapely.coverage_union_all(geoms)
    total = float(shapely.area(geoms).sum())
    if abs(area.area - total) > 1e-9 * max(total, 1.0) or not area.is_valid:
        area = shapely.union_all(geoms)
    return area


def scenario_candidates(scenario: Scenario, data_dir: Path, wards: gpd.GeoDataFrame,
                counters: gpd.GeoDataFrame) -> Any:
    """The candidate hub sites of the scenario's kinds (and its candidate CSV) in the wards."""
    from siting.candidates import load_candidates

    hubs_cfg = scenario.hubs
    kinds: dict[str, float] = {k: hubs_cfg.costs.get(k, 1.0) for k in hubs_cfg.candidates}
    extra = None
    if hubs_cfg.candidate_csv:
        base = scenario.source.parent if scenario.source else Path()
        extra = base / hubs_cfg.candidate_csv
        kinds.setdefault("user", hubs_cfg.costs.get("user", 3.0))
    return load_candidates(data_dir, kinds=kinds, area=london_area(wards),
                           police_sites=police_sites(counters), extra_csv=extra)


def check_hub_inputs(scenario: Scenario, data_dir: Path) -> dict[str, Any]:
    """The hub model's checks that need no travel computation (`siting validate`): the ward
    codes of hubs.wards, the candidate sites (and candidate CSV) load, and every site id in
    hubs.must_open and hubs.forbidden is a candidate. Returns the candidate count."""
    if not scenario.hubs.enabled:
        return {"enabled": False}
    wards = load_wards(data_dir, scenario.data)
    ward_scope(scenario, wards)
    candidates = scenario_candidates(scenario, data_dir, wards, scenario_counters(scenario))
    known = sorted(candidates.sites["site_id"].astype(str))
    for label in ("must_open", "forbidden"):
        for index, site in enumerate(getattr(scenario.hubs, label)):
            if site not in known:
                close = difflib.get_close_matches(site, known, n=3, cutoff=0.6)
                hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
                raise ScenarioError(
                    f"{scenario.source}: field `hubs.{label}[{index}]`: unknown site id {site!r}."
                    f"{hint} Use ids of the candidate sites (e.g. 'police:colindale', 'fire:12'), "
                    "as in hubs.csv of a run."
                )
    return {"enabled": True, "candidates": len(known)}


def ward_scope(scenario: Scenario, wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The wards named by hubs.wards; an unknown code is a scenario error naming the closest."""
    known = set(wards["ward_code"])
    for index, code in enumerate(scenario.hubs.wards or []):
        if code not in known:
            close = difflib.get_close_matches(code, sorted(known), n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ScenarioError(
                f"{scenario.source}: field `hubs.wards[{index}]`: unknown ward code {code!r}.{hint} "
                "Use 2014 ward GSS codes (E05...), as in wards.csv of a run."
            )
    return wards[wards["ward_code"].isin(scenario.hubs.wards or [])]


def hub_outputs(
    solution: HubSolution, candidates: gpd.GeoDataFrame, dropped: dict[str, int]
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, Any]]:
    """Open hubs (with wards served and officers) as points, the assignment, and solver figures."""
    where = candidates.set_index("site_id").geometry
    hubs = solution.open_sites.loc[:, ["site_id", "name", "kind", "cost", "wards_served", "officers"]]
    hubs = gpd.GeoDataFrame(hubs, geometry=where.reindex(hubs["site_id"]).to_numpy(), crs=BNG)
    figures = {
        **solution.figures(),
        "candidates": len(candidates),
        "candidates_by_kind": {str(k): int(v) for k, v in candidates.groupby("kind").size().items()},
        "candidates_dropped": dict(sorted(dropped.items())),
        # each ward no candidate reaches, with its nearest candidate (named in report.md)
        "uncovered_wards": [
            {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
            for row in solution.uncovered.to_dict("records")],
    }
    return hubs, solution.assignment, figures


def attach_hubs(wards: gpd.GeoDataFrame, hubs: gpd.GeoDataFrame, assignment: pd.DataFrame) -> gpd.GeoDataFrame:
    """Add hub_site_id, hub_name and hub_walk_minutes to the wards (empty where uncovered)."""
    names = hubs.set_index("site_id")["name"] if len(hubs) else pd.Series(dtype=str)
    joined = wards.merge(
        assignment.rename(columns={"site_id": "hub_site_id", "minutes": "hub_walk_minutes"}),
        on="ward_code", how="left",
    )
    joined["hub_site_id"] = joined["hub_site_id"].astype(object).fillna("").astype(str)
    joined["hub_name"] = joined["hub_site_id"].map(names).astype(object).fillna("").astype(str)
    joined["hub_walk_minutes"] = joined["hub_walk_minutes"].astype(float)
    return joined
