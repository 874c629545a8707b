"""One treatment for every feed, and service coverage checked before computing (issue 10, 13.5).

Hand-built feeds with the answers worked out in comments; the issue's reproductions on the real
feeds through siting.cli.main.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siting._errors import (
    FeedError,
    NoServiceOnDateError,
    ScenarioError,
    StudyAreaNotServedError,
    WindowOutsideServiceError,
)
from siting.cli import main
from siting.network.export import write_gtfs_zip
from siting.network.gtfs import read_feed
from siting.network.scenario_network import (
    boarding_allowances,
    change_seconds,
    london_assumptions,
)
from siting.network.service import (
    check_date,
    check_study_area,
    check_window,
    study_area_coverage,
    summarise_feed,
)
from siting.network.walk import WalkModel
from siting.scenario import DEFAULT_RELIABILITY_MINUTES, Scenario, load_scenario, route_type_mode

REPO = Path(__file__).resolve().parents[1]
FINAL = REPO / "scenarios" / "london-2017-final.yaml"


def _scenario(**changes: object) -> Scenario:
    return Scenario.model_validate({"id": "tiny", "title": "Tiny",
                                    "counters": {"open_24h": ["charing-cross"]}, **changes})


# ---------------------------------------------------------------------------------------------
# A hand-built feed
#
# Calendar: service "wk" Monday-Friday 2024-01-01 (a Monday) to 2024-01-31; service "sat"
# on Saturday 2024-01-06 only (calendar_dates).
#   T1 (wk, scheduled): A 08:00 -> B 08:10 -> C 08:30.
#   F1 (wk, frequency): template A 00:00 -> B 00:10, runs every 600 s from 07:00 to before
#       09:00: starts 07:00, 07:10, ..., 08:50.
#   N1 (wk, scheduled): C 23:50 -> A 24:20 (runs past midnight into the next day).
#   S1 (sat, scheduled): A 10:00 -> B 10:20.
# On Monday 2024-01-01: trips T1, F1, N1 (3); no trip of Sunday runs past midnight. The first
# trip departs 07:00 (F1's first run), the last 23:50 (N1).
# On Tuesday 2024-01-02: Monday's N1 arrives after midnight but its only hop departs 23:50
# on Monday, so it adds no departure to Tuesday; the first departure is 07:00 again.
# On Saturday 2024-01-06: only S1 (calendar_dates), departing 10:00; Friday's N1 hop departs
# 23:50 on Friday, so it does not count.
# On Sunday 2024-01-07: nothing runs. Busiest date: any weekday (3 trips); the earliest is
# 2024-01-01.

_FILES = {
    "agency.txt": "agency_name,agency_url,agency_timezone\nTiny,https://example.org,Europe/London\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,A,51.5000,-0.1200\n"
                 "B,B,51.5050,-0.1200\nC,C,51.5100,-0.1200\n",
    "routes.txt": "route_id,route_short_name,route_type\nbus1,1,3\ntram1,T,0\n",
    "trips.txt": "route_id,service_id,trip_id\nbus1,wk,T1\nbus1,wk,F1\ntram1,wk,N1\n"
                 "bus1,sat,S1\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                      "T1,08:00:00,08:00:00,A,1\nT1,08:10:00,08:10:00,B,2\n"
                      "T1,08:30:00,08:30:00,C,3\n"
                      "F1,00:00:00,00:00:00,A,1\nF1,00:10:00,00:10:00,B,2\n"
                      "N1,23:50:00,23:50:00,C,1\nN1,24:20:00,24:20:00,A,2\n"
                      "S1,10:00:00,10:00:00,A,1\nS1,10:20:00,10:20:00,B,2\n",
    "frequencies.txt": "trip_id,start_time,end_time,headway_secs,exact_times\n"
                       "F1,07:00:00,09:00:00,600,0\n",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                    "start_date,end_date\nwk,1,1,1,1,1,0,0,20240101,20240131\n",
    "calendar_dates.txt": "service_id,date,exception_type\nsat,20240106,1\n",
    "transfers.txt": "from_stop_id,to_stop_id,transfer_type,min_transfer_time\nA,A,2,120\n",
}


@pytest.fixture
def tiny_feed(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny-gtfs"
    folder.mkdir()
    for name, text in _FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "modelling_notes.json").write_text("{}", encoding="utf-8")
    return folder


def test_service_hours_and_dates_of_a_hand_built_feed(tiny_feed: Path) -> None:
    feed = read_feed(tiny_feed)
    monday = summarise_feed(feed, dt.date(2024, 1, 1), label="tiny")
    assert (monday.first_date, monday.last_date) == ("2024-01-01", "2024-01-31")
    assert monday.busiest_date == "2024-01-01"
    assert monday.trips_on_date == 3
    assert (monday.first_departure_s, monday.last_departure_s) == (7 * 3600, 23 * 3600 + 50 * 60)
    assert monday.hours == "07:00-23:50"
    assert monday.route_types == (0, 3)
    saturday = summarise_feed(feed, dt.date(2024, 1, 6), label="tiny")
    assert saturday.trips_on_date == 1
    assert saturday.hours == "10:00-10:00"
    sunday = summarise_feed(feed, dt.date(2024, 1, 7), label="tiny")
    assert sunday.trips_on_date == 0
    assert sunday.hours is None


def test_date_outside_the_calendar_names_the_range_and_busiest_date(tiny_feed: Path) -> None:
    service = summarise_feed(read_feed(tiny_feed), dt.date(2017, 11, 15), label="feeds/tiny")
    with pytest.raises(NoServiceOnDateError, match=(
            r"s\.yaml: field `transit\.service_date` = 2017-11-15: the GTFS feed feeds/tiny has "
            r"no service on that date: the date is outside its calendar, which runs 2024-01-01 "
            r"to 2024-01-31\. Set transit\.service_date .* busiest date 2024-01-01\.")):
        check_date(service, source="s.yaml")
    sunday = summarise_feed(read_feed(tiny_feed), dt.date(2024, 1, 7), label="feeds/tiny")
    with pytest.raises(NoServiceOnDateError, match="no trip runs on that day, although the date "
                                                   "is inside its calendar"):
        check_date(sunday, source="s.yaml")


def test_window_must_overlap_the_trip_departures(tiny_feed: Path) -> None:
    service = summarise_feed(read_feed(tiny_feed), dt.date(2024, 1, 1), label="feeds/tiny")
    # 06:00-07:00 ends as the first trip departs (07:00 is not inside [06:00, 07:00)).
    with pytest.raises(WindowOutsideServiceError, match=(
            r"`transit\.departure_window` = '06:00-07:00': .* its first trip departs at 07:00 "
            r"and its last at 23:50\. Set transit\.departure_window inside 07:00-23:50")):
        check_window(service, (6 * 3600, 7 * 3600), "06:00-07:00", source="s.yaml")
    check_window(service, (6 * 3600, 7 * 3600 + 60), "06:00-07:01", source="s.yaml")
    check_window(service, (23 * 3600 + 50 * 60, 24 * 3600), "23:50-24:00", source="s.yaml")
    with pytest.raises(WindowOutsideServiceError):
        check_window(service, (23 * 3600 + 51 * 60, 25 * 3600), "23:51-25:00", source="s.yaml")


def test_study_area_coverage_by_hand() -> None:
    # 80 m/min, circuity 1.25: a 12-minute walk reaches 12 * 80 / 1.25 = 768 m crow-fly.
    walk = WalkModel(speed_kmh=4.8, circuity=1.25)
    origins = pd.DataFrame({"ward_code": ["W1", "W1", "W2", "W3"],
                            "population": [100.0, 50.0, 300.0, 50.0],
                            "x": [0.0, 10_000.0, 5_000.0, 20_000.0], "y": [0.0, 0.0, 0.0, 0.0]})
    stops = np.array([[700.0, 0.0],        # 700 m from W1's first origin: served
                      [5_000.0, 800.0],    # 800 m from W2: not served
                      [20_768.0, 0.0]])    # exactly 768 m from W3: served (at the limit)
    coverage = study_area_coverage(stops, origins, walk, 12.0)
    assert coverage["access_radius_m"] == 768.0
    assert (coverage["wards"], coverage["wards_served"]) == (3, 2)
    assert coverage["share_wards_served"] == round(2 / 3, 4)
    # people in served origins: 100 (W1 first) + 50 (W3) = 150 of 500
    assert coverage["population_served"] == 150
    assert coverage["share_population_served"] == 0.3
    check_study_area(coverage, "feeds/tiny", source="s.yaml")
    nothing = study_area_coverage(np.zeros((0, 2)), origins, walk, 12.0)
    assert nothing["wards_served"] == 0
    with pytest.raises(StudyAreaNotServedError, match=(
            r"s\.yaml: field `transit\.feed` = 'feeds/tiny': none of the 3 wards .*"
            r"walking\.max_access_minutes = 12, about 768 m crow-fly.*`transit\.feed: none`")):
        check_study_area(nothing, "feeds/tiny", source="s.yaml")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-3000, 3000), st.floats(-3000, 3000)), min_size=0, max_size=8),
       st.floats(1.0, 30.0))
def test_more_stops_never_serve_fewer_wards(extra: list[tuple[float, float]], minutes: float) -> None:
    walk = WalkModel(speed_kmh=4.8, circuity=1.3)
    origins = pd.DataFrame({"ward_code": ["a", "b", "c", "d"], "population": [1.0, 2.0, 3.0, 4.0],
                            "x": [0.0, 1000.0, -2000.0, 2500.0], "y": [0.0, 500.0, 100.0, -2500.0]})
    base = np.array([[0.0, 900.0]])
    before = study_area_coverage(base, origins, walk, minutes)
    after = study_area_coverage(np.vstack([base, np.array(extra).reshape(-1, 2)]), origins, walk,
                                minutes)
    assert after["wards_served"] >= before["wards_served"]
    assert after["population_served"] >= before["population_served"]


# ---------------------------------------------------------------------------------------------
# The settings every feed shares


def test_reliability_allowances_per_route_type() -> None:
    scenario = _scenario()
    # PTAL: bus 2 min = 120 s, rail-based 0.75 min = 45 s; extended 200 (coach) is a bus,
    # 900 a tram, 100 a railway service.
    assert boarding_allowances(scenario, [0, 1, 2, 3, 4, 200, 900, 100]) == {
        0: 45, 1: 45, 2: 45, 3: 120, 4: 45, 200: 120, 900: 45, 100: 45}
    assert route_type_mode(1700) is None
    with pytest.raises(FeedError, match=r"route_type' = 1700 has no mode.*"
                                        r"`transit\.reliability_minutes: \{'1700': 2\.0\}`"):
        boarding_allowances(scenario, [3, 1700], "feeds/x.zip")
    custom = _scenario(transit={"reliability_minutes": {"bus": 3, "1700": 1.5}})
    # overrides are merged key by key: rail keeps the default 0.75
    assert custom.transit.reliability_minutes["rail"] == DEFAULT_RELIABILITY_MINUTES["rail"]
    assert boarding_allowances(custom, [2, 3, 1700]) == {2: 45, 3: 180, 1700: 90}


def test_change_time_is_the_same_for_every_feed() -> None:
    assert change_seconds(_scenario()) == 120
    assert change_seconds(_scenario(transit={"feed": "transit/x.zip"})) == 120
    assert change_seconds(_scenario(transit={"min_change_minutes": 1.5})) == 90


def test_london_model_takes_the_shared_settings_from_the_scenario() -> None:
    scenario = _scenario(transit={"min_change_minutes": 1.5, "reliability_minutes": {"bus": 3}},
                         walking={"speed_kmh": 4.0})
    assumptions = london_assumptions(scenario)
    assert assumptions.interchange_s == 90
    assert assumptions.walk_speed_kmh == 4.0
    assert assumptions.bus_reliability_min == 3.0


@pytest.mark.parametrize(("key", "new"), [
    ("bus_reliability_min", r"transit\.reliability_minutes\.bus"),
    ("interchange_s", r"transit\.min_change_minutes"),
    ("walk_speed_kmh", r"walking\.speed_kmh"),
])
def test_old_london_overrides_point_to_the_scenario_setting(key: str, new: str) -> None:
    scenario = _scenario(transit={"assumptions": {key: 3}})
    with pytest.raises(ScenarioError, match=rf"field `transit\.assumptions\.{key}` = 3: .* "
                                            rf"now the scenario setting `{new}"):
        london_assumptions(scenario)


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("hubs: {costs: {fire: -1}}", r"hubs\.costs.*costs\.fire = -1\.0 must be a finite cost"),
    ("hubs: {time_limit_s: .inf}", r"hubs\.time_limit_s"),
    ("hubs: {max_hubs: 1.0e+30}", r"field `hubs.*1e\+30"),
    ("hubs: {max_hubs: 1000000}", r"hubs\.max_hubs.*less than or equal to 100000"),
    ("hubs: {max_hubs: 0}", r"hubs\.max_hubs"),
    ("transit: {reliability_minutes: {buss: 2}}", r"'buss' is not a mode\. Did you mean 'bus'"),
    ("transit: {reliability_minutes: {bus: .nan}}", r"reliability_minutes\.bus = nan"),
    ("transit: {min_change_minutes: .inf}", r"transit\.min_change_minutes"),
    ("walking: {circuity: .nan}", r"walking\.circuity"),
    ("hubs: {must_open: [fire:1], forbidden: [fire:1]}",
     r"field `hubs\.forbidden`: fire:1 is also in hubs\.must_open"),
])
def test_absurd_settings_are_scenario_errors(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("id: s\ntitle: S\ncounters: {open_24h: [charing-cross]}\n" + yaml_text + "\n",
                    encoding="utf-8")
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)
    assert main(["validate", "--no-data", str(path)]) == 2


# ---------------------------------------------------------------------------------------------
# Export


def test_export_writes_only_gtfs_files_and_is_byte_identical(tiny_feed: Path, tmp_path: Path) -> None:
    first = write_gtfs_zip(tiny_feed, tmp_path / "a.zip")
    second = write_gtfs_zip(tiny_feed, tmp_path / "b.zip")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = set(archive.namelist())
        assert archive.read("frequencies.txt").decode() == _FILES["frequencies.txt"]
    assert names == set(_FILES)  # modelling_notes.json is not GTFS and is left out
    again = read_feed(first)
    assert len(again.frequencies) == 1
    assert len(again.transfers) == 1
    with pytest.raises(ScenarioError, match=r"must be a \.zip"):
        write_gtfs_zip(tiny_feed, tmp_path / "a.tar")


def test_gtfs_kit_reads_the_export(tiny_feed: Path, tmp_path: Path) -> None:
    gk = pytest.importorskip("gtfs_kit")
    feed = gk.read_feed(write_gtfs_zip(tiny_feed, tmp_path / "tiny.zip"), dist_units="km")
    assert sorted(feed.trips["trip_id"]) == ["F1", "N1", "S1", "T1"]
    assert feed.frequencies["headway_secs"].tolist() == [600]
    assert feed.transfers["min_transfer_time"].tolist() == [120]


# ---------------------------------------------------------------------------------------------
# The reproductions on the real data: each is exit 2 with one paragraph


def _extends(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"extends: {FINAL}\nid: {name}\n{body}", encoding="utf-8")
    return path


def _run(path: Path, london_dir: Path, cache_dir: Path, tmp_path: Path,
         capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    out = tmp_path / "out"
    code = main(["-q", "run", str(path), "--no-map", "--out", str(out), "--data-dir",
                 str(london_dir), "--cache-dir", str(cache_dir)])
    err = capsys.readouterr().err
    assert not out.exists(), "nothing is written when the feed cannot support the scenario"
    assert "Traceback" not in err
    return code, err


@pytest.mark.london
def test_newport_feed_on_the_default_date_is_exit_2(london_dir: Path, cache_dir: Path,
                                                    tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = _extends(tmp_path, "newport", "transit:\n  feed: "
                    "transit/uk_test_feeds/newport-20230613_gtfs.zip\n")
    code, err = _run(path, london_dir, cache_dir, tmp_path, capsys)
    assert code == 2
    # the feed's calendar.txt spans 20230605-20240301 (read by hand from the zip)
    assert "field `transit.service_date` = 2017-11-15" in err
    assert "its calendar, which runs 2023-06-05 to 2024-03-01" in err
    assert "busiest date 2023-" in err
    assert main(["validate", "--data-dir", str(london_dir), "--cache-dir", str(cache_dir),
                 str(path)]) == 2


@pytest.mark.london
def test_feed_outside_london_is_exit_2(london_dir: Path, cache_dir: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = _extends(tmp_path, "chester", "transit:\n  feed: "
                    "transit/uk_test_feeds/chester-20230816-small_gtfs.zip\n"
                    "  service_date: 2023-08-16\n")
    code, err = _run(path, london_dir, cache_dir, tmp_path, capsys)
    assert code == 2
    assert "none of the 630 wards of the study area has a stop of this feed" in err
    assert main(["validate", "--data-dir", str(london_dir), "--cache-dir", str(cache_dir),
                 str(path)]) == 2


@pytest.mark.london
def test_window_outside_the_modelled_service_is_exit_2(london_dir: Path, cache_dir: Path,
                                                       tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from siting.network.gtfs import read_feed as read
    from siting.network.scenario_network import scenario_feed

    # The modelled network's real last trip departure, read from its frequencies.txt: the
    # check must follow the feed (night service may widen it), not a constant.
    feed = scenario_feed(load_scenario(FINAL), london_dir, cache_dir)
    freq = read(feed.path).frequencies
    runs = np.ceil((freq["end_s"] - freq["start_s"]) / freq["headway_secs"]).astype(int)
    last = int((freq["start_s"] + (runs - 1) * freq["headway_secs"]).max())
    if last >= 22 * 3600 + 30 * 60:
        pytest.skip("the modelled network now runs trips after 22:30")
    path = _extends(tmp_path, "late", 'transit:\n  departure_window: "22:30-23:30"\n')
    code, err = _run(path, london_dir, cache_dir, tmp_path, capsys)
    assert code == 2
    assert f"its last at {last // 3600:02d}:{last % 3600 // 60:02d}" in err
    assert main(["validate", "--data-dir", str(london_dir), "--cache-dir", str(cache_dir),
                 str(path)]) == 2


@pytest.mark.london
def test_walk_only_only_when_asked(london_dir: Path, cache_dir: Path, tmp_path: Path) -> None:
    from siting.analysis import analyse
    from siting.report import summary

    path = _extends(tmp_path, "walk", 'transit:\n  feed: none\n  departure_window: '
                    '"07:00-07:05"\nhubs: {enabled: false}\n')
    analysis = analyse(load_scenario(path, data_dir=london_dir), london_dir, cache_dir=cache_dir)
    facts = summary(analysis)
    assert facts["assumptions"]["study_area"] == {"walk_only": True}
    assert analysis.assumptions["network"]["connections"] == 0


@pytest.mark.london
def test_exported_london_network_gives_the_same_figures(london_dir: Path, cache_dir: Path,
                                                        tmp_path: Path) -> None:
    """`siting network export`, then the zip as `transit.feed`: the same figures as
    london-modelled. A 30-minute window (07:00-07:30) and no hub siting keep the test quick;
    the full 07:00-10:00 run gives the same too (see the report of this change)."""
    import shutil

    from siting.analysis import analyse
    from siting.report import summary

    data = tmp_path / "data"
    shutil.copytree(london_dir, data)
    export = data / "transit" / "exported-london.zip"
    assert main(["-q", "network", "export", str(FINAL), str(export), "--data-dir", str(data),
                 "--cache-dir", str(cache_dir)]) == 0
    body = 'transit:\n  departure_window: "07:00-07:30"\nhubs: {enabled: false}\n'
    modelled = _extends(tmp_path, "modelled", body)
    exported = _extends(tmp_path, "exported", body.replace(
        "transit:\n", "transit:\n  feed: transit/exported-london.zip\n"))
    a = analyse(load_scenario(modelled, data_dir=data), data, cache_dir=cache_dir)
    b = analyse(load_scenario(exported, data_dir=data), data, cache_dir=cache_dir)
    assert a.assumptions["network"] == b.assumptions["network"]
    assert summary(a)["measures"] == summary(b)["measures"]
    columns = [c for c in a.lsoas.columns if c.startswith(("minutes_", "nearest_"))]
    pd.testing.assert_frame_equal(a.lsoas[["lsoa_code", *columns]], b.lsoas[["lsoa_code", *columns]])

    gk = pytest.importorskip("gtfs_kit")
    feed = gk.read_feed(export, dist_units="km")
    with zipfile.ZipFile(export) as archive:
        for name in ("stops", "routes", "trips", "frequencies", "transfers"):
            lines = archive.read(f"{name}.txt").decode("utf-8").count("\n") - 1
            assert len(getattr(feed, name)) == lines


def test_report_states_the_feed_the_window_and_the_settings() -> None:
    from siting.network.scenario_network import travel_settings
    from siting.report import _travel_model

    scenario = _scenario(transit={"departure_window": "07:00-10:00", "min_change_minutes": 1.5})
    assumptions = {
        "transit": scenario.transit.model_dump(mode="json"),
        "travel_model": travel_settings(scenario),
        "feed_service": {"feed": "feeds/tiny.zip", "calendar": {"first_date": "2024-01-01",
                                                                "last_date": "2024-01-31"},
                         "busiest_date": "2024-01-01", "service_date": "2024-01-02",
                         "trips_on_service_date": 3, "service_hours": "06:00-09:00",
                         "first_departure_s": 6 * 3600, "last_departure_s": 9 * 3600,
                         "route_types": [3, 200, 1]},
        "study_area": {"wards": 4, "wards_served": 3, "share_wards_served": 0.75,
                       "share_population_served": 0.5, "access_radius_m": 745.9},
    }
    text = "\n".join(_travel_model(assumptions))
    assert "its calendar runs 2024-01-01 to 2024-01-31 (busiest date 2024-01-01)" in text
    assert "trips depart 06:00-09:00" in text
    # the window runs an hour past the last departure (09:00 < 10:00)
    assert "ends after the last trip departure (09:00)" in text
    assert "3 of 4 wards (75.0%) and 50.0% of people" in text
    # route types 3 and 200 are both buses, 1 is subway: one line per mode used
    assert "bus 2, subway 0.75. Source: TfL, Assessing transport connectivity" in text
    assert "**Change of vehicle**: 1.5 min" in text
    assert "4.8 km/h on crow-fly distance times 1.287" in text


def test_feed_summary_cache_is_verified(tiny_feed: Path, tmp_path: Path) -> None:
    from siting.network.service import feed_service

    day = dt.date(2024, 1, 1)
    first = feed_service(tiny_feed, day, label="tiny", cache_dir=tmp_path, digest="abc")
    (cached,) = tmp_path.glob("service-abc-20240101-*.json")
    assert feed_service(tiny_feed, day, label="tiny", cache_dir=tmp_path, digest="abc") == first
    # a damaged but parseable entry (the hour edited) is detected and recomputed
    text = cached.read_text()
    assert '"first_departure_s": 25200' in text  # 07:00
    cached.write_text(text.replace('"first_departure_s": 25200', '"first_departure_s": 3600'))
    assert feed_service(tiny_feed, day, label="tiny", cache_dir=tmp_path, digest="abc") == first
    cached.write_text(cached.read_text()[:40])  # truncated
    assert feed_service(tiny_feed, day, label="tiny", cache_dir=tmp_path, digest="abc") == first


@pytest.mark.london
def test_validate_checks_hub_site_ids_without_running(london_dir: Path, cache_dir: Path,
                                                      tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # 'police:colindal' is a typo of the registry's counter id 'colindale' (siting counters)
    path = _extends(tmp_path, "typo", "hubs: {must_open: ['police:colindal']}\n")
    assert main(["validate", "--data-dir", str(london_dir), "--cache-dir", str(cache_dir),
                 str(path)]) == 2
    err = capsys.readouterr().err
    assert "field `hubs.must_open[0]`: unknown site id 'police:colindal'. Did you mean " \
           "'police:colindale'" in err
    wards = _extends(tmp_path, "wards", "hubs: {wards: [E0500000]}\n")
    assert main(["validate", "--data-dir", str(london_dir), "--cache-dir", str(cache_dir),
                 str(wards)]) == 2
    assert "field `hubs.wards[0]`: unknown ward code 'E0500000'" in capsys.readouterr().err


def test_no_departures_in_the_window_is_an_error_not_a_walk_only_result(tiny_feed: Path,
                                                                        tmp_path: Path) -> None:
    from siting._errors import NoConnectionsError
    from siting.network.scenario_network import scenario_network

    # Add a Sunday-only trip X1 with a single stop at 12:00: it "departs" at 12:00, so the
    # window 12:00-12:30 on Sunday 2024-01-07 passes the window check (first = last = 12:00),
    # but a one-stop trip has no hop, so the network has no vehicle departure at all.
    (tiny_feed / "trips.txt").write_text(_FILES["trips.txt"] + "bus1,sun,X1\n", encoding="utf-8")
    (tiny_feed / "stop_times.txt").write_text(_FILES["stop_times.txt"] + "X1,12:00:00,12:00:00,A,1\n",
                                              encoding="utf-8")
    (tiny_feed / "calendar_dates.txt").write_text(_FILES["calendar_dates.txt"] + "sun,20240107,1\n",
                                                  encoding="utf-8")
    scenario = _scenario(transit={"feed": tiny_feed.name, "service_date": "2024-01-07",
                                  "departure_window": "12:00-12:30"})
    with pytest.raises(NoConnectionsError, match=r"`transit\.departure_window` = '12:00-12:30': "
                                                 r"the network built from tiny-gtfs on 2024-01-07 "
                                                 r"has no vehicle departures in that window \(its "
                                                 r"trips depart 12:00-12:00\)"):
        scenario_network(scenario, tmp_path, tmp_path / "cache")
    # Window 08:00-08:30 on Monday: T1's and F1's hops depart then, so the network is built.
    monday = _scenario(transit={"feed": tiny_feed.name, "service_date": "2024-01-01",
                                "departure_window": "08:00-08:30"})
    network = scenario_network(monday, tmp_path, tmp_path / "cache")
    # hops departing 08:00-11:30 (window + 180 min): T1 A->B 08:00, B->C 08:10; F1 runs at
    # 08:00, 08:10, 08:20, 08:30, 08:40, 08:50 (one hop each): 2 + 6 = 8
    assert network.n_connections == 8


@pytest.mark.parametrize(("routes", "message"), [
    ("route_id,route_short_name\nbus1,1\ntram1,T\n", r"routes\.txt: field 'route_type' is missing"),
    ("route_id,route_short_name,route_type\nbus1,1,3\ntram1,T,\n",
     r"routes\.txt: line 3: field 'route_type' is empty"),
    ("route_id,route_short_name,route_type\nbus1,1,3\ntram1,T,tram\n",
     r"routes\.txt: line 3: field 'route_type' is 'tram'"),
])
def test_routes_without_a_route_type_are_named(tiny_feed: Path, routes: str, message: str) -> None:
    (tiny_feed / "routes.txt").write_text(routes, encoding="utf-8")
    with pytest.raises(FeedError, match=message):
        summarise_feed(read_feed(tiny_feed), dt.date(2024, 1, 1), label="tiny")


def test_route_type_keys_may_be_yaml_integers() -> None:
    scenario = _scenario(transit={"reliability_minutes": {1700: 1.5}})
    assert boarding_allowances(scenario, [1700]) == {1700: 90}
