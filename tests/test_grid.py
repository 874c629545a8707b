"""Grids and origins: cells by hand, chunked summaries equal to summaries.summarise, isochrones."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from siting._crs import BNG, WGS84
from siting._errors import DataError, ScenarioError
from siting.grid import grid_cells, origin_points, summarise_chunk, travel_time_surface
from siting.isochrones import isochrones
from siting.network.gtfs import read_feed
from siting.network.transit import TransitNetwork
from siting.network.walk import WalkModel
from siting.travel import Targets, Window, profile_search, summarise

FIXTURES = Path(__file__).parent / "fixtures" / "gtfs"


def test_grid_cells_by_hand() -> None:
    # A 1000 x 500 m rectangle on the 100 m grid holds 10 x 5 = 50 cell centres.
    cells = grid_cells(box(500_000, 180_000, 501_000, 180_500), 100)
    assert len(cells) == 50
    assert cells.crs == BNG
    assert cells["cell_id"].iloc[0] == "E500050N180050"
    assert cells.geometry.area.eq(10_000).all()
    # The triangle (0,0)-(300,0)-(0,300) holds the centres with x + y < 300: (50,50),
    # (150,50), (50,150); (250,50), (150,150) and (50,250) lie on its edge, which is outside.
    tri = grid_cells(Polygon([(0, 0), (300, 0), (0, 300)]), 100)
    assert sorted(tri["cell_id"]) == ["E150N50", "E50N150", "E50N50"]
    with pytest.raises(ScenarioError, match="positive size"):
        grid_cells(box(0, 0, 10, 10), 0)


def test_origin_points_any_crs_and_polygons() -> None:
    square = box(530_000, 180_000, 530_200, 180_200)
    frame = gpd.GeoDataFrame({"id": ["sq"]}, geometry=[square], crs=BNG).to_crs(WGS84)
    points = origin_points(frame)
    assert points.crs == BNG
    assert points["origin_id"].tolist() == ["sq"]
    assert square.buffer(1).contains(points.geometry.iloc[0])
    with pytest.raises(DataError, match="no coordinate reference system"):
        origin_points(gpd.GeoDataFrame({"id": ["a"]}, geometry=[square]))
    with pytest.raises(DataError, match="repeated ids"):
        origin_points(gpd.GeoDataFrame({"id": ["a", "a"]}, geometry=[square, square], crs=BNG))
    with pytest.raises(DataError, match="not origins"):
        origin_points(gpd.GeoDataFrame({"id": ["a"]}, geometry=[square.exterior], crs=BNG))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_summarise_chunk_equals_travel_summarise(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 6))
    d = data.draw(st.integers(1, 9))
    k = data.draw(st.integers(1, 4))
    departures = np.arange(d, dtype=np.int64) * 60 + 28_800
    reached = np.array(data.draw(st.lists(st.booleans(), min_size=n * d, max_size=n * d)))
    offsets = np.array(data.draw(st.lists(st.integers(0, 3_000), min_size=n * d,
                                          max_size=n * d)), dtype=np.int64)
    targets = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n * d,
                                          max_size=n * d)), dtype=np.int32)
    served = np.where(reached, np.tile(departures, n) + offsets, -1).reshape(n, d)
    target = np.where(reached, targets, -1).reshape(n, d).astype(np.int32)
    values, mode = summarise_chunk(served, target, departures, [50, 80, 95], k)
    ids = np.array([f"c{i}" for i in range(k)], dtype=object)
    long = pd.DataFrame({
        "origin_id": np.repeat([f"o{i}" for i in range(n)], d),
        "departure_s": np.tile(departures, n),
        "minutes": np.where(reached, offsets / 60.0, np.nan),
        "counter_id": pd.Series(np.where(reached, ids[np.maximum(targets, 0)], None), dtype="str"),
    })
    want = summarise(long, [50, 80, 95])
    np.testing.assert_array_equal(values[50], want["minutes_p50"].to_numpy())
    np.testing.assert_array_equal(values[80], want["minutes_p80"].to_numpy())
    np.testing.assert_array_equal(values[95], want["minutes_p95"].to_numpy())
    got = pd.Series(np.where(mode >= 0, ids[np.maximum(mode, 0)], None), dtype="str")
    assert got.tolist() == want["nearest_counter"].tolist()


def test_surface_in_chunks_equals_the_long_table() -> None:
    network = TransitNetwork.build(read_feed(FIXTURES / "transfer"), "2024-01-03", 7 * 3600,
                                   12 * 3600, WalkModel(speed_kmh=3.6, circuity=1.0))
    rng = np.random.default_rng(5)
    targets = Targets.from_arrays(["C", "D"], network.stop_xy[[3, 4]])
    profiles = profile_search(network, targets, max_access_minutes=10.0)
    xy = network.stop_xy[rng.integers(0, network.n_stops, 37)] + rng.normal(0, 300, (37, 2))
    window = Window(7 * 3600 + 1800, 9 * 3600, 60)
    surface = travel_time_surface({"m": profiles}, xy, window, percentiles=[50, 80], chunk=5)
    want = summarise(profiles.evaluate(xy, [f"{i:03d}" for i in range(37)], window), [50, 80])
    np.testing.assert_array_equal(surface["minutes_m"].to_numpy(), want["minutes_p50"].to_numpy())
    np.testing.assert_array_equal(surface["minutes_m_p80"].to_numpy(),
                                  want["minutes_p80"].to_numpy())
    assert surface["nearest_m_counter"].tolist() == want["nearest_counter"].tolist()


def test_isochrones_by_hand() -> None:
    # Three 100 m cells in a row with 10, 20 and 40 minutes: 15 min holds the first (0.01 km²),
    # 30 the first two, 45 and 60 all three; the 'any' measure reaches nothing.
    cells = gpd.GeoDataFrame({"x": [50.0, 150.0, 250.0], "y": [50.0, 50.0, 50.0],
                              "minutes_24h": [10.0, 20.0, 40.0],
                              "minutes_any": [np.nan] * 3},
                             geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100),
                                       box(200, 0, 300, 100)], crs=BNG)
    iso = isochrones(cells, cell_m=100)
    day = iso[iso["measure"] == "24h"]
    assert day["cells"].tolist() == [1, 2, 3, 3]
    assert day["area_km2"].tolist() == [0.01, 0.02, 0.03, 0.03]
    assert day.geometry.iloc[1].equals(box(0, 0, 200, 100))
    assert iso[iso["measure"] == "any"].geometry.is_empty.all()
    with pytest.raises(DataError, match="EPSG:27700"):
        isochrones(cells.to_crs(WGS84), cell_m=100)


@pytest.mark.london
def test_london_grid_covers_london(london_dir: Path) -> None:
    from siting.data import load_wards
    from siting.scenario import DataFiles

    wards = load_wards(london_dir, DataFiles())
    cells = grid_cells(wards.geometry.union_all(), 1000)
    # Greater London is 1,572 km² (ONS Standard Area Measurements); 1 km cells whose centre
    # is inside it number about that many (the edge effects cancel to within a few per cent).
    assert 1_500 <= len(cells) <= 1_650


def test_read_origins_file_and_scenario_field(tmp_path: Path) -> None:
    from siting.grid import read_origins
    from siting.scenario import DataFiles, load_scenario

    points = gpd.GeoDataFrame({"origin_id": ["home", "work"]},
                              geometry=gpd.points_from_xy([-0.1147, -0.1276], [51.4627, 51.5072]),
                              crs=WGS84)
    path = tmp_path / "homes.geojson"
    points.to_file(path, driver="GeoJSON")
    origins = read_origins(path)
    assert origins["origin_id"].tolist() == ["home", "work"]
    assert origins.crs == BNG
    with pytest.raises(DataError, match="origins file not found"):
        read_origins(tmp_path / "nope.geojson")
    (tmp_path / "bad.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="cannot read the origins file"):
        read_origins(tmp_path / "bad.geojson")
    for rel in DataFiles().model_dump(exclude={"population"}).values():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).touch()  # load_scenario only checks that the data files exist
    scenario = tmp_path / "s.yaml"
    scenario.write_text("id: s\ntitle: S\ncounters: {open_24h: [brixton]}\norigins: homes.geojson\n",
                        encoding="utf-8")
    assert load_scenario(scenario, data_dir=tmp_path).origins == "homes.geojson"
    scenario.write_text("id: s\ntitle: S\ncounters: {open_24h: [brixton]}\norigins: gone.geojson\n",
                        encoding="utf-8")
    with pytest.raises(ScenarioError, match="field `origins`: file .*gone.geojson not found"):
        load_scenario(scenario, data_dir=tmp_path)


@pytest.mark.london
def test_grid_cli_unknown_counter_is_exit_2(london_dir: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from siting.cli import main

    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "london-2017-final.yaml"
    code = main(["grid", str(scenario), "--cell", "1000", "--counter", "no-such-counter",
                 "--data-dir", str(london_dir), "--out", str(tmp_path / "g"),
                 "--cache-dir", str(tmp_path / "cache")])
    assert code == 2
    assert "no-such-counter" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()
