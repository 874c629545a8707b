"""Travel-time engine: profile CSA vs a brute-force reference, hand-built feeds, summaries.

The reference is a time-dependent Dijkstra for one origin and one departure at a time, built
straight from the Feed (not from the network's arrays) with all-pairs walking distances, so
it checks the network builder and the profile scan together. The semantics it implements are
the ones stated in siting.travel's docstring.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import heapq
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from siting._crs import BNG, WGS84
from siting._errors import FeedError, ScenarioError
from siting.draws import served_over_draws
from siting.network.gtfs import Feed, busiest_date, read_feed, service_ids_on
from siting.network.transit import TransitNetwork, walk_seconds
from siting.network.walk import WalkModel
from siting.scan_reference import profile_scan_changes
from siting.travel import (
    Targets,
    Window,
    change_costs,
    profile_search,
    profile_search_many,
    summarise,
    walk_csr,
)

FIXTURES = Path(__file__).parent / "fixtures" / "gtfs"
SECOND_WALK = WalkModel(speed_kmh=3.6, circuity=1.0)
"""1 m/s with no circuity: a walk of d metres takes ceil(d) seconds, easy to work by hand."""
INF = math.inf


def hms(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


# --------------------------------------------------------------------------- reference


class Reference:
    """Earliest served time for one (origin, departure): Dijkstra over stop ready-times."""

    def __init__(self, feed: Feed, date: dt.date, start_s: int, end_s: int, walk: WalkModel,
                 targets: Targets, *, transfer_max_minutes: float, min_change_seconds: int,
                 max_access_minutes: float) -> None:
        assert feed.frequencies.empty, "the reference reads scheduled trips only"
        self.walk = walk
        self.targets = targets
        self.change = min_change_seconds
        self.max_access = round(max_access_minutes * 60)
        self.start_s, self.end_s = start_s, end_s
        self.runs: list[tuple[list[str], list[int], list[int], list[int], list[int]]] = []
        for offset in (0, -86400):
            services = service_ids_on(feed, date + dt.timedelta(seconds=offset))
            trip_ids = set(feed.trips.loc[feed.trips["service_id"].isin(services), "trip_id"])
            st = feed.stop_times[feed.stop_times["trip_id"].isin(trip_ids)]
            for _, rows in st.groupby("trip_id", sort=True):
                rows = rows.sort_values("stop_sequence")
                self.runs.append((
                    rows["stop_id"].tolist(),
                    (rows["arrival_s"] + offset).tolist(),
                    (rows["departure_s"] + offset).tolist(),
                    rows["pickup_type"].tolist(),
                    rows["drop_off_type"].tolist(),
                ))
        stop_ids = sorted({s for run in self.runs for s in run[0]})
        stops = feed.stops.set_index("stop_id")
        x, y = Transformer.from_crs(WGS84, BNG, always_xy=True).transform(
            stops.loc[stop_ids, "stop_lon"].to_numpy(float),
            stops.loc[stop_ids, "stop_lat"].to_numpy(float))
        self.stop_ids = stop_ids
        self.xy = np.column_stack([x, y])
        index = {s: i for i, s in enumerate(stop_ids)}
        # Boarding events per stop: (departure, run, position) of hops departing in range.
        self.boardings: list[list[tuple[int, int, int]]] = [[] for _ in stop_ids]
        for r, (stops_, _arr, dep, pickup, _drop) in enumerate(self.runs):
            for p in range(len(stops_) - 1):
                if pickup[p] != 1 and start_s <= dep[p] < end_s:
                    self.boardings[index[stops_[p]]].append((dep[p], r, p))
        for events in self.boardings:
            events.sort()
        self.runs_ix = [[index[s] for s in run[0]] for run in self.runs]
        dist = np.hypot(self.xy[:, None, 0] - self.xy[None, :, 0],
                        self.xy[:, None, 1] - self.xy[None, :, 1])
        secs = walk_seconds(walk, dist).reshape(dist.shape)
        limit = round(transfer_max_minutes * 60)
        self.footpaths = [[(int(w), int(secs[v, w])) for w in np.flatnonzero(secs[v] <= limit)
                           if w != v] for v in range(len(stop_ids))]
        tdist = np.hypot(self.xy[:, None, 0] - targets.xy[None, :, 0],
                         self.xy[:, None, 1] - targets.xy[None, :, 1])
        tsecs = walk_seconds(walk, tdist).reshape(tdist.shape)
        self.egress = [[(int(c), int(tsecs[v, c])) for c in np.flatnonzero(tsecs[v] <=
                                                                            self.max_access)]
                       for v in range(len(stop_ids))]

    def served_key(self, t: int, c: int) -> tuple[float, int]:
        open_s, close_s = int(self.targets.open_s[c]), int(self.targets.close_s[c])
        if t >= close_s:
            return (INF, c)
        return (max(t, open_s), c)

    def query(self, origin_xy: np.ndarray, tau: int) -> tuple[float, int]:
        """(served time, target index), or (inf, ...) if no target serves the resident."""
        direct = walk_seconds(self.walk, np.hypot(*(self.targets.xy - origin_xy).T))
        best = min(self.served_key(tau + int(direct[c]), c) for c in range(len(self.targets)))
        ready = [INF] * len(self.stop_ids)
        heap: list[tuple[int, int]] = []
        access = walk_seconds(self.walk, np.hypot(*(self.xy - origin_xy).T))
        for s in np.flatnonzero(access <= self.max_access):
            ready[s] = tau + int(access[s])
            heap.append((ready[s], int(s)))
        heapq.heapify(heap)
        boarded: dict[int, int] = {}
        while heap:
            t, s = heapq.heappop(heap)
            if t > ready[s]:
                continue
            events = self.boardings[s]
            for _dep, r, p in events[bisect.bisect_left(events, (t, -1, -1)):]:
                # Positions after an earlier boarding of this run were already ridden.
                last = boarded.get(r, len(self.runs_ix[r]) - 1)
                if p >= last:
                    continue
                boarded[r] = p
                _stops, arr, deps, _pickup, drop = self.runs[r]
                for q in range(p + 1, last + 1):
                    if deps[q - 1] >= self.end_s:
                        break  # the hop into q departs after the network's range
                    if drop[q] == 1:
                        continue
                    v, a = self.runs_ix[r][q], arr[q]
                    for c, e in self.egress[v]:
                        best = min(best, self.served_key(a + e, c))
                    relax = [(v, a + self.change)] + [(w, a + f + self.change)
                                                      for w, f in self.footpaths[v]]
                    for w, tw in relax:
                        if tw < ready[w]:
                            ready[w] = tw
                            heapq.heappush(heap, (tw, w))
        return best


# --------------------------------------------------------------------------- real feeds

HOURS = [  # (open, close) per target; None = 24/7
    None, None, ("08:00:00", "18:00:00"), ("09:30:00", "17:00:00"), ("07:00:00", "08:30:00"),
    ("08:00:00", "20:00:00"),
]


@functools.cache
def _read(path: Path) -> Feed:
    return read_feed(path)


def _real_case(feed_path: Path, min_change: int, seed: int):
    feed = _read(feed_path)
    date = busiest_date(feed)
    walk = WalkModel()
    start, end = hms("07:00:00"), hms("13:00:00")
    network = TransitNetwork.build(feed, date, start, end, walk, transfer_max_minutes=5.0,
                                   min_change_seconds=min_change)
    rng = np.random.default_rng(seed)
    # Targets: real, well-served stops (most departures in the window), offset by 30-50 m.
    busy = np.argsort(-np.bincount(network.dep_stop, minlength=network.n_stops),
                      kind="stable")[:60]
    chosen = rng.choice(busy, len(HOURS), replace=False)
    targets = Targets.from_arrays(
        [f"T{i}" for i in range(len(HOURS))],
        network.stop_xy[chosen] + rng.uniform(-50, 50, (len(HOURS), 2)),
        [np.nan if h is None else hms(h[0]) for h in HOURS],
        [np.nan if h is None else hms(h[1]) for h in HOURS],
    )
    # Origins: random points within about a kilometre of random served stops.
    n_origins = 40
    origins = network.stop_xy[rng.integers(0, network.n_stops, n_origins)] + rng.normal(
        0, 400, (n_origins, 2))
    reference = Reference(feed, date, start, end, walk, targets, transfer_max_minutes=5.0,
                          min_change_seconds=min_change, max_access_minutes=10.0)
    return network, targets, origins, reference, rng


@pytest.mark.parametrize(
    ("feed_name", "min_change"),
    [
        ("newport-20230613_gtfs.zip", 0),
        ("newport-20230613_gtfs.zip", 120),
        ("chester-20230816-small_gtfs.zip", 0),
        ("chester-20230816-small_gtfs.zip", 90),
    ],
)
def test_engine_matches_reference_on_real_feeds(feeds_dir: Path, feed_name: str,
                                                min_change: int) -> None:
    network, targets, origins, reference, rng = _real_case(feeds_dir / feed_name, min_change, 7)
    window = Window(hms("07:00:00"), hms("10:00:00"), 60)
    profiles = profile_search(network, targets, max_access_minutes=10.0)
    served, target = profiles.served(origins, window)
    departures = window.departures
    checked = by_transit = 0
    for o in range(len(origins)):
        for it in rng.choice(len(departures), 5, replace=False):
            tau = int(departures[it])
            want_t, want_c = reference.query(origins[o], tau)
            got_t = served[o, it] if served[o, it] >= 0 else INF
            assert got_t == want_t, (o, tau)
            if want_t < INF:
                assert target[o, it] == want_c, (o, tau)
                direct = min(reference.served_key(tau + int(walk_seconds(
                    network.walk, np.hypot(*(targets.xy[c] - origins[o])))), c)
                    for c in range(len(targets)))
                by_transit += want_t < direct[0]
            checked += 1
    assert checked == 200
    # The comparison is only meaningful if many best trips use a vehicle.
    assert by_transit >= 40


def test_24h_only_is_never_faster(feeds_dir: Path) -> None:
    network, targets, origins, _, _ = _real_case(
        feeds_dir / "newport-20230613_gtfs.zip", 60, 3)
    window = Window(hms("07:00:00"), hms("10:00:00"), 60)
    any_open = profile_search(network, targets).served(origins, window)[0]
    only_24h = profile_search(network, targets.select(targets.always_open)).served(origins,
                                                                                   window)[0]
    inf_any = np.where(any_open < 0, np.iinfo(np.int64).max, any_open)
    inf_24h = np.where(only_24h < 0, np.iinfo(np.int64).max, only_24h)
    assert (inf_24h >= inf_any).all()
    assert (inf_24h > inf_any).any()
    # Each target alone (the issue-7 per-counter case) is never better than all of them.
    for c in range(len(targets)):
        one = profile_search(network, targets.select([c])).served(origins, window)[0]
        assert (np.where(one < 0, np.iinfo(np.int64).max, one) >= inf_any).all()


# --------------------------------------------------------------------------- hand-built feeds


def _network(name: str, date: str, start: str = "07:00:00", end: str = "12:00:00", *,
             min_change: int = 0) -> TransitNetwork:
    return TransitNetwork.build(read_feed(FIXTURES / name), date, hms(start), hms(end),
                                SECOND_WALK, transfer_max_minutes=5.0,
                                min_change_seconds=min_change)


def _xy(network: TransitNetwork, stop: str) -> np.ndarray:
    return network.stop_xy[list(network.stop_ids).index(stop)]


def _times(network: TransitNetwork, targets: Targets, origin_xy: np.ndarray,
           departures: list[str]) -> pd.DataFrame:
    """Minutes and counter for one origin at the given departure times."""
    window_s = [hms(d) for d in departures]
    profiles = profile_search(network, targets, max_access_minutes=10.0)
    rows = []
    for tau in window_s:
        rows.append(profiles.evaluate(origin_xy[None, :], ["o"], Window(tau, tau + 1, 1)))
    return pd.concat(rows, ignore_index=True)


def _target(network: TransitNetwork, stop: str, name: str | None = None,
            hours: tuple[str, str] | None = None, offset: tuple[float, float] = (0, 0)):
    return (name or stop, _xy(network, stop) + np.asarray(offset),
            np.nan if hours is None else hms(hours[0]),
            np.nan if hours is None else hms(hours[1]))


def _targets(*rows) -> Targets:
    ids, xy, opening, closing = zip(*rows, strict=True)
    return Targets.from_arrays(ids, np.array(xy), opening, closing)


def _walk_s(network: TransitNetwork, a: str, b: str) -> int:
    return int(walk_seconds(network.walk, np.hypot(*(_xy(network, a) - _xy(network, b)))))


def test_transfer_and_just_missed() -> None:
    net = _network("transfer", "2024-01-03")
    to_c = _targets(_target(net, "C"))
    # 07:55 -> t1 A 08:00 -> B 08:10, change to t2 B 08:15 -> C 08:30: 35 minutes.
    # 08:00:00 -> same trips: 30 min. 08:00:01 misses t1 by a second: t1b 08:30 -> B 08:40,
    # t2b 08:45 -> C 09:00, i.e. 09:00:00 - 08:00:01 = 3599 s.
    got = _times(net, to_c, _xy(net, "A"), ["07:55:00", "08:00:00", "08:00:01"])
    assert got["minutes"].tolist() == [35.0, 30.0, 3599 / 60]
    assert got["counter_id"].tolist() == ["C", "C", "C"]


def test_change_time_at_the_same_stop() -> None:
    # t1 reaches B at 08:10:00, t2 leaves at 08:15:00: 300 s of change time is just enough,
    # 301 s misses it and the resident waits for t2b (C 09:00): 65 minutes from 07:55.
    to_c_300 = _times(_network("transfer", "2024-01-03", min_change=300),
                      _targets(_target(_network("transfer", "2024-01-03"), "C")),
                      _xy(_network("transfer", "2024-01-03"), "A"), ["07:55:00"])
    assert to_c_300["minutes"].tolist() == [35.0]
    net = _network("transfer", "2024-01-03", min_change=301)
    got = _times(net, _targets(_target(net, "C")), _xy(net, "A"), ["07:55:00"])
    assert got["minutes"].tolist() == [65.0]


def test_footpath_transfer() -> None:
    net = _network("transfer", "2024-01-03")
    to_d = _targets(_target(net, "D"))
    walk_b_b2 = _walk_s(net, "B", "B2")
    assert 95 <= walk_b_b2 <= 105  # B2 is about 100 m from B: ~100 s at 1 m/s
    # t1 to B 08:10:00, walk to B2 (~100 s) by 08:11:40, t4 08:13 -> D 08:25: 30 minutes.
    got = _times(net, to_d, _xy(net, "A"), ["07:55:00"])
    assert got["minutes"].tolist() == [30.0]
    # With 120 s of change time on top of the walk the resident reaches B2 at 08:13:40 and
    # t4 has gone; nothing else reaches D, so they walk all the way from A.
    net = _network("transfer", "2024-01-03", min_change=120)
    got = _times(net, to_d, _xy(net, "A"), ["07:55:00"])
    assert got["minutes"].tolist() == [_walk_s(net, "A", "D") / 60]


def test_access_and_egress_walks() -> None:
    net = _network("transfer", "2024-01-03")
    # The target is 300 m east of C (300 s egress); the origin 200 m south of A (200 s access).
    targets = _targets(_target(net, "C", offset=(300, 0)))
    origin = _xy(net, "A") + np.array([0.0, -200.0])
    # 07:56:40 + 200 s = 08:00:00: boards t1, C at 08:30, target at 08:35: 38.33 minutes.
    # 07:56:41 misses t1: t1b/t2b reach C at 09:00, target 09:05: 68 min 19 s.
    got = _times(net, targets, origin, ["07:56:40", "07:56:41"])
    assert got["minutes"].tolist() == [2300 / 60, 4099 / 60]


def test_overnight_trip_from_previous_day() -> None:
    # On Tuesday 2024-01-02 Monday's "night" trip (B 24:10, C 24:40) runs at 00:10/00:40.
    net = _network("overnight", "2024-01-02", "00:00:00", "04:00:00")
    assert "night/-1d" in set(net.run_ids)
    to_c = _targets(_target(net, "C"))
    # 00:05 -> night from B at 00:10 -> C 00:40: 35 min. 00:15 -> Tuesday's "early" B 00:20
    # -> C 01:00: 45 min.
    got = _times(net, to_c, _xy(net, "B"), ["00:05:00", "00:15:00"])
    assert got["minutes"].tolist() == [35.0, 45.0]
    # On Monday 2024-01-01 there was no Sunday night trip and "early" does not run: walk.
    # That network has no hops at all.
    walk = _walk_s(net, "B", "C")
    origin = _xy(net, "B")
    net = _network("overnight", "2024-01-01", "00:00:00", "04:00:00")
    assert net.n_connections == 0
    got = _times(net, to_c, origin, ["00:05:00"])
    assert got["minutes"].tolist() == [walk / 60]


def test_frequency_route() -> None:
    net = _network("frequency", "2024-01-03")
    to_b = _targets(_target(net, "B"))
    # Runs leave A at 07:00, 07:15, 07:30, 07:45, 08:00, 08:30 and take 10 minutes.
    # 07:01 -> 07:15 -> 07:25: 24 min. 07:46 -> 08:00 -> 08:10: 24 min. 08:31: no more runs
    # (the 10:00 template trip itself never runs, it would give 99 min): walk ~10 km.
    got = _times(net, to_b, _xy(net, "A"), ["07:01:00", "07:46:00", "08:31:00"])
    walk = _walk_s(net, "A", "B")
    assert walk > 99 * 60
    assert got["minutes"].tolist() == [24.0, 24.0, walk / 60]


def test_walking_beats_transit_and_no_drop_off() -> None:
    net = _network("walk", "2024-01-03")
    to_b = _targets(_target(net, "B"))
    walk = _walk_s(net, "A", "B")
    assert 990 <= walk <= 1010  # about 1 km at 1 m/s
    # 07:29: w4 reaches B at 07:32 but sets drop_off_type 1 there, so the resident walks
    # (~16.7 min, better than w1 at 08:02 = 33 min). 07:59: w1 -> B 08:02, 3 minutes.
    # 08:01: next bus w2 B 09:02 = 61 min, walking wins again.
    got = _times(net, to_b, _xy(net, "A"), ["07:29:00", "07:59:00", "08:01:00"])
    assert got["minutes"].tolist() == [walk / 60, 3.0, walk / 60]


def test_opening_hours() -> None:
    net = _network("walk", "2024-01-03")
    origin = _xy(net, "A")
    # w3 leaves A 08:00, reaches C 08:20. Departing 07:50:
    cases = [
        (("08:30:00", "17:00:00"), 40.0),  # closed on arrival, opens 08:30: served then
        (("06:00:00", "08:15:00"), None),  # closed for the day at 08:15: never served
        (("06:00:00", "08:20:00"), None),  # closes the second the bus arrives
        (("06:00:00", "08:20:01"), 30.0),  # still open at 08:20:00
        (None, 30.0),  # 24/7
    ]
    for hours, minutes in cases:
        got = _times(net, _targets(_target(net, "C", hours=hours)), origin, ["07:50:00"])
        if minutes is None:
            assert got["minutes"].isna().all()
            assert got["counter_id"].isna().all()
        else:
            assert got["minutes"].tolist() == [minutes]
    # Two targets at C: the closed one is skipped, the later-opening one serves at 08:30.
    both = _targets(_target(net, "C", "closed", ("06:00:00", "08:15:00")),
                    _target(net, "C", "opens", ("08:30:00", "17:00:00")))
    got = _times(net, both, origin, ["07:50:00"])
    assert got["counter_id"].tolist() == ["opens"]


def test_ties_go_to_the_lowest_target_index() -> None:
    net = _network("walk", "2024-01-03")
    twins = _targets(_target(net, "B", "Z"), _target(net, "B", "Y"))
    got = _times(net, twins, _xy(net, "A"), ["07:59:00", "08:01:00"])
    assert got["counter_id"].tolist() == ["Z", "Z"]


def test_zero_duration_hops_chain_at_the_same_second() -> None:
    # z2 A 08:00 -> B 08:00 (zero duration), change at B to z1 B 08:00 -> C 08:00 -> D 08:10
    # with no change time: from A at 07:59 the target at D is reached at 08:10 (11 minutes).
    # z2 sorts after z1, so the scan needs its fixed-point pass over the 08:00 hops.
    net = _network("zero_duration", "2024-01-03")
    got = _times(net, _targets(_target(net, "D")), _xy(net, "A"), ["07:59:00"])
    assert got["minutes"].tolist() == [11.0]


@pytest.mark.parametrize(
    ("name", "date", "start", "end"),
    [
        ("transfer", "2024-01-03", "07:00:00", "12:00:00"),
        ("walk", "2024-01-03", "07:00:00", "12:00:00"),
        ("overnight", "2024-01-02", "00:00:00", "04:00:00"),
        ("zero_duration", "2024-01-03", "07:00:00", "12:00:00"),
    ],
)
@pytest.mark.parametrize("min_change", [0, 120])
def test_hand_feeds_match_reference(name: str, date: str, start: str, end: str,
                                    min_change: int) -> None:
    feed = read_feed(FIXTURES / name)
    net = TransitNetwork.build(feed, date, hms(start), hms(end), SECOND_WALK,
                               transfer_max_minutes=5.0, min_change_seconds=min_change)
    targets = Targets.from_arrays(list(net.stop_ids), net.stop_xy + 150,
                                  [hms("07:30:00")] + [np.nan] * (net.n_stops - 1),
                                  [hms("08:20:00")] + [np.nan] * (net.n_stops - 1))
    reference = Reference(feed, dt.date.fromisoformat(date), hms(start), hms(end), SECOND_WALK,
                          targets, transfer_max_minutes=5.0, min_change_seconds=min_change,
                          max_access_minutes=10.0)
    window = Window(hms(start), hms(start) + 3 * 3600, 60)
    origins = np.vstack([net.stop_xy, net.stop_xy + np.array([400.0, 0.0])])
    served, target = profile_search(net, targets).served(origins, window)
    for o in range(len(origins)):
        for it, tau in enumerate(window.departures):
            want_t, want_c = reference.query(origins[o], int(tau))
            assert (served[o, it] if served[o, it] >= 0 else INF) == want_t
            if want_t < INF:
                assert target[o, it] == want_c


# --------------------------------------------------------------------------- API details


def test_evaluate_long_table_and_summary() -> None:
    net = _network("transfer", "2024-01-03")
    targets = _targets(_target(net, "C"), _target(net, "D"))
    profiles = profile_search(net, targets)
    origins = np.vstack([_xy(net, "A"), _xy(net, "B")])
    window = Window(hms("07:50:00"), hms("08:10:00"), 300)
    table = profiles.evaluate(origins, ["b_origin", "a_origin"], window)
    assert list(table.columns) == ["origin_id", "departure_s", "minutes", "counter_id"]
    assert table["origin_id"].tolist() == ["a_origin"] * 4 + ["b_origin"] * 4  # sorted
    assert table["departure_s"].tolist() == [28200, 28500, 28800, 29100] * 2
    summary = summarise(table, percentiles=(50, 100))
    assert list(summary.columns) == ["origin_id", "minutes_p50", "minutes_p100",
                                     "nearest_counter"]


def test_summarise_by_hand() -> None:
    times = pd.DataFrame({
        "origin_id": ["o1"] * 4 + ["o2"] * 3 + ["o3"] * 2,
        "departure_s": [0, 60, 120, 180, 0, 60, 120, 0, 60],
        "minutes": [10.0, 20.0, np.nan, 30.0, np.nan, np.nan, 5.0, 7.0, 9.0],
        "counter_id": ["a", "b", None, "b", None, None, "c", "b", "a"],
    })
    got = summarise(times, percentiles=(0, 50))
    # o1 sorted [10, 20, 30, inf]: p50 at position 1.5 -> 25; mode b (2 of 3).
    # o2 [5, inf, inf]: p50 is unreachable -> NaN; p0 = 5; mode c.
    # o3 [7, 9]: p50 = 8; a and b tie once each -> lowest id a.
    assert got["origin_id"].tolist() == ["o1", "o2", "o3"]
    assert got["minutes_p0"].tolist() == [10.0, 5.0, 7.0]
    np.testing.assert_array_equal(got["minutes_p50"].to_numpy(), [25.0, np.nan, 8.0])
    assert got["nearest_counter"].tolist() == ["b", "c", "a"]


def test_network_cache(tmp_path: Path) -> None:
    kwargs = {"transfer_max_minutes": 5.0, "min_change_seconds": 60, "cache_dir": tmp_path}
    first = TransitNetwork.load_or_build(FIXTURES / "transfer", "2024-01-03", hms("07:00:00"),
                                         hms("12:00:00"), SECOND_WALK, **kwargs)
    files = list(tmp_path.glob("transit-*.npz"))
    assert len(files) == 1
    again = TransitNetwork.load_or_build(FIXTURES / "transfer", "2024-01-03",
                                         hms("07:00:00"), hms("12:00:00"), SECOND_WALK,
                                         **kwargs)
    assert again.cache_key == first.cache_key
    assert len(first.cache_key) == 64
    for name in ("stop_ids", "stop_xy", "dep_time", "arr_time", "trip", "run_ids", "fp_to",
                 "fp_seconds", "can_board", "can_alight"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    assert again.service_date == dt.date(2024, 1, 3)
    assert again.walk == SECOND_WALK
    assert again.min_change_seconds == 60
    other = TransitNetwork.load_or_build(FIXTURES / "transfer", "2024-01-03",
                                         hms("07:00:00"), hms("12:00:00"), WalkModel(),
                                         **kwargs)
    assert other.cache_key != first.cache_key
    assert len(list(tmp_path.glob("transit-*.npz"))) == 2
    with pytest.raises(FeedError, match=r"missing\.zip: not found"):
        TransitNetwork.load_or_build(tmp_path / "missing.zip", "2024-01-03", 0, 3600,
                                     cache_dir=tmp_path)


def test_network_arrays_are_sorted_for_the_scan() -> None:
    net = _network("transfer", "2024-01-03")
    assert net.n_connections == 6  # six two-stop trips
    assert (np.diff(net.dep_time) >= 0).all()
    assert net.fp_offsets[-1] == 2  # B <-> B2 only
    assert net.dep_time.dtype == np.int32


def test_window_outside_network_range() -> None:
    net = _network("transfer", "2024-01-03")
    profiles = profile_search(net, _targets(_target(net, "C")))
    with pytest.raises(ScenarioError, match=r"outside the transit network's range"):
        profiles.served(np.zeros((1, 2)), Window(hms("06:00:00"), hms("08:00:00")))
    with pytest.raises(ScenarioError, match=r"needs start_s < end_s"):
        profiles.served(np.zeros((1, 2)), Window(hms("08:00:00"), hms("08:00:00")))


def test_target_errors() -> None:
    with pytest.raises(ScenarioError, match=r"target 'X' closes \(100 s\) before it opens"):
        Targets.from_arrays(["X"], [[0.0, 0.0]], [200], [100])
    with pytest.raises(ScenarioError, match=r"2 ids but 1 coordinates"):
        Targets.from_arrays(["X", "Y"], [[0.0, 0.0]])
    net = _network("transfer", "2024-01-03")
    with pytest.raises(ScenarioError, match=r"no targets"):
        profile_search(net, Targets.from_arrays([], np.zeros((0, 2))))


def test_measures_select_targets() -> None:
    targets = Targets.from_arrays(["a", "b", "c"], np.zeros((3, 2)), [np.nan, 3600, None],
                                  [np.nan, 7200, None])
    assert targets.for_measure("24h").ids.tolist() == ["a", "c"]
    assert targets.for_measure("any").ids.tolist() == ["a", "b", "c"]
    with pytest.raises(ScenarioError, match=r"Unknown measure 'fast'"):
        targets.for_measure("fast")


def test_corrupt_cache_file_is_rebuilt(tmp_path: Path) -> None:
    args = (FIXTURES / "walk", "2024-01-03", hms("07:00:00"), hms("12:00:00"), SECOND_WALK)
    first = TransitNetwork.load_or_build(*args, cache_dir=tmp_path)
    (cache_file,) = tmp_path.glob("transit-*.npz")
    cache_file.write_bytes(b"not an npz")
    again = TransitNetwork.load_or_build(*args, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.dep_time, first.dep_time)
    assert TransitNetwork.load(cache_file).cache_key == first.cache_key


@functools.cache
def _newport_network(feeds_dir: Path) -> TransitNetwork:
    feed = _read(feeds_dir / "newport-20230613_gtfs.zip")
    return TransitNetwork.build(feed, busiest_date(feed), hms("07:00:00"), hms("11:00:00"),
                                WalkModel(), min_change_seconds=60)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_closing_a_counter_never_shortens_a_trip(feeds_dir: Path, data: st.DataObject) -> None:
    network = _newport_network(feeds_dir)
    busy = np.argsort(-np.bincount(network.dep_stop, minlength=network.n_stops),
                      kind="stable")[:30]
    picks = data.draw(st.lists(st.sampled_from(busy.tolist()), min_size=2, max_size=6,
                               unique=True))
    hours = data.draw(st.lists(st.one_of(st.none(), st.tuples(
        st.integers(6 * 3600, 10 * 3600), st.integers(1, 6 * 3600))),
        min_size=len(picks), max_size=len(picks)))
    opening = [np.nan if h is None else h[0] for h in hours]
    closing = [np.nan if h is None else h[0] + h[1] for h in hours]
    targets = Targets.from_arrays([f"T{i}" for i in range(len(picks))],
                                  network.stop_xy[picks], opening, closing)
    closed = data.draw(st.integers(0, len(picks) - 1))
    origins = network.stop_xy[busy[:10]] + 250.0
    window = Window(hms("07:00:00"), hms("08:00:00"), 300)
    big = np.iinfo(np.int64).max
    before = profile_search(network, targets).served(origins, window)[0]
    after = profile_search(network, targets.select(np.arange(len(picks)) != closed)).served(
        origins, window)[0]
    assert (np.where(after < 0, big, after) >= np.where(before < 0, big, before)).all()


def test_boarding_allowance_for_buses() -> None:
    # PTAL's reliability allowance: be at the stop 120 s before a bus (route_type 3) leaves.
    # From A at 07:58:00 t1 (08:00) is still caught: 08:00 - 120 s = 07:58 -> B 08:10, but the
    # change at B to t2 (08:15) now needs 08:10 + 120 s <= 08:15: fine -> C 08:30 (32 min).
    # From 07:58:01 t1 is missed; t1b (08:30) -> B 08:40, t2b (08:45, board by 08:43) -> C
    # 09:00: 61 min 59 s. A tram allowance (route_type 0) changes nothing here.
    net = TransitNetwork.build(read_feed(FIXTURES / "transfer"), "2024-01-03", hms("07:00:00"),
                               hms("12:00:00"), SECOND_WALK, transfer_max_minutes=5.0,
                               boarding_allowance_s={3: 120})
    got = _times(net, _targets(_target(net, "C")), _xy(net, "A"), ["07:58:00", "07:58:01"])
    assert got["minutes"].tolist() == [32.0, (9 * 3600 - hms("07:58:01")) / 60]
    tram = TransitNetwork.build(read_feed(FIXTURES / "transfer"), "2024-01-03", hms("07:00:00"),
                                hms("12:00:00"), SECOND_WALK, transfer_max_minutes=5.0,
                                boarding_allowance_s={0: 120})
    got = _times(tram, _targets(_target(tram, "C")), _xy(tram, "A"), ["07:58:01"])
    assert got["minutes"].tolist() == [(hms("08:30:00") - hms("07:58:01")) / 60]


# --------------------------------------------------------------------------- phase draws


def _phase_feed(tmp_path: Path, exact_times: int) -> Path:
    folder = tmp_path / f"phase{exact_times}"
    shutil.copytree(FIXTURES / "phase", folder, dirs_exist_ok=True)
    text = (folder / "frequencies.txt").read_text().replace(",0\n", f",{exact_times}\n")
    (folder / "frequencies.txt").write_text(text)
    return folder


def _mean_trip_seconds(feed: Path, draws: int, seed: int = 0) -> np.ndarray:
    """Mean A->B travel seconds per draw over departures 07:30:00..07:39:59, second by second."""
    net = TransitNetwork.build(read_feed(feed), "2024-01-03", hms("07:00:00"), hms("10:00:00"),
                               SECOND_WALK, transfer_max_minutes=5.0, min_change_seconds=0)
    targets = _targets(_target(net, "B"))
    window = Window(hms("07:30:00"), hms("07:40:00"), 1)
    served, _ = served_over_draws(net, {"b": targets}, _xy(net, "A")[None, :], window,
                                  draws=draws, seed=seed, max_access_minutes=10.0)["b"]
    assert (served >= 0).all()
    trip = (served - np.tile(window.departures, served.shape[1] // 600)).reshape(-1, 600)
    return trip.mean(axis=1)


def test_two_frequency_routes_wait_half_a_headway_on_average(tmp_path: Path) -> None:
    # Route 1 leaves A every 600 s from 07:00 + phi1 and reaches X 300 s later; route 2 leaves
    # X every 600 s from 07:05 + phi2 and reaches B 300 s later; changing at X takes 0 s.
    # Departing A at each second of a full 600 s cycle, the wait for route 1 takes every value
    # 0..599 once (mean 299.5 s), so the mean trip is 299.5 + 300 + w + 300 = 899.5 + w,
    # where w = (phi2 - phi1) mod 600 is the wait at X.
    # Lock-step (exact_times=1, or phases 0): w = 0, the mean trip is exactly 899.5 s.
    exact = _mean_trip_seconds(_phase_feed(tmp_path, 1), draws=5)
    assert exact.tolist() == [899.5]  # an exact timetable needs one pass only
    # With random phases, phi1 and phi2 are independent and uniform on {0..599}, so w is
    # uniform on {0..599}: mean 299.5 s (5 minutes), standard deviation ~173 s. Over 200
    # draws the mean wait has a standard error of ~12 s; allow 4 of them (48 s).
    drawn = _mean_trip_seconds(_phase_feed(tmp_path, 0), draws=200, seed=11)
    wait = drawn - 899.5
    assert ((wait >= 0) & (wait <= 599) & (wait == np.round(wait))).all()
    assert abs(wait.mean() - 299.5) < 48
    assert len(np.unique(wait)) > 150  # the phases really vary between draws


def test_draws_are_seeded_and_independent_of_order(tmp_path: Path) -> None:
    feed = read_feed(_phase_feed(tmp_path, 0))
    net = TransitNetwork.build(feed, "2024-01-03", hms("07:00:00"), hms("10:00:00"),
                               SECOND_WALK, transfer_max_minutes=5.0)
    assert net.n_phased_entries == 2
    later = net.draw(5, 3)
    first = [net.draw(5, i) for i in range(4)]
    for name in ("dep_stop", "arr_stop", "dep_time", "arr_time", "trip"):
        assert np.array_equal(getattr(later, name), getattr(first[3], name))
    assert not np.array_equal(net.draw(6, 3).dep_time, later.dep_time)
    again = _mean_trip_seconds(_phase_feed(tmp_path, 0), draws=7, seed=3)
    assert np.array_equal(again, _mean_trip_seconds(_phase_feed(tmp_path, 0), draws=7, seed=3))


def test_a_draw_until_a_second_is_the_draw_cut_there(tmp_path: Path) -> None:
    # What the travel step scans first: the draw's connections departing before the cut, the
    # same arrays, in the same order, as the whole draw's first part.
    feed = read_feed(_phase_feed(tmp_path, 0))
    net = TransitNetwork.build(feed, "2024-01-03", hms("07:00:00"), hms("10:00:00"),
                               SECOND_WALK, transfer_max_minutes=5.0)
    whole = net.draw(5, 2)
    for cut in (hms("07:00:00"), hms("08:17:30"), hms("09:59:59"), hms("10:00:00"),
                hms("23:00:00")):
        part = net.draw(5, 2, until=cut)
        keep = whole.dep_time < cut
        assert part.end_s == min(cut, net.end_s)
        assert (part.cache_key == whole.cache_key) == (part.end_s == net.end_s)
        for name in ("dep_stop", "arr_stop", "dep_time", "arr_time", "trip", "can_board",
                     "can_alight"):
            assert np.array_equal(getattr(part, name), getattr(whole, name)[keep]), (cut, name)
    assert 0 < np.count_nonzero(whole.dep_time < hms("08:17:30")) < whole.n_connections


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_draw_equals_the_feed_with_its_phases_written_in(tmp_path: Path, index: int) -> None:
    # The "frequency" fixture: f1 every 900 s 07:00-08:00 (exact_times=0) and every 1800 s
    # 08:00-09:00 (exact_times=1). Draw `index` must equal the feed whose first entry starts
    # phi later with exact times (runs starting at or after 08:00 dropped).
    feed = read_feed(FIXTURES / "frequency")
    net = TransitNetwork.build(feed, "2024-01-03", hms("07:00:00"), hms("12:00:00"),
                               SECOND_WALK, transfer_max_minutes=5.0)
    assert net.n_phased_entries == 1
    phi = int(np.random.default_rng([9, index]).integers(0, np.array([900]))[0])
    folder = tmp_path / "shifted"
    shutil.copytree(FIXTURES / "frequency", folder)
    (folder / "frequencies.txt").write_text(
        "trip_id,start_time,end_time,headway_secs,exact_times\n"
        f"f1,07:{phi // 60:02d}:{phi % 60:02d},08:00:00,900,1\n"
        "f1,08:00:00,09:00:00,1800,1\n")
    shifted = TransitNetwork.build(read_feed(folder), "2024-01-03", hms("07:00:00"),
                                   hms("12:00:00"), SECOND_WALK, transfer_max_minutes=5.0)
    drawn = net.draw(9, index)

    def hops(n: TransitNetwork) -> list[tuple[str, str, int, int]]:
        return [(str(n.stop_ids[a]), str(n.stop_ids[b]), int(d), int(r)) for a, b, d, r in
                zip(n.dep_stop, n.arr_stop, n.dep_time, n.arr_time, strict=True)]

    assert hops(drawn) == hops(shifted)  # same hops in the same scan order
    assert np.all(np.diff(drawn.dep_time) >= 0)


def test_phases_given_by_hand_move_the_frequency_runs(tmp_path: Path) -> None:
    # The "frequency" fixture's f1 runs every 900 s from 07:00 until 08:00 (exact_times=0),
    # then every 1800 s from 08:00 (exact). Phase 840 s moves the phased runs to 07:14, 07:29,
    # 07:44 and 07:59 (a fifth, 08:14, would start after the entry's end): the first hop of
    # each run departs then, and the exact runs stay at 08:00 and 08:30.
    net = TransitNetwork.build(read_feed(FIXTURES / "frequency"), "2024-01-03",
                               hms("07:00:00"), hms("12:00:00"), SECOND_WALK,
                               transfer_max_minutes=5.0)
    moved = net.with_phases(np.array([840]), "by-hand")
    first_stop = net.dep_stop[np.argmin(net.dep_time)]
    starts = sorted(int(t) for s, t in zip(moved.dep_stop, moved.dep_time, strict=True)
                    if s == first_stop)
    assert starts == [hms(t) for t in ("07:14:00", "07:29:00", "07:44:00", "07:59:00",
                                       "08:00:00", "08:30:00")]
    assert moved.cache_key.endswith("/by-hand")
    for bad in (np.array([900]), np.array([-1]), np.array([0, 0]), np.array([])):
        with pytest.raises(ValueError, match="one phase in"):
            net.with_phases(bad, "bad")


# --------------------------------------------------------------------------- transfers.txt


def _transfer_network(tmp_path: Path, rows: list[str], *, min_change: int = 0,
                      transfer_max_minutes: float = 5.0) -> TransitNetwork:
    folder = tmp_path / "transfers"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(FIXTURES / "transfer", folder)
    (folder / "transfers.txt").write_text(
        "from_stop_id,to_stop_id,transfer_type,min_transfer_time,from_route_id\n"
        + "".join(r + "\n" for r in rows))
    return TransitNetwork.build(read_feed(folder), "2024-01-03", hms("07:00:00"),
                                hms("12:00:00"), SECOND_WALK,
                                transfer_max_minutes=transfer_max_minutes,
                                min_change_seconds=min_change)


def _minutes_from_a(net: TransitNetwork, stop: str) -> float:
    return _times(net, _targets(_target(net, stop)), _xy(net, "A"), ["07:55:00"])[
        "minutes"].iloc[0]


def test_same_stop_min_transfer_time(tmp_path: Path) -> None:
    # t1 reaches B 08:10:00; t2 leaves B 08:15:00 (C 08:30). The feed says changing at B takes
    # 300 s: just enough (35 min from 07:55); 301 s misses it: t2b, C at 09:00 (65 min). The
    # global change time (0 here) no longer applies at B.
    assert _minutes_from_a(_transfer_network(tmp_path, ["B,B,2,300,"]), "C") == 35.0
    assert _minutes_from_a(_transfer_network(tmp_path, ["B,B,2,301,"]), "C") == 65.0
    # A timed transfer (type 1) at B costs 0 s even with a 301 s global change time.
    assert _minutes_from_a(_transfer_network(tmp_path, ["B,B,1,,"], min_change=301), "C") == 35.0
    # A row for one route only is vehicle-specific: skipped, so the global 301 s applies.
    assert _minutes_from_a(_transfer_network(tmp_path, ["B,B,1,,R1"], min_change=301),
                           "C") == 65.0


def test_no_change_possible_at_a_stop(tmp_path: Path) -> None:
    # Type 3 at B: nobody changes at B, so C is reached only on foot from A (about 10 km).
    net = _transfer_network(tmp_path, ["B,B,3,,"])
    assert _minutes_from_a(net, "C") == _walk_s(net, "A", "C") / 60
    # The footpath B -> B2 still works: t1 B 08:10, walk ~100 s, t4 08:13 -> D 08:25: 30 min.
    assert _minutes_from_a(net, "D") == 30.0


def test_stop_to_stop_transfer_overrides_the_walk(tmp_path: Path) -> None:
    # Crow-fly B -> B2 is ~100 s. The feed says 180 s: B 08:10:00 + 180 = 08:13:00, t4 leaves
    # B2 at 08:13: caught (30 min to D). 181 s misses it: D only on foot from A.
    assert _minutes_from_a(_transfer_network(tmp_path, ["B,B2,2,180,"]), "D") == 30.0
    net = _transfer_network(tmp_path, ["B,B2,2,181,"])
    assert _minutes_from_a(net, "D") == _walk_s(net, "A", "D") / 60
    # The transfer is directional and whole: a 120 s global change is not added on top.
    assert _minutes_from_a(_transfer_network(tmp_path, ["B,B2,2,180,"], min_change=120),
                           "D") == 30.0
    # Type 3 removes the crow-fly footpath.
    net = _transfer_network(tmp_path, ["B,B2,3,,"])
    assert _minutes_from_a(net, "D") == _walk_s(net, "A", "D") / 60


def test_transfer_beyond_the_footpath_limit(tmp_path: Path) -> None:
    # With footpaths limited to 30 s of walking, B -> B2 (~100 s) is no footpath: walk to D.
    net = _transfer_network(tmp_path, [], transfer_max_minutes=0.5)
    assert _minutes_from_a(net, "D") == _walk_s(net, "A", "D") / 60
    # The feed's transfer links them anyway (type 0: crow-fly walk + global change, 0 s).
    net = _transfer_network(tmp_path, ["B,B2,0,,"], transfer_max_minutes=0.5)
    assert _minutes_from_a(net, "D") == 30.0


def test_bad_transfers_are_named(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=r"transfers.txt: line 2: field 'transfer_type'.*'7'"):
        _transfer_network(tmp_path, ["B,B,7,,"])
    with pytest.raises(FeedError, match=r"transfers.txt: line 3: transfer_type 2 needs"):
        _transfer_network(tmp_path, ["B,B,0,,", "B,B2,2,,"])


@pytest.mark.parametrize("min_change", [0, 60])
def test_both_measures_in_one_pass_equal_separate_scans(feeds_dir: Path, min_change: int) -> None:
    network, targets, origins, _, _ = _real_case(
        feeds_dir / "newport-20230613_gtfs.zip", min_change, 5)
    window = Window(hms("07:00:00"), hms("10:00:00"), 60)
    sets = [targets.select(targets.always_open), targets, targets.select([2, 3])]
    together = profile_search_many(network, sets, max_access_minutes=10.0)
    for chosen, found in zip(sets, together, strict=True):
        alone = profile_search(network, chosen, max_access_minutes=10.0)
        assert np.array_equal(found.length, alone.length)
        assert np.array_equal(found.served(origins, window)[0], alone.served(origins, window)[0])
        assert np.array_equal(found.served(origins, window)[1], alone.served(origins, window)[1])


def test_layered_scan_equals_the_single_target_set_kernel(feeds_dir: Path) -> None:
    # profile_search runs the packed, pruned kernel (siting.scan); the plain reference scan
    # (siting.scan_reference) must give the same profiles, entry for entry.
    network, targets, _, _, _ = _real_case(feeds_dir / "chester-20230816-small_gtfs.zip", 0, 9)
    found = profile_search(network, targets, max_access_minutes=10.0)
    eg_off, eg_tgt, eg_sec = walk_csr(network, network.stop_xy, targets.xy, 600)
    change_s, fp_total = change_costs(network)
    length, dep, key = profile_scan_changes(
        network.dep_stop, network.arr_stop, network.dep_time, network.arr_time, network.trip,
        network.can_board, network.can_alight, len(network.run_ids), found.start,
        network.fp_offsets, network.fp_to, fp_total, eg_off, eg_tgt, eg_sec, targets.open_s,
        targets.close_s, change_s, True)
    assert np.array_equal(length, found.length)
    for s in range(network.n_stops):
        part = slice(found.start[s], found.start[s] + length[s])
        assert np.array_equal(dep[part], found.dep[part])
        assert np.array_equal(key[part], found.key[part])


def test_walk_keys_skip_only_targets_that_cannot_win() -> None:
    # Worked by hand. Targets: 0 open 08:00-20:00, 600 s away; 1 always open, 600 s;
    # 2 open 06:00-07:05, 300 s; 3 always open, 900 s. The best 24/7 walk is target 1
    # (600 s), so 3 is never evaluated, while 2 (nearer) and 0 (as near, lower index) are.
    # 06:59: 2 is reached at 07:04, before it closes -> (07:04, 2).
    # 07:00: 2 is reached at its closing time -> shut; 0 opens at 08:00 -> 1 at 07:10.
    # 07:59: 0 and 1 are both reached at 08:09; 0 is open and has the lower index -> (08:09, 0).
    from siting.travel import _SLOTS, ALWAYS_CLOSE, ALWAYS_OPEN, _walk_keys

    h = 3600
    direct = np.array([600, 600, 300, 900], dtype=np.int64)
    open_s = np.array([8 * h, ALWAYS_OPEN, 6 * h, ALWAYS_OPEN], dtype=np.int64)
    close_s = np.array([20 * h, ALWAYS_CLOSE, 7 * h + 300, ALWAYS_CLOSE], dtype=np.int64)
    departures = np.array([6 * h + 59 * 60, 7 * h, 7 * h + 59 * 60], dtype=np.int64)
    out = np.zeros(3, dtype=np.int64)
    _walk_keys(out, direct, open_s, close_s, 4, departures)
    assert [(int(k) // _SLOTS, int(k) % _SLOTS) for k in out] == [
        (7 * h + 4 * 60, 2), (7 * h + 10 * 60, 1), (8 * h + 9 * 60, 0)]


def test_pooled_draws_use_the_narrowest_types_that_hold_every_value() -> None:
    # int32 served times unless the latest possible one (a draw's latest arrival, moved by up
    # to a headway, plus an egress walk; a departure plus a direct walk; an opening time)
    # passes 2**31 - 1; int8 target indices up to 126 targets (indices 0-125, -1 for none),
    # int16 up to 32,766, else int32.
    from types import SimpleNamespace

    from siting.draws import _narrowest
    from siting.travel import ALWAYS_CLOSE, ALWAYS_OPEN, Window

    def types(arr_max: int, headway: int, egress_max: int, direct_max: int, n_targets: int,
              opens: int = ALWAYS_OPEN) -> tuple[type, type]:
        network = SimpleNamespace(arr_time=np.array([0, arr_max], dtype=np.int64),
                                  entry_headway=np.array([headway], dtype=np.int32))
        egress = [(None, None, np.array([egress_max], dtype=np.int64))]
        direct = np.full((1, 3, n_targets), direct_max, dtype=np.int64)
        open_s = np.full((1, n_targets), opens, dtype=np.int64)
        return _narrowest(network, egress, direct, open_s, Window(0, 600))

    top = 2**31 - 1
    assert types(50_000, 1_800, 900, 7_200, 77) == (np.int32, np.int8)
    assert types(top - 1_000, 600, 399, 0, 77) == (np.int32, np.int8)
    assert types(top - 1_000, 600, 400, 0, 77) == (np.int64, np.int8)  # reaches 2**31 - 1
    assert types(0, 0, 0, top, 77) == (np.int64, np.int8)
    assert types(0, 0, 0, 0, 77, opens=top) == (np.int64, np.int8)
    assert types(0, 0, 0, 0, 126) == (np.int32, np.int8)
    assert types(0, 0, 0, 0, 127) == (np.int32, np.int16)
    assert types(0, 0, 0, 0, 32_766) == (np.int32, np.int16)
    assert types(0, 0, 0, 0, 32_767) == (np.int32, np.int32)
    assert types(0, 0, 0, 0, 40_000) == (np.int32, np.int32)
    assert top < ALWAYS_CLOSE
