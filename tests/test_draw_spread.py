"""siting.draw_spread: balanced half-samples of a run's draws, and the medians' side of a threshold."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from siting.check import is_over
from siting.draw_spread import (
    _longest_not_over,
    draw_spread_of,
    half_samples,
    over_in_half_samples,
    spread_of,
    tallies,
)
from siting.summaries import summarise_served


def test_half_samples_are_balanced() -> None:
    keep = half_samples(16)
    assert keep.shape == (16, 16)  # 8 pairs need a Hadamard order above 8: 16 half-samples
    pairs = keep.reshape(16, 8, 2)
    assert (pairs.sum(axis=2) == 1).all()  # one draw of every pair
    assert (keep.sum(axis=0) == 8).all()  # every draw in half of them
    first = pairs[:, :, 0]
    for i, j in itertools.combinations(range(8), 2):  # every two pairs: each combination 4 times
        combos = first[:, i] * 2 + first[:, j]
        assert np.bincount(combos, minlength=4).tolist() == [4, 4, 4, 4]
    assert half_samples(1).shape == (0, 1)  # one draw: nothing to split
    odd = half_samples(3)
    assert odd.tolist() == [[True, False, True], [False, True, True]]  # the last in every one


def test_the_longest_seconds_not_over_a_threshold() -> None:
    # 45 minutes is 2,700 s, not over 45 (is_over allows 1e-9 minutes); 2,701 s is over.
    # 14.99 minutes is 899.4 s: 899 s is not over, 900 s is. 2.25 minutes is 135 s exactly.
    assert [_longest_not_over(t) for t in (45, 60, 14.99, 2.25, 0.5)] == [2700, 3600, 899, 135, 30]
    for t in (45, 14.99, 2.25):
        s = _longest_not_over(t)
        assert not is_over(np.array([s / 60.0]), t)[0]
        assert is_over(np.array([(s + 1) / 60.0]), t)[0]


def test_a_median_on_each_side_of_the_threshold_by_hand() -> None:
    # One origin, departures at 0 and 60 s, two draws. Draw 0 is served at 30 and 150 s
    # (30 and 90 s of travel); draw 1 at 100 s and never (100 s, unreachable).
    served = np.array([[30, 150, 100, -1]])
    departures = np.array([0, 60])
    limits = np.array([1.0, 1.5, 1.6])  # minutes
    count, below, above = tallies(served, departures, limits)
    # draw 0: only 90 s is over 1 minute (1.5 minutes is not over 1.5); draw 1: both, always
    assert count[0].tolist() == [[1, 0, 0], [2, 2, 2]]
    assert below[0].tolist() == [[30, 90, 90], [-1, -1, -1]]
    assert above[0, 0].tolist() == [90, 9223372036854775807, 9223372036854775807]
    every = np.ones((1, 2), dtype=bool)
    # All four: 30, 90, 100, never; the median is (90 + 100) / 2 = 95 s = 1.583 minutes:
    # over 1 and 1.5 minutes, not over 1.6.
    full = over_in_half_samples(count, below, above, every, 2, limits)[0, 0]
    assert full.tolist() == [True, True, False]
    # Half-samples of two draws: draw 0 alone (30, 90 s: median 60 s = 1 minute, over none)
    # and draw 1 alone (100 s and never: the median is unreachable, over all).
    keep = half_samples(2)
    assert keep.tolist() == [[True, False], [False, True]]
    halves = over_in_half_samples(count, below, above, keep, 2, limits)
    assert halves[:, 0].tolist() == [[False, False, False], [True, True, True]]
    # 1,000 people: 1,000 over 1.5 minutes with both draws, 0 and 1,000 in the halves, so the
    # spread is sqrt(((0 - 1000)^2 + 0^2) / 2) = 707.
    item = spread_of(full[None, :], halves, np.array([1000.0]), 2)[1]
    assert item == {"draws": 2, "half_samples": 2, "sd": 707, "half_sample_min": 0,
                    "half_sample_max": 1000, "lsoas_that_flip": 1, "population_that_flips": 1000}
    # the analysis' wrapper, keyed by threshold
    named = spread_of(full[None, :], halves, np.array([1000.0]), 2, np.array(["E01"]))[1]
    assert named["flipping"] == ["E01"]
    wrapped = draw_spread_of(served, departures, [1, 2], np.array([1000.0]))
    assert set(wrapped) == {"1", "2"}
    assert wrapped["1"]["lsoas_that_flip"] == 1
    assert draw_spread_of(served[:, :2], departures, [1], np.array([1.0])) == {}  # one draw


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_tallies_give_the_summary_medians_side_for_any_draws(data) -> None:  # type: ignore[no-untyped-def]
    n_dep = data.draw(st.integers(1, 5))
    n_draws = data.draw(st.integers(1, 5))
    n_origins = data.draw(st.integers(1, 4))
    departures = np.array(sorted(data.draw(st.lists(st.integers(0, 600), min_size=n_dep,
                                                    max_size=n_dep))), dtype=np.int64)
    travel = np.array(data.draw(st.lists(st.integers(-1, 900), min_size=n_origins * n_draws * n_dep,
                                         max_size=n_origins * n_draws * n_dep)),
                      dtype=np.int64).reshape(n_origins, n_draws * n_dep)
    starts = np.tile(departures, n_draws)
    served = np.where(travel < 0, -1, starts[None, :] + travel)
    limits = np.array(data.draw(st.lists(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.25, 7.0, 14.99]),
                                         min_size=1, max_size=3)), dtype=np.float64)
    keep = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=n_draws, max_size=n_draws)
                                       .filter(any), min_size=1, max_size=4)))
    count, below, above = tallies(served, departures, limits)
    flags = over_in_half_samples(count, below, above, keep, n_dep, limits)
    ids = np.array([f"o{i}" for i in range(n_origins)])
    for r, members in enumerate(keep):
        columns = np.concatenate([np.arange(d * n_dep, (d + 1) * n_dep)
                                  for d in np.flatnonzero(members)])
        summary = summarise_served(served[:, columns], np.zeros_like(served[:, columns]),
                                   starts[columns], ids, np.array(["c"]))
        for j, limit in enumerate(limits):
            assert flags[r, :, j].tolist() == is_over(summary["minutes_p50"], limit).tolist()
