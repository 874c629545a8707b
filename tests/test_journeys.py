"""Journey breakdown: forward CSA with pointers against the profile engine, and worked journeys."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siting.journeys import describe, earliest_journeys, journey_breakdown, run_routes
from siting.network.gtfs import busiest_date, read_feed
from siting.network.transit import TransitNetwork, walk_seconds
from siting.network.walk import WalkModel
from siting.travel import Targets, Window, profile_search

FIXTURES = Path(__file__).parent / "fixtures" / "gtfs"
SECOND_WALK = WalkModel(speed_kmh=3.6, circuity=1.0)
"""1 m/s with no circuity: a walk of d metres takes ceil(d) seconds."""


def hms(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


def _network(name: str, *, min_change: int = 0, allowance: dict[int, int] | None = None
             ) -> TransitNetwork:
    return TransitNetwork.build(read_feed(FIXTURES / name), "2024-01-03", hms("07:00:00"),
                                hms("12:00:00"), SECOND_WALK, transfer_max_minutes=5.0,
                                min_change_seconds=min_change, boarding_allowance_s=allowance)


def _xy(network: TransitNetwork, stop: str) -> np.ndarray:
    return network.stop_xy[list(network.stop_ids).index(stop)]


def _one(network: TransitNetwork, target_stop: str, origin: np.ndarray, at: str, *,
         offset: tuple[float, float] = (0.0, 0.0), allowance: np.ndarray | None = None):
    targets = Targets.from_arrays([target_stop], (_xy(network, target_stop) + offset)[None, :])
    profiles = profile_search(network, targets, max_access_minutes=10.0)
    row = earliest_journeys(profiles, origin[None, :], np.array([hms(at)]),
                            run_allowance=allowance).iloc[0]
    # The profile engine's served time at the same departure must be the same.
    tau = hms(at)
    served, _ = profiles.served(origin[None, :], Window(tau, tau + 1, 1))
    assert row["served_s"] == served[0, 0]
    return row


def test_transfer_journey_parts() -> None:
    net = _network("transfer")
    # 07:55 at A: wait 5 min, t1 A 08:00 -> B 08:10 (10 min), wait 5 min at B, t2 08:15 ->
    # C 08:30 (15 min). 35 min = 0 walk + 10 wait + 25 ride + 0 change; 1 change.
    row = _one(net, "C", _xy(net, "A"), "07:55:00")
    assert (row["walk_s"], row["wait_s"], row["ride_s"], row["change_s"], row["changes"]) == (
        0, 600, 1500, 0, 1)
    assert net.run_ids[row["first_run"]] == "t1"


def test_change_time_counts_as_changing() -> None:
    # With 300 s of change time the 5 minutes at B are the change: 0 walk, 5 wait, 25 ride,
    # 5 change (35 min as before).
    net = _network("transfer", min_change=300)
    row = _one(net, "C", _xy(net, "A"), "07:55:00")
    assert (row["walk_s"], row["wait_s"], row["ride_s"], row["change_s"], row["changes"]) == (
        0, 300, 1500, 300, 1)


def test_footpath_between_vehicles_is_walking() -> None:
    net = _network("transfer")
    walk_b_b2 = int(walk_seconds(net.walk, np.hypot(*(_xy(net, "B") - _xy(net, "B2")))))
    # t1 to B 08:10, walk to B2, t4 08:13 -> D 08:25: 30 min from 07:55, riding 10 + 12 min;
    # the rest is waiting (5 min at A, then 3 min minus the walk at B2).
    row = _one(net, "D", _xy(net, "A"), "07:55:00")
    assert row["served_s"] - hms("07:55:00") == 1800
    assert row["walk_s"] == walk_b_b2
    assert row["ride_s"] == 22 * 60
    assert row["wait_s"] == 1800 - walk_b_b2 - 22 * 60
    assert row["changes"] == 1


def test_access_and_egress_walks() -> None:
    net = _network("transfer")
    # 200 m access south of A and 300 m egress east of C at 1 m/s: 500 s walking; t1 + t2
    # ride 25 min; waits 0 at A (07:56:40 + 200 s = 08:00:00) and 5 min at B: 2300 s.
    origin = _xy(net, "A") + np.array([0.0, -200.0])
    row = _one(net, "C", origin, "07:56:40", offset=(300.0, 0.0))
    assert row["served_s"] - hms("07:56:40") == 2300
    assert (row["walk_s"], row["wait_s"], row["ride_s"]) == (500, 300, 1500)


def test_boarding_allowance_is_waiting_not_riding() -> None:
    # Buses (route_type 3) with a 120 s boarding allowance: the rider must be at A by 07:58 and
    # at B by 08:13; the same trips, 35 min, ride still 25 min (timetabled), wait 10 min.
    allowance = {3: 120}
    net = _network("transfer", allowance=allowance)
    labels, per_run = run_routes(FIXTURES / "transfer", net.run_ids, allowance)
    assert per_run.tolist() == [120] * len(net.run_ids)
    row = _one(net, "C", _xy(net, "A"), "07:55:00", allowance=per_run)
    assert row["served_s"] - hms("07:55:00") == 2100
    assert (row["walk_s"], row["wait_s"], row["ride_s"]) == (0, 600, 1500)
    assert labels[row["first_run"]] == "1"


def test_walking_all_the_way() -> None:
    net = _network("transfer")
    # From B2 to B (about 100 m) walking beats any vehicle: all walk, no ride.
    row = _one(net, "B", _xy(net, "B2"), "08:00:00")
    assert row["ride_s"] == 0
    assert row["wait_s"] == 0
    assert row["first_run"] == -1
    assert row["walk_s"] == row["served_s"] - hms("08:00:00")


def test_describe() -> None:
    row = {"walk_min": 12.2, "wait_min": 6.0, "ride_min": 18.4, "change_min": 2.0, "changes": 1,
           "first_route": "263"}
    assert describe(row) == "12 min walk, 6 wait, 18 on the 263, 1 change"
    assert describe({"walk_min": 9.6, "wait_min": 0.0, "ride_min": 0.0, "changes": 0,
                     "first_route": ""}) == "10 min walk"
    assert describe({"walk_min": float("nan")}) == "no route"


@pytest.mark.parametrize("name", ["transfer", "walk", "zero_duration", "frequency", "overnight"])
def test_matches_the_profile_engine_on_hand_built_feeds(name: str) -> None:
    feed = read_feed(FIXTURES / name)
    day = busiest_date(feed)
    for change in (0, 120):
        net = TransitNetwork.build(feed, day, hms("00:00:00"), hms("30:00:00"), SECOND_WALK,
                                   transfer_max_minutes=5.0, min_change_seconds=change)
        targets = Targets.from_arrays(net.stop_ids[-2:], net.stop_xy[-2:])
        profiles = profile_search(net, targets, max_access_minutes=10.0)
        origins = net.stop_xy[:3] + np.array([[50.0, -30.0]])
        window = Window(hms("05:00:00"), hms("11:00:00"), 300)
        served, target = profiles.served(origins, window)
        for i, tau in enumerate(window.departures):
            got = earliest_journeys(profiles, origins, np.full(len(origins), tau))
            assert got["served_s"].tolist() == served[:, i].tolist(), (name, change, tau)
            assert got["target"].tolist() == target[:, i].tolist()


@functools.cache
def _newport(feeds_dir: Path, change: int) -> tuple[TransitNetwork, Targets, np.ndarray]:
    feed = read_feed(feeds_dir / "newport-20230613_gtfs.zip")
    net = TransitNetwork.build(feed, busiest_date(feed), hms("06:00:00"), hms("13:00:00"),
                               WalkModel(), transfer_max_minutes=5.0, min_change_seconds=change)
    rng = np.random.default_rng(11)
    targets = Targets.from_arrays(["t0", "t1", "t2"], net.stop_xy[rng.integers(0, net.n_stops, 3)],
                                  [np.nan, hms("08:00:00"), np.nan],
                                  [np.nan, hms("09:30:00"), np.nan])
    origins = net.stop_xy[rng.integers(0, net.n_stops, 60)] + rng.normal(0, 300, (60, 2))
    return net, targets, origins


@pytest.mark.london
@pytest.mark.parametrize("change", [0, 120])
def test_matches_the_profile_engine_on_newport(feeds_dir: Path, change: int) -> None:
    net, targets, origins = _newport(feeds_dir, change)
    profiles = profile_search(net, targets, max_access_minutes=10.0)
    window = Window(hms("07:00:00"), hms("10:00:00"), 60)
    served, target = profiles.served(origins, window)
    by_vehicle = 0
    for i in range(0, len(window.departures), 7):
        tau = window.departures[i]
        got = earliest_journeys(profiles, origins, np.full(len(origins), tau))
        assert got["served_s"].tolist() == served[:, i].tolist()
        assert got["target"].tolist() == target[:, i].tolist()
        parts = got[["walk_s", "wait_s", "ride_s", "change_s"]].to_numpy()
        reached = got["served_s"].to_numpy() >= 0
        assert (parts[reached] >= 0).all()
        assert (parts[reached].sum(axis=1) == (got["served_s"] - tau).to_numpy()[reached]).all()
        by_vehicle += int((got["first_run"] >= 0).sum())
    # The comparison means something only if many journeys ride.
    assert by_vehicle > 100


@pytest.mark.london
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_median_journey_total_is_the_engine_minutes(feeds_dir: Path, seed: int) -> None:
    net, targets, _ = _newport(feeds_dir, 60)
    rng = np.random.default_rng(seed)
    origins = net.stop_xy[rng.integers(0, net.n_stops, 5)] + rng.normal(0, 500, (5, 2))
    profiles = profile_search(net, targets, max_access_minutes=10.0)
    window = Window(hms("07:00:00"), hms("09:00:00"), 60)
    table = journey_breakdown(profiles, origins, [f"o{i}" for i in range(5)], window)
    served, _ = profiles.served(origins, window)
    for o, row in table.iterrows():
        col = int(np.flatnonzero(window.departures == row["departure_s"])[0])
        if served[o, col] < 0:
            assert np.isnan(row["minutes"])
            continue
        assert row["minutes"] == (served[o, col] - row["departure_s"]) / 60.0
        parts = row[["walk_min", "wait_min", "ride_min", "change_min"]].sum()
        assert parts == pytest.approx(row["minutes"], abs=1e-9)


def test_ward_journeys_by_hand():
    """Population-weighted parts per ward, worked by hand.

    W1: LSOAs of 100 and 300 people walk 10 and 20 min: (100*10 + 300*20) / 400 = 17.5; routes
    "9" (100 people) and "12" (300) -> "12". W2: both LSOAs have no people, so the plain mean
    of 4 and 8 = 6, and the route tie (0 = 0 people) goes to the first name, "10" < "7" as
    text. W3: no journey at all -> NaN and no route.
    """
    import pandas as pd

    from siting.journeys import ward_journeys

    lsoas = pd.DataFrame({
        "ward_code": ["W1", "W1", "W2", "W2", "W3"],
        "population": [100, 300, 0, 0, 50],
        "journey_24h_walk_min": [10.0, 20.0, 4.0, 8.0, np.nan],
        "journey_24h_wait_min": [2.0, 6.0, 1.0, 3.0, np.nan],
        "journey_24h_ride_min": [0.0, 4.0, 0.0, 0.0, np.nan],
        "journey_24h_change_min": [0.0, 2.0, 0.0, 0.0, np.nan],
        "journey_24h_changes": [0, 1, 0, 0, np.nan],
        "journey_24h_first_route": ["9", "12", "7", "10", ""],
    })
    got = ward_journeys(lsoas).set_index("ward_code")
    assert got.loc["W1", "journey_24h_walk_min"] == pytest.approx(17.5)
    assert got.loc["W1", "journey_24h_wait_min"] == pytest.approx((100 * 2 + 300 * 6) / 400)
    assert got.loc["W1", "journey_24h_changes"] == pytest.approx(0.75)
    assert got.loc["W1", "journey_24h_first_route"] == "12"
    assert got.loc["W2", "journey_24h_walk_min"] == pytest.approx(6.0)
    assert got.loc["W2", "journey_24h_first_route"] == "10"
    assert np.isnan(got.loc["W3", "journey_24h_walk_min"])
    assert got.loc["W3", "journey_24h_first_route"] == ""


def test_a_zero_duration_arrival_feeds_a_departure_scanned_before_it() -> None:
    """With no change time, r1 (boarded at A at 07:50) reaches C at 08:00 by a zero-duration
    hop, and q1 leaves C at 08:00 (C -> E in no time, then E -> D by 08:10). q1's hop is
    scanned first (runs in name order), before anything is ready at C, and no trip is newly
    boarded at 08:00: the group must still be scanned again, as the profile engine does."""
    net = _network("zero_relay")
    row = _one(net, "D", _xy(net, "A") + np.array([0.0, -100.0]), "07:45:00")
    assert row["served_s"] == hms("08:10:00")
    assert row["changes"] == 1
    assert row["walk_s"] == 100  # to A; D is the target stop itself
