"""Travel times with a real OSM street extract: walks inside its core use the streets, others crow-fly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from siting.analysis import Analysis, analyse
from siting.network.scenario_network import scenario_network
from siting.network.walk import OsmWalkNetwork
from siting.scenario import load_scenario
from siting.travel import direct_walk_seconds, walk_csr

REPO = Path(__file__).resolve().parents[1]
WOODGREEN = "osm/network/woodgreen_bowespark_highways_overpass.osm"


@pytest.fixture(scope="module")
def street(london_dir: Path) -> OsmWalkNetwork:
    return OsmWalkNetwork(london_dir / WOODGREEN)


@pytest.fixture(scope="module")
def woodgreen(london_dir: Path, cache_dir: Path) -> Analysis:
    scenario = load_scenario(REPO / "scenarios" / "woodgreen-streets.yaml", data_dir=london_dir)
    return analyse(scenario, london_dir, cache_dir=cache_dir)


def test_walks_use_streets_only_inside_the_core(
    street: OsmWalkNetwork, woodgreen: Analysis, london_dir: Path, cache_dir: Path
) -> None:
    lsoas = woodgreen.lsoas
    xy = np.column_stack([lsoas.geometry.x, lsoas.geometry.y])
    inside = shapely.contains_xy(street.core_box, xy[:, 0], xy[:, 1])
    assert 5 < inside.sum() < 100
    counters = woodgreen.counters
    target_xy = np.column_stack([counters.geometry.x, counters.geometry.y])
    target_in = shapely.contains_xy(street.core_box, target_xy[:, 0], target_xy[:, 1])
    assert target_in.any()  # Wood Green's counter lies in the extract
    network = scenario_network(woodgreen.scenario, london_dir, cache_dir)
    crow = direct_walk_seconds(network, xy, target_xy)
    real = direct_walk_seconds(network, xy, target_xy, street)
    both = inside[:, None] & target_in[None, :]
    assert (crow[~both] == real[~both]).all()
    assert (crow[both] != real[both]).any()
    # Streets are never shorter than the straight line at the same speed.
    metres_per_s = network.walk.speed_kmh / 3.6
    straight = np.hypot(xy[:, None, 0] - target_xy[None, :, 0], xy[:, None, 1] - target_xy[None, :, 1])
    assert (real[both] >= np.floor(straight[both] / metres_per_s)).all()
    off_c, to_c, sec_c = walk_csr(network, xy[~inside], network.stop_xy, 720)
    off_s, to_s, sec_s = walk_csr(network, xy[~inside], network.stop_xy, 720, street)
    assert (off_c == off_s).all()
    assert (to_c == to_s).all()
    assert (sec_c == sec_s).all()


def test_woodgreen_scenario_differs_only_near_the_extract(woodgreen: Analysis, london_final: Analysis,
                                                          street: OsmWalkNetwork) -> None:
    a = woodgreen.lsoas.set_index("lsoa_code")["minutes_24h"]
    b = london_final.lsoas.set_index("lsoa_code")["minutes_24h"]
    changed = a.index[(a - b).abs() > 1e-9]
    assert len(changed) > 0
    points = woodgreen.lsoas.set_index("lsoa_code").loc[changed].geometry
    # Only LSOAs within a walk's reach of the extract's core can change.
    assert (points.distance(street.core_box) < 1500).all()
