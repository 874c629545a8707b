"""Isochrones: the areas within 15, 30, 45 and 60 minutes of a counter, from a travel-time grid.

A cell belongs to the T-minute isochrone when its median minutes (over the departure window)
are at most T; the polygon is the union of those cells' squares (`shapely.coverage_union_all`,
exact for a grid because the squares share whole edges). So the isochrones are nested and
their edges follow the grid: their resolution is the grid's cell size, as with PTAL maps.
Around the nearest-counter surface (both measures), or around any single counter (a grid
computed to that counter alone, `siting grid --counter ID`).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._crs import BNG
from siting._errors import DataError

__all__ = ["ISOCHRONE_MINUTES", "isochrones"]

ISOCHRONE_MINUTES = (15, 30, 45, 60)
"""Default isochrone limits (minutes)."""


def isochrones(cells: gpd.GeoDataFrame, *, cell_m: float, minutes: Sequence[float] = ISOCHRONE_MINUTES,
               measures: Sequence[str] = ("24h", "any"), label: str = "nearest") -> gpd.GeoDataFrame:
    """One polygon per (measure, limit): the union of the cells reached within the limit.

    ``cells`` needs x, y (cell centres in EPSG:27700) and ``minutes_<measure>`` columns (a
    `siting.grid.Grid`'s cells). Columns: counter (``label``: 'nearest' or a counter id),
    measure, minutes, cells, area_km2, geometry (EPSG:27700; empty when no cell is reached).
    """
    if cells.crs is None or cells.crs != BNG:
        raise DataError("isochrones: the cells must be in EPSG:27700 (a siting.grid.Grid's cells).")
    half = cell_m / 2.0
    x = cells["x"].to_numpy(dtype=float)
    y = cells["y"].to_numpy(dtype=float)
    squares = shapely.box(x - half, y - half, x + half, y + half)
    rows = []
    for measure in measures:
        column = f"minutes_{measure}"
        if column not in cells.columns:
            continue
        values = cells[column].to_numpy(dtype=float)
        for limit in sorted(minutes):
            inside = np.isfinite(values) & (values <= limit)
            geometry = (shapely.simplify(shapely.coverage_union_all(squares[inside]), 0.0)
                        if inside.any() else shapely.Polygon())
            rows.append({"counter": label, "measure": measure, "minutes": float(limit),
                         "cells": int(inside.sum()),
                         "area_km2": round(float(inside.sum()) * cell_m * cell_m / 1e6, 4),
                         "geometry": geometry})
    if not rows:
        raise DataError("isochrones: the cells have no minutes_<measure> column; compute them "
                        "with siting.grid.scenario_grid.")
    frame = pd.DataFrame(rows)
    return gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=frame["geometry"].to_list(),
                            crs=BNG)
