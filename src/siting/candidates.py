"""Candidate DWO hub sites: police buildings, fire stations, libraries, hospitals and more, in BNG.

Each kind is read from the shared data directory (or passed in, for police), cleaned of the
known data issues (osm/SOURCES.md), clipped to London and de-duplicated, with stable site ids.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from siting._crs import BNG, WGS84
from siting._errors import DataError, ScenarioError, clip, shown
from siting._validate import check_columns, check_numeric, read_csv, read_parquet, require_file

__all__ = [
    "BUILTIN_KINDS",
    "CANDIDATE_COLUMNS",
    "CANDIDATE_FILES",
    "Candidates",
    "dedupe_sites",
    "load_candidates",
    "read_user_sites",
]

BUILTIN_KINDS = ("police", "fire", "library", "hospital", "school", "worship")
"""Candidate kinds read from the data directory (police is passed in by the caller)."""

CANDIDATE_FILES = {
    "fire": "osm/poi/lfb_fire_station_assets_osgb.csv",
    "library": "osm/poi/os_openmap_local_library_buildings_london_bbox.parquet",
    "hospital": "osm/poi/hospitals_england.csv",
    "school": "osm/poi/london_schools_atlas_all_schools_xy_2016.csv",
    "worship": "osm/poi/osm_geofabrik_20190919_places_of_worship_points.parquet",
}
"""Source file of each kind, relative to the data directory."""

CANDIDATE_COLUMNS = ["site_id", "name", "kind", "cost", "capacity", "geometry"]
"""Columns of the candidate table; capacity is NaN when a site sets no limit."""

# LFB holdings that are not fire stations (osm/SOURCES.md, "Known data issues"): headquarters,
# workshops, stores, a car park, disused toilets, former stations, the Merton resource centre,
# Grotto Place (HQ annexe) and the Pegasus site. "BARKING (including workshop)" is a station.
_NOT_A_STATION = re.compile(
    r"\bHQ\b|WORKSHOPS|\bSTORES\b|CAR PARK|TOILETS|^\s*FORMER\b|\bRCC\b|PEGASUS|GROTTO",
    re.IGNORECASE,
)
# A holding whose coordinates and postcode are another station's: the point is really that
# station, so the named station is missing rather than here (SOURCES.md: Deptford = Peckham).
_MISPLACED_FIRE = {"DEPTFORD": "PECKHAM"}

_GB_BOX = (50_000.0, 5_000.0, 700_000.0, 1_250_000.0)
"""BNG box of Great Britain's land (Scilly to Shetland): rejects lon/lat written as metres."""


class Candidates(NamedTuple):
    """Candidate sites (site_id, name, kind, cost, capacity, geometry in BNG) and drop counts."""

    sites: gpd.GeoDataFrame
    dropped: dict[str, int]


def _require(path: Path) -> Path:
    return require_file(path, what="candidate site file", fix="Check the data directory (SITING_DATA_DIR) or leave this kind "
                                   "out of the scenario's hubs.candidates.")


def _need_columns(frame: pd.DataFrame, columns: list[str], path: Path | str) -> None:
    check_columns(frame, columns, source=path)


def _points(frame: pd.DataFrame, x: np.ndarray, y: np.ndarray, crs: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=gpd.points_from_xy(x, y), crs=crs).to_crs(BNG)


def _site_frame(site_id: pd.Series, name: pd.Series, kind: str, geometry: gpd.GeoSeries) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": site_id.astype(str).to_numpy(), "name": name.astype(str).to_numpy(), "kind": kind},
        geometry=geometry.to_numpy(), crs=BNG,
    )


def _fire(data_dir: Path, dropped: Counter[str]) -> gpd.GeoDataFrame:
    """LFB fire stations (OSGB Easting/Northing) without the non-station holdings."""
    path = _require(data_dir / CANDIDATE_FILES["fire"])
    raw = read_csv(path, what="fire station table")
    _need_columns(raw, ["OBJECTID", "Holding_Name", "Post_Code", "Easting", "Northing"], path)
    raw = check_numeric(raw, ["OBJECTID", "Easting", "Northing"], source=path, key="Holding_Name")
    if raw["OBJECTID"].isna().any() or (raw["OBJECTID"] != raw["OBJECTID"].round()).any():
        raise DataError(f"{path}: column 'OBJECTID' has empty or fractional ids; use the published file.")
    names = raw["Holding_Name"].astype(str).str.strip()
    no_xy = raw["Easting"].isna() | raw["Northing"].isna()
    not_station = names.str.contains(_NOT_A_STATION) & ~no_xy
    keyed = raw.assign(_name=names.str.upper())
    misplaced = pd.Series(False, index=raw.index)
    for wrong, right in _MISPLACED_FIRE.items():
        other = keyed[keyed["_name"] == right]
        for i in keyed.index[keyed["_name"] == wrong]:
            same = ((other["Easting"] == keyed.at[i, "Easting"]) & (other["Northing"] == keyed.at[i, "Northing"]))
            misplaced.at[i] = bool(same.any())
    dropped["fire:no_coordinates"] += int(no_xy.sum())
    dropped["fire:not_a_station"] += int(not_station.sum())
    dropped["fire:misplaced"] += int(misplaced.sum())
    keep = raw[~(no_xy | not_station | misplaced)]
    label = names[keep.index].str.replace(r"\s*\(.*\)\s*$", "", regex=True).str.title() + " Fire Station"
    geom = gpd.GeoSeries(gpd.points_from_xy(keep["Easting"], keep["Northing"]), crs=BNG)
    return _site_frame("fire:" + keep["OBJECTID"].astype(int).astype(str), label, "fire", geom)


def _library(data_dir: Path, dropped: Counter[str]) -> gpd.GeoDataFrame:
    """OS OpenMap Local library buildings: a point inside each footprint."""
    path = _require(data_dir / CANDIDATE_FILES["library"])
    raw = read_parquet(path, what="library buildings file")
    _need_columns(raw, ["fid", "distinctive_name", "geometry"], path)
    if raw.crs is None:
        raise DataError(f"{path}: the layer has no CRS; it should be EPSG:27700. Use set_crs(27700).")
    raw = raw.to_crs(BNG)
    empty = raw.geometry.isna() | raw.geometry.is_empty
    dropped["library:no_geometry"] += int(empty.sum())
    raw = raw[~empty]
    name = raw["distinctive_name"].astype("string").fillna("Library (OS " + raw["fid"].astype(str) + ")")
    return _site_frame("library:" + raw["fid"].astype(str), name, "library",
                       raw.geometry.representative_point())


def _hospital(data_dir: Path, dropped: Counter[str]) -> gpd.GeoDataFrame:
    """NHS hospitals (England-wide, WGS84); the caller clips them to London."""
    path = _require(data_dir / CANDIDATE_FILES["hospital"])
    raw = read_csv(path, what="hospital table")
    first = str(raw.columns[0])
    raw = raw.rename(columns={raw.columns[0]: "row"}) if first.startswith("Unnamed") else raw
    _need_columns(raw, ["row", "Name", "Latitude", "Longitude"], path)
    raw = check_numeric(raw, ["Latitude", "Longitude"], source=path, key="Name")
    no_xy = raw["Latitude"].isna() | raw["Longitude"].isna()
    dropped["hospital:no_coordinates"] += int(no_xy.sum())
    raw = raw[~no_xy]
    pts = _points(raw, raw["Longitude"].to_numpy(), raw["Latitude"].to_numpy(), WGS84)
    return _site_frame("hospital:" + pts["row"].astype(str), pts["Name"], "hospital", pts.geometry)


def _school(data_dir: Path, dropped: Counter[str]) -> gpd.GeoDataFrame:
    """London Schools Atlas: open schools, one row per URN.

    Uses the lon/lat columns: where they disagree with EASTING/NORTHING (5 schools, 140 m to
    8.6 km) the lon/lat point lies in the school's own ward and the grid reference does not.
    """
    path = _require(data_dir / CANDIDATE_FILES["school"])
    raw = read_csv(path, what="schools table", dtype={"URN": str})
    _need_columns(raw, ["URN", "SCHOOL_NAM", "STATUS", "longitude", "latitude"], path)
    raw = check_numeric(raw, ["longitude", "latitude"], source=path, key="URN")
    dup = raw.duplicated("URN", keep="first")
    dropped["school:duplicate_urn"] += int(dup.sum())
    raw = raw[~dup]
    closed = ~raw["STATUS"].astype(str).str.strip().str.lower().str.startswith("open")
    dropped["school:closed"] += int(closed.sum())
    no_xy = raw["longitude"].isna() | raw["latitude"].isna()
    dropped["school:no_coordinates"] += int((no_xy & ~closed).sum())
    raw = raw[~closed & ~no_xy]
    pts = _points(raw, raw["longitude"].to_numpy(), raw["latitude"].to_numpy(), WGS84)
    return _site_frame("school:" + pts["URN"], pts["SCHOOL_NAM"], "school", pts.geometry)


def _worship(data_dir: Path, dropped: Counter[str]) -> gpd.GeoDataFrame:
    """OSM places of worship (points, WGS84)."""
    path = _require(data_dir / CANDIDATE_FILES["worship"])
    raw = read_parquet(path, what="places of worship file")
    _need_columns(raw, ["osm_id", "fclass", "name", "geometry"], path)
    if raw.crs is None:
        raise DataError(f"{path}: the layer has no CRS; it should be EPSG:4326. Use set_crs(4326).")
    raw = raw.to_crs(BNG)
    empty = raw.geometry.isna() | raw.geometry.is_empty
    dropped["worship:no_geometry"] += int(empty.sum())
    raw = raw[~empty]
    fallback = raw["fclass"].astype(str).str.replace("_", " ").str.capitalize() + " (OSM " + raw["osm_id"].astype(str) + ")"
    name = raw["name"].astype("string").fillna(fallback)
    return _site_frame("worship:" + raw["osm_id"].astype(str), name, "worship",
                       raw.geometry.representative_point())


def _police(police_sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The caller's police buildings (site_id, name, geometry in any stated CRS)."""
    source = "police_sites"
    _need_columns(police_sites, ["site_id", "name", "geometry"], source)
    if police_sites.crs is None:
        raise DataError(f"{source}: the police sites have no CRS. Use set_crs() (EPSG:27700 or EPSG:4326).")
    sites = police_sites.to_crs(BNG)
    empty = sites.geometry.isna() | sites.geometry.is_empty
    if empty.any():
        bad = ", ".join(sites.loc[empty, "site_id"].astype(str).head(10))
        raise DataError(f"{source}: sites without a location: {bad}. Give them coordinates or leave them out.")
    if sites["site_id"].duplicated().any():
        bad = ", ".join(sites.loc[sites["site_id"].duplicated(), "site_id"].astype(str).head(10))
        raise DataError(f"{source}: duplicate site_id {bad}. Site ids must be unique.")
    frame = _site_frame(sites["site_id"], sites["name"], "police", sites.geometry.representative_point())
    if "capacity" in sites.columns:
        frame["capacity"] = pd.to_numeric(sites["capacity"], errors="coerce").to_numpy()
    return frame


def _counts(dropped: Counter[str]) -> dict[str, int]:
    return {k: int(v) for k, v in sorted(dropped.items()) if v}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "site"


def _number(value: object, *, path: Path, line: int, column: str, fix: str) -> float:
    """A finite number from a CSV cell, or a DataError naming the file, row and column."""
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise DataError(f"{path}, row {line}, column {column!r}: {shown(value)} is not a number. {fix}")
    return number


def read_user_sites(path: Path | str, kinds: Mapping[str, float]) -> gpd.GeoDataFrame:
    """Extra candidate sites from a CSV: name, kind, lon/lat or easting/northing, cost?, capacity?.

    Costs default to the cost of the row's kind in ``kinds``, else ``kinds['user']``. Site ids
    are the ``site_id`` column when given, else ``user:<name slug>``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: candidate CSV not found. Check hubs.candidate_csv in the scenario "
                        "(it is relative to the scenario file).")
    fix = "Save it as UTF-8 comma-separated text with a header row, e.g. `name,kind,lon,lat`."
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                          encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the candidate CSV is empty (no header row). {fix}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: the candidate CSV is not UTF-8 text (byte {exc.start} is "
                        f"0x{exc.object[exc.start]:02x}). {fix}") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise DataError(f"{path}: the candidate CSV is not readable CSV "
                        f"({clip(str(exc).strip(), 120)}). {fix}") from None
    if not isinstance(raw.index, pd.RangeIndex):
        # pandas turns the extra leading fields of a too-long first row into an index
        raise DataError(f"{path}: the candidate CSV is not readable CSV (row 2 has more fields "
                        f"than the header). {fix}")
    if raw.empty:
        raise DataError(f"{path}: the candidate CSV has a header but no sites. Add one row per "
                        "site, or remove hubs.candidate_csv from the scenario.")
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    repeated = sorted({c for c in raw.columns if list(raw.columns).count(c) > 1})
    if repeated:
        raise DataError(f"{path}: column(s) {clip(', '.join(repeated), 120)} appear more than once "
                        "in the header (names are not case-sensitive). Keep one of each.")
    raw = raw.fillna("")  # a short row leaves its last cells empty
    columns = set(raw.columns)
    has_ll = {"lon", "lat"} <= columns
    has_en = {"easting", "northing"} <= columns
    missing = [c for c in ("name", "kind") if c not in columns]
    if missing or not (has_ll or has_en):
        need = missing + ([] if has_ll or has_en else ["lon and lat (WGS84) or easting and northing (BNG)"])
        raise DataError(
            f"{path}: missing column(s) {', '.join(need)}; found "
            f"{clip(', '.join(raw.columns), 200) or 'none'}. "
            "A candidate CSV needs name, kind and coordinates, e.g. `name,kind,lon,lat`."
        )
    to_bng = Transformer.from_crs(WGS84, BNG, always_xy=True)
    records = []
    for line, (_, row) in enumerate(raw.iterrows(), start=2):  # the header is line 1
        name = row["name"].strip()
        if not name:
            raise DataError(f"{path}, row {line}, column 'name': empty. Give every site a name.")
        kind = row["kind"].strip().lower()
        if not kind:
            raise DataError(f"{path}, row {line}, column 'kind': empty. Say what the site is (e.g. 'council').")
        if has_ll and (row["lon"].strip() or row["lat"].strip()):
            fix = "Use decimal degrees (WGS84), e.g. lon -0.1276, lat 51.5072."
            lon = _number(row["lon"], path=path, line=line, column="lon", fix=fix)
            lat = _number(row["lat"], path=path, line=line, column="lat", fix=fix)
            if not (-9.0 <= lon <= 3.0 and 49.0 <= lat <= 61.0):
                raise DataError(
                    f"{path}, row {line}, columns 'lon','lat': ({lon}, {lat}) is not in Great Britain. "
                    "Are lon and lat swapped, or are these BNG metres (use easting, northing columns)?"
                )
            x, y = to_bng.transform(lon, lat)
        elif has_en:
            fix = "Use British National Grid metres, e.g. easting 530000, northing 180000."
            x = _number(row["easting"], path=path, line=line, column="easting", fix=fix)
            y = _number(row["northing"], path=path, line=line, column="northing", fix=fix)
            if not (_GB_BOX[0] <= x <= _GB_BOX[2] and _GB_BOX[1] <= y <= _GB_BOX[3]):
                raise DataError(
                    f"{path}, row {line}, columns 'easting','northing': ({x}, {y}) is not in Great "
                    "Britain. Are these lon/lat degrees (use lon, lat columns)?"
                )
        else:
            column = "lon" if has_ll else "easting"
            raise DataError(f"{path}, row {line}, column {column!r}: no coordinates. Fill lon/lat or easting/northing.")
        cost_text = row.get("cost", "").strip()
        if cost_text:
            cost = _number(cost_text, path=path, line=line, column="cost", fix="Give a non-negative number.")
        elif kind in kinds or "user" in kinds:
            cost = float(kinds.get(kind, kinds.get("user", math.nan)))
        else:
            raise DataError(
                f"{path}, row {line}, column 'cost': empty, and kind {shown(kind)} has no cost in the "
                "scenario (hubs.costs). Fill the cost or add a cost for this kind or for 'user'."
            )
        if cost < 0:
            raise DataError(f"{path}, row {line}, column 'cost': {shown(cost_text)} is negative. Costs are >= 0.")
        cap_text = row.get("capacity", "").strip()
        capacity = math.nan
        if cap_text:
            capacity = _number(cap_text, path=path, line=line, column="capacity",
                               fix="Give the number of officers the site holds, or leave it empty.")
            if capacity < 0:
                raise DataError(f"{path}, row {line}, column 'capacity': {shown(cap_text)} is negative. "
                                "Give the number of officers the site holds (>= 0), or leave it empty.")
        site_id = row.get("site_id", "").strip() or f"user:{_slug(name)}"
        records.append({"site_id": site_id, "name": name, "kind": kind, "cost": cost,
                        "capacity": capacity, "x": x, "y": y, "line": line})
    frame = pd.DataFrame(records, columns=["site_id", "name", "kind", "cost", "capacity", "x", "y", "line"])
    dup = frame[frame["site_id"].duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        lines = ", ".join(map(str, dup.loc[dup["site_id"] == first["site_id"], "line"]))
        raise DataError(
            f"{path}, rows {clip(lines, 60)}: the same site id {shown(first['site_id'])}. Give the sites "
            "different names or add a site_id column with unique ids."
        )
    return gpd.GeoDataFrame(
        frame.drop(columns=["x", "y", "line"]),
        geometry=gpd.points_from_xy(frame["x"], frame["y"]), crs=BNG,
    )


def _area_geometry(area: shapely.Geometry | gpd.GeoSeries | gpd.GeoDataFrame) -> shapely.Geometry:
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            raise DataError("area: the London boundary has no CRS. Use set_crs() before passing it.")
        geom = area.to_crs(BNG).geometry.union_all()
    elif isinstance(area, shapely.Geometry):
        geom = area
    else:
        raise DataError(f"area: expected a polygon or GeoDataFrame in EPSG:27700, got {type(area).__name__}.")
    minx, miny, maxx, maxy = geom.bounds
    if not (_GB_BOX[0] <= minx and maxx <= _GB_BOX[2] and _GB_BOX[1] <= miny and maxy <= _GB_BOX[3]):
        raise DataError(
            f"area: bounds ({minx:.4g}, {miny:.4g}, {maxx:.4g}, {maxy:.4g}) are not BNG metres. "
            "Pass the London boundary in EPSG:27700 (use to_crs(27700))."
        )
    shapely.prepare(geom)
    return geom


def dedupe_sites(
    sites: gpd.GeoDataFrame,
    *,
    kind_order: list[str] | None = None,
    same_kind_m: float = 25.0,
    any_kind_m: float = 10.0,
) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """Drop duplicate candidates: same kind within ``same_kind_m``, or any site within
    ``any_kind_m`` of one that is no more expensive.

    Sites are visited cheapest first (ties: ``kind_order``, then site_id) and a site is dropped
    when a site already kept is a duplicate of it, so the cheapest of a cluster survives.
    """
    if sites.empty:
        return sites.copy(), {}
    order = list(kind_order or [])
    rank = sites["kind"].map({k: i for i, k in enumerate(order)}).fillna(len(order))
    ordered = (sites.assign(_rank=rank.to_numpy())
               .sort_values(["cost", "_rank", "site_id"], kind="stable").reset_index(drop=True))
    xy = shapely.get_coordinates(ordered.geometry.to_numpy())
    from scipy.spatial import cKDTree

    pairs = cKDTree(xy).query_pairs(max(same_kind_m, any_kind_m), output_type="ndarray")
    neighbours: dict[int, list[int]] = {}
    for a, b in pairs:
        lo, hi = (int(a), int(b)) if a < b else (int(b), int(a))
        neighbours.setdefault(hi, []).append(lo)  # only earlier (cheaper) sites can absorb a site
    kinds = ordered["kind"].to_numpy()
    kept = np.ones(len(ordered), dtype=bool)
    reasons: Counter[str] = Counter()
    for i in range(len(ordered)):
        for j in sorted(neighbours.get(i, [])):
            if not kept[j]:
                continue
            dist = float(np.hypot(*(xy[i] - xy[j])))
            if kinds[i] == kinds[j] and dist <= same_kind_m:
                reasons[f"{kinds[i]}:duplicate_same_kind"] += 1
            elif dist <= any_kind_m:
                reasons[f"{kinds[i]}:duplicate_cheaper_nearby"] += 1
            else:
                continue
            kept[i] = False
            break
    out = ordered[kept].drop(columns="_rank")
    return out.sort_values("site_id", kind="stable").reset_index(drop=True), dict(reasons)


def load_candidates(
    data_dir: Path | str,
    *,
    kinds: Mapping[str, float],
    area: shapely.Geometry | gpd.GeoSeries | gpd.GeoDataFrame,
    police_sites: gpd.GeoDataFrame | None = None,
    extra_csv: Path | str | None = None,
    same_kind_m: float = 25.0,
    any_kind_m: float = 10.0,
) -> Candidates:
    """Candidate hub sites of the chosen kinds, clipped to ``area`` and de-duplicated.

    Parameters
    ----------
    data_dir
        The shared data directory (SITING_DATA_DIR).
    kinds
        Kind -> cost of opening a hub there; the built-in kinds listed are loaded
        (police, fire, library, hospital, school, worship). A ``user`` entry (or any other kind
        named in ``extra_csv``) prices the CSV's rows that give no cost.
    area
        The London boundary (e.g. the union of the wards) in EPSG:27700.
    police_sites
        Police buildings (site_id, name, geometry; optional capacity), needed when ``police``
        is in ``kinds``.
    extra_csv
        Optional CSV of extra sites (see `read_user_sites`).

    Returns
    -------
    Candidates
        ``sites``: site_id, name, kind, cost, capacity (NaN = no limit), geometry (BNG points),
        sorted by site_id; ``dropped``: counts keyed ``"<kind>:<reason>"``.
    """
    data_dir = Path(data_dir)
    kinds = dict(kinds)
    user = read_user_sites(extra_csv, kinds) if extra_csv is not None else None
    user_kinds = set(user["kind"]) if user is not None else set()
    for kind, cost in kinds.items():
        if kind not in BUILTIN_KINDS and kind != "user" and kind not in user_kinds:
            close = difflib.get_close_matches(kind, [*BUILTIN_KINDS, "user"], n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ScenarioError(
                f"hubs.costs: unknown candidate kind {kind!r}.{hint} Choose from "
                f"{', '.join(BUILTIN_KINDS)}, 'user', or a kind used in the candidate CSV."
            )
        if not (isinstance(cost, int | float) and math.isfinite(cost) and cost >= 0):
            raise ScenarioError(f"hubs.costs: cost of {kind!r} is {cost!r}; use a number >= 0.")
    if "police" in kinds and police_sites is None:
        raise ScenarioError("hubs.candidates includes 'police' but no police sites were given. "
                            "Pass police_sites (the scenario's police buildings) or drop 'police'.")
    geom = _area_geometry(area)
    dropped: Counter[str] = Counter()
    loaders = {"fire": _fire, "library": _library, "hospital": _hospital, "school": _school,
               "worship": _worship}
    frames = []
    for kind in BUILTIN_KINDS:
        if kind not in kinds:
            continue
        frame = _police(police_sites) if kind == "police" else loaders[kind](data_dir, dropped)
        if "capacity" not in frame.columns:
            frame["capacity"] = np.nan
        frame["cost"] = float(kinds[kind])
        frames.append(frame)
    if user is not None:
        frames.append(user)
    if not frames:
        empty = gpd.GeoDataFrame({c: [] for c in CANDIDATE_COLUMNS[:-1]}, geometry=[], crs=BNG)
        return Candidates(empty, _counts(dropped))
    sites = pd.concat([f[CANDIDATE_COLUMNS] for f in frames], ignore_index=True)
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=BNG)
    clash = sites["site_id"].duplicated(keep=False)
    if clash.any():
        raise DataError(f"candidate site ids are not unique: {', '.join(sorted(set(sites.loc[clash, 'site_id'])))[:300]}. "
                        "Rename the police or CSV sites.")
    inside = shapely.intersects(geom, sites.geometry.to_numpy())
    for kind, count in sites.loc[~inside, "kind"].value_counts().items():
        dropped[f"{kind}:outside_area"] += int(count)
    sites = sites[inside]
    order = [*[k for k in BUILTIN_KINDS if k in kinds], *sorted(user_kinds - set(BUILTIN_KINDS))]
    sites, dup = dedupe_sites(sites, kind_order=order, same_kind_m=same_kind_m, any_kind_m=any_kind_m)
    dropped.update(dup)
    sites = sites.astype({"cost": float, "capacity": float})
    return Candidates(sites.reset_index(drop=True), _counts(dropped))
