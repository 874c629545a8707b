"""Input checks in one place, called at each stage's entry: files, columns and CRS."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting._errors import DataError

__all__ = ["check_columns", "check_crs", "require_file"]


def require_file(path: Path, *, what: str = "file", fix: str | None = None) -> Path:
    """The path, or a DataError naming it and what to do (default: data dir or `siting data fetch`)."""
    if not path.is_file():
        raise DataError(
            f"{path}: {what} not found. "
            + (fix or "Check the data directory (SITING_DATA_DIR) and the scenario's `data` "
               "section, or run `siting data fetch` to download it.")
        )
    return path


def check_columns(frame: pd.DataFrame, required: list[str], *, source: Path | str) -> None:
    """Raise DataError naming the file and every required column it lacks."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; found "
            f"{', '.join(map(str, frame.columns))}. Use the published file (see "
            "data/boundaries/README.md) or rename the columns."
        )


def check_crs(frame: gpd.GeoDataFrame, *, source: Path | str) -> None:
    """Raise DataError when a layer has no CRS; distances need a stated CRS."""
    if frame.crs is None:
        raise DataError(
            f"{source}: the layer has no coordinate reference system, so distances would be "
            "meaningless. Save it with its CRS (e.g. EPSG:4326 for GeoJSON, EPSG:27700 for "
            "British National Grid), or use set_crs() before writing it."
        )
