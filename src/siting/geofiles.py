"""GeoParquet and GeoPackage copies of the run's tables, beside the CSVs, byte-identical per input.

Each layer is its CSV table plus geometry in EPSG:27700: wards (ward polygons), LSOAs
(population-weighted centroids) and hubs (site points). GeoPackage stamps a modification time in
its metadata, so it is pinned (GDAL's ``OGR_CURRENT_DATE``) to keep the files reproducible.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from siting._crs import BNG

__all__ = ["GEO_FORMATS", "geo_writers", "with_geometry", "write_geopackage"]

GEO_FORMATS = ("parquet", "gpkg")
"""File types written for each layer."""

_FIXED_DATE = "2000-01-01T00:00:00.000Z"


def with_geometry(table: pd.DataFrame, source: gpd.GeoDataFrame, key: str) -> gpd.GeoDataFrame:
    """``table`` with the geometry of ``source`` joined on ``key`` (rows in table order), in BNG."""
    if source.empty or table.empty:
        return gpd.GeoDataFrame(table.copy(), geometry=gpd.GeoSeries([] if table.empty else
                                                                     [None] * len(table), crs=BNG),
                                crs=BNG)
    where = source.to_crs(BNG).drop_duplicates(key).set_index(key).geometry
    geometry = where.reindex(table[key].astype(str).to_numpy()).to_numpy()
    frame = table.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype("string")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=BNG)


def write_geopackage(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    """One-layer GeoPackage with a fixed timestamp (reproducible bytes)."""
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
    try:
        frame.to_file(path, driver="GPKG", layer=layer, engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def geo_writers(layers: dict[str, gpd.GeoDataFrame]) -> dict[str, Callable[[Path], None]]:
    """File name -> function writing it, for each layer as GeoParquet and GeoPackage."""
    writers: dict[str, Callable[[Path], None]] = {}
    for name, frame in layers.items():
        writers[f"{name}.parquet"] = functools.partial(_write_parquet, frame)
        writers[f"{name}.gpkg"] = functools.partial(_write_gpkg, frame, name)
    return writers


def _write_parquet(frame: gpd.GeoDataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False)


def _write_gpkg(frame: gpd.GeoDataFrame, layer: str, path: Path) -> None:
    write_geopackage(frame, path, layer)
