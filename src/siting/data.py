"""Data stage: load the London data, check files, columns, CRS and geometry, project to BNG."""

from __future__ import annotations

import logging
import os
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._crs import BNG, WGS84
from siting._errors import DataError
from siting._validate import (
    check_columns,
    check_crs,
    check_numeric,
    inside,
    read_csv,
    read_layer,
    require_file,
)
from siting.scenario import DataFiles, Scenario, parse_window

__all__ = [
    "DATA_DIR_CANDIDATES",
    "POPULATION_COLUMNS",
    "check_columns",
    "check_crs",
    "counter_hours",
    "load_boroughs",
    "load_counters",
    "load_lsoa_areas",
    "load_lsoas",
    "load_postcode_districts",
    "load_ptai",
    "load_wards",
    "resolve_data_dir",
    "scenario_counters",
    "ward_population",
]

log = logging.getLogger(__name__)

DEFAULT_FILES = DataFiles()
"""The standard London data files (2014 wards, LSOA centroids, boroughs, PTAI)."""

POPULATION_COLUMNS = {"census2011": "pop_census2011", "mid2019": "pop_mid2019"}
"""Population column of the LSOA centroid table for each scenario choice."""


DATA_DIR_CANDIDATES = ("../shared/data/london", "data")
"""Where the data is looked for when neither --data-dir nor SITING_DATA_DIR names it, in the
order `make` uses (relative to the working directory): the shared London data beside the
checkout, else ./data (where `siting data fetch` downloads it)."""


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """The data directory: --data-dir, else $SITING_DATA_DIR, else the first of
    DATA_DIR_CANDIDATES that exists (the same search as the Makefile)."""
    chosen = explicit or os.environ.get("SITING_DATA_DIR")
    if not chosen:
        found = [Path(c) for c in DATA_DIR_CANDIDATES if Path(c).is_dir()]
        if not found:
            raise DataError(
                "no data directory found: looked for "
                + " and ".join(f"{Path(c).resolve()}" for c in DATA_DIR_CANDIDATES)
                + ". Point siting at the folder holding boundaries/, transit/ and osm/ with "
                "`export SITING_DATA_DIR=/path/to/data/london` (or --data-dir), or run "
                "`siting data fetch` to download the open data into ./data."
            )
        chosen = found[0]
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DataError(
            f"data directory {path} does not exist. Set SITING_DATA_DIR to the folder holding "
            "boundaries/, transit/ and osm/ (in this project's CI: ../shared/data/london), or run "
            "`siting data fetch` to download the open data into ./data."
        )
    return path.resolve()


def _to_bng(frame: gpd.GeoDataFrame, *, source: Path | str, id_column: str) -> gpd.GeoDataFrame:
    """Check CRS and geometry, repair invalid polygons (with a warning), and project to BNG."""
    check_crs(frame, source=source)
    if frame.geometry.isna().any() or frame.geometry.is_empty.any():
        bad = frame.loc[frame.geometry.isna() | frame.geometry.is_empty, id_column].tolist()
        raise DataError(f"{source}: features with no geometry: {', '.join(map(str, bad[:10]))}. Remove or fix them.")
    projected = frame.to_crs(BNG)
    if frame.crs.is_geographic:
        minx, miny, maxx, maxy = projected.total_bounds
        if not (minx > -200_000 and maxx < 800_000 and miny > -200_000 and maxy < 1_400_000):
            raise DataError(
                f"{source}: coordinates fall outside Great Britain after projection to {BNG} "
                f"(bounds {minx:.0f},{miny:.0f},{maxx:.0f},{maxy:.0f}). The file's CRS is probably "
                "wrong (e.g. BNG metres labelled as degrees); set the right CRS with set_crs()."
            )
    invalid = ~projected.geometry.is_valid
    if invalid.any():
        ids = projected.loc[invalid, id_column].tolist()
        log.warning("%s: repaired invalid geometry of %s", source, ", ".join(map(str, ids)))
        repaired = shapely.make_valid(projected.geometry.values[invalid.to_numpy()])
        geoms = projected.geometry.to_numpy().copy()
        geoms[invalid.to_numpy()] = [_polygonal(g) for g in repaired]
        projected = projected.set_geometry(gpd.GeoSeries(geoms, index=projected.index, crs=BNG))
    return projected


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygonal part of a repaired geometry."""
    if isinstance(geom, shapely.GeometryCollection):
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(parts)
    return geom


def load_wards(data_dir: Path, files: DataFiles = DEFAULT_FILES) -> gpd.GeoDataFrame:
    """2014 wards (City merged) in BNG: ward_code, ward_name, borough, borough_code, geometry."""
    path = require_file(inside(data_dir, files.wards, field="data.wards"))
    raw = read_layer(path, what="ward boundaries file")
    check_columns(raw, ["GSS_Code", "Name", "Borough", "LB_GSS_Code"], source=path)
    wards = _to_bng(raw, source=path, id_column="GSS_Code")
    return (
        wards.rename(columns={"GSS_Code": "ward_code", "Name": "ward_name", "Borough": "borough",
                              "LB_GSS_Code": "borough_code"})
        .loc[:, ["ward_code", "ward_name", "borough", "borough_code", "geometry"]]
        .sort_values("ward_code", kind="stable")
        .reset_index(drop=True)
    )


def load_boroughs(data_dir: Path, files: DataFiles = DEFAULT_FILES) -> gpd.GeoDataFrame:
    """Borough outlines in BNG: borough_code, borough, geometry (33 with the City)."""
    path = require_file(inside(data_dir, files.boroughs, field="data.boroughs"))
    raw = read_layer(path, what="borough boundaries file")
    check_columns(raw, ["LB_GSS_Code", "Borough"], source=path)
    boroughs = _to_bng(raw, source=path, id_column="LB_GSS_Code")
    return (
        boroughs.rename(columns={"LB_GSS_Code": "borough_code", "Borough": "borough"})
        .loc[:, ["borough_code", "borough", "geometry"]]
        .sort_values("borough_code", kind="stable")
        .reset_index(drop=True)
    )


def load_lsoas(data_dir: Path, files: DataFiles = DEFAULT_FILES) -> gpd.GeoDataFrame:
    """LSOA population-weighted centroids in BNG with the scenario's population and 2014 ward."""
    path = require_file(inside(data_dir, files.lsoas, field="data.lsoas"))
    raw = read_csv(path, what="LSOA centroid table", dtype={"LSOA11CD": str, "ward14_code": str})
    pop_col = POPULATION_COLUMNS[files.population]
    check_columns(raw, ["LSOA11CD", "LSOA11NM", "LAD11CD", "ward14_code", pop_col, "E", "N"], source=path)
    raw = check_numeric(raw, [pop_col, "E", "N"], source=path, key="LSOA11CD")
    if raw[["E", "N"]].isna().any(axis=None):
        bad = raw.loc[raw[["E", "N"]].isna().any(axis=1), "LSOA11CD"].tolist()
        raise DataError(f"{path}: rows without coordinates (E, N): {', '.join(bad[:10])}. Fill or drop them.")
    pop = raw[pop_col].to_numpy()
    if not (np.isfinite(pop) & (pop >= 0) & (pop == np.floor(pop)) & (pop < 1e9)).all():
        raise DataError(f"{path}: column {pop_col} has missing or negative values (or fractional or "
                        "huge ones); use the published file (people counted in whole numbers).")
    if not np.isfinite(raw[["E", "N"]].to_numpy()).all():
        raise DataError(f"{path}: columns E, N hold an infinite coordinate; use the published file.")
    return (
        gpd.GeoDataFrame(
            {
                "lsoa_code": raw["LSOA11CD"],
                "lsoa_name": raw["LSOA11NM"],
                "ward_code": raw["ward14_code"],
                "borough_code": raw["LAD11CD"],
                "population": raw[pop_col].astype(np.int64),
            },
            geometry=gpd.points_from_xy(raw["E"], raw["N"]),
            crs=BNG,
        )
        .sort_values("lsoa_code", kind="stable")
        .reset_index(drop=True)
    )


def load_lsoa_areas(data_dir: Path, files: DataFiles = DEFAULT_FILES) -> gpd.GeoDataFrame | None:
    """LSOA outlines in BNG (lsoa_code, geometry) for the map's zoomed-in layer; None if unset."""
    if files.lsoa_areas is None:
        return None
    path = require_file(data_dir / files.lsoa_areas)
    raw = gpd.read_file(path, engine="pyogrio", columns=["LSOA11CD"])
    check_columns(raw, ["LSOA11CD"], source=path)
    areas = _to_bng(raw, source=path, id_column="LSOA11CD")
    return (
        areas.rename(columns={"LSOA11CD": "lsoa_code"})
        .loc[:, ["lsoa_code", "geometry"]]
        .sort_values("lsoa_code", kind="stable")
        .reset_index(drop=True)
    )


_OUTWARD = r"^[A-Z]{1,2}[0-9][0-9A-Z]?$"
"""A UK postcode's outward code (its district), e.g. UB1, N22, EC1A."""


def load_postcode_districts(data_dir: Path, files: DataFiles = DEFAULT_FILES) -> pd.DataFrame | None:
    """Where each postcode district lies, from addresses with postcodes and coordinates.

    There is no postcode boundary file in the open data here, so a district is placed by the
    addresses that carry it (the GLA schools atlas: about 3,500 schools in 300 districts):
    district, n (addresses), x, y (their median, EPSG:27700) and the box around them. None when
    the scenario sets ``data.postcodes: null``.
    """
    if files.postcodes is None:
        return None
    path = require_file(data_dir / files.postcodes)
    raw = pd.read_csv(path, usecols=lambda c: c in {"URN", "POSTCODE", "EASTING", "NORTHING"})
    check_columns(raw, ["POSTCODE", "EASTING", "NORTHING"], source=path)
    if "URN" in raw.columns:
        raw = raw.drop_duplicates("URN")  # the atlas lists some schools twice
    district = raw["POSTCODE"].astype(str).str.strip().str.upper().str.split().str[0]
    xy = raw[["EASTING", "NORTHING"]].apply(pd.to_numeric, errors="coerce")
    table = pd.DataFrame({"district": district, "x": xy["EASTING"], "y": xy["NORTHING"]})
    table = table[table["district"].str.match(_OUTWARD) & table[["x", "y"]].notna().all(axis=1)]
    grouped = table.groupby("district", sort=True)
    return pd.DataFrame({
        "n": grouped.size(), "x": grouped["x"].median(), "y": grouped["y"].median(),
        "x_min": grouped["x"].min(), "y_min": grouped["y"].min(),
        "x_max": grouped["x"].max(), "y_max": grouped["y"].max(),
    }).reset_index()


def ward_population(lsoas: pd.DataFrame) -> pd.Series:
    """Population per ward code: the sum over the LSOAs whose centroid lies in the ward."""
    return lsoas.groupby("ward_code", sort=True)["population"].sum()


def load_ptai(data_dir: Path, files: DataFiles = DEFAULT_FILES) -> pd.DataFrame:
    """TfL average PTAI 2015 per 2014 ward: ward_code, ptai, ptal."""
    path = require_file(inside(data_dir, files.ptai, field="data.ptai"))
    raw = read_csv(path, what="PTAI table")
    check_columns(raw, ["Ward Code", "AvPTAI2015", "PTAL"], source=path)
    raw = check_numeric(raw, ["AvPTAI2015"], source=path, key="Ward Code")
    return raw.rename(columns={"Ward Code": "ward_code", "AvPTAI2015": "ptai", "PTAL": "ptal"})[
        ["ward_code", "ptai", "ptal"]
    ]


def load_counters() -> gpd.GeoDataFrame:
    """The front-counter registry typed into the project (siting/facts/counters.csv), in BNG."""
    with resources.files("siting").joinpath("facts/counters.csv").open("r", encoding="utf-8") as fh:
        raw = pd.read_csv(fh, dtype={"counter_id": str}, keep_default_na=False, na_values={
            "daily_crime_reports_may2017": [""], "lon": [""], "lat": [""]})
    frame = gpd.GeoDataFrame(raw, geometry=gpd.points_from_xy(raw["lon"], raw["lat"]), crs=WGS84)
    return frame.to_crs(BNG).sort_values("counter_id", kind="stable").reset_index(drop=True)


def counter_hours(counters: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Opening hours of each open counter in a scenario: counter_id, status, open_s, close_s.

    A 24/7 counter is open over the whole day (0 to 48 h, so overnight arrivals count).
    """
    rows = []
    registry = counters.set_index("counter_id")
    for cid in scenario.open_counters():
        status = scenario.counters.status(cid)
        if status == "24h":
            open_s, close_s = 0, 48 * 3600
        elif cid in scenario.counters.hours:
            open_s, close_s = parse_window(scenario.counters.hours[cid])
        else:
            row = registry.loc[cid]
            open_s, close_s = parse_window(f"{row['daytime_open']}-{row['daytime_close']}")
        rows.append({"counter_id": cid, "status": status, "open_s": open_s, "close_s": close_s})
    return pd.DataFrame(rows, columns=["counter_id", "status", "open_s", "close_s"])


def scenario_counters(scenario: Scenario) -> gpd.GeoDataFrame:
    """Registry counters with this scenario's status ('24h', 'daytime', 'closed') and hours."""
    counters = load_counters()
    hours = counter_hours(counters, scenario)
    merged = counters.merge(hours, on="counter_id", how="left")
    merged["status"] = merged["status"].fillna("closed")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=BNG)
