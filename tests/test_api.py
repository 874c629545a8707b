"""Public API: lazy exports, help(siting), travel_times on GeoDataFrames, the documented examples."""

from __future__ import annotations

import os
import pydoc
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

import siting
from siting._crs import BNG, WGS84
from siting._errors import DataError, ScenarioError
from siting.api import travel_times
from siting.network.gtfs import read_feed
from siting.network.transit import TransitNetwork
from siting.network.walk import WalkModel

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "gtfs"


def test_import_is_lazy_and_help_lists_the_api() -> None:
    code = ("import sys, siting; heavy = [m for m in ('geopandas', 'numba', 'ortools', 'osmnx') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert out.stdout.strip() == "[]"
    text = pydoc.render_doc(siting, renderer=pydoc.plaintext)
    for name in ("travel_times", "transit_network", "analyse", "HubSiting", "CounterChoice",
                 "CounterAlternatives", "load_scenario", "TransitNetwork", "scenario_grid"):
        assert name in siting.__all__
        assert name in text
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = siting.nope  # type: ignore[attr-defined]


def _transfer_network() -> TransitNetwork:
    return TransitNetwork.build(read_feed(FIXTURES / "transfer"), "2024-01-03", 7 * 3600,
                                12 * 3600, WalkModel(speed_kmh=3.6, circuity=1.0),
                                transfer_max_minutes=5.0)


def _stops(*names: str) -> tuple[list[float], list[float]]:
    stops = read_feed(FIXTURES / "transfer").stops.set_index("stop_id")
    return ([float(stops.loc[n, "stop_lon"]) for n in names],
            [float(stops.loc[n, "stop_lat"]) for n in names])


def test_travel_times_by_hand_in_any_crs() -> None:
    network = _transfer_network()
    lon, lat = _stops("C")
    targets = gpd.GeoDataFrame({"id": ["C"]}, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)
    lon, lat = _stops("A")
    origins = gpd.GeoDataFrame({"id": ["a"]}, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)
    # From A, leaving 07:55..08:00 each minute: t1 08:00 -> B 08:10, t2 08:15 -> C 08:30, so
    # 35, 34, 33, 32, 31, 30 minutes; sorted, the median (position 2.5) is 32.5 and the 80th
    # percentile (position 4.0) is 34.
    times = travel_times(network, targets, origins, departure_window="07:55-08:01",
                         percentiles=[50, 80])
    assert times["minutes_p50"].tolist() == [32.5]
    assert times["minutes_p80"].tolist() == [34.0]
    assert times["nearest_target"].tolist() == ["C"]
    assert times.crs == origins.crs
    # The same points in British National Grid give the same answer.
    again = travel_times(network, targets.to_crs(BNG), origins.to_crs(BNG),
                         departure_window="07:55-08:01", percentiles=[50, 80])
    assert again["minutes_p50"].tolist() == [32.5]
    # C open 08:40-12:00 only: arriving 08:30 the resident waits until 08:40 (45 .. 40 min).
    closed = travel_times(network, targets.assign(opens="08:40", closes="12:00"), origins,
                          departure_window="07:55-08:01", percentiles=[50])
    assert closed["minutes_p50"].tolist() == [42.5]


def test_travel_times_errors() -> None:
    network = _transfer_network()
    lon, lat = _stops("C")
    targets = gpd.GeoDataFrame({"id": ["C"]}, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)
    no_crs = gpd.GeoDataFrame({"id": ["a"]}, geometry=gpd.points_from_xy(lon, lat))
    with pytest.raises(DataError, match="no coordinate reference system"):
        travel_times(network, targets, no_crs)
    with pytest.raises(DataError, match="no coordinate reference system"):
        travel_times(network, no_crs, targets)
    with pytest.raises(DataError, match="must be a GeoDataFrame"):
        travel_times(network, targets.drop(columns="geometry"), targets)  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="departure_window"):
        travel_times(network, targets, targets, departure_window="8 to 9")
    with pytest.raises(ScenarioError, match="outside the transit network"):
        travel_times(network, targets, targets, departure_window="05:00-06:00")
    with pytest.raises(DataError, match="'HH:MM'"):
        travel_times(network, targets.assign(opens="noon", closes="14:00"), targets)


def _python_blocks(path: Path, heading: str | None = None) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if heading is not None:
        text = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


@pytest.mark.london
def test_readme_example_runs_on_london(london_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SITING_DATA_DIR", str(london_dir))
    monkeypatch.chdir(REPO)
    blocks = _python_blocks(REPO / "README.md", "## Python API")
    assert len(blocks) == 1
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    times = namespace["times"]
    assert isinstance(times, gpd.GeoDataFrame)
    assert times["origin_id"].tolist() == ["near-brixton-station", "harefield"]
    # The first home is about 300 m from Brixton police station (a 24/7 counter in the final
    # strategy), Harefield is at London's north-west edge, about 9 km from Hayes or Harrow.
    assert times["nearest_target"].tolist()[0] == "brixton"
    near, far = times["minutes_p50"].tolist()
    assert near < far
    assert (times["minutes_p80"] >= times["minutes_p50"]).all()
    assert "near-brixton-station" in capsys.readouterr().out


@pytest.mark.london
def test_docs_worked_example_runs_on_london(london_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITING_DATA_DIR", str(london_dir))
    monkeypatch.chdir(REPO)
    blocks = _python_blocks(REPO / "docs" / "api.md")
    assert len(blocks) == 2
    namespace: dict[str, object] = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/api.md block {i + 1}", "exec"), namespace)
    result = namespace["result"]
    assert isinstance(result, siting.Analysis)
    assert {"journey_24h_walk_min", "journey_24h_first_route"} <= set(result.wards.columns)
    solution = namespace["solution"]
    assert len(solution.open_sites) > 0  # type: ignore[attr-defined]
    times = namespace["times"]
    assert np.isfinite(times["minutes_p50"]).all()  # type: ignore[index]

