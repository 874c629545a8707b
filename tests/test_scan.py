"""The fast scan kernel (packed entries, lower-bound pruning) equals the plain reference scan.

`siting.scan` must give the profiles `siting.scan_reference` gives, entry for entry: on real
feeds (Newport, Chester) with opening hours and several change times, on random small
networks (hypothesis), and on the hand-built cases below. Its lower bounds must hold for every
profile entry: a bound above a real journey would prune the journey away.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siting._errors import ScenarioError
from siting.network._orders import ride_edges
from siting.network.gtfs import busiest_date, read_feed
from siting.network.transit import TransitNetwork
from siting.network.walk import WalkModel
from siting.scan import UNREACHABLE, board_bounds, pack_layout, scan_profiles
from siting.scan_reference import profile_scan_changes
from siting.travel import (
    ALWAYS_CLOSE,
    ALWAYS_OPEN,
    Targets,
    change_costs,
    profile_search_many,
    walk_csr,
)
from test_travel_engine import _real_case

_INF = np.iinfo(np.int64).max


def _entries(length: np.ndarray, dep: np.ndarray, key: np.ndarray, start: np.ndarray, s: int):
    part = slice(start[s], start[s] + length[s])
    return dep[part].tolist(), key[part].tolist()


def _reference(conn, n_trips, start, footpaths, change_s, egress, open_s, close_s):
    iterate = bool((change_s == 0).any() or (footpaths[2] <= 0).any())
    return profile_scan_changes(*conn, n_trips, start, *footpaths, *egress, open_s, close_s,
                                change_s, iterate)


def _fast(conn, n_trips, start, footpaths, change_s, egress_sets, open_s, close_s):
    """scan_profiles on several layers at once, with the bounds the engine computes."""
    n_stops = len(start) - 1
    n_layers = len(egress_sets)
    eg_off = np.zeros((n_layers, n_stops + 1), dtype=np.int64)
    tgt, sec, base = [], [], 0
    least = np.full((n_layers, n_stops), UNREACHABLE, dtype=np.int64)
    for layer, (off, t, s) in enumerate(egress_sets):
        eg_off[layer] = off + base
        tgt.append(t)
        sec.append(s)
        base += len(t)
        for v in range(n_stops):
            if off[v + 1] > off[v]:
                least[layer, v] = int(np.min(s[off[v]:off[v + 1]]))
    dep_stop, arr_stop, dep_time, arr_time, trip = conn[:5]
    edges = ride_edges(dep_stop, arr_stop, dep_time, arr_time, trip, n_stops)
    bound = board_bounds(edges, n_stops, least, change_s, *footpaths)
    found = scan_profiles(conn, n_trips, start, footpaths, change_s,
                          (eg_off, np.concatenate(tgt), np.concatenate(sec)), open_s, close_s,
                          bound)
    return found, bound


def _check_equal(conn, n_trips, start, footpaths, change_s, egress_sets, hours):
    width = max(len(o) for o, _ in hours)
    open_s = np.full((len(hours), width), ALWAYS_OPEN, dtype=np.int64)
    close_s = np.full((len(hours), width), ALWAYS_CLOSE, dtype=np.int64)
    for layer, (o, c) in enumerate(hours):
        open_s[layer, :len(o)] = o
        close_s[layer, :len(c)] = c
    found, bound = _fast(conn, n_trips, start, footpaths, change_s, egress_sets, open_s, close_s)
    n_stops = len(start) - 1
    for layer, (length, dep, key) in enumerate(found):
        ref_len, ref_dep, ref_key = _reference(conn, n_trips, start, footpaths, change_s,
                                               egress_sets[layer], hours[layer][0],
                                               hours[layer][1])
        assert length.tolist() == ref_len.tolist()
        for s in range(n_stops):
            assert _entries(length, dep, key, start, s) == _entries(ref_len, ref_dep, ref_key,
                                                                    start, s)
            # Every entry respects the stop's lower bound (served - departure >= bound).
            d, k = _entries(length, dep, key, start, s)
            for departure, packed in zip(d, k, strict=True):
                assert (packed >> 20) - departure >= bound[layer, s]


# --------------------------------------------------------------------------- real feeds

def _hms(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 3600 + int(m) * 60


@pytest.mark.parametrize(("feed_name", "min_change"), [
    ("newport-20230613_gtfs.zip", 0),
    ("newport-20230613_gtfs.zip", 120),
    ("chester-20230816-small_gtfs.zip", 0),
    ("chester-20230816-small_gtfs.zip", 90),
])
def test_fast_scan_equals_reference_on_real_feeds(feeds_dir: Path, feed_name: str,
                                                  min_change: int) -> None:
    # The travel-engine tests' real case: busy stops as targets, some with opening hours.
    network, targets, _, _, _ = _real_case(feeds_dir / feed_name, min_change,
                                           min_change + len(feed_name))
    sets = [targets.select(targets.always_open), targets, targets.select([2, 3])]
    found = profile_search_many(network, sets, max_access_minutes=10.0)
    change_s, fp_total = change_costs(network)
    for chosen_set, profiles in zip(sets, found, strict=True):
        egress = walk_csr(network, network.stop_xy, chosen_set.xy, 600)
        length, dep, key = profile_scan_changes(
            network.dep_stop, network.arr_stop, network.dep_time, network.arr_time,
            network.trip, network.can_board, network.can_alight, len(network.run_ids),
            profiles.start, network.fp_offsets, network.fp_to, fp_total, *egress,
            chosen_set.open_s, chosen_set.close_s, change_s, True)
        assert np.array_equal(length, profiles.length)
        for s in range(network.n_stops):
            assert _entries(length, dep, key, profiles.start, s) == _entries(
                profiles.length, profiles.dep, profiles.key, profiles.start, s)


def test_draws_share_their_network_ride_edges(feeds_dir: Path) -> None:
    feed = read_feed(feeds_dir / "newport-20230613_gtfs.zip")
    network = TransitNetwork.build(feed, busiest_date(feed), _hms("07:00"), _hms("10:00"))
    drawn = network.draw(0, 1)
    assert drawn.ride_edges() is network.ride_edges()


# --------------------------------------------------------------------------- hand-built

def _line_case(change: int):
    """Stops 0-1-2 on trip 0 (leaves 0 at 100, 1 at 200, reaches 2 at 300); trip 1 leaves 1
    at 250 and reaches 3 at 290; the target is at stop 3 (egress 10 s) and at stop 2 (500 s)."""
    dep_stop = np.array([1, 0, 1], dtype=np.int32)
    arr_stop = np.array([3, 1, 2], dtype=np.int32)
    dep_time = np.array([250, 100, 200], dtype=np.int32)
    arr_time = np.array([290, 190, 300], dtype=np.int32)
    trip = np.array([1, 0, 0], dtype=np.int32)
    order = np.argsort(dep_time, kind="stable")
    conn = (*tuple(a[order] for a in (dep_stop, arr_stop, dep_time, arr_time, trip)), np.ones(3, dtype=np.bool_), np.ones(3, dtype=np.bool_))
    start = np.array([0, 1, 3, 3, 3], dtype=np.int64)
    footpaths = (np.zeros(5, dtype=np.int64), np.zeros(0, dtype=np.int32),
                 np.zeros(0, dtype=np.int64))
    change_s = np.full(4, change, dtype=np.int64)
    egress = (np.array([0, 0, 0, 1, 2], dtype=np.int64), np.array([0, 0], dtype=np.int64),
              np.array([500, 10], dtype=np.int64))
    return conn, start, footpaths, change_s, egress


@pytest.mark.parametrize(("change", "served_from_0"), [(0, 300), (60, 300), (30, 300)])
def test_hand_built_change_and_bound(change: int, served_from_0: int) -> None:
    # From stop 0 at 100: ride to 1 (190). With a change of c, trip 1 (leaves 250) is caught
    # when 190 + c <= 250, i.e. c <= 60: served at 290 + 10 = 300. Staying on to stop 2 gives
    # 300 + 500 = 800. So 300 for every change time up to 60 s.
    conn, start, footpaths, change_s, egress = _line_case(change)
    hours = (np.array([ALWAYS_OPEN]), np.array([ALWAYS_CLOSE]))
    found, bound = _fast(conn, 2, start, footpaths, change_s, [egress],
                         np.array([[ALWAYS_OPEN]]), np.array([[ALWAYS_CLOSE]]))
    length, dep, key = found[0]
    assert _entries(length, dep, key, start, 0) == ([100], [served_from_0 << 20])
    # Hand-worked bounds: stop 3 cannot be boarded from (no hop leaves it): unreachable.
    # Stop 1: board trip 1 (290 - 250 = 40 s) then egress 10 s = 50 s.
    # Stop 0: board (190 - 100 = 90 s), then the least of change (c) + 50 at stop 1, or
    # staying on to 2 (110 s) + 500: 90 + c + 50.
    assert bound[0, 3] == UNREACHABLE
    assert bound[0, 1] == 50
    assert bound[0, 0] == 140 + change
    _check_equal(conn, 2, start, footpaths, change_s, [egress], [hours])


def test_too_long_a_network_is_a_named_error() -> None:
    with pytest.raises(ScenarioError, match="spans"):
        pack_layout(3, 0, 1 << 40)


# --------------------------------------------------------------------------- random networks

@st.composite
def _networks(draw):
    n_stops = draw(st.integers(2, 7))
    n_trips = draw(st.integers(1, 6))
    hops = []
    for trip in range(n_trips):
        length = draw(st.integers(1, 4))
        stops = draw(st.lists(st.integers(0, n_stops - 1), min_size=length + 1,
                              max_size=length + 1))
        t = draw(st.integers(0, 40)) * 10
        allowance = draw(st.sampled_from([0, 0, 20]))
        for position in range(length):
            if stops[position] == stops[position + 1]:
                continue
            run = draw(st.sampled_from([0, 10, 30, 60]))
            hops.append((stops[position], stops[position + 1], t - allowance, t + run, trip,
                         position))
            t += run + draw(st.sampled_from([0, 0, 10]))
    if not hops:
        hops.append((0, 1, 0, 30, 0, 0))
    hops_a = np.array(hops, dtype=np.int64)
    positive = (hops_a[:, 3] > hops_a[:, 2]).astype(np.int64)
    order = np.lexsort((hops_a[:, 5], hops_a[:, 4], positive, hops_a[:, 2]))
    hops_a = hops_a[order]
    conn = (hops_a[:, 0].astype(np.int32), hops_a[:, 1].astype(np.int32),
            hops_a[:, 2].astype(np.int32), hops_a[:, 3].astype(np.int32),
            hops_a[:, 4].astype(np.int32),
            np.array(draw(st.lists(st.booleans(), min_size=len(hops_a), max_size=len(hops_a))),
                     dtype=np.bool_) | (np.arange(len(hops_a)) % 2 == 0),
            np.array(draw(st.lists(st.booleans(), min_size=len(hops_a), max_size=len(hops_a))),
                     dtype=np.bool_) | (np.arange(len(hops_a)) % 3 == 0))
    boardable = np.bincount(conn[0][conn[5]], minlength=n_stops)
    start = np.zeros(n_stops + 1, dtype=np.int64)
    np.cumsum(boardable, out=start[1:])
    pairs = draw(st.lists(st.tuples(st.integers(0, n_stops - 1), st.integers(0, n_stops - 1),
                                    st.sampled_from([0, 15, 45, 120])), max_size=8))
    pairs = sorted({(a, b): s for a, b, s in pairs if a != b}.items())
    fp_from = np.array([p[0][0] for p in pairs], dtype=np.int64)
    fp_off = np.zeros(n_stops + 1, dtype=np.int64)
    np.cumsum(np.bincount(fp_from, minlength=n_stops), out=fp_off[1:])
    footpaths = (fp_off, np.array([p[0][1] for p in pairs], dtype=np.int32),
                 np.array([p[1] for p in pairs], dtype=np.int64))
    change_s = np.array(draw(st.lists(st.sampled_from([-1, 0, 0, 30, 120]), min_size=n_stops,
                                      max_size=n_stops)), dtype=np.int64)
    n_targets = draw(st.integers(1, 3))
    sets, hours = [], []
    for _ in range(draw(st.integers(1, 2))):
        links = draw(st.lists(st.tuples(st.integers(0, n_stops - 1),
                                        st.integers(0, n_targets - 1),
                                        st.sampled_from([0, 20, 100])), min_size=1, max_size=6))
        links = sorted({(v, t): s for v, t, s in links}.items())
        off = np.zeros(n_stops + 1, dtype=np.int64)
        np.cumsum(np.bincount([v for (v, _), _ in links], minlength=n_stops), out=off[1:])
        sets.append((off, np.array([t for (_, t), _ in links], dtype=np.int64),
                     np.array([s for _, s in links], dtype=np.int64)))
        opening = []
        for _ in range(n_targets):
            opening.append(draw(st.sampled_from([None, (100, 300), (0, 150), (250, 600)])))
        hours.append((np.array([ALWAYS_OPEN if h is None else h[0] for h in opening]),
                      np.array([ALWAYS_CLOSE if h is None else h[1] for h in opening])))
    return conn, n_trips, start, footpaths, change_s, sets, hours


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_networks())
def test_fast_scan_equals_reference_on_random_networks(case) -> None:
    conn, n_trips, start, footpaths, change_s, sets, hours = case
    _check_equal(conn, n_trips, start, footpaths, change_s, sets, hours)


def test_keys_are_32_bit_only_while_the_span_allows() -> None:
    # 3 targets take 2 bits; a 32-bit row leaves 29 bits (2**29 - 1 s) for the served time.
    assert pack_layout(3, 0, (1 << 29) - 2) == (2, 29)
    assert pack_layout(3, 0, (1 << 29) - 1) == (2, 30)  # 64-bit rows: (63 - 2) // 2 bits


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_networks())
def test_fast_scan_on_64_bit_rows_equals_reference(case) -> None:
    # One more trip, a hop 0 -> 1 departing 2**(31 - G) s later (G bits for the targets),
    # widens the network's span past what a 32-bit key holds: the scan then keeps 64-bit
    # rows, with the same profiles.
    conn, n_trips, start, footpaths, change_s, sets, hours = case
    g_bits = max(len(o) for o, _ in hours).bit_length()
    far = 1 << (31 - g_bits)
    assert pack_layout(max(len(o) for o, _ in hours), -20, far + 30)[1] > 31 - g_bits
    extra = (0, 1, far, far + 30, n_trips, True, True)
    conn = tuple(np.append(column, np.array([value], dtype=column.dtype))
                 for column, value in zip(conn, extra, strict=True))
    start = start.copy()
    start[1:] += 1  # the new hop boards at stop 0
    _check_equal(conn, n_trips + 1, start, footpaths, change_s, sets, hours)


# --------------------------------------------------------------------------- draws: cut, threads

def _served_in_full(network: TransitNetwork, sets: dict[str, Targets], origins: np.ndarray,
                    window, draws: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """served_over_draws done the plain way: every draw scanned in full, one at a time."""
    from siting.draws import draw_networks

    parts: dict[str, list] = {name: [] for name in sets}
    for drawn in draw_networks(network, draws, seed):
        found = profile_search_many(drawn, list(sets.values()), max_access_minutes=10.0)
        for name, profiles in zip(sets, found, strict=True):
            parts[name].append(profiles.served(origins, window))
    return {name: (np.concatenate([p[0] for p in got], axis=1),
                   np.concatenate([p[1] for p in got], axis=1)) for name, got in parts.items()}


def _assert_draws_equal_full_scans(network: TransitNetwork, sets: dict[str, Targets],
                                   origins: np.ndarray, window, *, draws: int, seed: int) -> None:
    """served_over_draws gives, measure by measure, exactly what `_served_in_full` gives."""
    from siting.draws import served_over_draws

    firsts: list = []
    got = served_over_draws(network, sets, origins, window, draws=draws, seed=seed,
                            max_access_minutes=10.0,
                            on_first=lambda profiles, served: firsts.append((profiles, served)))
    want = _served_in_full(network, sets, origins, window, draws, seed)
    for name in sets:
        assert np.array_equal(got[name][0], want[name][0])
        assert np.array_equal(got[name][1], want[name][1])
    # on_first: once, with draw 0's profiles and served times, which the journeys reuse as
    # what those profiles give (Profiles.served)
    assert len(firsts) == 1
    profiles, served = firsts[0]
    n_dep = len(window.departures)
    for name in sets:
        again = profiles[name].served(origins, window)
        assert np.array_equal(served[name][0], again[0])
        assert np.array_equal(served[name][1], again[1])
        assert np.array_equal(served[name][0], got[name][0][:, :n_dep])


@pytest.mark.parametrize("threads", [1, 2])
def test_draws_with_the_cut_and_threads_equal_full_scans(feeds_dir: Path, threads: int,
                                                         monkeypatch) -> None:
    import siting.draws as draws
    from siting.draws import _between, _certified
    from siting.travel import Window

    monkeypatch.setattr(draws, "get_num_threads", lambda: threads)
    feed = read_feed(feeds_dir / "newport-20230613_gtfs.zip")
    network = TransitNetwork.build(feed, busiest_date(feed), _hms("07:00"), _hms("13:00"),
                                   WalkModel(), min_change_seconds=60)
    rng = np.random.default_rng(4)
    busy = np.argsort(-np.bincount(network.dep_stop, minlength=network.n_stops),
                      kind="stable")[:20]
    targets = Targets.from_arrays(["a", "b", "c"], network.stop_xy[rng.choice(busy, 3)],
                                  [np.nan, _hms("08:00"), np.nan],
                                  [np.nan, _hms("09:00"), np.nan])
    sets = {"24h": targets.select(targets.always_open), "any": targets}
    origins = network.stop_xy[rng.choice(busy, 30)] + rng.normal(0, 300, (30, 2))
    # A 30-minute window: the first scan stops at 10:00 (window end + 2 h), which Newport's
    # journeys (all served well before) certify.
    window = Window(_hms("07:30"), _hms("08:00"), 60)
    cut = window.end_s + 2 * 3600
    first = profile_search_many(_between(network.draw(5, 0), window.start_s, cut),
                                list(sets.values()),
                                max_access_minutes=10.0)
    assert all(_certified(p.served(origins, window)[0], cut) for p in first)
    _assert_draws_equal_full_scans(network, sets, origins, window, draws=3, seed=5)


def test_a_result_after_the_cut_is_scanned_again_in_full(feeds_dir: Path) -> None:
    from siting.draws import _between, _certified, served_over_draws
    from siting.travel import Window

    feed = read_feed(feeds_dir / "newport-20230613_gtfs.zip")
    network = TransitNetwork.build(feed, busiest_date(feed), _hms("07:00"), _hms("13:00"),
                                   WalkModel())
    # An origin 30 km away from the only target: walking there takes about 8 hours, so its
    # result at every departure falls after the cut, and the draw must be scanned in full.
    target = Targets.from_arrays(["t"], network.stop_xy[:1])
    origins = np.vstack([network.stop_xy[:1] + 100.0, network.stop_xy[:1] + 30_000.0])
    window = Window(_hms("07:30"), _hms("07:35"), 60)
    cut = window.end_s + 2 * 3600
    truncated = _between(network, window.start_s, cut)
    assert truncated.n_connections < network.n_connections
    assert (truncated.dep_time < cut).all()
    assert (truncated.dep_time >= window.start_s).all()
    quick = profile_search_many(truncated, [target], max_access_minutes=10.0)[0]
    assert not _certified(quick.served(origins, window)[0], cut)
    got = served_over_draws(network, {"t": target}, origins, window, draws=1, seed=0,
                            max_access_minutes=10.0)["t"]
    want = _served_in_full(network, {"t": target}, origins, window, 1, 0)["t"]
    assert np.array_equal(got[0], want[0])
    assert np.array_equal(got[1], want[1])


def test_draw_lookups_skip_only_access_stops_that_cannot_win(feeds_dir: Path) -> None:
    """The draws' lookup visits each origin's access stops in ascending walk + lower bound and
    stops once that exceeds the origin's longest time: on 300 origins scattered around
    Newport's stops (1.5 km standard deviation: beside stops, between them and far from any), the result equals full scans looked up
    stop by stop, and the skip does happen."""
    from siting.draws import _access_order
    from siting.travel import Window, search_bounds, walk_csr

    feed = read_feed(feeds_dir / "newport-20230613_gtfs.zip")
    network = TransitNetwork.build(feed, busiest_date(feed), _hms("07:00"), _hms("13:00"),
                                   WalkModel(), min_change_seconds=60)
    rng = np.random.default_rng(11)
    origins = (network.stop_xy[rng.choice(network.n_stops, 300)]
               + rng.normal(0.0, 1500.0, (300, 2)))
    targets = Targets.from_arrays(["a", "b"], network.stop_xy[rng.choice(network.n_stops, 2)],
                                  [np.nan, _hms("08:00")], [np.nan, _hms("09:00")])
    sets = {"24h": targets.select(targets.always_open), "any": targets}
    window = Window(_hms("07:30"), _hms("08:00"), 60)
    _assert_draws_equal_full_scans(network, sets, origins, window, draws=2, seed=3)
    access = walk_csr(network, origins, network.stop_xy, 600)
    egress = [walk_csr(network, network.stop_xy, t.xy, 600) for t in sets.values()]
    off, _stops, _walk, least = _access_order(access, search_bounds(network, egress))
    assert all((np.diff(least[off[o]:off[o + 1]]) >= 0).all() for o in range(len(off) - 1))
    # the bound is worth having: some access stop of some origin is beyond its reach
    assert (least > 3600).any()


def test_prefetch_hint_compiles_and_changes_nothing() -> None:
    # The scan asks for cache lines with LLVM's prefetch: it compiles on any array type and
    # changes nothing, even past the ends.
    from numba import njit

    from siting import _prefetch

    assert _prefetch.prefetch is _prefetch._prefetch

    @njit
    def touch(a: np.ndarray, b: np.ndarray) -> int:
        for i in range(-4, a.size + 4):
            _prefetch.prefetch(a, i)
            _prefetch.prefetch(b, i)
        return int(a.sum() + b.sum())

    a = np.arange(12, dtype=np.int64).reshape(4, 3)
    b = np.arange(5, dtype=np.int32)
    assert touch(a, b) == 66 + 10
    assert a.sum() == 66
    assert b.sum() == 10


def test_scan_loops_run_without_reference_counting() -> None:
    # numba counted every array handed to an inlined helper up and down with atomic
    # instructions, about nine per connection; the scan loops allocate nothing and are
    # compiled without it. A loop that allocated would not compile this way.
    from numba import njit
    from numba.core.errors import TypingError

    from siting import scan, scan_reference

    for kernel in (scan._scan, scan_reference._scan_loop, scan_reference._alight_value):
        assert kernel.targetoptions.get("_nrt") is False

    @njit(_nrt=False)
    def allocates(n: int) -> np.ndarray:
        return np.zeros(n)

    with pytest.raises(TypingError, match="zeros"):
        allocates(3)


@settings(deadline=None)  # the first example compiles the kernel
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), max_size=40))
def test_row_starts_count_each_stops_boardings(hops: list[tuple[int, bool]]) -> None:
    from siting.scan import row_starts

    dep_stop = np.array([h[0] for h in hops], dtype=np.int32)
    can_board = np.array([h[1] for h in hops], dtype=np.bool_)
    start = row_starts(dep_stop, can_board, 7)
    expected = np.zeros(8, dtype=np.int64)
    np.cumsum(np.bincount(dep_stop[can_board], minlength=7), out=expected[1:])
    assert start.tolist() == expected.tolist()
