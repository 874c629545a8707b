"""Input checks in one place, called at each stage's entry: files, columns, numbers and CRS."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import ECHO_LIMIT, DataError, shown

__all__ = [
    "ECHO_LIMIT",
    "check_columns",
    "check_crs",
    "check_numeric",
    "inside",
    "read_csv",
    "read_layer",
    "read_parquet",
    "require_file",
    "shown",
]

def require_file(path: Path, *, what: str = "file", fix: str | None = None) -> Path:
    """The path, or a DataError naming it and what to do (default: data dir or `siting data fetch`)."""
    if not path.is_file():
        if path.is_dir():
            raise DataError(f"{path}: {what} is a folder, not a file. Point the setting at the file.")
        raise DataError(
            f"{path}: {what} not found. "
            + (fix or "Check the data directory (SITING_DATA_DIR) and the scenario's `data` "
               "section, or run `siting data fetch` to download it.")
        )
    return path


def inside(data_dir: Path, relative: str, *, field: str) -> Path:
    """data_dir / relative, or a DataError when the path leaves the data directory.

    A scenario names its data files relative to the data directory; an absolute path or `..`
    that escapes it would read a file the planner did not mean to publish figures from.
    """
    root = Path(os.path.abspath(data_dir))
    path = Path(os.path.normpath(root / relative))  # the text, not symlinks the owner made
    if path != root and root not in path.parents:
        raise DataError(
            f"field `{field}`: {shown(relative)} points outside the data directory {root}. "
            "Give a path relative to the data directory (no leading '/' and no '..'), or set "
            "SITING_DATA_DIR to the folder that holds the file."
        )
    return path


def _unreadable(path: Path, problem: str, fix: str) -> DataError:
    return DataError(f"{path}: {problem}. {fix}")


def read_csv(path: Path, *, what: str = "CSV file", **kwargs: Any) -> pd.DataFrame:
    """pd.read_csv with every way a file can be unreadable turned into a DataError."""
    fix = (f"Replace the {what} with the published file (see the data folder's SOURCES.md), "
           "saved as UTF-8 comma-separated text with a header row.")
    try:
        frame = pd.read_csv(path, encoding="utf-8", **kwargs)
    except pd.errors.EmptyDataError:
        raise _unreadable(path, f"the {what} is empty (no header row)", fix) from None
    except UnicodeDecodeError as exc:
        raise _unreadable(path, f"the {what} is not UTF-8 text (byte {exc.start} is "
                          f"0x{exc.object[exc.start]:02x})", fix) from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise _unreadable(path, f"the {what} is not readable CSV ({shown(str(exc), 120)})", fix) from None
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas turns the extra leading fields of a too-long first row into an index
        raise _unreadable(path, f"the {what} is not readable CSV (line 2 has more fields than "
                          "the header)", fix)
    if frame.empty:
        raise _unreadable(path, f"the {what} has a header but no rows", fix)
    return frame


def read_layer(path: Path, *, what: str = "GeoJSON file") -> gpd.GeoDataFrame:
    """gpd.read_file with a truncated, garbage or non-UTF-8 file turned into a DataError."""
    fix = (f"Replace the {what} with the published file (see the data folder's SOURCES.md); "
           "a GeoJSON file is UTF-8 JSON holding a FeatureCollection.")
    try:
        head = path.read_bytes() if path.suffix.lower() in (".geojson", ".json") else b"?"
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _unreadable(path, f"the {what} is not UTF-8 text (byte {exc.start} is "
                          f"0x{exc.object[exc.start]:02x})", fix) from None
    except OSError as exc:
        raise _unreadable(path, f"the {what} cannot be read ({exc.strerror})", fix) from None
    if not head.strip():
        raise _unreadable(path, f"the {what} is empty", fix)
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:
        raise _unreadable(path, f"the {what} is not a readable vector layer "
                          f"({shown(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 120)})",
                          fix) from None
    if frame.empty:
        raise _unreadable(path, f"the {what} holds no features", fix)
    return frame


def read_parquet(path: Path, *, what: str = "GeoParquet file") -> gpd.GeoDataFrame:
    """gpd.read_parquet with a truncated or garbage file turned into a DataError."""
    try:
        return gpd.read_parquet(path)
    except Exception as exc:
        raise _unreadable(path, f"the {what} is not readable GeoParquet "
                          f"({shown(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 120)})",
                          "Replace it with the published file (see the data folder's SOURCES.md), "
                          "or run `siting data fetch --force`.") from None


def check_columns(frame: pd.DataFrame, required: list[str], *, source: Path | str) -> None:
    """Raise DataError naming the file and every required column it lacks."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(shown(str(c), 40) for c in list(frame.columns)[:30])
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; found "
            f"{found}. Use the published file (see "
            "data/boundaries/README.md) or rename the columns."
        )


def check_numeric(frame: pd.DataFrame, columns: list[str], *, source: Path | str,
                  key: str | None = None) -> pd.DataFrame:
    """The frame with `columns` as floats, or a DataError naming the first cell that is not a number.

    Empty cells stay NaN (the caller decides whether a gap is allowed); text such as 'n/a' or
    '12 km' is an error, never silently NaN.
    """
    out = frame.copy()
    for column in columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[column] = values.astype(float)
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        text = values.astype("string").str.strip()
        bad = (numbers.isna() & text.notna() & (text != "")).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            where = f"row {row + 2}" + (f" ({key} {shown(frame[key].iloc[row], 30)})" if key else "")
            raise DataError(
                f"{source}, {where}, column {column!r}: {shown(values.iloc[row])} is not a number. "
                "Use the published file, or write plain numbers (digits and a '.') in this column."
            )
        out[column] = numbers.astype(float)
    return out


def check_crs(frame: gpd.GeoDataFrame, *, source: Path | str) -> None:
    """Raise DataError when a layer has no CRS; distances need a stated CRS."""
    if frame.crs is None:
        raise DataError(
            f"{source}: the layer has no coordinate reference system, so distances would be "
            "meaningless. Save it with its CRS (e.g. EPSG:4326 for GeoJSON, EPSG:27700 for "
            "British National Grid), or use set_crs() before writing it."
        )
