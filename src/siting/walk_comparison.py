"""The same hub problem walked on a street network and crow-fly, side by side.

`siting run` uses it when a scenario names a real street extract (``walking.network``): the
report's ``hubs.solver.streets_vs_crowfly`` says how far the crow-fly model is from the streets
for the wards and candidate sites the extract covers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import InfeasibleError
from siting.hub_matrix import Target, bng_frame, walk_matrix
from siting.hubs import HubSiting, HubSolution, InfeasibilityReport
from siting.network.walk import OsmWalkNetwork, WalkModel

__all__ = ["WalkComparison", "compare_walk_models"]


@dataclass(frozen=True)
class WalkComparison:
    """The same hub problem solved walking on a street network and walking crow-fly."""

    wards: pd.DataFrame = field(repr=False)
    """ward_code, ward_name, share_inside: the wards compared."""
    sites: pd.DataFrame = field(repr=False)
    """site_id, name, kind, cost: the candidates inside the extract."""
    network: HubSolution | InfeasibilityReport
    crowfly: HubSolution | InfeasibilityReport
    pairs: pd.DataFrame = field(repr=False)
    """ward_code, site_id, network_minutes, crowfly_minutes, difference (network - crow-fly)
    for every pair within twice the limit in either model (NaN where one has no walk)."""
    wards_compared: pd.DataFrame = field(repr=False)
    """ward_code, network_site, network_minutes, crowfly_site, crowfly_minutes and
    crowfly_site_network_minutes (the crow-fly model's hub walked on the streets)."""
    limit_minutes: float = 20.0

    def summary(self) -> dict[str, Any]:
        """Headline figures: hubs and cost under each model, walk-time differences."""
        def describe(result: HubSolution | InfeasibilityReport) -> dict[str, Any]:
            if isinstance(result, InfeasibilityReport):
                return {"status": "INFEASIBLE", "reason": result.reason, "message": result.message}
            return {"status": result.status, "hubs": result.n_hubs, "cost": result.objective,
                    "total_minutes": round(result.total_minutes, 1),
                    "max_minutes": round(result.max_minutes, 1),
                    "sites": sorted(result.open_sites["site_id"]),
                    "uncovered": result.uncovered["ward_code"].tolist()}
        both = self.pairs.dropna(subset=["network_minutes", "crowfly_minutes"])
        positive = both[both["crowfly_minutes"] > 0]
        too_far = self.wards_compared["crowfly_site_network_minutes"].fillna(np.inf) > self.limit_minutes + 1e-9
        return {
            "wards": len(self.wards),
            "sites": len(self.sites),
            "network": describe(self.network),
            "crowfly": describe(self.crowfly),
            "pairs_compared": len(both),
            "median_difference_minutes": float(both["difference"].median()) if len(both) else math.nan,
            "mean_abs_difference_minutes": float(both["difference"].abs().mean()) if len(both) else math.nan,
            "median_ratio": float((positive["network_minutes"] / positive["crowfly_minutes"]).median())
            if len(positive) else math.nan,
            "crowfly_hubs_beyond_limit_on_streets": int(too_far.sum()),
        }


def compare_walk_models(
    wards: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    network: OsmWalkNetwork,
    *,
    crowfly: WalkModel | None = None,
    limit_minutes: float = 20.0,
    to: Target = "boundary",
    time_limit_s: float = 30.0,
    **options: Any,
) -> WalkComparison:
    """Solve the hub model on the street network and crow-fly, for the same wards and sites.

    Pass the wards the extract covers and the candidates inside it. Each
    model's answer is a `HubSolution`, or the `InfeasibilityReport` when it has none.
    """
    crowfly = crowfly or WalkModel(speed_kmh=network.speed_kmh)
    wards = bng_frame(wards, "wards", "ward_code").sort_values("ward_code", kind="stable").reset_index(drop=True)
    sites = bng_frame(sites, "sites", "site_id").sort_values("site_id", kind="stable").reset_index(drop=True)
    options.setdefault("uncovered", "raise")
    results: dict[str, HubSolution | InfeasibilityReport] = {}
    for label, walk in (("network", network), ("crowfly", crowfly)):
        model = HubSiting.from_geodataframes(wards, sites, walk, limit_minutes=limit_minutes, to=to, **options)
        try:
            results[label] = model.solve(time_limit_s=time_limit_s)
        except InfeasibleError as exc:
            results[label] = exc.report  # type: ignore[attr-defined]
    wide = 2 * limit_minutes
    on_streets = walk_matrix(wards, sites, network, limit_minutes=wide, to=to)
    crow = walk_matrix(wards, sites, crowfly, limit_minutes=wide, to=to)
    pairs = (on_streets.rename(columns={"minutes": "network_minutes"})
             .merge(crow.rename(columns={"minutes": "crowfly_minutes"}), on=["ward_code", "site_id"], how="outer")
             .sort_values(["ward_code", "site_id"], kind="stable").reset_index(drop=True))
    pairs["difference"] = pairs["network_minutes"] - pairs["crowfly_minutes"]
    ward_cols = [c for c in ("ward_code", "ward_name", "share_inside") if c in wards.columns]
    site_cols = [c for c in ("site_id", "name", "kind", "cost") if c in sites.columns]
    return WalkComparison(wards=pd.DataFrame(wards[ward_cols]), sites=pd.DataFrame(sites[site_cols]),
                          network=results["network"], crowfly=results["crowfly"], pairs=pairs,
                          wards_compared=_compare_assignments(results, pairs, wards["ward_code"]),
                          limit_minutes=float(limit_minutes))


def _compare_assignments(results: Mapping[str, HubSolution | InfeasibilityReport],
                         pairs: pd.DataFrame, codes: pd.Series) -> pd.DataFrame:
    table = pd.DataFrame({"ward_code": codes.astype(str).to_numpy()})
    for label in ("network", "crowfly"):
        result = results[label]
        chosen = (result.assignment if isinstance(result, HubSolution)
                  else pd.DataFrame(columns=["ward_code", "site_id", "minutes"]))
        table = table.merge(chosen.rename(columns={"site_id": f"{label}_site", "minutes": f"{label}_minutes"}),
                            on="ward_code", how="left")
    walked = pairs.set_index(["ward_code", "site_id"])["network_minutes"]
    table["crowfly_site_network_minutes"] = [
        float(walked.get((w, s), np.nan)) if isinstance(s, str) else np.nan
        for w, s in zip(table["ward_code"], table["crowfly_site"], strict=True)]
    return table.sort_values("ward_code", kind="stable").reset_index(drop=True)
