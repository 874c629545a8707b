"""GTFS reader: real UK feeds, hand-built feeds and every FeedError case."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siting._errors import FeedError
from siting.network.gtfs import (
    busiest_date,
    expand_frequencies,
    read_feed,
    service_ids_on,
)

FIXTURES = Path(__file__).parent / "fixtures" / "gtfs"


def test_read_newport_feed(feeds_dir: Path) -> None:
    feed = read_feed(feeds_dir / "newport-20230613_gtfs.zip")
    # Row counts from SOURCES.md.
    assert len(feed.stops) == 2686
    assert len(feed.trips) == 176
    assert len(feed.stop_times) == 7765
    assert feed.frequencies.empty
    assert feed.transfers.empty
    st = feed.stop_times
    assert st["arrival_s"].dtype == np.int64
    assert (st["departure_s"] >= st["arrival_s"]).all()
    # The feed runs past midnight: its last arrival is 31:30:00.
    assert st["arrival_s"].max() == 31 * 3600 + 30 * 60
    # partridge's busiest date for this feed (SOURCES.md).
    assert busiest_date(feed) == dt.date(2023, 6, 6)


def test_reading_once_shares_one_read_with_nested_blocks(feeds_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A nested block (scenario_network's, inside analyse's) reuses the outer block's read."""
    import siting.network.gtfs as gtfs

    reads: list[Path] = []
    real = gtfs._read_feed
    monkeypatch.setattr(gtfs, "_read_feed", lambda path: reads.append(path) or real(path))
    path = feeds_dir / "newport-20230613_gtfs.zip"
    with gtfs.reading_once():
        first = read_feed(path)
        with gtfs.reading_once():
            inner = read_feed(path)
        after = read_feed(path)
    outside = read_feed(path)
    assert inner is first
    assert after is first
    assert outside is not first  # the memo ended with the outer block
    assert len(reads) == 2


def test_read_chester_feed(feeds_dir: Path) -> None:
    feed = read_feed(feeds_dir / "chester-20230816-small_gtfs.zip")
    assert len(feed.stop_times) == 34249
    assert len(feed.trips) == 804
    assert busiest_date(feed) == dt.date(2023, 8, 2)
    assert len(service_ids_on(feed, "2023-08-02")) > 0
    # Before the feed starts nothing runs.
    assert service_ids_on(feed, dt.date(2023, 7, 1)) == set()


def test_times_and_pickup_types_from_folder() -> None:
    feed = read_feed(FIXTURES / "walk")
    st = feed.stop_times.set_index(["trip_id", "stop_sequence"])
    # 08:02:00 = 8*3600 + 2*60 = 28920 s.
    assert st.loc[("w1", 2), "arrival_s"] == 28920
    assert st.loc[("w4", 2), "drop_off_type"] == 1
    assert st.loc[("w1", 1), "pickup_type"] == 0


def test_times_past_midnight() -> None:
    feed = read_feed(FIXTURES / "overnight")
    night = feed.stop_times[feed.stop_times["trip_id"] == "night"]
    # 24:40:00 = 88800 s, kept on the service day that started the trip.
    assert night["arrival_s"].tolist() == [85800, 87000, 88800]


def test_service_ids_calendar_and_dates() -> None:
    feed = read_feed(FIXTURES / "overnight")
    assert service_ids_on(feed, dt.date(2024, 1, 1)) == {"MON"}  # a Monday
    assert service_ids_on(feed, "2024-01-02") == {"TUE"}
    assert service_ids_on(feed, "20240103") == set()
    assert service_ids_on(feed, dt.date(2024, 2, 5)) == set()  # after end_date
    # calendar_dates only (no calendar.txt): added on one Wednesday.
    freq = read_feed(FIXTURES / "frequency")
    assert freq.calendar.empty
    assert service_ids_on(freq, "2024-01-03") == {"WED"}
    assert service_ids_on(freq, "2024-01-10") == set()
    assert busiest_date(freq) == dt.date(2024, 1, 3)


def test_calendar_dates_remove_and_add(tmp_path: Path) -> None:
    feed_dir = tmp_path / "feed"
    shutil.copytree(FIXTURES / "overnight", feed_dir)
    (feed_dir / "calendar_dates.txt").write_text(
        "service_id,date,exception_type\nMON,20240108,2\nMON,20240110,1\n"
    )
    feed = read_feed(feed_dir)
    assert service_ids_on(feed, "2024-01-08") == set()  # Monday removed
    assert service_ids_on(feed, "2024-01-10") == {"MON"}  # Wednesday added
    assert service_ids_on(feed, "2024-01-15") == {"MON"}


def test_expand_frequencies() -> None:
    feed = read_feed(FIXTURES / "frequency")
    runs = expand_frequencies(feed)
    # 07:00-08:00 every 900 s: 07:00, 07:15, 07:30, 07:45 (08:00 excluded, end is exclusive);
    # 08:00-09:00 every 1800 s: 08:00, 08:30. The 10:00 template itself never runs.
    starts = runs.loc[runs["stop_sequence"] == 1, "departure_s"].sort_values().tolist()
    assert starts == [25200, 26100, 27000, 27900, 28800, 30600]
    ends = runs.loc[runs["stop_sequence"] == 2, "arrival_s"].sort_values().tolist()
    assert ends == [s + 600 for s in starts]
    assert runs["run"].nunique() == 6


def test_expand_frequencies_keeps_scheduled_trips() -> None:
    feed = read_feed(FIXTURES / "transfer")
    runs = expand_frequencies(feed, ["t1", "t2"])
    assert sorted(runs["run"].unique()) == ["t1", "t2"]
    pd.testing.assert_frame_equal(
        runs.drop(columns="run"),
        feed.stop_times[feed.stop_times["trip_id"].isin(["t1", "t2"])].reset_index(drop=True),
    )


def test_interpolates_missing_times(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path)
    (feed_dir / "stop_times.txt").write_text(
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t1,08:00:00,08:00:00,A,1\n"
        "t1,,,B2,2\n"
        "t1,08:10:00,08:10:00,B,3\n"
    )
    st = read_feed(feed_dir).stop_times
    assert st["arrival_s"].tolist() == [28800, 29100, 29400]


def test_zip_and_folder_agree(tmp_path: Path) -> None:
    archive = shutil.make_archive(str(tmp_path / "walk"), "zip", FIXTURES / "walk")
    a = read_feed(Path(archive))
    b = read_feed(FIXTURES / "walk")
    pd.testing.assert_frame_equal(a.stop_times, b.stop_times)
    pd.testing.assert_frame_equal(a.stops, b.stops)


# --------------------------------------------------------------------------- FeedError cases


def _copy(tmp_path: Path, name: str = "transfer") -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_error_not_a_feed(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=r"nothing\.zip: not found"):
        read_feed(tmp_path / "nothing.zip")


@pytest.mark.parametrize("name", ["stops.txt", "routes.txt", "trips.txt", "stop_times.txt"])
def test_error_missing_required_file(tmp_path: Path, name: str) -> None:
    feed_dir = _copy(tmp_path)
    (feed_dir / name).unlink()
    with pytest.raises(FeedError, match=rf"transfer: {name}: required file is missing"):
        read_feed(feed_dir)


def test_error_missing_calendar(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path)
    (feed_dir / "calendar.txt").unlink()
    with pytest.raises(FeedError, match=r"calendar\.txt: required file is missing .*"
                       r"calendar_dates\.txt"):
        read_feed(feed_dir)


def test_error_missing_column(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path)
    _edit(feed_dir / "stops.txt", "stop_id,stop_name,stop_lat,stop_lon",
          "stop_id,stop_name,latitude,stop_lon")
    with pytest.raises(FeedError, match=r"stops\.txt: required column 'stop_lat' is missing"):
        read_feed(feed_dir)


def test_error_missing_column_in_optional_file(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path, "frequency")
    _edit(feed_dir / "frequencies.txt", "headway_secs", "headway")
    with pytest.raises(FeedError, match=r"frequencies\.txt: required column 'headway_secs'"):
        read_feed(feed_dir)


def test_error_unknown_stop(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path)
    _edit(feed_dir / "stop_times.txt", "t1,08:10:00,08:10:00,B,2", "t1,08:10:00,08:10:00,ZZ,2")
    # The edited row is data row 2, i.e. line 3 of the file.
    with pytest.raises(FeedError, match=r"stop_times\.txt: line 3: stop_id 'ZZ' is not in "
                       r"stops\.txt"):
        read_feed(feed_dir)


def test_error_unknown_trip(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path)
    _edit(feed_dir / "stop_times.txt", "t3,08:20:00", "t9,08:20:00")
    with pytest.raises(FeedError, match=r"stop_times\.txt: line 11: trip_id 't9' is not in "
                       r"trips\.txt"):
        read_feed(feed_dir)


def test_error_unknown_trip_in_frequencies(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path, "frequency")
    _edit(feed_dir / "frequencies.txt", "f1,08:00:00", "f2,08:00:00")
    with pytest.raises(FeedError, match=r"frequencies\.txt: line 3: trip_id 'f2'"):
        read_feed(feed_dir)


def test_error_unknown_route(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path)
    _edit(feed_dir / "trips.txt", "R3,ALL,t4", "R9,ALL,t4")
    with pytest.raises(FeedError, match=r"trips\.txt: line 7: route_id 'R9' is not in "
                       r"routes\.txt"):
        read_feed(feed_dir)


@pytest.mark.parametrize("bad", ["8:61:00", "08h10", "08:10"])
def test_error_bad_time(tmp_path: Path, bad: str) -> None:
    feed_dir = _copy(tmp_path)
    _edit(feed_dir / "stop_times.txt", "t1,08:10:00,08:10:00,B,2", f"t1,{bad},08:10:00,B,2")
    with pytest.raises(FeedError, match=rf"stop_times\.txt: line 3: field 'arrival_time' has "
                       rf"bad time '{bad}'"):
        read_feed(feed_dir)


def test_error_bad_frequency_time(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path, "frequency")
    _edit(feed_dir / "frequencies.txt", "f1,07:00:00,08:00:00", "f1,7am,08:00:00")
    with pytest.raises(FeedError, match=r"frequencies\.txt: line 2: field 'start_time'"):
        read_feed(feed_dir)


def test_error_time_goes_backwards(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path)
    # t2 arrives at C (line 7) at 08:14:00, before it left B at 08:15:00.
    _edit(feed_dir / "stop_times.txt", "t2,08:30:00,08:30:00,C,2", "t2,08:14:00,08:30:00,C,2")
    with pytest.raises(FeedError, match=r"stop_times\.txt: line 7: trip 't2' goes back in "
                       r"time at stop_sequence 2 \(field 'arrival_time'"):
        read_feed(feed_dir)


def test_error_departure_before_arrival(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path)
    _edit(feed_dir / "stop_times.txt", "t1,08:00:00,08:00:00,A,1", "t1,08:00:00,07:59:00,A,1")
    with pytest.raises(FeedError, match=r"line 2: trip 't1' goes back in time .*"
                       r"'departure_time'"):
        read_feed(feed_dir)


def test_error_bad_calendar_date(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path)
    _edit(feed_dir / "calendar.txt", "20241231", "2024-12-31")
    with pytest.raises(FeedError, match=r"calendar\.txt: line 2: field 'end_date' has bad date"):
        read_feed(feed_dir)


def test_error_bad_coordinate(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path)
    _edit(feed_dir / "stops.txt", "51.590000", "north")
    with pytest.raises(FeedError, match=r"stops\.txt: line 5: field 'stop_lat' has bad value "
                       r"'north'"):
        read_feed(feed_dir)


def test_error_first_stop_without_time(tmp_path: Path) -> None:
    feed_dir = _copy(tmp_path)
    _edit(feed_dir / "stop_times.txt", "t1,08:00:00,08:00:00,A,1", "t1,,,A,1")
    with pytest.raises(FeedError, match=r"line 2: trip 't1' has no arrival_time"):
        read_feed(feed_dir)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=30),
       st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=30))
def test_known_ids_are_looked_up_as_pandas_would(values, known) -> None:
    # _check_known's Arrow lookup answers exactly as Series.isin, missing values included.
    from siting.network.gtfs import _isin

    column = pd.Series(values, dtype="str")
    ids = pd.Series(known, dtype="str")
    assert np.array_equal(_isin(column, ids), column.isin(ids).to_numpy())
    assert np.array_equal(_isin(column, ids.astype(object)), column.isin(ids).to_numpy())
