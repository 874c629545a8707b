"""Points and grids: travel times from many origins (a PTAL-style 100 m grid of London) in chunks.

The per-stop profiles of one backward scan (`siting.travel.Profiles`) are read for a chunk of
origins at a time (`Profiles.served`, origins x departures), and each chunk is summarised at
once into percentiles and the most frequent counter, so no long table is ever built and memory
stays bounded by the chunk size, whatever the number of origins. The summary follows
`siting.summaries.summarise` exactly: unreachable departures count as infinitely long, percentiles
are linearly interpolated over the sorted departures, and the nearest counter is the mode over
reachable departures, ties to the lowest counter index (targets are sorted by id).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from siting._crs import BNG
from siting._errors import DataError, ScenarioError
from siting.travel import MEASURES, Profiles, Targets, Window

__all__ = [
    "DEFAULT_CHUNK",
    "Grid",
    "grid_cells",
    "origin_points",
    "scenario_grid",
    "summarise_chunk",
    "travel_time_surface",
]

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 8192
"""Origins evaluated per chunk: 8,192 x 180 departures x 8 bytes is 12 MB per array."""


def grid_cells(area: BaseGeometry, cell_m: float = 100.0) -> gpd.GeoDataFrame:
    """Square cells (EPSG:27700) of a grid aligned on multiples of ``cell_m`` whose centre is inside ``area``.

    Columns cell_id ("E<easting of the centre>N<northing>", metres), x, y (centre) and the
    cell square as geometry; sorted by northing then easting (row-major, north to south is not
    assumed anywhere).
    """
    if not cell_m > 0:
        raise ScenarioError(f"grid cell size {cell_m!r} m: give a positive size, e.g. --cell 100.")
    xmin, ymin, xmax, ymax = area.bounds
    xs = (np.arange(np.floor(xmin / cell_m), np.ceil(xmax / cell_m)) + 0.5) * cell_m
    ys = (np.arange(np.floor(ymin / cell_m), np.ceil(ymax / cell_m)) + 0.5) * cell_m
    if len(xs) * len(ys) > 50_000_000:
        raise ScenarioError(f"grid cell size {cell_m:g} m gives {len(xs) * len(ys):,} cells over "
                            "the area's bounding box; use a larger cell (e.g. --cell 100).")
    mesh_x, mesh_y = np.meshgrid(xs, ys)
    gx, gy = mesh_x.ravel(), mesh_y.ravel()
    shapely.prepare(area)
    inside = shapely.contains_xy(area, gx, gy)
    x, y = gx[inside], gy[inside]
    half = cell_m / 2.0
    ids = [f"E{xi:.0f}N{yi:.0f}" if cell_m >= 2 else f"E{xi:.1f}N{yi:.1f}"
           for xi, yi in zip(x, y, strict=True)]
    return gpd.GeoDataFrame({"cell_id": ids, "x": x, "y": y},
                            geometry=shapely.box(x - half, y - half, x + half, y + half), crs=BNG)


def origin_points(frame: gpd.GeoDataFrame, *, source: str = "origins",
                  id_column: str | None = None) -> gpd.GeoDataFrame:
    """Origins from points or polygons in any CRS: id and a BNG point (a polygon's representative point).

    Raises DataError for a missing CRS, empty or non-areal/point geometry. Ids come from
    ``id_column`` (default: an ``id`` or ``origin_id`` column, else the row number).
    """
    if frame.crs is None:
        raise DataError(f"{source}: the layer has no coordinate reference system, so distances "
                        "would be meaningless. Set it with set_crs() (e.g. EPSG:4326 for "
                        "longitude/latitude) or save the file with its CRS.")
    if len(frame) == 0:
        raise DataError(f"{source}: no features. Give at least one point or polygon.")
    geoms = frame.geometry
    if geoms.isna().any() or geoms.is_empty.any():
        row = int(np.flatnonzero((geoms.isna() | geoms.is_empty).to_numpy())[0])
        raise DataError(f"{source}: feature {row} has no geometry. Drop it or give it a point.")
    kinds = set(geoms.geom_type)
    allowed = {"Point", "Polygon", "MultiPolygon"}
    if not kinds <= allowed:
        raise DataError(f"{source}: geometry types {sorted(kinds - allowed)} are not origins; "
                        "give points or polygons.")
    projected = frame.to_crs(BNG)
    points = projected.geometry.where(projected.geometry.geom_type == "Point",
                                      projected.geometry.representative_point())
    column = id_column or next((c for c in ("origin_id", "id") if c in frame.columns), None)
    if column is not None and column not in frame.columns:
        raise DataError(f"{source}: no column {column!r}; columns are {', '.join(map(str, frame.columns))}.")
    ids = frame[column].astype(str).to_numpy() if column else np.arange(len(frame)).astype(str)
    if len(set(ids)) != len(ids):
        raise DataError(f"{source}: column {column!r} has repeated ids; give each origin its own id.")
    return gpd.GeoDataFrame({"origin_id": ids}, geometry=points.to_numpy(), crs=BNG)


def summarise_chunk(served: np.ndarray, target: np.ndarray, departures: np.ndarray,
                    percentiles: Sequence[float], n_targets: int
                    ) -> tuple[dict[float, np.ndarray], np.ndarray]:
    """Percentile minutes (NaN if unreachable) and modal target index (-1) per origin row.

    Same arithmetic as `siting.summaries.summarise` on the long table of these rows.
    """
    n, d = served.shape
    minutes = np.where(served >= 0, (served - departures[None, :]) / 60.0, np.inf)
    minutes.sort(axis=1)
    out: dict[float, np.ndarray] = {}
    for p in percentiles:
        position = float(p) / 100.0 * (d - 1)
        lo = int(np.floor(position))
        frac = position - lo
        hi = min(lo + 1, d - 1)
        v_lo, v_hi = minutes[:, lo], minutes[:, hi]
        if frac > 0:
            with np.errstate(invalid="ignore"):  # inf - inf where both are unreachable
                value = np.where(np.isfinite(v_hi), v_lo + frac * (v_hi - v_lo), np.inf)
        else:
            value = v_lo.copy()
        out[p] = np.where(np.isfinite(value), value, np.nan)
    # Mode of the reached target per row: counts over (row, target + 1), column 0 = unreached.
    flat = np.arange(n, dtype=np.int64)[:, None] * (n_targets + 1) + (target.astype(np.int64) + 1)
    counts = np.bincount(flat.ravel(), minlength=n * (n_targets + 1)).reshape(n, n_targets + 1)
    reached = counts[:, 1:]
    mode = np.where(reached.max(axis=1) > 0, reached.argmax(axis=1), -1)
    return out, mode


def travel_time_surface(
    profiles: Mapping[str, Profiles], xy: np.ndarray, window: Window, *,
    percentiles: Sequence[float] = (50, 80), chunk: int = DEFAULT_CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Per origin and measure: minutes at each percentile and the most frequent counter.

    ``profiles`` maps a measure name ('24h', 'any', or any label) to its Profiles. Columns, for
    each measure m: ``minutes_m`` (median), ``minutes_m_pP`` for the other percentiles and
    ``nearest_m_counter``; one row per point of ``xy`` in order.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if chunk < 1:
        raise ScenarioError(f"chunk size {chunk!r}: give at least 1 origin per chunk.")
    wanted = sorted({50.0, *(float(p) for p in percentiles)})
    departures = window.departures
    n = len(xy)
    columns: dict[str, Any] = {}
    for measure, prof in profiles.items():
        values = {p: np.empty(n) for p in wanted}
        nearest = np.empty(n, dtype=np.int64)
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            served, target = prof.served(xy[start:stop], window)
            chunk_values, mode = summarise_chunk(served, target, departures, wanted,
                                                 len(prof.targets))
            for p in wanted:
                values[p][start:stop] = chunk_values[p]
            nearest[start:stop] = mode
            if progress is not None:
                progress(stop, n)
        columns[f"minutes_{measure}"] = values[50.0]
        for p in wanted:
            if p != 50.0:
                columns[f"minutes_{measure}_p{p:g}"] = values[p]
        names = np.asarray(prof.targets.ids, dtype=object)[np.maximum(nearest, 0)]
        names[nearest < 0] = None
        columns[f"nearest_{measure}_counter"] = pd.Series(names, dtype="str")
    return pd.DataFrame(columns)


@dataclass(frozen=True)
class Grid:
    """Travel times of a grid (or any origins) for a scenario: one row per cell, both measures.

    ``cells`` is a GeoDataFrame in EPSG:27700: cell_id (or origin_id), x, y, minutes_24h,
    minutes_24h_p80, nearest_24h_counter, minutes_any, ... and the cell geometry.
    """

    scenario_id: str
    cell_m: float | None
    cells: gpd.GeoDataFrame
    targets: Targets
    window: Window
    percentiles: tuple[float, ...]
    timings: dict[str, float] = field(default_factory=dict)
    """Wall seconds per step (not written to any output)."""

    def isochrones(self, minutes: Sequence[float] = (15, 30, 45, 60), *,
                   label: str = "nearest") -> gpd.GeoDataFrame:
        """Polygons within each limit of the median minutes, per measure (`siting.isochrones`)."""
        from siting.isochrones import isochrones

        if self.cell_m is None:
            raise ScenarioError("isochrones need a grid of cells (scenario_grid with cell_m), "
                                "not a file of origins.")
        measures = [m for m in MEASURES if f"minutes_{m}" in self.cells.columns]
        return isochrones(self.cells, cell_m=self.cell_m, minutes=minutes, measures=measures,
                          label=label)


def scenario_grid(
    scenario: Any, data_dir: Path, *, cell_m: float = 100.0, cache_dir: Path = Path(".cache/siting"),
    origins: gpd.GeoDataFrame | None = None, percentiles: Sequence[float] | None = None,
    chunk: int = DEFAULT_CHUNK, counters: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Grid:
    """Travel times from a grid of ``cell_m`` cells over the scenario's wards (or from ``origins``).

    ``counters`` restricts the targets to these counter ids (e.g. one counter, for its own
    isochrones); the measures are then computed over that subset.
    """
    from siting.analysis import counter_targets
    from siting.data import load_wards, scenario_counters
    from siting.draws import draw_networks
    from siting.network.scenario_network import scenario_feed, scenario_network
    from siting.network.walk import street_network
    from siting.travel import profile_search_many

    timings: dict[str, float] = {}
    clock = time.perf_counter()
    data_dir, cache_dir = Path(data_dir), Path(cache_dir)
    if origins is None:
        wards = load_wards(data_dir, scenario.data)
        area = shapely.coverage_union_all(wards.geometry.to_numpy())
        cells = grid_cells(area, cell_m)
    else:
        cells = origins.assign(x=origins.geometry.x, y=origins.geometry.y)
        cell_m_used = None
    table = scenario_counters(scenario)
    if counters is not None:
        unknown = sorted(set(counters) - set(table["counter_id"]))
        if unknown:
            raise ScenarioError(f"{scenario.source}: counter(s) {', '.join(unknown)} not in the "
                                "registry; see `siting counters` for the ids.")
        # A chosen counter is reached whatever its status or hours in the scenario.
        table = table[table["counter_id"].isin(list(counters))].assign(status="24h")
    targets = counter_targets(table)
    timings["cells"] = time.perf_counter() - clock

    clock = time.perf_counter()
    cache_dir.mkdir(parents=True, exist_ok=True)
    feed = scenario_feed(scenario, data_dir, cache_dir)
    # One phase draw of frequency-based services (the first of transit.draws; the network
    # itself when nothing is phased): 180 departures per cell, as PTAL-style grids use.
    network = next(draw_networks(scenario_network(scenario, data_dir, cache_dir, feed), 1,
                                 scenario.transit.seed))
    street = street_network(scenario, data_dir)
    timings["network"] = time.perf_counter() - clock

    clock = time.perf_counter()
    start_s, end_s = scenario.transit.window_seconds
    window = Window(start_s=start_s, end_s=end_s, step_s=scenario.transit.step_minutes * 60)
    sets = {m: targets.for_measure(m) for m in (("24h",) if counters is not None else MEASURES)}
    sets = {m: chosen for m, chosen in sets.items() if len(chosen)}
    # Both measures in one pass over the connections.
    profiles: dict[str, Profiles] = dict(zip(sets, profile_search_many(
        network, list(sets.values()), max_access_minutes=scenario.walking.max_access_minutes,
        street=street), strict=True)) if sets else {}
    timings["scan"] = time.perf_counter() - clock

    clock = time.perf_counter()
    wanted = tuple(sorted({50.0, 80.0, *(float(p) for p in (percentiles or
                                                             scenario.transit.percentiles))}))
    xy = np.column_stack([cells["x"].to_numpy(dtype=float), cells["y"].to_numpy(dtype=float)])
    times = travel_time_surface(profiles, xy, window, percentiles=wanted, chunk=chunk,
                                progress=progress)
    timings["lookup"] = time.perf_counter() - clock
    out = pd.concat([cells.drop(columns=cells.geometry.name).reset_index(drop=True), times],
                    axis=1)
    frame = gpd.GeoDataFrame(out, geometry=cells.geometry.to_numpy(), crs=BNG)
    return Grid(scenario_id=scenario.id, cell_m=cell_m if origins is None else cell_m_used,
                cells=frame, targets=targets, window=window, percentiles=wanted, timings=timings)


def _replace_into(out_dir: Path, build: Mapping[str, Callable[[Path], None]]) -> list[Path]:
    """Write each file to a temporary name in out_dir, then rename them all into place."""
    import os
    import tempfile

    out_dir.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=".grid.tmp-", dir=out_dir))
    written = []
    try:
        for name, write in build.items():
            write(temp / name)
        for name in build:
            os.replace(temp / name, out_dir / name)
            written.append(out_dir / name)
    finally:
        import shutil

        shutil.rmtree(temp, ignore_errors=True)
    return written


def write_grid(grid: Grid, out_dir: Path | str, *, isochrones: gpd.GeoDataFrame | None = None,
               stem: str = "grid", gpkg: bool = True) -> list[Path]:
    """Write the grid as GeoParquet (and GeoPackage), and its isochrones as GeoParquet and GeoJSON.

    GeoParquet and GeoPackage stay in EPSG:27700; GeoJSON is written in EPSG:4326 (RFC 7946).
    """
    from siting._crs import WGS84
    from siting.geofiles import write_geopackage

    cells = grid.cells
    build: dict[str, Callable[[Path], None]] = {
        f"{stem}.parquet": lambda p: cells.to_parquet(p, index=False),
    }
    if gpkg:
        build[f"{stem}.gpkg"] = lambda p: write_geopackage(cells, p, stem)
    if isochrones is not None:
        build[f"{stem}-isochrones.parquet"] = lambda p: isochrones.to_parquet(p, index=False)
        build[f"{stem}-isochrones.geojson"] = lambda p: isochrones.to_crs(WGS84).to_file(
            p, driver="GeoJSON", COORDINATE_PRECISION=6)
    return _replace_into(Path(out_dir), build)


def read_origins(path: Path | str, *, id_column: str | None = None) -> gpd.GeoDataFrame:
    """Origins from a file of points or polygons in any CRS (GeoJSON, GeoPackage, GeoParquet, ...)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: origins file not found. Check the scenario's `origins` field "
                        "(a path relative to the scenario file).")
    try:
        frame = (gpd.read_parquet(path) if path.suffix.lower() in (".parquet", ".geoparquet")
                 else gpd.read_file(path))
    except Exception as exc:  # pyogrio/pyarrow raise many types for an unreadable file
        raise DataError(f"{path}: cannot read the origins file ({type(exc).__name__}: {exc}). "
                        "Give a GeoJSON, GeoPackage, shapefile or GeoParquet of points or "
                        "polygons.") from None
    return origin_points(frame, source=str(path), id_column=id_column)
