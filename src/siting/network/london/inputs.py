"""The data files the modelled London feed is built from, read with named errors."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from siting._crs import BNG, WGS84
from siting._errors import DataError

INPUT_FILES: dict[str, str] = {
    "tube_stations": "transit/tube_network/london.stations.csv",
    "tube_lines": "transit/tube_network/london.lines.csv",
    "tube_connections": "transit/tube_network/london.connections.csv",
    "bus_sequences": "transit/bus_sequences/bus-sequences_2016.csv",
    "railways": "osm/rail/osm_geofabrik_20190919_railways.parquet",
    "transport_points": "osm/rail/osm_geofabrik_20190919_transport_points.parquet",
    "transport_areas": "osm/rail/osm_geofabrik_20190919_transport_areas.parquet",
    "rail_stations": "osm/rail/uk_railway_stations_davwheat_gb.csv",
}
"""The data files the modelled feed is built from, relative to the data directory."""

NOTES_FILE = "modelling_notes.json"
"""Written beside the GTFS files: what the build dropped or could not place (not GTFS)."""


def london_inputs(data_dir: Path) -> list[Path]:
    """Paths of the data files the modelled feed is built from (for cache keys)."""
    return [Path(data_dir) / rel for rel in INPUT_FILES.values()]


def _missing(path: Path, what: str) -> DataError:
    """A DataError naming the input file, what is wrong and how to get the data."""
    return DataError(
        f"{path}: {what}. The modelled London network needs the shared London data: set "
        "SITING_DATA_DIR to the folder holding transit/ and osm/, or run `siting data fetch`."
    )


def _input(data_dir: Path, key: str) -> Path:
    path = Path(data_dir) / INPUT_FILES[key]
    if not path.is_file():
        raise _missing(path, "file not found")
    return path


def _check(frame: pd.DataFrame, columns: Iterable[str], path: Path) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise _missing(path, f"missing column(s) {', '.join(missing)} (found "
                             f"{', '.join(map(str, frame.columns))})")
    return frame


def _read_csv(data_dir: Path, key: str, columns: Sequence[str], **kwargs: Any) -> pd.DataFrame:
    path = _input(data_dir, key)
    frame = pd.read_csv(path, encoding="utf-8-sig", **kwargs)
    frame.columns = [str(c).strip() for c in frame.columns]
    return _check(frame, columns, path)


def _read_parquet(data_dir: Path, key: str, columns: Sequence[str]) -> gpd.GeoDataFrame:
    """The layer in BNG; a copy of the last read when the file is unchanged (the rail stations
    and the tram stops both read the OSM transport points)."""
    path = _input(data_dir, key)
    stat = path.stat()
    return _read_bng(path, stat.st_size, stat.st_mtime_ns, tuple(columns)).copy()


@functools.lru_cache(maxsize=4)
def _read_bng(path: Path, _size: int, _mtime_ns: int, columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    frame = gpd.read_parquet(path)
    _check(frame, columns, path)
    if frame.crs is None:
        raise _missing(path, "has no CRS")
    return frame.to_crs(BNG)



_TO_BNG = Transformer.from_crs(WGS84, BNG, always_xy=True)
_TO_WGS = Transformer.from_crs(BNG, WGS84, always_xy=True)


def _to_bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = _TO_BNG.transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
