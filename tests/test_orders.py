"""The counting-sort orders of `siting.network._orders` against the numpy sorts they replace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siting.network._orders import departure_order, least_edges, ride_edges, tie_order


def _least_by_sort(frm, to, seconds, n_stops):
    """The numpy version the network used before: a stable argsort on the pair key."""
    pair = frm.astype(np.int64) * n_stops + to.astype(np.int64)
    order = np.argsort(pair, kind="stable")
    pair = pair[order]
    if len(pair) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    first = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    least = np.minimum.reduceat(seconds.astype(np.int64)[order], first)
    return pair[first] // n_stops, pair[first] % n_stops, least


def _ride_by_sort(dep_stop, arr_stop, dep_time, arr_time, trip, n_stops):
    board = _least_by_sort(dep_stop, arr_stop, (arr_time.astype(np.int64) - dep_time).clip(0),
                           n_stops)
    order = np.argsort(trip.astype(np.int64) * (1 << 32) + (arr_time.astype(np.int64) + (1 << 31)),
                       kind="stable")
    same = trip[order][1:] == trip[order][:-1]
    stay = _least_by_sort(arr_stop[order][:-1][same], arr_stop[order][1:][same],
                          np.diff(arr_time[order].astype(np.int64))[same].clip(0), n_stops)
    return board + stay


def _same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) and x.dtype == y.dtype
                                    for x, y in zip(a, b, strict=True))


def test_least_edges_by_hand() -> None:
    # pairs (1->0: 7 and 5), (0->2: 3), (1->0 again: 6), (0->1: 4): sorted by (from, to)
    frm = np.array([1, 0, 1, 0])
    to = np.array([0, 2, 0, 1])
    seconds = np.array([7, 3, 5, 4])
    got = least_edges(frm, to, seconds, 3)
    assert [x.tolist() for x in got] == [[0, 0, 1], [1, 2, 0], [4, 3, 5]]
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        least_edges(np.array([3]), np.array([0]), np.array([1]), 3)


def test_ride_edges_by_hand() -> None:
    # run 5: stops 0 -> 1 -> 2 (arrivals 100, 160); run 2: 1 -> 2 arriving 150, listed first.
    # Stay edges follow each run in arrival order: run 5's 1 -> 2 (60 s) only.
    dep_stop = np.array([1, 0, 1], dtype=np.int32)
    arr_stop = np.array([2, 1, 2], dtype=np.int32)
    dep_time = np.array([90, 50, 110], dtype=np.int32)
    arr_time = np.array([150, 100, 160], dtype=np.int32)
    trip = np.array([2, 5, 5], dtype=np.int32)
    got = ride_edges(dep_stop, arr_stop, dep_time, arr_time, trip, 3)
    assert [x.tolist() for x in got] == [[0, 1], [1, 2], [50, 50], [1], [2], [60]]


networks = st.integers(0, 60).flatmap(lambda n: st.tuples(
    st.integers(1, 9),
    st.lists(st.integers(0, 8), min_size=n, max_size=n),
    st.lists(st.integers(0, 8), min_size=n, max_size=n),
    st.lists(st.integers(-300, 300), min_size=n, max_size=n),
    st.lists(st.integers(-5, 200), min_size=n, max_size=n),
    st.lists(st.integers(-2, 6), min_size=n, max_size=n),
))


@settings(max_examples=200, deadline=None)
@given(networks)
def test_orders_equal_the_numpy_sorts(net) -> None:
    n_stops, frm, to, dep, dur, trip = net
    dep_stop = np.array(frm, dtype=np.int32) % n_stops
    arr_stop = np.array(to, dtype=np.int32) % n_stops
    dep_time = np.array(dep, dtype=np.int32)
    arr_time = dep_time + np.array(dur, dtype=np.int32)  # negative durations too
    runs = np.array(trip, dtype=np.int32)
    assert _same(ride_edges(dep_stop, arr_stop, dep_time, arr_time, runs, n_stops),
                 _ride_by_sort(dep_stop, arr_stop, dep_time, arr_time, runs, n_stops))
    assert np.array_equal(tie_order(arr_time, dep_time, runs),
                          np.lexsort((np.arange(len(runs)), runs, arr_time > dep_time)))
    # positions rising within each run (as the network lists hops), and in any order
    rank = np.empty(len(runs), dtype=np.int64)
    rank[np.lexsort((np.arange(len(runs)), runs))] = np.arange(len(runs))
    for position in (rank, np.arange(len(runs))[::-1].copy()):
        assert np.array_equal(departure_order(dep_time, arr_time, runs, position),
                              np.lexsort((position, runs, arr_time > dep_time, dep_time)))


@pytest.mark.parametrize("name", ["newport", "chester"])
def test_orders_on_real_feeds(feeds_dir, name) -> None:
    from siting.network.gtfs import busiest_date, read_feed
    from siting.network.transit import TransitNetwork

    feed = read_feed(next(feeds_dir.glob(f"*{name}*")))
    network = TransitNetwork.build(feed, busiest_date(feed), 6 * 3600, 11 * 3600)
    args = (network.dep_stop, network.arr_stop, network.dep_time, network.arr_time,
            network.trip, network.n_stops)
    assert network.n_connections > 1_000
    # the build's departure_order: by departure, then zero-duration hops, then run
    key = np.lexsort((network.trip, network.arr_time > network.dep_time, network.dep_time))
    assert np.array_equal(key, np.arange(network.n_connections))
    assert _same(ride_edges(*args), _ride_by_sort(*args))
    assert np.array_equal(tie_order(network.arr_time, network.dep_time, network.trip),
                          np.lexsort((np.arange(network.n_connections), network.trip,
                                      network.arr_time > network.dep_time)))


def _drawn_by_sort(dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight,
                   run_shift, run_valid, start_s, end_s):
    """A draw's arrays as a stable argsort on the shifted departure would give them."""
    shifted = dep_time.astype(np.int64) + run_shift[trip]
    keep = np.flatnonzero(run_valid[trip] & (shifted >= start_s) & (shifted < end_s))
    order = keep[np.argsort(shifted[keep], kind="stable")]
    shift = run_shift[trip[order]]
    return (dep_stop[order], arr_stop[order], (dep_time[order] + shift).astype(dep_time.dtype),
            (arr_time[order] + shift).astype(arr_time.dtype), trip[order], can_board[order],
            can_alight[order])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_drawn_arrays_are_a_stable_sort_on_the_shifted_departure(data) -> None:
    # The packed scatter (two words per connection) gives exactly the stable sort's arrays,
    # stop indices up to 2**31 - 1, zero-length hops, unboardable and dropped runs included.
    from siting.network.transit import _drawn_arrays

    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n = data.draw(st.integers(0, 80))
    runs = data.draw(st.integers(1, 8))
    top = data.draw(st.sampled_from([30, 2**31 - 1]))
    dep_time = rng.integers(0, 400, n).astype(np.int32)
    conn = (rng.integers(0, top, n, endpoint=True).astype(np.int32),
            rng.integers(0, top, n, endpoint=True).astype(np.int32), dep_time,
            (dep_time + rng.integers(0, 3, n) * rng.integers(0, 5_000, n)).astype(np.int32),
            rng.integers(0, runs, n).astype(np.int32), rng.random(n) < 0.8, rng.random(n) < 0.8)
    run_shift = rng.integers(0, 60, runs).astype(np.int32)
    run_valid = rng.random(runs) < 0.8
    got = _drawn_arrays(*conn, run_shift, run_valid, 20, 380)
    want = _drawn_by_sort(*conn, run_shift, run_valid, 20, 380)
    for a, b in zip(got, want, strict=True):
        assert a.dtype == b.dtype
        assert np.array_equal(a, b)
