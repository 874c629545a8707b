"""How far the phase draws move a figure over a threshold, estimated from a run's own draws.

A run pools N Monte Carlo draws of the frequency phases (`siting.draws`); another seed gives
other draws and a slightly different count of people over 45 minutes. This module estimates
that spread with no extra scan, by balanced repeated replication (McCarthy 1969; unlike the
jackknife it holds for medians): the draws are paired, (0, 1), (2, 3), ..., and each of R
half-samples keeps one draw of every pair, chosen by one column of a Sylvester-Hadamard
matrix of order R > pairs (the all-ones column left out), so every draw is in half of them
and every two pairs are balanced. With an odd N the last draw is in every half-sample. The
figure's standard deviation is estimated as sqrt(mean over half-samples of (figure_r -
figure)^2). On the London final scenario it gave 1,106-2,236 people (mean 1,691) over ten
seeds, whose own standard deviation was 1,277, a figure ten seeds fix only roughly: the
estimate is of the right size (docs/travel-model.md).

Each origin's median over a half-sample's departures x draws is put on its side of each
threshold by the report's rule (`siting.check.is_over`) from per-draw tallies: how many
samples are over, the longest at or under it and the shortest over it. They give the side of
the median for any set of draws exactly, so the full set of draws gives the run's own flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit

__all__ = ["draw_spread_of", "half_samples", "over_in_half_samples", "spread_of", "tallies"]

_INF = np.iinfo(np.int64).max
_EPS = 1e-9
"""`siting.check`'s tolerance: minutes within it of a threshold are not over it."""


def half_samples(n_draws: int) -> np.ndarray:
    """(R, n_draws) booleans: which draws each balanced half-sample keeps (none if n < 2)."""
    pairs = n_draws // 2
    if pairs == 0:
        return np.zeros((0, n_draws), dtype=bool)
    order = 2
    while order <= pairs:
        order *= 2
    hadamard = np.ones((1, 1), dtype=np.int64)
    while len(hadamard) < order:
        hadamard = np.block([[hadamard, hadamard], [hadamard, -hadamard]])
    keep = np.zeros((order, n_draws), dtype=bool)
    for pair in range(pairs):
        first = hadamard[:, pair + 1] > 0
        keep[:, 2 * pair] = first
        keep[:, 2 * pair + 1] = ~first
    if n_draws % 2:
        keep[:, -1] = True
    return keep


@njit(cache=True, nogil=True)
def _tallies(served, departures, n_draws, longest, count, below, above):
    """Per origin, draw and threshold: samples over it, longest not over, shortest over.
    A sample is over threshold j when its seconds exceed ``longest[j]`` (never served is)."""
    n_dep = len(departures)
    for o in range(served.shape[0]):
        for d in range(n_draws):
            first = d * n_dep
            for j in range(len(longest)):
                limit = longest[j]
                c = 0
                lo = np.int64(-1)
                hi = _INF
                for k in range(n_dep):
                    s = served[o, first + k]
                    seconds = _INF if s < 0 else s - departures[k]
                    if seconds > limit:
                        c += 1
                        hi = min(hi, seconds)
                    else:
                        lo = max(lo, seconds)
                count[o, d, j] = c
                below[o, d, j] = lo
                above[o, d, j] = hi


def _longest_not_over(threshold: float) -> int:
    """The most whole seconds whose minutes are not over ``threshold`` by `siting.check.is_over`
    (seconds / 60 <= threshold + its tolerance), so one integer comparison decides a sample."""
    bound = threshold + _EPS
    seconds = int(np.floor(bound * 60.0))
    while (seconds + 1) / 60.0 <= bound:
        seconds += 1
    while seconds / 60.0 > bound:
        seconds -= 1
    return seconds


def tallies(served: np.ndarray, departures: np.ndarray, thresholds: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-draw tallies of pooled served times (origins x draws * departures, -1 = never).

    Returns (count, below, above), each (origins, draws, thresholds): samples whose minutes
    are over the threshold (never served counts), the longest seconds not over it (-1 if
    none) and the shortest over it (int64 max if none, or only never served).
    """
    departures = np.asarray(departures, dtype=np.int64)
    n_draws = served.shape[1] // max(len(departures), 1)
    if n_draws * len(departures) != served.shape[1]:
        raise ValueError(f"{served.shape[1]} samples are not whole draws of "
                         f"{len(departures)} departures")
    longest = np.array([_longest_not_over(float(t)) for t in np.asarray(thresholds)],
                       dtype=np.int64)
    shape = (served.shape[0], n_draws, len(longest))
    count = np.empty(shape, dtype=np.int64)
    below = np.empty(shape, dtype=np.int64)
    above = np.empty(shape, dtype=np.int64)
    _tallies(np.ascontiguousarray(served, dtype=np.int64), departures, n_draws, longest,
             count, below, above)
    return count, below, above


def over_in_half_samples(count: np.ndarray, below: np.ndarray, above: np.ndarray,
                         keep: np.ndarray, n_departures: int,
                         thresholds: np.ndarray) -> np.ndarray:
    """(sets, origins, thresholds) booleans: whether each origin's median minutes over the
    draws a row of ``keep`` selects are over each threshold, by `siting.check.is_over`.

    The median interpolates linearly as `siting.summaries` does: with n samples sorted it is
    at position (n - 1) / 2, between sorted samples lo and lo + 1. The k-th sample is over
    iff at least n - k samples are; only when exactly n - lo - 1 are does the median fall
    between the longest sample not over and the shortest over, and then it is computed.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    out = np.empty((len(keep), count.shape[0], count.shape[2]), dtype=bool)
    for r, members in enumerate(np.asarray(keep, dtype=bool)):
        n = n_departures * int(members.sum())
        position = 0.5 * (n - 1)
        lo = int(np.floor(position))
        frac = position - lo
        c = count[:, members, :].sum(axis=1)
        over = c >= n - lo
        if frac > 0:
            tie = c == n - lo - 1
            v_lo = below[:, members, :].max(axis=1).astype(np.float64)
            v_hi = above[:, members, :].min(axis=1)
            finite = v_hi != _INF
            value = np.where(finite, v_lo + frac * (np.where(finite, v_hi, 0).astype(np.float64)
                                                    - v_lo), np.inf)
            minutes = value / 60.0
            over |= tie & ~(minutes <= thresholds[None, :] + _EPS)
        out[r] = over
    return out


def spread_of(over_full: np.ndarray, over_halves: np.ndarray, population: np.ndarray,
              n_draws: int, ids: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Per threshold: the people over it in every half-sample and the spread they imply.

    ``over_full``: (origins, thresholds) flags of all draws; ``over_halves``: (R, origins,
    thresholds). Each item: sd (estimated standard deviation of the people over, rounded),
    half_sample_min/max, lsoas_that_flip (origins on the other side of the threshold, in some
    half-sample, from where all the draws put them) and their population; with ``ids``,
    also flipping: those origins' ids, sorted.
    """
    population = np.asarray(population, dtype=float)
    out = []
    for j in range(over_full.shape[1]):
        full = float(population[over_full[:, j]].sum())
        per_half = np.array([population[h[:, j]].sum() for h in over_halves], dtype=float)
        flips = (over_halves[:, :, j] != over_full[None, :, j]).any(axis=0)
        out.append({
            "draws": n_draws,
            "half_samples": len(over_halves),
            "sd": round(float(np.sqrt(np.mean((per_half - full) ** 2)))),
            "half_sample_min": round(float(per_half.min())),
            "half_sample_max": round(float(per_half.max())),
            "lsoas_that_flip": int(flips.sum()),
            "population_that_flips": round(float(population[flips].sum())),
            **({} if ids is None else
               {"flipping": sorted(str(i) for i in np.asarray(ids)[flips])}),
        })
    return out


def draw_spread_of(served: np.ndarray, departures: np.ndarray, thresholds: Sequence[int],
                   population: np.ndarray, ids: np.ndarray | None = None) -> dict[str, Any]:
    """How far the phase draws move the people over each threshold (this module's method).

    ``served``: one measure's pooled served times (origins x draws * departures); ``ids``,
    if given, the origins' ids, to list those that change side. Keyed by threshold; empty
    with fewer than two draws (an exact timetable needs one pass, and then the draws move
    nothing).
    """
    limits = np.asarray(thresholds, dtype=np.float64)
    count, below, above = tallies(served, departures, limits)
    n_draws = count.shape[1]
    keep = half_samples(n_draws)
    if not len(keep):
        return {}
    every = np.ones((1, n_draws), dtype=bool)
    full = over_in_half_samples(count, below, above, every, len(departures), limits)[0]
    halves = over_in_half_samples(count, below, above, keep, len(departures), limits)
    return {str(t): item for t, item in
            zip(thresholds, spread_of(full, halves, population, n_draws, ids), strict=True)}
