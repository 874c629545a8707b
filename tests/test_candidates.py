"""Candidate hub sites: real London sources, known data issues, user CSVs, de-duplication."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree

from siting._crs import BNG
from siting._errors import DataError, ScenarioError
from siting.candidates import CANDIDATE_COLUMNS, dedupe_sites, load_candidates, read_user_sites

DEFAULT_KINDS = {"police": 1.0, "fire": 3.0, "library": 3.0, "hospital": 4.0}
ALL_KINDS = {**DEFAULT_KINDS, "school": 5.0, "worship": 5.0}


def police_sites(london_dir: Path) -> gpd.GeoDataFrame:
    """The 137 police sites of the 2017 MOPAC list (WGS84), as the caller would pass them."""
    raw = pd.read_csv(london_dir / "osm/poi/mopac_police_front_counters_2017_original.csv")
    return gpd.GeoDataFrame({"site_id": [f"police:{i}" for i in range(len(raw))], "name": raw["name"]},
                            geometry=gpd.points_from_xy(raw["longitude"], raw["latitude"]), crs="EPSG:4326")


@pytest.fixture(scope="module")
def wards(london_dir: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(london_dir / "boundaries/london_wards_2014_citymerged.geojson").to_crs(BNG)


@pytest.fixture(scope="module")
def area(wards: gpd.GeoDataFrame) -> shapely.Geometry:
    return wards.geometry.union_all()


@pytest.fixture(scope="module")
def default(london_dir: Path, area: shapely.Geometry):  # type: ignore[no-untyped-def]
    return load_candidates(london_dir, kinds=DEFAULT_KINDS, area=area, police_sites=police_sites(london_dir))


def test_default_candidates_shape(default, area: shapely.Geometry) -> None:  # type: ignore[no-untyped-def]
    sites, dropped = default
    assert list(sites.columns) == CANDIDATE_COLUMNS
    assert sites.crs == BNG
    assert sites["site_id"].is_unique
    assert list(sites["site_id"]) == sorted(sites["site_id"])
    assert (sites.geometry.geom_type == "Point").all()
    assert shapely.intersects(area, sites.geometry.to_numpy()).all()
    assert sites.groupby("kind").size().to_dict() == {"fire": 103, "hospital": 145, "library": 315, "police": 137}
    assert set(sites.loc[sites["kind"] == "fire", "cost"]) == {3.0}
    assert sites["capacity"].isna().all()
    assert dropped["hospital:outside_area"] == 647
    assert dropped["library:outside_area"] == 59


def test_fire_known_data_issues(default) -> None:  # type: ignore[no-untyped-def]
    sites, dropped = default
    fire = sites[sites["kind"] == "fire"].set_index("site_id")
    # 116 holdings: 10 non-stations with coordinates + Pegasus (no coordinates) + Deptford
    # (Peckham's point) + Lambeth river station (same point as Lambeth) = 13 gone.
    assert dropped["fire:not_a_station"] == 10
    assert dropped["fire:no_coordinates"] == 1
    assert dropped["fire:misplaced"] == 1
    assert dropped["fire:duplicate_same_kind"] == 1
    names = set(fire["name"])
    assert "Peckham Fire Station" in names
    assert "Deptford Fire Station" not in names
    assert "Barking Fire Station" in names  # "BARKING (including workshop)" is a station
    assert not any(word in n.upper() for n in names for word in ("HQ", "TOILETS", "CAR PARK", "STORES", "FORMER"))
    assert fire.loc["fire:84", "name"] == "Peckham Fire Station"
    assert fire.loc["fire:84"].geometry.equals(shapely.Point(533586, 176741))


def test_no_near_duplicates_left(default) -> None:  # type: ignore[no-untyped-def]
    sites, _ = default
    xy = shapely.get_coordinates(sites.geometry.to_numpy())
    pairs = cKDTree(xy).query_pairs(25.0, output_type="ndarray")
    kinds = sites["kind"].to_numpy()
    cost = sites["cost"].to_numpy()
    for a, b in pairs:
        dist = float(np.hypot(*(xy[a] - xy[b])))
        assert kinds[a] != kinds[b], (sites.iloc[a].site_id, sites.iloc[b].site_id)
        assert dist > 10.0 or cost[a] != cost[b]


def test_schools_and_worship_opt_in(london_dir: Path, area: shapely.Geometry, wards: gpd.GeoDataFrame) -> None:
    sites, dropped = load_candidates(london_dir, kinds={"school": 5.0, "worship": 5.0}, area=area)
    counts = sites.groupby("kind").size().to_dict()
    assert counts["school"] > 2500
    assert counts["worship"] > 700
    assert dropped["school:duplicate_urn"] == 396
    assert dropped["school:closed"] == 112
    assert sites.loc[sites["kind"] == "school", "site_id"].str.fullmatch(r"school:\d+").all()
    # Ayesha Siddiqa Girls School's grid reference is 8.6 km off; its lon/lat is in its own ward.
    school = sites[sites["site_id"] == "school:135155"]
    ward = wards[wards.contains(school.geometry.iloc[0])]
    assert ward["Name"].tolist() == ["Southall Broadway"]


def test_user_csv_lonlat_and_grid(tmp_path: Path, london_dir: Path, area: shapely.Geometry) -> None:
    csv = tmp_path / "extra.csv"
    csv.write_text(
        "name,kind,lon,lat,easting,northing,cost,capacity\n"
        "Hornsey Town Hall,council,-0.1243,51.5843,,,2.5,9\n"
        "Tottenham Green Leisure Centre,leisure,,,533800,189700,,\n"
    )
    sites, _ = load_candidates(london_dir, kinds={"leisure": 2.0}, area=area, extra_csv=csv)
    assert list(sites["site_id"]) == ["user:hornsey-town-hall", "user:tottenham-green-leisure-centre"]
    hall, centre = sites.iloc[0], sites.iloc[1]
    assert (hall["kind"], hall["cost"], hall["capacity"]) == ("council", 2.5, 9.0)
    assert centre["cost"] == 2.0  # the kind's cost from `kinds`
    assert np.isnan(centre["capacity"])
    assert centre.geometry.equals(shapely.Point(533800, 189700))
    assert hall.geometry.distance(shapely.Point(530190, 188960)) < 300


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("name,kind\nA,council\n", r"extra\.csv: missing column\(s\) lon and lat .* or easting and northing"),
        ("name,lon,lat\nA,-0.1,51.5\n", r"extra\.csv: missing column\(s\) kind"),
        ("name,kind,lon,lat\nA,council,-0.1,51.5\nB,council,west,51.5\n",
         r"extra\.csv, row 3, column 'lon': 'west' is not a number"),
        ("name,kind,lon,lat\nA,council,51.5,-0.1\n", r"row 2, columns 'lon','lat'.*swapped"),
        ("name,kind,easting,northing\nA,council,-0.1,51.5\n", r"row 2, columns 'easting','northing'.*lon/lat degrees"),
        ("name,kind,lon,lat\n,council,-0.1,51.5\n", r"row 2, column 'name': empty"),
        ("name,kind,lon,lat\nA,cafe,-0.1,51.5\n", r"row 2, column 'cost': empty, and kind 'cafe' has no cost"),
        ("name,kind,lon,lat,cost\nA,council,-0.1,51.5,-2\n", r"row 2, column 'cost': '-2' is negative"),
        ("name,kind,lon,lat,cost,capacity\nA,council,-0.1,51.5,1,many\n", r"row 2, column 'capacity': 'many'"),
        ("name,kind,lon,lat,cost\nA,council,-0.1,51.5,1\nA,council,-0.2,51.5,1\n",
         r"rows 2, 3: the same site id 'user:a'"),
    ],
)
def test_user_csv_errors_name_file_row_column(tmp_path: Path, text: str, match: str) -> None:
    csv = tmp_path / "extra.csv"
    csv.write_text(text)
    with pytest.raises(DataError, match=match):
        read_user_sites(csv, {"council": 2.0})


def test_user_csv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: candidate CSV not found"):
        read_user_sites(tmp_path / "nope.csv", {})


def test_dedupe_by_hand() -> None:
    # a (police, cost 1) at 0; b (police, 1) 20 m away: same kind within 25 m -> dropped.
    # c (library, 3) 8 m from a: a cheaper site within 10 m -> dropped.
    # d (library, 3) 15 m from a: other kind, beyond 10 m -> kept.
    # e (fire, 3) 5 m from d: same cost, not cheaper, but tie broken by kind order -> dropped.
    sites = gpd.GeoDataFrame(
        {"site_id": ["a", "b", "c", "d", "e"], "kind": ["police", "police", "library", "library", "fire"],
         "cost": [1.0, 1.0, 3.0, 3.0, 3.0], "name": list("abcde")},
        geometry=[shapely.Point(0, 0), shapely.Point(20, 0), shapely.Point(0, 8), shapely.Point(0, -15),
                  shapely.Point(0, -20)], crs=BNG)
    kept, dropped = dedupe_sites(sites, kind_order=["police", "fire", "library"])
    assert list(kept["site_id"]) == ["a", "e"] or list(kept["site_id"]) == ["a", "d"]
    # fire comes before library in kind_order, so the fire station e survives and d goes.
    assert list(kept["site_id"]) == ["a", "e"]
    assert dropped == {"police:duplicate_same_kind": 1, "library:duplicate_cheaper_nearby": 2}


def test_bad_arguments(london_dir: Path, area: shapely.Geometry) -> None:
    with pytest.raises(ScenarioError, match=r"unknown candidate kind 'firestation'.*Did you mean 'fire'"):
        load_candidates(london_dir, kinds={"firestation": 3.0}, area=area)
    with pytest.raises(ScenarioError, match=r"includes 'police' but no police sites"):
        load_candidates(london_dir, kinds={"police": 1.0}, area=area)
    with pytest.raises(ScenarioError, match=r"cost of 'fire' is -1"):
        load_candidates(london_dir, kinds={"fire": -1}, area=area)
    lonlat = gpd.GeoSeries([area], crs=BNG).to_crs("EPSG:4326").iloc[0]
    with pytest.raises(DataError, match=r"area: bounds .* are not BNG metres.*to_crs\(27700\)"):
        load_candidates(london_dir, kinds={"fire": 3.0}, area=lonlat)
    no_crs = police_sites(london_dir).set_crs(None, allow_override=True)
    with pytest.raises(DataError, match=r"police_sites: the police sites have no CRS"):
        load_candidates(london_dir, kinds={"police": 1.0}, area=area, police_sites=no_crs)
    with pytest.raises(DataError, match=r"osm/poi/lfb_fire_station_assets_osgb\.csv: candidate site file not found"):
        load_candidates(london_dir / "nowhere", kinds={"fire": 3.0}, area=area)
