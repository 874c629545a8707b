"""The derive functions (`DERIVERS`): each rebuilds a curated data file from its pinned inputs."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from siting._crs import BNG, WGS84
from siting._errors import DataError

if TYPE_CHECKING:
    import geopandas as gpd

_GEOJSON_OPTIONS = {"COORDINATE_PRECISION": 6, "RFC7946": "YES", "WRITE_NAME": "NO"}

DeriveFn = Callable[[Mapping[str, Path], Path, Mapping[str, Any]], None]


def _write_geojson(frame: gpd.GeoDataFrame, out: Path) -> None:
    import pyogrio

    pyogrio.write_dataframe(frame, out, driver="GeoJSON", layer_options=_GEOJSON_OPTIONS)


def _main_input(inputs: Mapping[str, Path], params: Mapping[str, Any]) -> Path:
    return inputs[params["main"]] if "main" in params else next(iter(inputs.values()))


def normalize_text(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Re-encode a text file as UTF-8 with LF line ends and a final newline (the curators' CSV fix).

    params: `encoding` of the input (default utf-8).
    """
    raw = _main_input(inputs, params).read_bytes()
    text = raw.decode(params.get("encoding", "utf-8"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text and not text.endswith("\n"):
        text += "\n"
    out.write_bytes(text.encode("utf-8"))


def _polygonal_make_valid(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Repair invalid polygons with shapely.make_valid, keeping only their polygonal part."""
    import shapely

    geoms = frame.geometry.to_numpy()
    bad = ~shapely.is_valid(geoms)
    if not bad.any():
        return frame
    fixed = geoms.copy()
    for i in bad.nonzero()[0]:
        repaired = shapely.make_valid(geoms[i])
        if repaired.geom_type == "GeometryCollection":
            parts = [g for g in repaired.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
            repaired = shapely.union_all(parts)
        fixed[i] = repaired
    return frame.set_geometry(fixed, crs=frame.crs)


def vector_to_geojson(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Convert a MapInfo TAB or shapefile set to GeoJSON in EPSG:4326 at 6 decimals.

    params: `main` (the .tab/.shp among the inputs), `source_crs` (assigned, overriding what the
    file says; the curators gave EPSG:27700 explicitly), `make_valid` (repair invalid polygons in
    the source CRS, keeping the polygonal part).
    """
    import pyogrio

    frame = pyogrio.read_dataframe(_main_input(inputs, params))
    if params.get("source_crs"):
        frame = frame.set_crs(params["source_crs"], allow_override=True)
    if params.get("make_valid"):
        frame = _polygonal_make_valid(frame)
    _write_geojson(frame.to_crs(WGS84), out)


def dissolve_boroughs(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Dissolve the 2014 wards (City merged) into 33 borough outlines in EPSG:27700.

    Inputs: the wards GeoJSON (keyed `wards.geojson`). Hectares and Non_Inland_Area are summed
    (rounded to 3 decimals, as in the source), n_wards_citymerged counts wards.
    """
    import pyogrio

    wards = pyogrio.read_dataframe(inputs["wards.geojson"]).to_crs(BNG)
    boroughs = (
        wards.dissolve(
            by=["LB_GSS_Code", "Borough"],
            aggfunc={"Hectares": "sum", "Non_Inland_Area": "sum", "GSS_Code": "count"},
        )
        .reset_index()
        .rename(columns={"GSS_Code": "n_wards_citymerged"})
    )
    boroughs = boroughs.assign(
        Hectares=boroughs["Hectares"].round(3), Non_Inland_Area=boroughs["Non_Inland_Area"].round(3)
    )[["LB_GSS_Code", "Borough", "Hectares", "Non_Inland_Area", "n_wards_citymerged", "geometry"]]
    _write_geojson(boroughs.to_crs(WGS84), out)


def lsoa_pwc_population(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Build the London LSOA population-weighted-centroid table with Census 2011 and mid-2019 people.

    Inputs (keys): `centroids.csv` (ONS PWC, columns X, Y in WGS84, lsoa11cd), `lsoa.geojson`
    (London LSOA codes, names and boroughs), `lsoa_atlas.csv` (GLA LSOA Atlas extract; the Census
    2011 population is the sum of `params['census_columns']`, the KS301 health categories),
    `mid2019.csv` (ONS SAPE, `Persons_All-Ages`), `wards.geojson` (2014 wards, City merged; each
    centroid gets the ward that contains it, the nearest ward if none does). Rows follow the
    centroid file's order.
    """
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    from pyproj import Transformer

    lsoa = pyogrio.read_dataframe(inputs["lsoa.geojson"], read_geometry=False)
    lsoa = lsoa[["LSOA11CD", "LSOA11NM", "LAD11CD", "LAD11NM"]]
    cent = pd.read_csv(inputs["centroids.csv"])
    cent = cent.loc[cent["lsoa11cd"].isin(lsoa["LSOA11CD"]), ["lsoa11cd", "X", "Y"]]
    if missing := sorted(set(lsoa["LSOA11CD"]) - set(cent["lsoa11cd"])):
        raise DataError(
            f"The LSOA centroid file has no centroid for {len(missing)} London LSOAs "
            f"(e.g. {missing[:3]}); the pinned upstream file has changed. Fetch "
            "boundaries/london_lsoa_2011_pwc_population.csv with `--mirror URL` instead."
        )
    table = cent.rename(columns={"lsoa11cd": "LSOA11CD"}).merge(lsoa, on="LSOA11CD", how="left")
    east, north = Transformer.from_crs(WGS84, BNG, always_xy=True).transform(
        table["X"].to_numpy(), table["Y"].to_numpy()
    )
    points = gpd.GeoDataFrame(index=table.index, geometry=gpd.points_from_xy(east, north), crs=BNG)
    wards = pyogrio.read_dataframe(inputs["wards.geojson"], columns=["GSS_Code", "Name"]).to_crs(
        BNG
    )
    inside = gpd.sjoin(points, wards, predicate="within", how="left")
    inside = inside[~inside.index.duplicated(keep="first")]
    if inside["GSS_Code"].isna().any():
        outside = points.loc[inside["GSS_Code"].isna()]
        nearest = gpd.sjoin_nearest(outside, wards, how="left")
        nearest = nearest[~nearest.index.duplicated(keep="first")]
        inside.loc[nearest.index, ["GSS_Code", "Name"]] = nearest[["GSS_Code", "Name"]]

    atlas = pd.read_csv(inputs["lsoa_atlas.csv"], encoding_errors="replace")
    census = atlas.set_index(params.get("atlas_key", "Lower Super Output Area"))[
        list(params["census_columns"])
    ].sum(axis=1)
    mid2019 = pd.read_csv(inputs["mid2019.csv"]).set_index("LSOA11CD")["Persons_All-Ages"]
    result = pd.DataFrame(
        {
            "LSOA11CD": table["LSOA11CD"],
            "LSOA11NM": table["LSOA11NM"],
            "LAD11CD": table["LAD11CD"],
            "LAD11NM": table["LAD11NM"],
            "ward14_code": inside["GSS_Code"],
            "ward14_name": inside["Name"],
            "pop_census2011": table["LSOA11CD"].map(census),
            "pop_mid2019": table["LSOA11CD"].map(mid2019),
            "lon": table["X"].round(6),
            "lat": table["Y"].round(6),
            "E": pd.Series(east, index=table.index).round(1),
            "N": pd.Series(north, index=table.index).round(1),
        }
    )
    for column in ("pop_census2011", "pop_mid2019"):
        if result[column].isna().any():
            codes = result.loc[result[column].isna(), "LSOA11CD"].head(3).tolist()
            raise DataError(
                f"No {column} for London LSOAs such as {codes} in the pinned population inputs; "
                "the upstream files have changed. Fetch "
                "boundaries/london_lsoa_2011_pwc_population.csv with `--mirror URL` instead."
            )
        result[column] = result[column].astype("int64")
    result.to_csv(out, index=False)


def points_geojson(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Write a CSV with lon/lat columns as a GeoJSON of points (all columns kept as properties).

    params: `lon`, `lat` column names (default lon, lat).
    """
    import geopandas as gpd
    import pandas as pd

    table = pd.read_csv(_main_input(inputs, params))
    lon, lat = params.get("lon", "lon"), params.get("lat", "lat")
    points = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table[lon], table[lat]), crs=WGS84)
    _write_geojson(points, out)


def ward_population(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Population per 2014 ward: LSOA best fit (Census 2011, mid-2019) plus GLA's 2015 figure.

    Inputs (keys): `wards.geojson` (2014 wards, City merged), `lsoa_population.csv` (the LSOA
    centroid table with ward14_code), `ward_profiles.csv` (GLA Ward Profiles; `New code` ->
    `Population - 2015`, the first row per code). Rows sorted by borough, then ward name.
    """
    import pandas as pd
    import pyogrio

    wards = pyogrio.read_dataframe(inputs["wards.geojson"], read_geometry=False)
    lsoa = pd.read_csv(inputs["lsoa_population.csv"])
    profiles = pd.read_csv(inputs["ward_profiles.csv"]).drop_duplicates("New code")
    per_ward = lsoa.groupby("ward14_code").agg(
        n_lsoa=("LSOA11CD", "size"),
        pop_census2011_lsoa_bestfit=("pop_census2011", "sum"),
        pop_mid2019_lsoa_bestfit=("pop_mid2019", "sum"),
    )
    gla_2015 = profiles.set_index("New code")["Population - 2015"]
    table = wards[["GSS_Code", "Name", "LB_GSS_Code", "Borough", "Hectares"]].merge(
        per_ward, left_on="GSS_Code", right_index=True, how="left"
    )
    table = table.assign(
        pop_2015_gla_ward_profiles=table["GSS_Code"].map(gla_2015).round().astype("Int64")
    ).sort_values(["Borough", "Name"], kind="stable")
    table.to_csv(out, index=False)


def shapefile_to_geoparquet(
    inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]
) -> None:
    """Read a shapefile set (.shp/.shx/.dbf/.prj/.cpg) and write it as GeoParquet (zstd), unchanged.

    params: `main` (the .shp), optional `source_crs` to assign.
    """
    import pyogrio

    frame = pyogrio.read_dataframe(_main_input(inputs, params))
    if params.get("source_crs"):
        frame = frame.set_crs(params["source_crs"], allow_override=True)
    frame.to_parquet(out, compression="zstd", index=False)


def wkt_csv_to_geoparquet(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Parse a CSV of WKT polygons, keep those whose centroid is in a box, add WGS84 centroids.

    params: `crs` of the WKT, `wkt_column`, `bbox` [xmin, ymin, xmax, ymax] in that CRS (applied
    to the polygon centroid), `decimals` for the centroid lon/lat columns. Writes GeoParquet (zstd).
    """
    import geopandas as gpd
    import pandas as pd

    wkt = params.get("wkt_column", "WKT")
    table = pd.read_csv(_main_input(inputs, params))
    frame = gpd.GeoDataFrame(
        table.drop(columns=[wkt]), geometry=gpd.GeoSeries.from_wkt(table[wkt]), crs=params["crs"]
    )
    centroids = frame.geometry.centroid
    xmin, ymin, xmax, ymax = params["bbox"]
    keep = centroids.x.between(xmin, xmax) & centroids.y.between(ymin, ymax)
    frame = frame.loc[keep].reset_index(drop=True)
    lonlat = centroids.loc[keep].to_crs(WGS84).reset_index(drop=True)
    decimals = int(params.get("decimals", 6))
    frame = frame.assign(
        centroid_lon=lonlat.x.round(decimals).to_numpy(),
        centroid_lat=lonlat.y.round(decimals).to_numpy(),
    )
    frame.to_parquet(out, compression="zstd", index=False)


def osmium_cat(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Convert an .osm XML file to .osm.pbf with `osmium cat` (osmium-tool), data unchanged."""
    exe = shutil.which("osmium")
    if exe is None:
        raise DataError(
            f"{out.name} is made from the .osm file with osmium-tool (`osmium cat IN -o OUT`), "
            "which is not installed. Install osmium-tool (e.g. `apt install osmium-tool`), or "
            "fetch the curated file with `--mirror URL`; the project can also read the .osm file."
        )
    source = _main_input(inputs, params)
    result = subprocess.run(
        [exe, "cat", str(source), "-o", str(out), "--overwrite"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DataError(
            f"`osmium cat {source.name}` failed ({result.stderr.strip()}); fetch {out.name} with "
            "`--mirror URL` instead."
        )


DERIVERS: dict[str, DeriveFn] = {
    "normalize_text": normalize_text,
    "vector_to_geojson": vector_to_geojson,
    "dissolve_boroughs": dissolve_boroughs,
    "lsoa_pwc_population": lsoa_pwc_population,
    "points_geojson": points_geojson,
    "ward_population": ward_population,
    "shapefile_to_geoparquet": shapefile_to_geoparquet,
    "wkt_csv_to_geoparquet": wkt_csv_to_geoparquet,
    "osmium_cat": osmium_cat,
}
"""Derive functions by the name sources.yaml uses: f(inputs by file name, output path, params)."""
