"""Walking: crow-fly model, the OSM street network (hand-built and real extracts), circuity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from siting._errors import DataError
from siting.network.walk import (
    DEFAULT_CIRCUITY,
    OsmWalkNetwork,
    WalkModel,
    calibrate_circuity,
    walkable_edge,
)

WOODGREEN = "osm/network/woodgreen_bowespark_highways_overpass.osm"
CLERKENWELL = "osm/network/clerkenwell_osmapi_map.osm"

# A hand-built street plan in BNG metres, placed near Islington (origin at 531000, 182000):
#
#     C (300,400) ---- E (700,400)          x  motorway C-E: not walkable
#     |          \
#     |           \  footway A-C, foot=no: not walkable (would be a 500 m short cut)
#     |            \
#     A (0,0) ------ B (300,0)   residential A-B, residential B-C
#
#   F (2000,2000) - G (2100,2000): a separate footway, not connected: dropped
#
# So A -> C walks A-B-C = 300 + 400 = 700 m = 8.75 min at 4.8 km/h (80 m/min).
ORIGIN = np.array([531_000.0, 182_000.0])
NODES = {1: (0, 0), 2: (300, 0), 3: (300, 400), 4: (700, 400), 6: (2000, 2000), 7: (2100, 2000)}
WAYS = [
    (10, [1, 2], {"highway": "residential"}),
    (11, [2, 3], {"highway": "residential"}),
    (12, [1, 3], {"highway": "footway", "foot": "no"}),
    (13, [3, 4], {"highway": "motorway"}),
    (14, [6, 7], {"highway": "footway"}),
]


def _write_osm(path: Path) -> Path:
    to_wgs = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for node, (x, y) in NODES.items():
        lon, lat = to_wgs.transform(ORIGIN[0] + x, ORIGIN[1] + y)
        lines.append(f'  <node id="{node}" lat="{lat:.9f}" lon="{lon:.9f}"/>')
    for way, refs, tags in WAYS:
        lines.append(f'  <way id="{way}">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> OsmWalkNetwork:
    return OsmWalkNetwork(_write_osm(tmp_path_factory.mktemp("osm") / "toy.osm"))


@pytest.fixture(scope="module")
def woodgreen(london_dir: Path) -> OsmWalkNetwork:
    return OsmWalkNetwork(london_dir / WOODGREEN)


def xy(x: float, y: float) -> np.ndarray:
    return np.array([[ORIGIN[0] + x, ORIGIN[1] + y]])


# ---------------------------------------------------------------------------- crow-fly


def test_crowfly_minutes_and_reach_are_inverse() -> None:
    walk = WalkModel(speed_kmh=4.8, circuity=1.25)
    # 800 m crow-fly * 1.25 = 1000 m on foot at 80 m/min = 12.5 min.
    assert walk.minutes(800.0) == pytest.approx(12.5)
    assert walk.reach_m(12.5) == pytest.approx(800.0)
    assert WalkModel().circuity == DEFAULT_CIRCUITY


@pytest.mark.parametrize(("n_from", "n_to"), [(40, 30), (30, 40), (1, 50), (50, 1)])
def test_crowfly_pairs_match_brute_force(n_from: int, n_to: int) -> None:
    # The KD-tree holds whichever set is larger; the table is the same either way.
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 3000, (n_from, 2)), rng.uniform(0, 3000, (n_to, 2))
    b[0] = a[0]  # a zero-distance pair is kept
    walk = WalkModel()
    table = walk.pairs_within(a, b, 10.0)
    assert table.equals(table.sort_values(["i_from", "i_to"]).reset_index(drop=True))
    assert ((table["i_from"] == 0) & (table["i_to"] == 0)).any()
    dist = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
    expected = {(i, j) for i, j in zip(*np.nonzero(walk.minutes(dist) <= 10.0), strict=True)}
    assert set(zip(table["i_from"], table["i_to"], strict=True)) == expected
    assert np.allclose(table["minutes"], walk.minutes(dist[table["i_from"], table["i_to"]]))


# ---------------------------------------------------------------------------- which ways


@pytest.mark.parametrize(
    ("tags", "walkable"),
    [
        ({"highway": "residential"}, True),
        ({"highway": "footway"}, True),
        ({"highway": "cycleway"}, True),
        ({"highway": "cycleway", "foot": "no"}, False),
        ({"highway": "motorway"}, False),
        ({"highway": "motorway_link"}, False),
        ({"highway": "proposed"}, False),
        ({"highway": "service", "access": "private"}, False),
        ({"highway": "footway", "access": "private", "foot": "designated"}, True),
        ({"highway": "pedestrian", "area": "yes"}, False),
        ({"highway": "trunk"}, True),
        ({"highway": "trunk", "sidewalk": "no"}, False),
        ({"highway": "trunk", "sidewalk:left": "no", "sidewalk:right": "no"}, False),
        ({"highway": "trunk", "sidewalk:left": "separate", "sidewalk:right": "no"}, True),
        ({"highway": "trunk", "sidewalk": "no", "foot": "yes"}, True),
        ({"highway": "primary", "sidewalk:both": "separate"}, True),
        ({"highway": "['residential', 'unclassified']"}, True),
    ],
)
def test_walkable_edge(tags: dict[str, str], walkable: bool) -> None:
    assert walkable_edge(tags) is walkable


# ---------------------------------------------------------------------------- hand-built network


def test_toy_network_keeps_walkable_connected_part(toy: OsmWalkNetwork) -> None:
    # A, B, C only: the motorway's far end E and the separate footway F-G are gone.
    assert len(toy.node_xy) == 3
    assert toy.graph.nnz == 4


def test_toy_walk_goes_round_the_forbidden_short_cut(toy: OsmWalkNetwork) -> None:
    table = toy.minutes_from(xy(0, 0), xy(300, 400))
    assert len(table) == 1
    assert table["metres"].iloc[0] == pytest.approx(700.0, abs=0.5)
    assert table["minutes"].iloc[0] == pytest.approx(8.75, abs=0.01)


def test_toy_snap_walks_the_last_stretch_straight(toy: OsmWalkNetwork) -> None:
    # 30 m west of A and 40 m east of C: 30 + 700 + 40 = 770 m.
    table = toy.minutes_from(xy(-30, 0), xy(340, 400))
    assert table["metres"].iloc[0] == pytest.approx(770.0, abs=0.5)
    # Farther than max_snap_m (250 m) from every node: off the network, so unreachable.
    far = toy.minutes_from(xy(0, 0), xy(300, 1000))
    assert far["minutes"].isna().all()


def test_toy_cutoff_drops_longer_walks(toy: OsmWalkNetwork) -> None:
    assert len(toy.minutes_from(xy(0, 0), xy(300, 400), max_minutes=8.0)) == 0
    assert len(toy.pairs_within(xy(0, 0), xy(300, 400), 9.0)) == 1


def test_toy_minutes_to_areas(toy: OsmWalkNetwork) -> None:
    around_c = shapely.box(ORIGIN[0] + 250, ORIGIN[1] + 350, ORIGIN[0] + 350, ORIGIN[1] + 450)
    around_b = shapely.box(ORIGIN[0] + 280, ORIGIN[1] - 20, ORIGIN[0] + 320, ORIGIN[1] + 20)
    table = toy.minutes_to_areas(np.vstack([xy(0, 0), xy(300, 420)]), [around_c, around_b])
    got = {(int(r.i_from), int(r.i_area)): r.metres for r in table.itertuples()}
    assert got[(0, 0)] == pytest.approx(700.0, abs=0.5)  # A to C's node
    assert got[(0, 1)] == pytest.approx(300.0, abs=0.5)  # A to B's node
    assert got[(1, 0)] == 0.0  # a point inside the area
    assert got[(1, 1)] == pytest.approx(20.0 + 400.0, abs=0.5)


def test_network_file_errors_name_file_and_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere\.osm: street network file not found"):
        OsmWalkNetwork(tmp_path / "nowhere.osm")
    broken = tmp_path / "broken.osm"
    broken.write_text("this is not xml")
    with pytest.raises(DataError, match=r"broken\.osm: could not read a street network.*osmium cat"):
        OsmWalkNetwork(broken)
    pbf = tmp_path / "area.osm.pbf"
    pbf.write_bytes(b"\x00\x01")
    with pytest.raises(DataError, match=r"area\.osm\.pbf: osmnx cannot read \.pbf.*osmium cat area\.osm\.pbf"):
        OsmWalkNetwork(pbf)
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"></osm>')
    with pytest.raises(DataError, match=r"empty\.osm"):
        OsmWalkNetwork(empty)
    only_motorway = tmp_path / "motorway.osm"
    _write_osm(only_motorway)
    text = only_motorway.read_text().replace('v="residential"', 'v="motorway"').replace('v="footway"', 'v="motorway"')
    only_motorway.write_text(text)
    with pytest.raises(DataError, match=r"motorway\.osm: no walkable ways"):
        OsmWalkNetwork(only_motorway)


# ---------------------------------------------------------------------------- real extracts


def test_woodgreen_loads_with_core_box(woodgreen: OsmWalkNetwork) -> None:
    assert 11_000 < len(woodgreen.node_xy) < 13_789
    west, south, east, north = woodgreen.core_box_lonlat
    # The smallest box holding a node of every way: inside the file's full node extent.
    assert -0.1586 < west < east < -0.0948
    assert 51.5977 < south < north < 51.6316
    assert woodgreen.core_box.area == pytest.approx(3.4e3 * 2.45e3, rel=0.05)


def test_network_never_shorter_than_straight_line(woodgreen: OsmWalkNetwork) -> None:
    rng = np.random.default_rng(1)
    picks = rng.choice(len(woodgreen.node_xy), size=60, replace=False)
    a, b = woodgreen.node_xy[picks[:30]], woodgreen.node_xy[picks[30:]]
    table = woodgreen.minutes_from(a, b).dropna()
    straight = np.hypot(*(a[table["i_from"]] - b[table["i_to"]]).T)
    assert len(table) == 900
    assert (table["metres"].to_numpy() >= straight - 1e-6).all()
    # Symmetric: walking back is as long.
    back = woodgreen.minutes_from(b, a).set_index(["i_from", "i_to"])["metres"]
    there = table.set_index(["i_to", "i_from"])["metres"]
    assert np.allclose(there.sort_index().to_numpy(), back.sort_index().to_numpy())


def test_calibration_on_clerkenwell_is_deterministic(london_dir: Path) -> None:
    first = calibrate_circuity(london_dir / CLERKENWELL, samples=300, min_m=200.0, seed=3)
    again = calibrate_circuity(london_dir / CLERKENWELL, samples=300, min_m=200.0, seed=3)
    assert first == again
    assert first.n_pairs == 300
    assert first.files == ("clerkenwell_osmapi_map.osm",)
    assert 1.0 <= first.p25 <= first.median <= first.p75 < 2.5
    assert "Dijkstra" in first.method


def test_default_circuity_is_the_measured_value(london_dir: Path) -> None:
    # The full default run (20,000 pairs) gives 1.287; a 2,000-pair run lands within sampling noise.
    measured = calibrate_circuity([london_dir / WOODGREEN, london_dir / CLERKENWELL], samples=2000)
    assert measured.n_pairs == 2000
    assert measured.median == pytest.approx(DEFAULT_CIRCUITY, abs=0.02)
    assert measured.mean > measured.median  # long detours skew the ratio upwards


def test_calibration_needs_pairs(london_dir: Path) -> None:
    with pytest.raises(DataError, match=r"no node pairs 5000-9000 m apart"):
        calibrate_circuity(london_dir / CLERKENWELL, min_m=5000.0, max_m=9000.0)
