"""Map overlays of a travel-time grid: an offline PNG in the map's bands, and isochrone outlines.

The grid's cells are square in EPSG:27700 but Leaflet stretches an image overlay linearly in Web
Mercator between its corner latitudes and longitudes, so the PNG is resampled onto a Web
Mercator pixel grid: each pixel takes the band of the grid cell under its centre (nearest
cell). Pixels are about half a cell on the ground, so every cell shows. The PNG is written
with Pillow (deterministic bytes) and embedded as a data: URI, so the map needs no files.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
from pyproj import Transformer

from siting._crs import BNG, WGS84

__all__ = ["GRID_OPACITY", "grid_png", "isochrone_colours"]

GRID_OPACITY = 0.72
"""Alpha of the grid image's coloured pixels (the wards' fill opacity)."""

_MERCATOR = "EPSG:3857"
_MAX_PIXELS = 4_000_000


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    text = hex_colour.lstrip("#")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def grid_png(cells: gpd.GeoDataFrame, column: str, *, cell_m: float, colours: Sequence[str],
             bands: np.ndarray) -> tuple[str, list[list[float]]]:
    """A data: URI of a PNG of the cells coloured by band, and its [[south, west], [north, east]].

    ``bands`` holds each cell's band index into ``colours`` (the map's band_index of
    ``column``); cells outside the grid are transparent.
    """
    x = cells["x"].to_numpy(dtype=float)
    y = cells["y"].to_numpy(dtype=float)
    half = cell_m / 2.0
    x0, y0 = x.min() - half, y.min() - half
    ncol = round((x.max() + half - x0) / cell_m)
    nrow = round((y.max() + half - y0) / cell_m)
    index = np.full((nrow, ncol), -1, dtype=np.int64)
    col = np.floor((x - x0) / cell_m).astype(np.int64)
    row = np.floor((y - y0) / cell_m).astype(np.int64)
    index[row, col] = np.arange(len(cells))

    to_wgs = Transformer.from_crs(BNG, WGS84, always_xy=True)
    corners_x = np.array([x0, x0 + ncol * cell_m, x0, x0 + ncol * cell_m])
    corners_y = np.array([y0, y0, y0 + nrow * cell_m, y0 + nrow * cell_m])
    lon, lat = to_wgs.transform(corners_x, corners_y)
    west, east, south, north = lon.min(), lon.max(), lat.min(), lat.max()
    to_merc = Transformer.from_crs(WGS84, _MERCATOR, always_xy=True)
    mx, my = to_merc.transform([west, east], [south, north])
    # Web Mercator stretches ground distances by 1/cos(latitude): half a cell on the ground.
    pixel = cell_m / 2.0 / np.cos(np.radians((south + north) / 2.0))
    width = max(1, int(np.ceil((mx[1] - mx[0]) / pixel)))
    height = max(1, int(np.ceil((my[1] - my[0]) / pixel)))
    if width * height > _MAX_PIXELS:
        scale = float(np.sqrt(width * height / _MAX_PIXELS))
        width, height = int(width / scale), int(height / scale)
    px = mx[0] + (np.arange(width) + 0.5) * (mx[1] - mx[0]) / width
    py = my[1] - (np.arange(height) + 0.5) * (my[1] - my[0]) / height
    gx, gy = np.meshgrid(px, py)
    back = Transformer.from_crs(_MERCATOR, BNG, always_xy=True)
    bx, by = back.transform(gx.ravel(), gy.ravel())
    c = np.floor((np.asarray(bx) - x0) / cell_m).astype(np.int64)
    r = np.floor((np.asarray(by) - y0) / cell_m).astype(np.int64)
    ok = (c >= 0) & (c < ncol) & (r >= 0) & (r < nrow)
    cell = np.full(len(c), -1, dtype=np.int64)
    cell[ok] = index[r[ok], c[ok]]
    palette = np.array([[*_rgb(h), round(255 * GRID_OPACITY)] for h in colours] + [[0, 0, 0, 0]],
                       dtype=np.uint8)
    band_of_pixel = np.where(cell >= 0, np.asarray(bands)[np.maximum(cell, 0)], len(colours))
    rgba = palette[band_of_pixel].reshape(height, width, 4)

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG", optimize=True)
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    bounds = [[round(float(south), 6), round(float(west), 6)],
              [round(float(north), 6), round(float(east), 6)]]
    return uri, bounds


def isochrone_colours(minutes: Sequence[float], colours: Sequence[str], band_minutes: int
                      ) -> list[str]:
    """Outline colour of each isochrone: the colour of the band it closes."""
    return [colours[max(0, min(len(colours) - 2, int(np.ceil(m / band_minutes)) - 1))]
            for m in minutes]
