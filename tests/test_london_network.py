"""Modelled London GTFS: real-data build (counts, validity, determinism), hand-worked cases, errors."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from siting._errors import DataError, ScenarioError
from siting.network.gtfs import read_feed
from siting.network.london import (
    INPUT_FILES,
    LondonAssumptions,
    _fit_frequencies,
    _kinematic_s,
    _line_patterns,
    _offsets,
    _through_patterns,
    build_london_gtfs,
    describe_modes,
    london_inputs,
)

DAY = dt.date(2017, 11, 15)
GTFS_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt",
              "frequencies.txt", "transfers.txt", "calendar.txt", "feed_info.txt")


def _seconds(times: pd.Series) -> np.ndarray:
    parts = times.str.split(":", expand=True).astype(int)
    return (parts[0] * 3600 + parts[1] * 60 + parts[2]).to_numpy()


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def feed_dir(london_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole modelled network, built once for this module."""
    return build_london_gtfs(london_dir, tmp_path_factory.mktemp("london") / "gtfs",
                             service_date=DAY)


@pytest.fixture(scope="module")
def tables(feed_dir: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(feed_dir / name, dtype=str, keep_default_na=False)
            for name in GTFS_FILES}


# ---------------------------------------------------------------------------------------------
# Real data: counts, validity, determinism


def test_writes_every_gtfs_file(feed_dir: Path) -> None:
    for name in GTFS_FILES:
        assert (feed_dir / name).stat().st_size > 0, name


def test_every_tube_and_dlr_station_on_a_run_line_is_a_stop(
    london_dir: Path, tables: dict[str, pd.DataFrame]
) -> None:
    tube = london_dir / "transit" / "tube_network"
    lines = pd.read_csv(tube / "london.lines.csv")
    conns = pd.read_csv(tube / "london.connections.csv")
    run = lines.loc[~lines["name"].isin(LondonAssumptions().tube_excluded_lines), "line"]
    on_run_lines = conns[conns["line"].isin(run)]
    expected = {f"tube:{s}" for s in pd.concat([on_run_lines["station1"],
                                                on_run_lines["station2"]])}
    stops = set(tables["stops.txt"]["stop_id"])
    served = set(tables["stop_times.txt"]["stop_id"])
    assert len(expected) >= 270
    assert expected <= stops
    assert expected <= served


def test_mode_counts_are_plausible(tables: dict[str, pd.DataFrame]) -> None:
    routes = tables["routes.txt"]
    stops = tables["stops.txt"]["stop_id"]
    mode = routes["route_id"].str.split(":").str[0]
    # 722 route codes in the 2016 sequences, minus night N*, school 6xx, rail-replacement UL*,
    # river RB*/RT* and limited 9xx routes: ~545 all-day bus routes.
    assert (mode == "bus").sum() > 500
    assert stops.str.startswith("bus:").sum() > 15_000
    assert (mode == "tube").sum() == 11  # 11 tube lines run (East London Line is now rail)
    assert (mode == "dlr").sum() == 1
    assert stops.str.startswith("rail:").sum() > 300
    assert stops.str.startswith("tram:").sum() == 39  # Tramlink's 39 stops
    assert (mode == "river").sum() >= 5
    assert set(routes["route_type"]) == {"0", "1", "2", "3", "4"}


def test_london_rail_termini_and_junctions_are_served(tables: dict[str, pd.DataFrame]) -> None:
    served = set(tables["stop_times.txt"]["stop_id"])
    for crs in ("WAT", "VIC", "LBG", "CHX", "CST", "BFR", "LST", "FST", "PAD", "EUS", "KGX",
                "STP", "MYB", "MOG", "CLJ", "SRA", "ECR", "WIM", "RMD", "HHY", "WIJ", "LEW"):
        assert f"rail:{crs}" in served, crs
    # Not open in 2017 (assumption rail_excluded_stations).
    assert "rail:TCR" not in served
    assert "rail:BCZ" not in served


def test_feed_reads_with_the_project_gtfs_reader(feed_dir: Path) -> None:
    feed = read_feed(feed_dir)
    assert len(feed.trips) == len(feed.frequencies)
    assert feed.stops["stop_id"].is_unique
    lat = feed.stops["stop_lat"].astype(float)
    lon = feed.stops["stop_lon"].astype(float)
    assert lat.between(51.2, 51.8).all()
    assert lon.between(-0.65, 0.4).all()


def test_stop_times_are_monotone_within_every_trip(tables: dict[str, pd.DataFrame]) -> None:
    st = tables["stop_times.txt"]
    arrive = _seconds(st["arrival_time"])
    depart = _seconds(st["departure_time"])
    seq = st["stop_sequence"].astype(int).to_numpy()
    same_trip = (st["trip_id"].to_numpy()[1:] == st["trip_id"].to_numpy()[:-1])
    assert (depart >= arrive).all()
    assert (arrive[1:][same_trip] >= depart[:-1][same_trip]).all()
    assert (seq[1:][same_trip] == seq[:-1][same_trip] + 1).all()
    assert set(st["trip_id"]) == set(tables["trips.txt"]["trip_id"])


def test_frequencies_cover_the_morning_window(tables: dict[str, pd.DataFrame]) -> None:
    freq = tables["frequencies.txt"]
    assert set(freq["trip_id"]) == set(tables["trips.txt"]["trip_id"])
    assert (_seconds(freq["start_time"]) <= 7 * 3600).all()
    assert (_seconds(freq["end_time"]) >= 10 * 3600).all()
    headway = freq["headway_secs"].astype(int)
    assert headway.between(60, 3600).all()


def test_calendar_covers_the_service_date(tables: dict[str, pd.DataFrame]) -> None:
    cal = tables["calendar.txt"].iloc[0]
    assert cal["start_date"] <= "20171115" <= cal["end_date"]
    assert cal["wednesday"] == "1"


def test_run_minutes_between_adjacent_tube_stations_equal_the_data(
    london_dir: Path, tables: dict[str, pd.DataFrame]
) -> None:
    tube = london_dir / "transit" / "tube_network"
    stations = pd.read_csv(tube / "london.stations.csv").set_index("name")["id"]
    conns = pd.read_csv(tube / "london.connections.csv")
    a, b = stations["Stockwell"], stations["Vauxhall"]
    row = conns[(conns["line"] == 11) & conns["station1"].isin([a, b])
                & conns["station2"].isin([a, b])]
    minutes = int(row["time"].iloc[0])
    st = tables["stop_times.txt"]
    st = st[st["trip_id"].str.startswith("tube:11:")].reset_index(drop=True)
    hops = st.assign(next_stop=st["stop_id"].shift(-1),
                     next_arrive=st["arrival_time"].shift(-1),
                     next_trip=st["trip_id"].shift(-1))
    hop = hops[(hops["stop_id"] == f"tube:{a}") & (hops["next_stop"] == f"tube:{b}")
               & (hops["trip_id"] == hops["next_trip"])]
    assert len(hop) == 1
    run = _seconds(hop["next_arrive"])[0] - _seconds(hop["departure_time"])[0]
    # Departure already includes tube_dwell_s (0 by default): run = the data's whole minutes.
    assert run == minutes * 60


def test_circle_line_is_a_loop_from_edgware_road(
    london_dir: Path, tables: dict[str, pd.DataFrame]
) -> None:
    stations = pd.read_csv(london_dir / "transit" / "tube_network" / "london.stations.csv")
    start = f"tube:{stations.set_index('name').loc['Edgware Road (C)', 'id']}"
    st = tables["stop_times.txt"]
    for trip, stops in st[st["trip_id"].str.startswith("tube:3:")].groupby("trip_id")["stop_id"]:
        assert stops.iloc[0] == stops.iloc[-1] == start, trip
        assert stops.nunique() == 27


def test_build_is_deterministic(london_dir: Path, feed_dir: Path, tmp_path: Path) -> None:
    again = build_london_gtfs(london_dir, tmp_path / "again", service_date=DAY)
    assert _digest(again) == _digest(feed_dir)


def test_describe_modes_counts_match_the_feed(
    feed_dir: Path, tables: dict[str, pd.DataFrame]
) -> None:
    info = describe_modes(feed_dir)
    modes = info["modes"]
    assert set(modes) == {"tube", "dlr", "bus", "river", "rail", "tram"}
    assert sum(m["trips"] for m in modes.values()) == len(tables["trips.txt"])
    assert sum(m["routes"] for m in modes.values()) == len(tables["routes.txt"])
    assert modes["bus"]["peak_connections_per_hour"] > modes["tube"]["peak_connections_per_hour"]
    assert modes["bus"]["median_headway_min"] == 10.0
    assert "stations_off_track" in modes["rail"]["notes"]
    assert any("Elizabeth" in m["mode"] for m in info["missing"])


def test_london_inputs_lists_every_input(london_dir: Path) -> None:
    paths = london_inputs(london_dir)
    assert len(paths) == len(INPUT_FILES)
    assert all(p.is_file() for p in paths)


# ---------------------------------------------------------------------------------------------
# Hand-worked cases


def test_offsets_add_dwell_only_at_intermediate_stops() -> None:
    # Runs of 60 s and 120 s, 30 s dwell: arrive 0, 60, 210; depart 0, 90, 210.
    assert _offsets([60.0, 120.0], 30.0) == ((0, 60, 210), (0, 90, 210))


def test_kinematic_run_times() -> None:
    # 90 km/h = 25 m/s at 0.5 m/s2: cruising needs v^2/a = 1250 m.
    # 2000 m: 2000/25 + 25/0.5 = 80 + 50 = 130 s; 500 m never cruises: 2*sqrt(500/0.5) = 63.25 s.
    got = _kinematic_s(np.array([2000.0, 500.0]), 90.0, 0.5)
    assert got == pytest.approx([130.0, 63.2456], abs=1e-3)


def test_line_patterns_and_frequencies_on_a_y_shaped_line() -> None:
    # 1-2-3 trunk, 3-4 and 3-5 branches, one minute each.
    graph = nx.Graph()
    for u, v in [(1, 2), (2, 3), (3, 4), (3, 5)]:
        graph.add_edge(u, v, time=1.0)
    xy = {1: (0.0, 0.0), 2: (1.0, 0.0), 3: (2.0, 0.0), 4: (3.0, 1.0), 5: (3.0, -1.0)}
    paths = _line_patterns(graph, None, xy, 120.0)
    assert paths == [[1, 2, 3, 4], [1, 2, 3, 5]]
    # Minimise 2(2f - F)^2 + 2(f - F)^2 (trunk shared, branches single): 20 f = 12 F, f = 0.6 F.
    assert _fit_frequencies(paths, graph, 30.0) == pytest.approx([18.0, 18.0], abs=1e-6)


def test_line_patterns_never_reverse_at_a_junction() -> None:
    # Chalk Farm (1) -> Camden (2) -> Kentish Town (3) would turn back by ~150 degrees.
    graph = nx.Graph()
    for u, v in [(1, 2), (2, 3), (2, 4)]:
        graph.add_edge(u, v, time=1.0)
    xy = {1: (-1.0, 1.0), 2: (0.0, 0.0), 3: (0.2, 1.0), 4: (0.0, -1.0)}
    paths = _line_patterns(graph, None, xy, 120.0)
    assert [1, 2, 3] not in paths
    assert [3, 2, 1] not in paths
    assert sorted(map(sorted, paths)) == [[1, 2, 4], [2, 3, 4]]


def test_through_patterns_merge_a_branch_into_the_trunk() -> None:
    # A(0)-B(1)-C(2) straight; D(3) branches off at B on C's side; the track allows A-B-C, A-B-D.
    exits = pd.DataFrame(
        [(0, 1, 1.0, 0.0, 7), (1, 0, -1.0, 0.0, 7), (1, 2, 1.0, 0.0, 7), (2, 1, -1.0, 0.0, 7),
         (1, 3, 0.9, 0.436, 8), (3, 1, -0.9, -0.436, 8)],
        columns=["a", "b", "ux", "uy", "line"])
    through = pd.DataFrame([(0, 1, 2), (0, 1, 3)], columns=["a", "via", "b"])
    assert _through_patterns(exits, through, 75.0) == [[0, 1, 2], [0, 1, 3]]


# ---------------------------------------------------------------------------------------------
# Assumptions and errors


def test_overrides_apply_and_merge_mappings() -> None:
    base = LondonAssumptions()
    new = base.with_overrides({"bus_headway_min": 8, "tube_headway_min": {"Victoria Line": 1.8},
                               "bus_runs": [1]}, source="s.yaml")
    assert new.bus_headway_min == 8.0
    assert new.tube_headway_min["Victoria Line"] == 1.8
    assert new.tube_headway_min["Central Line"] == base.tube_headway_min["Central Line"]
    assert new.bus_runs == (1,)
    assert base.bus_headway_min == 10.0  # the original is untouched
    assert new.fingerprint() != base.fingerprint()


def test_every_assumption_has_a_doc_and_a_source() -> None:
    for row in LondonAssumptions().table():
        assert row["doc"], row["name"]
        assert row["source"], row["name"]
    assert LondonAssumptions().reliability_min(3) == 2.0
    assert LondonAssumptions().reliability_min(1) == 0.75


def test_unknown_override_names_the_closest_key() -> None:
    with pytest.raises(ScenarioError, match=r"s\.yaml.*transit\.assumptions\.bus_headway_mins.*"
                                            r"Did you mean 'bus_headway_min'"):
        LondonAssumptions().with_overrides({"bus_headway_mins": 5}, source="s.yaml")


def test_wrongly_typed_override_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match=r"transit\.assumptions\.bus_headway_min.*'ten'.*number"):
        LondonAssumptions().with_overrides({"bus_headway_min": "ten"}, source="s.yaml")
    with pytest.raises(ScenarioError, match=r"unknown line 'Victoria'.*'Victoria Line'"):
        LondonAssumptions().with_overrides({"tube_headway_min": {"Victoria": 2}}, source="s.yaml")
    with pytest.raises(ScenarioError, match=r"rail_dwell_s.*whole number"):
        LondonAssumptions().with_overrides({"rail_dwell_s": 30.5}, source="s.yaml")
    with pytest.raises(ScenarioError, match=r"bus_headway_min.*greater than zero"):
        LondonAssumptions().with_overrides({"bus_headway_min": 0}, source="s.yaml")
    with pytest.raises(ScenarioError, match=r"service_end.*after service_start"):
        LondonAssumptions().with_overrides({"service_end": "05:00"}, source="s.yaml")


def test_missing_input_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"london\.stations\.csv: file not found.*SITING_DATA_DIR"):
        build_london_gtfs(tmp_path, tmp_path / "out", service_date=DAY)


def test_missing_column_is_a_data_error(london_dir: Path, tmp_path: Path) -> None:
    tube = tmp_path / "transit" / "tube_network"
    tube.mkdir(parents=True)
    source = london_dir / "transit" / "tube_network"
    stations = pd.read_csv(source / "london.stations.csv").drop(columns="latitude")
    stations.to_csv(tube / "london.stations.csv", index=False)
    with pytest.raises(DataError, match=r"london\.stations\.csv: missing column\(s\) latitude"):
        build_london_gtfs(tmp_path, tmp_path / "out", service_date=DAY)
