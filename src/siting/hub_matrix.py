"""The hub model's coverage table: walk minutes from candidate sites to wards, in EPSG:27700.

`walk_matrix` gives the ward-site pairs within the walk limit (the model's allowed pairs);
`nearest_sites` each ward's nearest site without a limit (to explain a ward nothing reaches).
Walks are crow-fly (`WalkModel`) or on the street network (`OsmWalkNetwork`).
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._crs import BNG
from siting._errors import DataError, ScenarioError
from siting.network.walk import OsmWalkNetwork, WalkModel

__all__ = ["Target", "Walk", "bng_frame", "nearest_sites", "walk_matrix"]

Walk: TypeAlias = WalkModel | OsmWalkNetwork
Target: TypeAlias = Literal["boundary", "centroid"]


def bng_frame(frame: gpd.GeoDataFrame, what: str, id_column: str) -> gpd.GeoDataFrame:
    """The frame in EPSG:27700, checked: a GeoDataFrame with a CRS and unique ids (DataError if not)."""
    if not isinstance(frame, gpd.GeoDataFrame):
        raise DataError(f"{what}: expected a GeoDataFrame, got {type(frame).__name__}.")
    if id_column not in frame.columns:
        raise DataError(f"{what}: missing column {id_column!r}; found {', '.join(map(str, frame.columns))}.")
    if frame.crs is None:
        raise DataError(f"{what}: no coordinate reference system, so distances would be meaningless. "
                        "Use set_crs() (EPSG:27700 or EPSG:4326) first.")
    if frame[id_column].duplicated().any():
        dup = frame.loc[frame[id_column].duplicated(), id_column].astype(str).head(5).tolist()
        raise DataError(f"{what}: duplicate {id_column} {', '.join(dup)}; ids must be unique.")
    return frame.to_crs(BNG) if frame.crs != BNG else frame


def _site_points(sites: gpd.GeoDataFrame) -> np.ndarray:
    """One point per site (a polygon's representative point), as (n, 2) coordinates."""
    if len(sites) == 0:
        return np.empty((0, 2))
    return shapely.get_coordinates(sites.geometry.representative_point().to_numpy())


def _targets(wards: gpd.GeoDataFrame, to: Target, centres: gpd.GeoDataFrame | None) -> np.ndarray:
    """Ward geometries walked to: polygons ('boundary') or one point per ward ('centroid')."""
    if to == "boundary":
        return wards.geometry.to_numpy()
    if to != "centroid":
        raise ScenarioError(f"hubs.measure_to: {to!r} is not 'boundary' or 'centroid'.")
    if centres is not None:
        centres = bng_frame(centres, "centres", "ward_code")
        points = centres.set_index("ward_code").geometry.reindex(wards["ward_code"])
        if points.isna().any():
            missing = wards["ward_code"][points.isna().to_numpy()].head(5).tolist()
            raise DataError(f"centres: no population centre for ward(s) {', '.join(missing)}. "
                            "Give one point per ward_code.")
        return points.representative_point().to_numpy()
    geoms = wards.geometry
    return (geoms if (geoms.geom_type == "Point").all() else geoms.centroid).to_numpy()


def _pairs(wards: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, walk: Walk, to: Target,
           centres: gpd.GeoDataFrame | None, limit: float | None) -> pd.DataFrame:
    """(i_ward, i_site, minutes) for pairs within ``limit`` (all reachable pairs when None)."""
    targets = _targets(wards, to, centres)
    xy_sites = _site_points(sites)
    if isinstance(walk, OsmWalkNetwork):
        if to == "boundary":
            table = walk.minutes_to_areas(xy_sites, targets, max_minutes=limit)
            table = table.rename(columns={"i_area": "i_ward", "i_from": "i_site"})
        else:
            table = walk.minutes_from(xy_sites, shapely.get_coordinates(targets), max_minutes=limit)
            table = table.rename(columns={"i_from": "i_site", "i_to": "i_ward"})
        return table.dropna(subset=["minutes"])[["i_ward", "i_site", "minutes"]]
    if limit is None:
        raise ValueError("crow-fly pairs need a limit; use nearest_sites for the nearest site")
    points = shapely.points(xy_sites)
    i_ward, i_site = shapely.STRtree(points).query(targets, predicate="dwithin",
                                                   distance=walk.reach_m(limit))
    metres = shapely.distance(targets[i_ward], points[i_site])
    table = pd.DataFrame({"i_ward": i_ward, "i_site": i_site, "minutes": walk.minutes(metres)})
    return table[table["minutes"] <= limit + 1e-9]


def _named_pairs(wards: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """The (i_ward, i_site, minutes) pairs with ward codes and site ids for the indices."""
    return pd.DataFrame({
        "ward_code": wards["ward_code"].to_numpy()[pairs["i_ward"].to_numpy(dtype=np.int64)].astype(str),
        "site_id": sites["site_id"].to_numpy()[pairs["i_site"].to_numpy(dtype=np.int64)].astype(str),
        "minutes": pairs["minutes"].to_numpy(dtype=float),
    })


def walk_matrix(
    wards: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    walk: Walk,
    *,
    limit_minutes: float = 20.0,
    to: Target = "boundary",
    centres: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Sparse coverage table (ward_code, site_id, minutes) of ward-site pairs within the limit.

    ``to='boundary'``: walk from the site to the nearest point of the ward polygon (0 inside it);
    ``to='centroid'``: to the ward's population centre, one point per ward_code in ``centres``
    (default: the ward geometry itself if points, else its centroid). Crow-fly pairs come from
    an STRtree ``dwithin`` query and vectorised shapely distances; network pairs from Dijkstra.
    """
    wards = bng_frame(wards, "wards", "ward_code")
    sites = bng_frame(sites, "sites", "site_id")
    table = _named_pairs(wards, sites, _pairs(wards, sites, walk, to, centres, limit_minutes))
    return table.sort_values(["ward_code", "site_id"], kind="stable").reset_index(drop=True)


def nearest_sites(
    wards: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    walk: Walk,
    *,
    to: Target = "boundary",
    centres: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Nearest site of every ward, with no walk limit: ward_code, site_id, minutes (NaN if none)."""
    wards = bng_frame(wards, "wards", "ward_code")
    sites = bng_frame(sites, "sites", "site_id")
    frame = pd.DataFrame({"ward_code": wards["ward_code"].astype(str).to_numpy()})
    if len(sites) == 0 or len(wards) == 0:
        return frame.assign(site_id=None, minutes=np.nan)
    if isinstance(walk, OsmWalkNetwork):
        pairs = _pairs(wards, sites, walk, to, centres, None)
    else:
        targets = gpd.GeoDataFrame({"i_ward": np.arange(len(wards))},
                                   geometry=_targets(wards, to, centres), crs=BNG)
        points = gpd.GeoDataFrame({"i_site": np.arange(len(sites))},
                                  geometry=shapely.points(_site_points(sites)), crs=BNG)
        joined = gpd.sjoin_nearest(targets, points, distance_col="metres")
        pairs = pd.DataFrame({"i_ward": joined["i_ward"].to_numpy(), "i_site": joined["i_site"].to_numpy(),
                              "minutes": walk.minutes(joined["metres"].to_numpy())})
    best = (_named_pairs(wards, sites, pairs)
            .sort_values(["ward_code", "minutes", "site_id"], kind="stable")
            .drop_duplicates("ward_code"))
    return frame.merge(best, on="ward_code", how="left").sort_values("ward_code", kind="stable") \
        .reset_index(drop=True)
