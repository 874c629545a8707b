"""Modelled London GTFS: real-data build (counts, validity, determinism), hand-worked cases, errors."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from siting.network.london.night import (
    DAILY,
    NIGHT,
    NIGHT_TUBE,
    day_runs,
    night_bus_runs,
    night_tube_runs,
)
from siting.network.london.patterns import _Pattern
from siting.network.transit import TransitNetwork

DAY = dt.date(2017, 11, 15)  # a Wednesday
SATURDAY = dt.date(2017, 11, 18)  # its small hours are Friday night 17/18 November
NIGHT_TUBE_LINES = {"Central Line", "Jubilee Line", "Northern Line", "Piccadilly Line",
                    "Victoria Line"}
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
    # 722 route codes in the 2016 sequences, minus school 6xx, rail-replacement UL*, river
    # RB*/RT* and limited 9xx routes: ~545 all-day bus routes plus the 50 night N routes.
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


def test_day_frequencies_cover_the_morning_window(tables: dict[str, pd.DataFrame]) -> None:
    freq = tables["frequencies.txt"].merge(tables["trips.txt"], on="trip_id")
    assert set(freq["trip_id"]) == set(tables["trips.txt"]["trip_id"])
    day = freq[freq["service_id"] == DAILY]
    assert (_seconds(day["start_time"]) <= 7 * 3600).all()
    assert (_seconds(day["end_time"]) >= 10 * 3600).all()
    headway = freq["headway_secs"].astype(int)
    assert headway.between(60, 3600).all()


def test_day_spans_follow_each_modes_hours(tables: dict[str, pd.DataFrame]) -> None:
    # day_service_hours: tube and DLR 05:30-24:30, buses 06:00-24:30, rail and tram
    # 05:30-24:00, river 06:00-22:00.
    freq = tables["frequencies.txt"].merge(tables["trips.txt"], on="trip_id")
    day = freq[freq["service_id"] == DAILY]
    mode = day["trip_id"].str.split(":").str[0]
    spans = day.assign(mode=mode).groupby("mode")[["start_time", "end_time"]].agg(set)
    assert spans.loc["tube", "start_time"] == {"05:30:00"}
    assert spans.loc["dlr", "end_time"] == {"24:30:00"}
    assert spans.loc["bus", "start_time"] == {"06:00:00"}
    assert spans.loc["bus", "end_time"] == {"24:30:00"}
    assert spans.loc["rail", "end_time"] == {"24:00:00"}
    assert spans.loc["river", "end_time"] == {"22:00:00"}


def test_calendar_covers_the_service_date_and_the_night_before(
    tables: dict[str, pd.DataFrame]
) -> None:
    cal = tables["calendar.txt"].set_index("service_id")
    assert set(cal.index) == {DAILY, NIGHT, NIGHT_TUBE}
    assert (cal["start_date"] == "20171114").all()
    assert (cal["end_date"] == "20171115").all()
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    assert (cal.loc[[DAILY, NIGHT], days] == "1").all().all()
    # The Night Tube runs on Friday and Saturday nights only.
    assert cal.loc[NIGHT_TUBE, days].tolist() == ["0", "0", "0", "0", "1", "1", "0"]


# ---------------------------------------------------------------------------------------------
# Night service


def test_the_50_night_routes_run_every_night_and_not_by_day(
    london_dir: Path, tables: dict[str, pd.DataFrame]
) -> None:
    raw = pd.read_csv(london_dir / "transit" / "bus_sequences" / "bus-sequences_2016.csv",
                      dtype=str, encoding="utf-8-sig")
    n_routes = {r.strip() for r in raw["Route"].dropna() if r.strip().startswith("N")}
    assert len(n_routes) == 50  # the count of night routes in the 2016 sequences
    trips = tables["trips.txt"]
    freq = tables["frequencies.txt"].merge(trips, on="trip_id")
    code = trips["route_id"].str.split(":", n=1).str[1]
    night_only = trips[trips["route_id"].str.startswith("bus:N")]
    assert set(code[trips["route_id"].str.startswith("bus:N")]) == n_routes
    assert set(night_only["service_id"]) == {NIGHT}
    rows = freq[freq["route_id"].str.startswith("bus:N")]
    # night_bus_hours 00:00-06:00 after midnight = 24:00-30:00 on the evening's service day.
    assert set(rows["start_time"]) == {"24:00:00"}
    assert set(rows["end_time"]) == {"30:00:00"}
    assert set(rows["headway_secs"]) == {"1200"}  # night_bus_headway_min = 20


def test_24_hour_routes_carry_on_through_the_night(tables: dict[str, pd.DataFrame]) -> None:
    freq = tables["frequencies.txt"].merge(tables["trips.txt"], on="trip_id").set_index(
        "trip_id")
    for route in LondonAssumptions().bus_24h_routes:
        day, night = freq.loc[f"bus:{route}:r1"], freq.loc[f"bus:{route}:r1:night"]
        assert (day["service_id"], night["service_id"]) == (DAILY, NIGHT)
        # The night run starts where the day span ends (24:30), so no half hour runs twice.
        assert day["end_time"] == night["start_time"] == "24:30:00"
        assert night["end_time"] == "30:00:00"
    assert "bus:38:r1:night" not in freq.index  # the 38 hands over to the N38 at night


def _night_stations(tables: dict[str, pd.DataFrame], line_name: str,
                    london_dir: Path) -> set[str]:
    tube = london_dir / "transit" / "tube_network"
    lines = pd.read_csv(tube / "london.lines.csv").set_index("name")["line"]
    names = pd.read_csv(tube / "london.stations.csv").set_index("id")["name"]
    trips = tables["trips.txt"]
    night = trips[(trips["service_id"] == NIGHT_TUBE)
                  & (trips["route_id"] == f"tube:{lines[line_name]}")]["trip_id"]
    st = tables["stop_times.txt"]
    ids = st.loc[st["trip_id"].isin(night), "stop_id"].str.split(":").str[1].astype(int)
    return set(names.reindex(ids.unique()))


def test_night_tube_runs_the_published_sections_on_friday_and_saturday_nights(
    london_dir: Path, tables: dict[str, pd.DataFrame]
) -> None:
    trips = tables["trips.txt"]
    friday_saturday = trips[trips["service_id"] == NIGHT_TUBE]
    night_tube = friday_saturday[friday_saturday["route_id"].str.startswith("tube:")]
    # Central 2, Jubilee 7, Northern 9, Piccadilly 10, Victoria 11 (london.lines.csv).
    assert set(night_tube["route_id"]) == {"tube:2", "tube:7", "tube:9", "tube:10", "tube:11"}
    # The rest of the Friday and Saturday night service: the weekend night buses, nothing else.
    others = set(friday_saturday["route_id"]) - set(night_tube["route_id"])
    assert others == {f"bus:{r}" for r in LondonAssumptions().bus_weekend_night_routes}
    central = _night_stations(tables, "Central Line", london_dir)
    assert {"Ealing Broadway", "White City", "Loughton", "Newbury Park", "Hainault"} <= central
    assert not {"West Ruislip", "Epping", "Grange Hill"} & central  # TfL: no service there
    northern = _night_stations(tables, "Northern Line", london_dir)
    assert {"Morden", "Charing Cross", "Edgware", "High Barnet"} <= northern
    assert not {"Bank", "Mill Hill East"} & northern
    piccadilly = _night_stations(tables, "Piccadilly Line", london_dir)
    assert {"Cockfosters", "Heathrow Terminals 1, 2 & 3"} <= piccadilly
    assert not {"Heathrow Terminal 4", "Uxbridge"} & piccadilly
    freq = tables["frequencies.txt"].set_index("trip_id").loc[night_tube["trip_id"]]
    assert set(freq["start_time"]) == {"24:30:00"}  # night_tube_hours 00:30-05:30
    assert set(freq["end_time"]) == {"29:30:00"}
    # Two Central patterns every 20 min share White City-Leytonstone: 6 trains/h there, as
    # TfL's "approximately every 10 minutes"; each branch keeps 3 trains/h (every 20).
    central_rows = freq[freq.index.str.startswith("tube:2:") & freq.index.str.endswith(":0")]
    assert (central_rows["headway_secs"].astype(int) == 1200).all()
    assert len(central_rows) == 2


def test_night_tube_lines_start_on_their_launch_dates(london_dir: Path) -> None:
    a = LondonAssumptions()

    def lines(day: dt.date) -> set[str]:
        return {r.pattern.route_id for r in night_tube_runs(london_dir, a, day)}

    assert lines(dt.date(2016, 8, 18)) == set()  # the night before the first Night Tube
    assert lines(dt.date(2016, 8, 19)) == {"tube:2", "tube:11"}  # Central and Victoria
    assert lines(dt.date(2016, 12, 16)) == {"tube:2", "tube:7", "tube:9", "tube:10", "tube:11"}
    runs = night_tube_runs(london_dir, a, SATURDAY)
    assert {r.service_id for r in runs} == {NIGHT_TUBE}


def test_night_runs_by_hand() -> None:
    # One direction of four bus routes and a tube line, 2 stops 300 s apart.
    def pattern(mode: str, route: str) -> _Pattern:
        return _Pattern(mode, f"{mode}:{route}", f"{mode}:{route}:r1", 0, ("a", "b"), (0, 300),
                        (0, 300), 600)

    day_bus, n29, all_night, weekend = (pattern("bus", r) for r in ("7", "N29", "25", "34"))
    tube = pattern("tube", "9")
    a = LondonAssumptions().with_overrides({"bus_weekend_night_routes": ["34"]}, source="t")
    # Day: everything but the night-only N29, buses 06:00-24:30, tube 05:30-24:30.
    day = {r.pattern.trip_id: (r.service_id, r.start_s, r.end_s)
           for r in day_runs([day_bus, n29, all_night, weekend, tube], a)}
    assert day == {"bus:7:r1": (DAILY, 21600, 88200), "bus:25:r1": (DAILY, 21600, 88200),
                   "bus:34:r1": (DAILY, 21600, 88200), "tube:9:r1": (DAILY, 19800, 88200)}
    # Night: N29 24:00-30:00 every 20 min; the 25 from its day end 24:30; the 34 on Friday and
    # Saturday nights only, every 30 min; the 7 and the tube pattern not at all.
    night = {r.pattern.trip_id: (r.service_id, r.start_s, r.end_s, r.pattern.headway_s)
             for r in night_bus_runs([day_bus, n29, all_night, weekend, tube], a)}
    assert night == {"bus:N29:r1": (NIGHT, 86400, 108000, 1200),
                     "bus:25:r1:night": (NIGHT, 88200, 108000, 1200),
                     "bus:34:r1:night": (NIGHT_TUBE, 88200, 108000, 1800)}


@pytest.fixture(scope="module")
def saturday_feed(london_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_london_gtfs(london_dir, tmp_path_factory.mktemp("saturday") / "gtfs",
                             service_date=SATURDAY)


def _runs_in_small_hours(feed_dir: Path, day: dt.date) -> pd.DataFrame:
    """Trip runs with a hop departing 01:00-04:00: run id, mode ('night tube' etc.), start."""
    network = TransitNetwork.build(read_feed(feed_dir), day, 3600, 4 * 3600)
    runs = pd.Series(pd.unique(network.run_ids[network.trip]))
    mode = runs.str.split(":").str[0]
    # Run ids: "trip_id@start_s", suffixed "/-1d" for the previous service day's runs.
    start = runs.str.extract(r"@(\d+)")[0].astype(int)
    return pd.DataFrame({"run": runs, "start_s": start,
                         "previous_day": runs.str.endswith("/-1d"),
                         "mode": mode.where(~runs.str.contains(":night"), "night " + mode)})


def test_small_hours_of_saturday_have_the_night_tube_and_of_wednesday_do_not(
    feed_dir: Path, saturday_feed: Path
) -> None:
    # 01:00-04:00: the engine takes the previous service day's trips, shifted by -24 h.
    saturday = _runs_in_small_hours(saturday_feed, SATURDAY)["mode"].value_counts()
    assert saturday["night tube"] > 0  # Friday night's Night Tube
    assert saturday["bus"] > 0  # night buses (N routes)
    assert saturday["night bus"] > 0  # 24-hour routes at night
    wednesday = _runs_in_small_hours(feed_dir, DAY)
    assert (wednesday["mode"] == "bus").any()
    assert "night tube" not in set(wednesday["mode"])  # Tuesday night: no Night Tube
    # Any other train still running is a late day run of Tuesday that left before its mode's
    # day span ended (tube 24:30, rail 24:00...), not a night service.
    spans = LondonAssumptions().day_service_hours
    trains = wednesday[wednesday["mode"].isin(["tube", "dlr", "rail", "tram", "river"])]
    assert trains["previous_day"].all()
    ends = trains["mode"].map(lambda m: int(spans[m].split("-")[1][:2]) * 3600
                              + int(spans[m].split("-")[1][3:]) * 60)
    assert (trains["start_s"] < ends).all()


@pytest.fixture(scope="module")
def london_night(london_dir: Path, cache_dir: Path):  # type: ignore[no-untyped-def]
    """The Analysis of scenarios/london-2017-final-night.yaml (Friday night, 01:00-04:00)."""
    from siting.analysis import analyse
    from siting.scenario import load_scenario

    path = Path(__file__).resolve().parents[1] / "scenarios" / "london-2017-final-night.yaml"
    scenario = load_scenario(path, data_dir=london_dir)
    assert scenario.transit.service_date.weekday() == 5  # a Saturday: Friday night's service
    return analyse(scenario, london_dir, cache_dir=cache_dir)


def test_night_scenario_computes_real_night_times(london_night) -> None:  # type: ignore[no-untyped-def]
    from siting.network.scenario_network import scenario_walk

    lsoas = london_night.lsoas
    assert lsoas["minutes_24h"].notna().all()
    # Most LSOAs reach their 24/7 counter faster than by walking all the way there (at the
    # scenario's speed and circuity): the night network is used, not a walk-only fallback.
    counters = london_night.counters[london_night.counters["status"] == "24h"]
    cx = np.column_stack([counters.geometry.x, counters.geometry.y])
    lx = np.column_stack([lsoas.geometry.x, lsoas.geometry.y])
    crow = np.hypot(*(lx[:, None, :] - cx[None, :, :]).transpose(2, 0, 1)).min(axis=1)
    walk = np.asarray(scenario_walk(london_night.scenario).minutes(crow))
    assert (lsoas["minutes_24h"].to_numpy() < walk).mean() > 0.5


def test_night_is_never_faster_than_day(london_night, london_final) -> None:  # type: ignore[no-untyped-def]
    # The night network is a sparser subset of the day one (same stops, walks and run times;
    # fewer routes, longer headways), so no ward can be faster at night. Tolerance 1 minute:
    # lock-step frequency phases differ between the two windows.
    night = london_night.wards.set_index("ward_code")["minutes_24h"]
    day = london_final.wards.set_index("ward_code")["minutes_24h"]
    assert (night - day.reindex(night.index)).min() >= -1.0


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
    assert sorted(hop["trip_id"]) == ["tube:11:night6:0", "tube:11:p0:0"]  # day and Night Tube
    run = _seconds(hop["next_arrive"]) - _seconds(hop["departure_time"])
    # Departure already includes tube_dwell_s (0 by default): run = the data's whole minutes.
    assert (run == minutes * 60).all()


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


def test_rail_built_in_series_is_the_forked_build(london_dir: Path, feed_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Rail and tram are built in a forked child beside the buses; in this process (the
    SITING_SERIAL order) the feed is byte for byte the same."""
    import sys

    from siting._beside import _can_fork

    if sys.platform.startswith("linux"):
        assert _can_fork("rail")  # so the fixture's build forked
    monkeypatch.setenv("SITING_SERIAL", "1")
    again = build_london_gtfs(london_dir, tmp_path / "serial", service_date=DAY)
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
    with pytest.raises(ScenarioError, match=r"day_service_hours.*'bus'.*must end after"):
        LondonAssumptions().with_overrides({"day_service_hours": {"bus": "06:00-05:00"}},
                                           source="s.yaml")
    with pytest.raises(ScenarioError, match=r"unknown mode 'buses'.*Did you mean 'bus'"):
        LondonAssumptions().with_overrides({"day_service_hours": {"buses": "06:00-24:00"}},
                                           source="s.yaml")
    with pytest.raises(ScenarioError, match=r"night_tube_patterns.*must look like"):
        LondonAssumptions().with_overrides({"night_tube_patterns": ["Victoria Line: Brixton"]},
                                           source="s.yaml")
    with pytest.raises(ScenarioError, match=r"service_end` was replaced by `day_service_hours"):
        LondonAssumptions().with_overrides({"service_end": "23:00"}, source="s.yaml")
    with pytest.raises(ScenarioError, match=r"night_bus_hours.*after midnight"):
        LondonAssumptions().with_overrides({"night_bus_hours": "23:00-30:00"}, source="s.yaml")


def test_unknown_night_tube_station_names_the_closest(london_dir: Path) -> None:
    a = LondonAssumptions().with_overrides(
        {"night_tube_patterns": ["Victoria Line: Brixtn > Walthamstow Central every 10"]},
        source="s.yaml")
    with pytest.raises(ScenarioError, match=r"night_tube_patterns.*'Brixtn'.*'Brixton'"):
        night_tube_runs(london_dir, a, SATURDAY)


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


def test_transfers_carry_interchange_time_radius_and_walk_speed() -> None:
    from siting.network.london.writer import _transfers

    # tube:1 and rail:A are 200 m apart; bus:X between them; tram:T 1 km away.
    stops = pd.DataFrame({"stop_id": ["tube:1", "rail:A", "bus:X", "tram:T"],
                          "x": [0.0, 200.0, 100.0, 1000.0], "y": [0.0, 0.0, 0.0, 0.0]})
    got = _transfers(stops, LondonAssumptions())
    pairs = {(f, t): int(s) for f, t, s in zip(got["from_stop_id"], got["to_stop_id"],
                                              got["min_transfer_time"], strict=True)}
    # Same stop: interchange_s = 120 s. tube:1 <-> rail:A: 120 s + the walk of 200 m at
    # 4.8 km/h (80 m/min) x circuity 1.287 = 3.2175 min = 193.05 s, rounded up: 314 s.
    # Buses get no rows (the engine walks between stops); tram:T is beyond the 300 m radius.
    assert pairs == {("rail:A", "rail:A"): 120, ("tram:T", "tram:T"): 120,
                     ("tube:1", "tube:1"): 120, ("rail:A", "tube:1"): 314,
                     ("tube:1", "rail:A"): 314}
    assert set(got["transfer_type"]) == {2}
    # Half the walking speed: 386.1 s of walking, 507 s in all; a 150 m radius drops the pair.
    slow = _transfers(stops, LondonAssumptions().with_overrides({"walk_speed_kmh": 2.4},
                                                                source="t"))
    assert slow.loc[slow["from_stop_id"] == "tube:1", "min_transfer_time"].max() == 507
    near = _transfers(stops, LondonAssumptions().with_overrides({"interchange_radius_m": 150},
                                                                source="t"))
    assert len(near) == 3


@given(day_end=st.integers(18 * 60, 30 * 60), night_start=st.integers(0, 6 * 60),
       night_len=st.integers(1, 6 * 60))
@settings(max_examples=60, deadline=None)
def test_a_24_hour_route_never_runs_day_and_night_service_at_once(
    day_end: int, night_start: int, night_len: int
) -> None:
    def hhmm(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    a = LondonAssumptions().with_overrides({
        "day_service_hours": {"bus": f"05:00-{hhmm(day_end)}"},
        "night_bus_hours": f"{hhmm(night_start)}-{hhmm(night_start + night_len)}"},
        source="t")
    route = LondonAssumptions().bus_24h_routes[0]
    p = _Pattern("bus", f"bus:{route}", f"bus:{route}:r1", 0, ("a", "b"), (0, 60), (0, 60), 600)
    (day,) = day_runs([p], a)
    night = night_bus_runs([p], a)
    night_end = (24 * 60 + night_start + night_len) * 60
    if day_end * 60 >= night_end:  # the day span already covers the whole night
        assert night == []
    else:
        (run,) = night
        assert run.start_s == max(day.end_s, (24 * 60 + night_start) * 60) >= day.end_s
        assert run.end_s == night_end


def test_docs_assumptions_table_is_the_code():
    """docs/london-network.md's assumptions table is what scripts/assumptions_table.py prints."""
    import importlib.util

    repo = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("assumptions_table",
                                                  repo / "scripts" / "assumptions_table.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    docs = (repo / "docs" / "london-network.md").read_text(encoding="utf-8")
    table = docs[docs.index("| name | default | meaning | source |"):]
    assert table == module.markdown(), "regenerate it: python scripts/assumptions_table.py"
