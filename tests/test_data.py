"""London data loading: real counts and totals, CRS and column checks, geometry repair."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon

from siting._crs import BNG, WGS84
from siting._errors import DataError
from siting.data import (
    load_boroughs,
    load_counters,
    load_lsoas,
    load_ptai,
    load_wards,
    resolve_data_dir,
    scenario_counters,
    ward_population,
)
from siting.scenario import DataFiles, load_scenario

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wards(london_dir: Path) -> gpd.GeoDataFrame:
    return load_wards(london_dir)


@pytest.fixture(scope="module")
def boroughs(london_dir: Path) -> gpd.GeoDataFrame:
    return load_boroughs(london_dir)


def test_wards_counts(wards: gpd.GeoDataFrame) -> None:
    assert len(wards) == 630
    assert wards.crs == BNG
    assert wards["ward_code"].is_unique
    assert wards["borough_code"].nunique() == 33
    assert wards.geometry.is_valid.all()
    # Boroughs dissolve to about 1,595 km2 (the wards are not clipped to mean high water).
    assert wards.geometry.area.sum() / 1e6 == pytest.approx(1595, rel=0.01)


def test_lsoas_counts_and_totals(london_dir: Path, wards: gpd.GeoDataFrame) -> None:
    lsoas = load_lsoas(london_dir)
    assert len(lsoas) == 4835
    assert lsoas["population"].sum() == 8_173_941
    assert lsoas.crs == BNG
    assert set(lsoas["ward_code"]) == set(wards["ward_code"])
    mid2019 = load_lsoas(london_dir, DataFiles(population="mid2019"))
    assert mid2019["population"].sum() == 8_961_989
    per_ward = ward_population(lsoas)
    assert len(per_ward) == 630
    assert per_ward.sum() == 8_173_941


def test_boroughs(boroughs: gpd.GeoDataFrame) -> None:
    assert len(boroughs) == 33
    assert "City of London" in set(boroughs["borough"])


def test_ptai(london_dir: Path, wards: gpd.GeoDataFrame) -> None:
    ptai = load_ptai(london_dir)
    assert set(ptai["ward_code"]) == set(wards["ward_code"])


def test_counter_registry() -> None:
    counters = load_counters()
    assert len(counters) == 77
    assert counters["counter_id"].is_unique
    assert counters.crs == BNG


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("london-*.yaml")), ids=lambda p: p.name)
def test_scenario_counters_inside_their_borough(path: Path, boroughs: gpd.GeoDataFrame) -> None:
    scenario = load_scenario(path)
    counters = scenario_counters(scenario)
    open_ = counters[counters["status"] != "closed"]
    polygons = boroughs.set_index("borough")["geometry"]
    far = {
        row.counter_id: round(polygons[row.borough].distance(row.geometry))
        for row in open_.itertuples()
        if polygons[row.borough].distance(row.geometry) > 500
    }
    assert far == {}
    # One 24/7 counter in each of the 32 Met boroughs (the City has its own police force).
    per_borough = open_[open_["status"] == "24h"].groupby("borough").size()
    assert len(per_borough) == 32
    assert (per_borough == 1).all()


def test_strategy_counts() -> None:
    counts = {}
    for name in ("london-2016-baseline", "london-2017-draft", "london-2017-final"):
        scenario = load_scenario(REPO / "scenarios" / f"{name}.yaml")
        counts[name] = (len(scenario.counters.open_24h), len(scenario.counters.open_daytime))
    assert counts["london-2016-baseline"] == (32, 41)  # the strategy's 73 open counters
    assert counts["london-2017-draft"][0] == 32
    assert counts["london-2017-final"] == (32, 4)


def test_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist.*SITING_DATA_DIR"):
        resolve_data_dir(tmp_path / "nowhere")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"london_wards_2014_citymerged\.geojson: file not found.*siting data fetch"):
        load_wards(tmp_path)


def _write_wards(tmp_path: Path, frame: gpd.GeoDataFrame) -> DataFiles:
    (tmp_path / "boundaries").mkdir(exist_ok=True)
    frame.to_file(tmp_path / "boundaries" / "w.gpkg", engine="pyogrio")
    return DataFiles(wards="boundaries/w.gpkg")


def _square(x: float, y: float) -> Polygon:
    return Polygon([(x, y), (x + 100, y), (x + 100, y + 100), (x, y + 100)])


def _tiny(**columns: object) -> dict[str, object]:
    base: dict[str, object] = {"GSS_Code": ["E1"], "Name": ["A"], "Borough": ["B"], "LB_GSS_Code": ["E9"]}
    base.update(columns)
    return base


def test_missing_column(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"GSS_Code": ["E1"]}, geometry=[_square(530000, 180000)], crs=BNG)
    files = _write_wards(tmp_path, frame)
    with pytest.raises(DataError, match=r"missing column\(s\) Name, Borough, LB_GSS_Code"):
        load_wards(tmp_path, files)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_missing_crs(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(_tiny(), geometry=[_square(530000, 180000)])
    files = _write_wards(tmp_path, frame)
    with pytest.raises(DataError, match="no coordinate reference system"):
        load_wards(tmp_path, files)


def test_wrong_crs(tmp_path: Path) -> None:
    # BNG metres mislabelled as degrees.
    frame = gpd.GeoDataFrame(_tiny(), geometry=[_square(530000, 180000)], crs=WGS84)
    files = _write_wards(tmp_path, frame)
    with pytest.raises(DataError, match="outside Great Britain.*CRS is probably wrong"):
        load_wards(tmp_path, files)


def test_invalid_geometry_repaired_with_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bowtie = Polygon([(530000, 180000), (530100, 180100), (530100, 180000), (530000, 180100)])
    frame = gpd.GeoDataFrame(_tiny(), geometry=[bowtie], crs=BNG)
    files = _write_wards(tmp_path, frame)
    with caplog.at_level(logging.WARNING):
        wards = load_wards(tmp_path, files)
    assert wards.geometry.is_valid.all()
    assert wards.geometry.area.iloc[0] == pytest.approx(5000)
    assert "repaired invalid geometry of E1" in caplog.text


def test_copy_of_real_lsoas_with_bad_population(tmp_path: Path, london_dir: Path) -> None:
    (tmp_path / "boundaries").mkdir()
    src = london_dir / "boundaries" / "london_lsoa_2011_pwc_population.csv"
    shutil.copy(src, tmp_path / "boundaries" / src.name)
    text = (tmp_path / "boundaries" / src.name).read_text().splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    row[header.index("pop_census2011")] = "-3"
    text[1] = ",".join(row)
    (tmp_path / "boundaries" / src.name).write_text("\n".join(text) + "\n")
    with pytest.raises(DataError, match="pop_census2011 has missing or negative values"):
        load_lsoas(tmp_path)
