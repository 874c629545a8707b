"""Display-only map geometry: simplified, rounded, encoded shapes (the analysis never sees them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from siting._crs import BNG, WGS84
from siting._errors import DataError

__all__ = ["COORD_DECIMALS"]


COORD_DECIMALS = 5
"""Decimal places of longitude/latitude in the page (about 1 m)."""


def _bng(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise DataError("siting.maps: a layer of the Analysis has no CRS; the Analysis frames "
                        "must be GeoDataFrames in EPSG:27700 (siting.analysis.analyse makes them).")
    return frame if frame.crs == BNG else frame.to_crs(BNG)


def _lonlat(geoms: gpd.GeoSeries) -> np.ndarray:
    """Rounded (lat, lon) of points (BNG GeoSeries)."""
    wgs = geoms.to_crs(WGS84)
    return np.round(np.column_stack([wgs.y.to_numpy(), wgs.x.to_numpy()]), COORD_DECIMALS)


def _simplified(geoms: gpd.GeoSeries, tolerance_m: float) -> gpd.GeoSeries:
    """Display-only shapes simplified in BNG (Douglas-Peucker), then in WGS84.

    The plain simplification is about ten times faster than the topology-preserving one and
    gives the same vertex counts on the London wards, LSOAs and boroughs; any shape it would
    empty or make invalid is simplified with topology preserved instead.
    """
    plain = geoms.simplify(tolerance_m, preserve_topology=False)
    bad = plain.is_empty | ~plain.is_valid
    if bad.any():
        plain = plain.where(~bad, geoms[bad].simplify(tolerance_m, preserve_topology=True))
    return plain.to_crs(WGS84)


def _display_geojson(geoms: gpd.GeoSeries, tolerance_m: float) -> list[dict[str, Any]]:
    """Display-only GeoJSON geometries: simplified in BNG, then WGS84 rounded to ~1 m."""
    simplified = _simplified(geoms, tolerance_m)
    rounded = shapely.transform(simplified.to_numpy(), lambda xy: np.round(xy, COORD_DECIMALS))
    return [_mapping(g) for g in rounded]


def _ring(ring: Any) -> tuple[tuple[float, ...], ...]:
    return tuple(map(tuple, shapely.get_coordinates(ring).tolist()))


def _mapping(geom: Any) -> dict[str, Any]:
    """``shapely.geometry.mapping`` of a geometry, the same dict, with each ring's coordinates
    read as one array rather than point by point (polygons; others go to shapely)."""
    if geom is not None and geom.geom_type == "Polygon" and not geom.is_empty:
        return {"type": "Polygon", "coordinates": (
            _ring(geom.exterior), *(_ring(hole) for hole in geom.interiors))}
    if geom is not None and geom.geom_type == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": [
            (_ring(part.exterior), *(_ring(hole) for hole in part.interiors))
            for part in geom.geoms]}
    return shapely.geometry.mapping(geom)


def _bounds(geoms: gpd.GeoSeries, pad_m: float = 0.0) -> np.ndarray:
    """(south, west, north, east) of each geometry in WGS84, rounded like the rest of the page."""
    boxes = geoms.buffer(pad_m).to_crs(WGS84).bounds.to_numpy() if pad_m else \
        geoms.to_crs(WGS84).bounds.to_numpy()
    return np.round(boxes[:, [1, 0, 3, 2]], COORD_DECIMALS)


def _polyline(coords: np.ndarray) -> str:
    """Google's encoded-polyline text of (lon, lat) points at 1e-5 degrees (about 1 m).

    Each latitude then longitude delta is zig-zag encoded in 5-bit chunks offset by 63: about
    a third of the size of the same points written as JSON numbers.
    """
    scaled = np.round(np.asarray(coords, dtype=float)[:, [1, 0]] * 1e5).astype(np.int64)
    deltas = np.diff(scaled, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel()
    out = []
    for value in deltas.tolist():
        value = ~(value << 1) if value < 0 else value << 1
        while value >= 0x20:
            out.append(chr((0x20 | (value & 0x1F)) + 63))
            value >>= 5
        out.append(chr(value + 63))
    return "".join(out)


def _polylines(rings: Sequence[np.ndarray]) -> list[str]:
    """`_polyline` of many rings at once, vectorised (the same text, ring by ring)."""
    if not rings:
        return []
    sizes = np.array([len(r) for r in rings], dtype=np.int64)
    coords = np.concatenate([np.asarray(r, dtype=float).reshape(-1, 2) for r in rings])
    scaled = np.round(coords[:, [1, 0]] * 1e5).astype(np.int64)
    deltas = np.diff(scaled, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    deltas[starts] = scaled[starts]  # each ring starts from zero
    values = deltas.ravel()
    zigzag = np.where(values < 0, ~(values << 1), values << 1)
    chunks = np.ones(len(zigzag), dtype=np.int64)  # 5-bit chunks: 1 + shifts while >= 0x20
    rest = zigzag >> 5
    while (rest > 0).any():
        chunks += rest > 0
        rest >>= 5
    width = int(chunks.max())
    k = np.arange(width)
    parts = (zigzag[:, None] >> (5 * k)) & 0x1F
    parts |= np.where(k[None, :] < chunks[:, None] - 1, 0x20, 0)
    text = (parts[k[None, :] < chunks[:, None]] + 63).astype(np.uint8).tobytes().decode("ascii")
    ends = np.cumsum(np.add.reduceat(chunks, 2 * starts))
    return [text[a:b] for a, b in zip(np.r_[0, ends[:-1]], ends, strict=True)]


def _encoded_polygons(geoms: gpd.GeoSeries, tolerance_m: float) -> list[list[list[str]]]:
    """Display-only polygons as [polygon][ring] encoded polylines (simplified in BNG, WGS84)."""
    simplified = _simplified(geoms, tolerance_m)
    shape: list[list[int]] = []
    rings: list[np.ndarray] = []
    for geom in simplified:
        polygons = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        counts = []
        for p in polygons:
            if not p.is_empty:
                counts.append(1 + len(p.interiors))
                rings += [shapely.get_coordinates(ring) for ring in (p.exterior, *p.interiors)]
        shape.append(counts)
    encoded = iter(_polylines(rings))
    return [[[next(encoded) for _ in range(n)] for n in counts] for counts in shape]
