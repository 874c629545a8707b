"""Stand-in Analysis objects for the map tests: the real London layers, crow-fly minutes.

Until `siting.analysis.analyse` fixtures exist (`london_final`/`london_baseline` in conftest),
the map tests build an Analysis from the real wards, LSOAs, boroughs and a real scenario's
counters, with minutes = 10 + crow-fly metres / 110 to the nearest open counter (6.6 km/h door
to door; none reached beyond 9 km), and three DWO hubs at real London Fire Brigade stations.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree

from siting._crs import BNG
from siting.analysis import MEASURES, Analysis
from siting.candidates import load_candidates
from siting.data import load_boroughs, load_lsoas, load_wards, scenario_counters
from siting.network.walk import DEFAULT_CIRCUITY, WalkModel
from siting.scenario import DataFiles, load_scenario

__all__ = ["HOSTILE", "analysis_or_standin", "standin_analysis", "with_hostile_names"]

REPO = Path(__file__).resolve().parents[2]

HOSTILE = {
    "ward": "<img src=x onerror=alert(1)>",
    "borough": "</script><script>alert(2)</script>",
    "counter": "<img src=x onerror=alert(3)> {{ 7*7 }}",
    "hub": "${alert(4)} `{% raw %}",
    "title": "<b onmouseover=alert(5)>Hostile</b> & co",
    "description": "</title><script>alert(6)</script>",
}
"""Texts that must appear on the map as text, never run as HTML or script."""

FIRE_HUBS = ("Lambeth Fire Station", "Stratford Fire Station", "Croydon Fire Station")
"""Real LFB stations used as stand-in DWO hubs."""

UNREACHED_M = 9_000.0
"""Beyond this crow-fly distance the stand-in says no counter is reached (minutes NaN)."""


@functools.cache
def _layers(data_dir: Path, population: str) -> tuple[gpd.GeoDataFrame, ...]:
    files = DataFiles(population=population)  # type: ignore[arg-type]
    return load_wards(data_dir, files), load_lsoas(data_dir, files), load_boroughs(data_dir, files)


@functools.cache
def _fire_stations(data_dir: Path) -> gpd.GeoDataFrame:
    wards = _layers(data_dir, "census2011")[0]
    return load_candidates(data_dir, kinds={"fire": 3.0}, area=wards).sites


def _weighted(lsoas: pd.DataFrame, column: str) -> pd.Series:
    ok = lsoas[lsoas[column].notna()]
    total = (ok[column] * ok["population"]).groupby(ok["ward_code"]).sum()
    return total / ok.groupby("ward_code")["population"].sum()


@functools.cache
def standin_analysis(data_dir: Path, scenario_path: Path) -> Analysis:
    """An Analysis of a real scenario file with crow-fly stand-in minutes and three fire-station hubs."""
    scenario = load_scenario(scenario_path)
    wards, lsoas, boroughs = _layers(data_dir, scenario.data.population)
    wards, lsoas = wards.copy(), lsoas.copy()
    counters = scenario_counters(scenario)
    xy = np.column_stack([lsoas.geometry.x, lsoas.geometry.y])
    for measure, statuses in (("24h", ["24h"]), ("any", ["24h", "daytime"])):
        open_ = counters[counters["status"].isin(statuses)]
        dist, idx = cKDTree(np.column_stack([open_.geometry.x, open_.geometry.y])).query(xy)
        minutes = 10.0 + dist / 110.0
        minutes[dist > UNREACHED_M] = np.nan
        lsoas[f"minutes_{measure}"] = minutes
        lsoas[f"nearest_{measure}_counter"] = np.where(
            np.isnan(minutes), "", open_["counter_id"].to_numpy()[idx])
        for t in scenario.thresholds:
            lsoas[f"over_{t}_{measure}"] = np.isnan(minutes) | (minutes > t)
    population = lsoas.groupby("ward_code")["population"].sum()
    wards["population"] = wards["ward_code"].map(population).fillna(0).astype(np.int64)
    for measure in MEASURES:
        wards[f"minutes_{measure}"] = wards["ward_code"].map(_weighted(lsoas, f"minutes_{measure}"))
        top = (lsoas.groupby(["ward_code", f"nearest_{measure}_counter"])["population"].sum()
               .reset_index().sort_values(["ward_code", "population"], ascending=[True, False],
                                          kind="stable").drop_duplicates("ward_code"))
        wards[f"nearest_{measure}_counter"] = wards["ward_code"].map(
            top.set_index("ward_code")[f"nearest_{measure}_counter"]).fillna("")
        for t in scenario.thresholds:
            minutes = wards[f"minutes_{measure}"]
            wards[f"over_{t}_{measure}"] = minutes.isna() | (minutes > t)
            over = lsoas[lsoas[f"over_{t}_{measure}"]]
            wards[f"pop_over_{t}_{measure}"] = wards["ward_code"].map(
                over.groupby("ward_code")["population"].sum()).fillna(0).astype(np.int64)

    fire = _fire_stations(data_dir)
    hubs = fire[fire["name"].isin(FIRE_HUBS)].sort_values("site_id").reset_index(drop=True)
    walk = WalkModel(speed_kmh=scenario.walking.speed_kmh)
    limit = scenario.hubs.walk_limit_minutes
    ward_geoms = wards.geometry.to_numpy()
    minutes = np.column_stack([walk.minutes(shapely.distance(ward_geoms, point))
                               for point in hubs.geometry.to_numpy()])
    best = minutes.argmin(axis=1)
    best_minutes = minutes[np.arange(len(wards)), best]
    covered = best_minutes <= limit
    assignment = pd.DataFrame({"ward_code": wards["ward_code"].to_numpy()[covered],
                               "site_id": hubs["site_id"].to_numpy()[best[covered]],
                               "minutes": np.round(best_minutes[covered], 2)})
    served = assignment["site_id"].value_counts()
    hubs = gpd.GeoDataFrame(
        {"site_id": hubs["site_id"], "name": hubs["name"], "kind": "fire", "cost": 3.0,
         "wards_served": [int(served.get(s, 0)) for s in hubs["site_id"]],
         "officers": [2 * int(served.get(s, 0)) for s in hubs["site_id"]]},
        geometry=hubs.geometry.to_numpy(), crs=BNG)
    by_ward = assignment.set_index("ward_code")
    names = dict(zip(hubs["site_id"], hubs["name"], strict=True))
    wards["hub_site_id"] = wards["ward_code"].map(by_ward["site_id"]).fillna("")
    wards["hub_name"] = wards["hub_site_id"].map(names).fillna("")
    wards["hub_walk_minutes"] = wards["ward_code"].map(by_ward["minutes"])
    return Analysis(
        scenario=scenario,
        wards=gpd.GeoDataFrame(wards, geometry="geometry", crs=BNG),
        lsoas=gpd.GeoDataFrame(lsoas, geometry="geometry", crs=BNG),
        counters=counters,
        hubs=hubs,
        hub_assignment=assignment,
        boroughs=boroughs,
        assumptions={"walking": {"speed_kmh": scenario.walking.speed_kmh,
                                 "circuity_used": DEFAULT_CIRCUITY},
                     "transit": {"departure_window": scenario.transit.departure_window},
                     "stand_in": "10 + crow-fly metres / 110 minutes; none reached beyond 9 km"},
        modes={"stand_in": "no public-transport network: crow-fly minutes for the map tests"},
    )


def with_hostile_names(analysis: Analysis) -> Analysis:
    """The same Analysis with script-like texts as a ward, borough, counter, hub and title."""
    wards = analysis.wards.copy()
    first = wards.index[0]
    wards.loc[first, "ward_name"] = HOSTILE["ward"]
    wards.loc[first, "borough"] = HOSTILE["borough"]
    counters = analysis.counters.copy()
    shown = counters.index[counters["status"] == "24h"][0]
    counters.loc[shown, "name"] = HOSTILE["counter"]
    hubs = analysis.hubs.copy()
    if not hubs.empty:
        hubs.loc[hubs.index[0], "name"] = HOSTILE["hub"]
        wards.loc[wards["hub_site_id"] == hubs["site_id"].iloc[0], "hub_name"] = HOSTILE["hub"]
    scenario = analysis.scenario.model_copy(
        update={"title": HOSTILE["title"], "description": HOSTILE["description"]})
    return dataclasses.replace(analysis, scenario=scenario, wards=wards, counters=counters, hubs=hubs)


def analysis_or_standin(request: pytest.FixtureRequest, fixture: str, london_dir: Path,
                        scenario_file: str) -> Analysis:
    """The project's real Analysis fixture (tests/conftest.py) when it exists, else the stand-in."""
    try:
        return request.getfixturevalue(fixture)
    except pytest.FixtureLookupError:
        return standin_analysis(london_dir, REPO / "scenarios" / scenario_file)
