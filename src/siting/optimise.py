"""Counter-network optimiser: per-counter travel times, one 24/7 counter per borough, extra sites.

The consultation's open questions (MOPAC/MPS Public Access and Engagement Strategy, 2017): which
counter of each borough should be its 24/7 counter, what each of the draft's five swaps cost, and
which low-cost extra sites would bring most residents within 45 (or 60) minutes.

Travel times. For every origin (LSOA population-weighted centroid) and every candidate site, one
backward profile search from that site alone (`siting.travel`, the same engine and network as
`siting run`) gives the public-transport minutes for every departure of the scenario's window;
``t[i, c]`` is their median (p50, unreachable departures counted as infinitely long, NaN when the
median is unreachable). Sites are treated as always open. The matrix is cached on disk.

One 24/7 counter per borough (CP-SAT). Binary ``y[c]`` per candidate, ``sum(y[c] for c in
borough b) == 1`` for every borough. Residents use the nearest chosen counter in any borough, and a
plan is judged on ``m[i] = min over chosen c of t[i, c]``.

* For origin i let ``D_1 < D_2 < ... < D_K`` be its distinct candidate times (NaN and anything
  beyond ``cap`` count as ``cap`` minutes) and ``S_k = {c : t[i, c] <= D_k}``. Then
  ``m[i] = D_1 + sum_k (D_{k+1} - D_k) * [no chosen counter in S_k]`` (the radius formulation of
  the p-median problem, Elloumi 2010). One Boolean ``u[S] >= 1 - sum(y[c] for c in S)`` per
  distinct set S, shared by every origin and breakpoint with that set, carries the indicator:
  the objective's positive weights push it to exactly the indicator.
* A set S holding *every* candidate of some borough always contains a chosen counter, so its
  indicator is 0: each origin's breakpoints stop there. This is what makes the restriction to
  each origin's nearest candidates exact, not a heuristic: whatever the choice, the nearest
  chosen counter is among the candidates up to the first point where one borough is exhausted.
* ``objective='overT'`` minimises the population over T minutes,
  ``sum_i pop_i * [no chosen c with t[i, c] <= T]`` (the same ``u`` variables with
  ``S = {c : t[i, c] <= T}``); ``objective='median'`` minimises ``sum_i pop_i * m[i]`` (the
  p-median objective: the population-weighted mean of each origin's median minutes).
* Ties (many choices give the same population over 45 minutes) are broken lexicographically:
  after the primary optimum, a second solve fixes it and minimises the p-median objective.

Caveat: the median over departures of the minimum over counters is at most the minimum of the
per-counter medians, so ``m[i]`` slightly overstates the trip a resident makes when two counters
compete. The plans are therefore also re-evaluated exactly (one profile search to the chosen set,
as `siting run` does) and both figures are reported.

Low-cost alternatives (maximal covering location problem, Church & ReVelle 1974). Given the
scenario's 24/7 counters, origins already within T are covered; binary ``x[s]`` per candidate
site, ``sum x <= k``, and ``z[S] <= sum(x[s] for s in S)`` for each distinct set
``S = {s : t[i, s] <= T}`` of the uncovered origins (origins with the same set merged, their
people summed); maximise ``(n_sites + 1) * sum(pop * z) - sum x``: the most people gained, then
the fewest sites (so no site is added that gains nobody).

CP-SAT runs with a fixed seed and one worker by default, so the result is deterministic.
"""

from __future__ import annotations

import difflib
import hashlib
import html
import json
import logging
import math
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from numba import njit, prange
from ortools.sat.python import cp_model
from scipy.spatial import cKDTree

from siting._cache import discard, manifest_path, usable, write_manifest
from siting._errors import InfeasibleError, ScenarioError
from siting._signals import interruptible
from siting.candidates import load_candidates
from siting.data import load_boroughs, load_counters, load_lsoas
from siting.network.scenario_network import scenario_network as _scenario_network
from siting.network.transit import TransitNetwork, walk_seconds
from siting.scenario import Scenario
from siting.travel import (
    ALWAYS_CLOSE,
    ALWAYS_OPEN,
    Targets,
    Window,
    profile_search,
    summarise,
    walk_csr,
)
from siting.travel import profile_scan as _profile_scan

__all__ = [
    "BASELINE_24H",
    "NAMED_ONLY_IN_FINAL",
    "STRATEGY_SWAPS",
    "AlternativesPlan",
    "CounterPlan",
    "CoverChoice",
    "GroupChoice",
    "Objective",
    "TimeMatrix",
    "choose_one_per_group",
    "max_cover",
    "nearest_minutes",
    "optimise_alternatives",
    "optimise_counters",
    "per_counter_times",
    "population_over",
    "scenario_network",
    "site_times",
    "strategy_choices",
    "write_outputs",
]

log = logging.getLogger(__name__)

Objective = Literal["over45", "over60", "median"]

# ---------------------------------------------------------------------------------------------
# Strategy facts (MOPAC/MPS Public Access and Engagement Strategy 2017, annex 3; see
# shared/strategy/README.md). tests/test_optimise.py checks them against scenarios/*.yaml.

BASELINE_24H: tuple[str, ...] = (
    "acton", "bethnal-green", "bexleyheath", "brixton", "bromley", "charing-cross", "chingford",
    "colindale", "croydon", "dagenham", "edmonton", "forest-gate", "hammersmith", "harrow",
    "hounslow", "ilford", "islington", "kentish-town", "kingston", "lavender-hill", "lewisham",
    "notting-hill", "plumstead", "romford", "stoke-newington", "sutton", "tottenham", "twickenham",
    "uxbridge", "walworth", "wembley", "wimbledon",
)
"""The 24/7 counter of each borough before the strategy (the 2016 baseline scenario)."""

STRATEGY_SWAPS: tuple[tuple[str, str, bool], ...] = (
    ("dagenham", "barking-learning-centre", False),
    ("bexleyheath", "marlowe-house", False),
    ("uxbridge", "hayes", True),
    ("notting-hill", "kensington", True),
    ("wimbledon", "mitcham", True),
)
"""The draft's five swaps (from, to, kept in the final strategy)."""

NAMED_ONLY_IN_FINAL: tuple[str, ...] = ("church-street", "grenfell", "pinner", "ruislip")
"""Registry counters that only the final strategy names: the other 73 were open in 2017."""


def strategy_choices() -> dict[str, tuple[str, ...]]:
    """The strategy's 24/7 counter sets: baseline (2016), draft (2017) and final (2017), sorted."""

    def swapped(kept_only: bool) -> tuple[str, ...]:
        moves = {a: b for a, b, kept in STRATEGY_SWAPS if kept or not kept_only}
        return tuple(sorted(moves.get(c, c) for c in BASELINE_24H))

    return {"draft": swapped(False), "final": swapped(True), "baseline": tuple(sorted(BASELINE_24H))}


# ---------------------------------------------------------------------------------------------
# Travel-time matrix: one profile search per site


@dataclass(frozen=True, eq=False)
class TimeMatrix:
    """Median minutes from each origin to each site (NaN when unreachable), origins x sites."""

    origin_ids: np.ndarray
    site_ids: np.ndarray
    minutes: np.ndarray

    def columns(self, site_ids: Sequence[str]) -> np.ndarray:
        """The (origins x len(site_ids)) block of the given sites, in that order."""
        index = {s: j for j, s in enumerate(self.site_ids)}
        return self.minutes[:, [index[s] for s in site_ids]]

    def to_long(self, origin_column: str = "origin_id",
                site_column: str = "site_id") -> pd.DataFrame:
        """Long table origin, site, minutes, sorted by origin then site."""
        n_o, n_s = self.minutes.shape
        table = pd.DataFrame({
            origin_column: np.repeat(self.origin_ids.astype(str), n_s),
            site_column: np.tile(self.site_ids.astype(str), n_o),
            "minutes": self.minutes.ravel(),
        })
        return table.sort_values([origin_column, site_column], kind="stable").reset_index(drop=True)


@njit(cache=True)
def _percentile_of_departures(acc_off, acc_stop, acc_sec, direct, departures, prof_start, prof_len,
                              prof_dep, prof_key, p, out, col):
    """Per origin: the p-th percentile over departures of the minutes to one always-open site.

    Matches `siting.travel.summarise` (linear interpolation, unreachable = +inf). Departures
    ascend, so each access stop's profile (decreasing departures) is read by one backward merge.
    """
    n_origins = len(acc_off) - 1
    n_dep = len(departures)
    best = np.empty(n_dep, dtype=np.int64)
    minutes = np.empty(n_dep, dtype=np.float64)
    position = p / 100.0 * (n_dep - 1)
    lo = int(np.floor(position))
    frac = position - lo
    hi = min(lo + 1, n_dep - 1)
    never = np.iinfo(np.int64).max
    for o in range(n_origins):
        for it in range(n_dep):
            best[it] = departures[it] + direct[o]
        for a in range(acc_off[o], acc_off[o + 1]):
            s = acc_stop[a]
            walk = acc_sec[a]
            first = prof_start[s]
            j = prof_len[s] - 1
            for it in range(n_dep):
                t = departures[it] + walk
                while j >= 0 and prof_dep[first + j] < t:
                    j -= 1
                if j < 0:
                    break
                key = prof_key[first + j]
                if key != never:
                    served = key >> 20
                    if served < best[it]:
                        best[it] = served
        for it in range(n_dep):
            minutes[it] = (best[it] - departures[it]) / 60.0
        minutes.sort()
        value = minutes[lo]
        if frac > 0:
            if np.isfinite(minutes[hi]):
                value = minutes[lo] + frac * (minutes[hi] - minutes[lo])
            else:
                value = np.inf
        out[o, col] = value if np.isfinite(value) else np.nan


@njit(cache=True, parallel=True)
def _site_percentiles(dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight, n_trips,
                      prof_start, fp_off, fp_to, fp_sec, eg_off, eg_base, eg_sec, min_change,
                      acc_off, acc_stop, acc_sec, direct, departures, p):
    """One profile scan per site (sites in parallel), each reduced to a percentile per origin."""
    n_sites = eg_off.shape[0]
    out = np.empty((len(acc_off) - 1, n_sites))
    open_s = np.array([ALWAYS_OPEN], dtype=np.int64)
    close_s = np.array([ALWAYS_CLOSE], dtype=np.int64)
    for c in prange(n_sites):
        first = eg_base[c]
        last = eg_base[c + 1]
        eg_tgt = np.zeros(last - first, dtype=np.int64)
        eg_s = eg_sec[first:last].copy()
        prof_len, prof_dep, prof_key = _profile_scan(
            dep_stop, arr_stop, dep_time, arr_time, trip, can_board, can_alight, n_trips,
            prof_start, fp_off, fp_to, fp_sec, eg_off[c].copy(), eg_tgt, eg_s, open_s, close_s,
            min_change)
        _percentile_of_departures(acc_off, acc_stop, acc_sec, direct[:, c].copy(), departures,
                                  prof_start, prof_len, prof_dep, prof_key, p, out, c)
    return out


def _compute_columns(network: TransitNetwork, origin_xy: np.ndarray, site_xy: np.ndarray,
                     window: Window, max_access_s: int, percentile: float) -> np.ndarray:
    """Percentile minutes (origins x sites) by one profile scan per site."""
    n_sites = len(site_xy)
    acc_off, acc_stop, acc_sec = walk_csr(network, origin_xy, network.stop_xy, max_access_s)
    eg_off = np.zeros((n_sites, network.n_stops + 1), dtype=np.int64)
    eg_sec = []
    eg_base = np.zeros(n_sites + 1, dtype=np.int64)
    for c in range(n_sites):
        offsets, _, seconds = walk_csr(network, network.stop_xy, site_xy[c:c + 1], max_access_s)
        eg_off[c] = offsets
        eg_sec.append(seconds)
        eg_base[c + 1] = eg_base[c] + len(seconds)
    metres = np.hypot(origin_xy[:, None, 0] - site_xy[None, :, 0],
                      origin_xy[:, None, 1] - site_xy[None, :, 1])
    direct = np.ascontiguousarray(walk_seconds(network.walk, metres).reshape(len(origin_xy),
                                                                             n_sites))
    boardable = np.bincount(network.dep_stop[network.can_board], minlength=network.n_stops)
    prof_start = np.zeros(network.n_stops + 1, dtype=np.int64)
    np.cumsum(boardable, out=prof_start[1:])
    return _site_percentiles(
        network.dep_stop, network.arr_stop, network.dep_time, network.arr_time, network.trip,
        network.can_board, network.can_alight, len(network.run_ids), prof_start,
        network.fp_offsets, network.fp_to, network.fp_seconds.astype(np.int64), eg_off, eg_base,
        np.concatenate([*eg_sec, np.zeros(0, dtype=np.int64)]), int(network.min_change_seconds),
        acc_off, acc_stop, acc_sec, direct, window.departures, float(percentile))


_MATRIX_CACHE_VERSION = 1


def _matrix_key(network: TransitNetwork, origin_ids: np.ndarray, origin_xy: np.ndarray,
                window: Window, max_access_s: int, percentile: float) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps({
        "version": _MATRIX_CACHE_VERSION, "network": network.cache_key,
        "window": [window.start_s, window.end_s, window.step_s], "max_access_s": max_access_s,
        "percentile": float(percentile)}, sort_keys=True).encode())
    digest.update("\0".join(origin_ids).encode())
    digest.update(np.ascontiguousarray(origin_xy, dtype=np.float64).tobytes())
    return digest.hexdigest()[:20]


def _load_cached(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The cached site-times columns, or None (a bad entry is deleted with a warning)."""
    if not (path.exists() or manifest_path(path).exists()):
        return None
    ok, why = usable(path)
    if ok:
        try:
            with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
                return data["site_ids"].astype(str), data["site_xy"], data["minutes"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            why = f"unreadable: {type(exc).__name__}: {exc}"
    discard(path, why)
    return None


def _save_cached(path: Path, site_ids: np.ndarray, site_xy: np.ndarray,
                 minutes: np.ndarray) -> None:
    order = np.argsort(site_ids, kind="stable")
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.tmp-p{os.getpid()}-", suffix=".npz",
                                    dir=path.parent)
    os.close(handle)
    try:
        np.savez(temp, site_ids=site_ids[order].astype(str), site_xy=site_xy[order],
                 minutes=minutes[:, order])
        manifest_path(path).unlink(missing_ok=True)  # the old manifest no longer applies
        os.replace(temp, path)
        write_manifest(path)  # last: an entry without a matching manifest is never reused
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def site_times(
    network: TransitNetwork,
    origin_ids: Sequence[str] | np.ndarray,
    origin_xy: np.ndarray,
    site_ids: Sequence[str] | np.ndarray,
    site_xy: np.ndarray,
    window: Window,
    *,
    max_access_minutes: float,
    percentile: float = 50.0,
    cache_dir: Path | str | None = None,
    chunk: int = 16,
) -> TimeMatrix:
    """Percentile minutes over the window from every origin to every (always-open) site.

    One backward profile search per site on the shared network, sites in parallel (numba
    threads). Columns are cached in ``cache_dir`` in one .npz per (network cache key, origins,
    window, walk limit, percentile), keyed inside by site id and coordinates, so a later call
    computes only the sites it has not seen. Without a cache key (an in-memory network) or a
    cache_dir nothing is cached.
    """
    origin_ids = np.asarray(origin_ids, dtype=object).astype(str)
    origin_xy = np.asarray(origin_xy, dtype=float).reshape(-1, 2)
    site_ids = np.asarray(site_ids, dtype=object).astype(str)
    site_xy = np.asarray(site_xy, dtype=float).reshape(-1, 2)
    if len(origin_ids) != len(origin_xy) or len(site_ids) != len(site_xy):
        raise ScenarioError(f"site_times: {len(origin_ids)} origin ids for {len(origin_xy)} points "
                            f"and {len(site_ids)} site ids for {len(site_xy)} points; give one "
                            "point per id.")
    if len(set(site_ids)) != len(site_ids):
        dup = sorted({s for s in site_ids if list(site_ids).count(s) > 1})
        raise ScenarioError(f"site_times: site ids {', '.join(dup[:5])} are repeated; give each "
                            "site once.")
    if window.start_s < network.start_s or window.end_s > network.end_s or window.step_s <= 0:
        raise ScenarioError(
            f"site_times: departure window [{window.start_s}, {window.end_s}) s is outside the "
            f"network's range [{network.start_s}, {network.end_s}) s. Build the network from the "
            "window start to the window end plus the longest trip.")
    max_access_s = round(max_access_minutes * 60)
    path = None
    known: dict[str, np.ndarray] = {}
    cached_ids = np.zeros(0, dtype=str)
    cached_xy = np.zeros((0, 2))
    cached = np.zeros((len(origin_ids), 0))
    if cache_dir is not None and network.cache_key:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        key = _matrix_key(network, origin_ids, origin_xy, window, max_access_s, percentile)
        path = Path(cache_dir) / f"site-times-{key}.npz"
        loaded = _load_cached(path)
        if loaded is not None and loaded[2].shape[0] == len(origin_ids):
            cached_ids, cached_xy, cached = loaded
            for j, sid in enumerate(cached_ids):
                known[sid] = cached_xy[j]
    todo = [j for j, sid in enumerate(site_ids)
            if sid not in known or not np.array_equal(known[sid], site_xy[j])]
    if todo:
        # drop stale columns (same id, moved site) before appending the fresh ones
        stale = np.isin(cached_ids, site_ids[todo])
        cached_ids, cached_xy, cached = cached_ids[~stale], cached_xy[~stale], cached[:, ~stale]
        start = time.perf_counter()
        for first in range(0, len(todo), chunk):
            part = todo[first:first + chunk]
            block = _compute_columns(network, origin_xy, site_xy[part], window, max_access_s,
                                     percentile)
            cached_ids = np.concatenate([cached_ids, site_ids[part]])
            cached_xy = np.concatenate([cached_xy, site_xy[part]])
            cached = np.concatenate([cached, block], axis=1)
            if path is not None:
                _save_cached(path, cached_ids, cached_xy, cached)
            log.info("site travel times: %d/%d sites, %.1f s", min(first + chunk, len(todo)),
                     len(todo), time.perf_counter() - start)
    index = {sid: j for j, sid in enumerate(cached_ids)}
    minutes = cached[:, [index[s] for s in site_ids]] if len(site_ids) else cached[:, :0]
    return TimeMatrix(origin_ids=origin_ids, site_ids=site_ids,
                      minutes=np.ascontiguousarray(minutes, dtype=np.float64))


# ---------------------------------------------------------------------------------------------
# The scenario's network (same feed and cache as `siting run`)


def scenario_network(scenario: Scenario, data_dir: Path,
                     cache_dir: Path = Path(".cache/siting")) -> TransitNetwork:
    """The transit network `siting run` routes the scenario on (built once, cached on disk)."""
    return _scenario_network(scenario, Path(data_dir), Path(cache_dir))


def _window(scenario: Scenario) -> Window:
    start_s, end_s = scenario.transit.window_seconds
    return Window(start_s=start_s, end_s=end_s, step_s=scenario.transit.step_minutes * 60)


def _check_ids(ids: Iterable[str], known: Iterable[str], what: str) -> list[str]:
    known = sorted(set(known))
    out = []
    for cid in ids:
        if cid not in known:
            close = difflib.get_close_matches(cid, known, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ScenarioError(f"{what}: unknown counter id {cid!r}.{hint} Counter ids are the "
                                "registry's (siting/facts/counters.csv, `siting counters`).")
        out.append(cid)
    return sorted(set(out))


def per_counter_times(
    scenario: Scenario,
    data_dir: Path,
    *,
    cache_dir: Path = Path(".cache/siting"),
    counter_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Median minutes from every LSOA to EACH registry counter (not just the nearest one).

    Long table lsoa_code, counter_id, minutes (the p50 over the scenario's departure window,
    NaN when unreachable), sorted by lsoa_code then counter_id. Every counter is treated as
    open 24/7. ``counter_ids`` defaults to the whole registry (77 counters).
    """
    registry = load_counters()
    ids = _check_ids(counter_ids if counter_ids is not None else registry["counter_id"],
                     registry["counter_id"], "per_counter_times")
    matrix = _counter_matrix(scenario, Path(data_dir), Path(cache_dir), ids, registry)[0]
    return matrix.to_long("lsoa_code", "counter_id")


def _counter_matrix(scenario: Scenario, data_dir: Path, cache_dir: Path, ids: Sequence[str],
                    registry: gpd.GeoDataFrame, network: TransitNetwork | None = None,
                    ) -> tuple[TimeMatrix, gpd.GeoDataFrame, TransitNetwork]:
    lsoas = load_lsoas(data_dir, scenario.data)
    network = network or scenario_network(scenario, data_dir, cache_dir)
    rows = registry.set_index("counter_id").loc[list(ids)]
    matrix = site_times(
        network, lsoas["lsoa_code"].to_numpy(),
        np.column_stack([lsoas.geometry.x, lsoas.geometry.y]), np.asarray(ids),
        np.column_stack([rows.geometry.x, rows.geometry.y]), _window(scenario),
        max_access_minutes=scenario.walking.max_access_minutes, cache_dir=cache_dir)
    return matrix, lsoas, network


# ---------------------------------------------------------------------------------------------
# Evaluating a choice on the matrix


def nearest_minutes(minutes: np.ndarray, chosen: Sequence[int]) -> np.ndarray:
    """Per origin: the least minutes over the chosen columns (NaN when none is reachable)."""
    block = np.asarray(minutes, dtype=float)[:, list(chosen)]
    if block.shape[1] == 0:
        return np.full(block.shape[0], np.nan)
    filled = np.where(np.isnan(block), np.inf, block).min(axis=1)
    return np.where(np.isfinite(filled), filled, np.nan)


def population_over(minutes: np.ndarray, population: np.ndarray, chosen: Sequence[int],
                    threshold: float) -> int:
    """People whose nearest chosen site is more than `threshold` minutes away (or unreachable)."""
    nearest = nearest_minutes(minutes, chosen)
    over = np.isnan(nearest) | (nearest > threshold)
    return int(np.asarray(population)[over].sum())


def _mean_minutes(nearest: np.ndarray, population: np.ndarray, cap: float) -> float:
    """Population-weighted mean of the nearest minutes, unreachable (or beyond cap) = cap."""
    total = float(np.sum(population))
    if total == 0:
        return float("nan")
    return float(np.sum(np.minimum(np.nan_to_num(nearest, nan=cap), cap) * population) / total)


# ---------------------------------------------------------------------------------------------
# CP-SAT models on the matrix

_TICKS = 120
"""Objective units per minute: a p50 is a multiple of half a second (a mean of two seconds)."""


def _parse_objective(objective: str) -> tuple[str, float | None]:
    if objective == "median":
        return "median", None
    match = re.fullmatch(r"over(\d+)", str(objective))
    if not match or int(match.group(1)) <= 0:
        raise ScenarioError(f"objective {objective!r} is not known. Use 'over45', 'over60' (the "
                            "population over T minutes, any T > 0 as 'overT') or 'median' (the "
                            "population-weighted mean of the median minutes).")
    return "over", float(match.group(1))


def _solver(time_limit_s: float, num_workers: int, seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = int(num_workers)
    solver.parameters.random_seed = int(seed)
    if num_workers > 1:
        solver.parameters.interleave_search = True  # deterministic with several workers
    return interruptible(solver)  # Ctrl-C stops the search and the run (siting._signals)


def _figures(solver: cp_model.CpSolver, status: Any, scale: float, offset: float,
             seconds: float) -> dict[str, Any]:
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        value = (solver.objective_value + offset) / scale
        bound = (solver.best_objective_bound + offset) / scale
    else:
        value = bound = float("nan")
    gap = abs(value - bound) / max(abs(value), 1e-9) if math.isfinite(value) else float("nan")
    return {"status": solver.status_name(status), "objective": value, "best_bound": bound,
            "gap": gap, "seconds": round(seconds, 3), "branches": int(solver.num_branches)}


@dataclass(frozen=True)
class GroupChoice:
    """One chosen column per group, and the solver's figures per stage."""

    chosen: tuple[int, ...]
    """Chosen column index of each group, in the order of sorted group labels."""
    groups: tuple[str, ...]
    """The sorted group labels."""
    primary: dict[str, Any]
    """Status, objective (people over T, or mean minutes), best bound, gap, seconds."""
    tie_break: dict[str, Any] | None
    """Second stage: the p-median objective with the primary optimum fixed (None if skipped)."""
    model_size: dict[str, int] = field(default_factory=dict)


def _group_terms(ticks: np.ndarray, minutes: np.ndarray, population: np.ndarray,
                 group_of: np.ndarray, group_size: np.ndarray, threshold: float | None,
                 ) -> tuple[dict[int, int], int, dict[int, int], int]:
    """Merged radius-formulation terms: p-median {set mask: weight}, base; cover {mask: pop}, const.

    Masks are Python ints with bit c for column c. Sets holding a whole group are dropped
    (some chosen counter is always inside them).
    """
    n_o, n_c = ticks.shape
    median: dict[int, int] = {}
    cover: dict[int, int] = {}
    base = 0
    over_const = 0
    order_all = np.argsort(ticks, axis=1, kind="stable")
    for i in range(n_o):
        pop = int(population[i])
        if pop == 0:
            continue
        order = order_all[i]
        values = ticks[i, order]
        base += pop * int(values[0])
        seen = np.zeros(len(group_size), dtype=np.int64)
        mask = 0
        k = 0
        while k < n_c:
            level = values[k]
            complete = False
            while k < n_c and values[k] == level:
                c = int(order[k])
                mask |= 1 << c
                seen[group_of[c]] += 1
                complete |= seen[group_of[c]] == group_size[group_of[c]]
                k += 1
            if complete:
                break
            step = int(values[k]) - int(level)
            median[mask] = median.get(mask, 0) + pop * step
        if threshold is not None:
            within = np.flatnonzero(minutes[i] <= threshold)
            if len(within) == 0:
                over_const += pop
                continue
            counts = np.bincount(group_of[within], minlength=len(group_size))
            if np.any(counts == group_size):
                continue
            cmask = 0
            for col in within.tolist():
                cmask |= 1 << col
            cover[cmask] = cover.get(cmask, 0) + pop
    return median, base, cover, over_const


def _bits(mask: int) -> list[int]:
    out = []
    c = 0
    while mask:
        if mask & 1:
            out.append(c)
        mask >>= 1
        c += 1
    return out


def choose_one_per_group(
    minutes: np.ndarray,
    population: np.ndarray,
    groups: Sequence[str],
    *,
    objective: str = "over45",
    cap_minutes: float = 180.0,
    tie_break: bool = True,
    hint: Sequence[int] | None = None,
    time_limit_s: float = 120.0,
    num_workers: int = 1,
    seed: int = 0,
) -> GroupChoice:
    """Choose exactly one column per group to minimise the objective (see the module docstring).

    Parameters
    ----------
    minutes
        Origins x candidates, median minutes (NaN = unreachable).
    population
        People per origin (non-negative integers).
    groups
        The group (borough) of each candidate column.
    objective
        'overT' (e.g. 'over45'): people whose nearest chosen candidate is over T minutes away;
        'median': sum of people x minutes to the nearest chosen candidate (minutes capped at
        ``cap_minutes``, unreachable = cap).
    tie_break
        After an 'overT' optimum, fix it and minimise the 'median' objective among the ties.
    hint
        A feasible choice (column indices) to start the search from.
    """
    minutes = np.asarray(minutes, dtype=float)
    population = np.asarray(population)
    n_o, n_c = minutes.shape
    if len(groups) != n_c or len(population) != n_o:
        raise ScenarioError(f"choose_one_per_group: {n_c} candidate columns but {len(groups)} "
                            f"group labels, {n_o} origins but {len(population)} populations. "
                            "Give one label per column and one population per origin.")
    if np.any(population < 0):
        raise ScenarioError("choose_one_per_group: negative population; give people counts >= 0.")
    kind, threshold = _parse_objective(objective)
    labels = tuple(sorted(set(map(str, groups))))
    group_of = np.array([labels.index(str(g)) for g in groups], dtype=np.int64)
    group_size = np.bincount(group_of, minlength=len(labels))
    capped = np.minimum(np.nan_to_num(minutes, nan=cap_minutes), cap_minutes)
    ticks = np.round(capped * _TICKS).astype(np.int64)
    median, base, cover, over_const = _group_terms(ticks, minutes, population, group_of,
                                                   group_size, threshold)

    model = cp_model.CpModel()
    y = [model.new_bool_var(f"y{c}") for c in range(n_c)]
    for g in range(len(labels)):
        model.add_exactly_one([y[c] for c in np.flatnonzero(group_of == g)])
    masks = sorted(set(median) | set(cover))
    u = {}
    for j, mask in enumerate(masks):
        u[mask] = model.new_bool_var(f"u{j}")
        model.add_bool_or([u[mask], *(y[c] for c in _bits(mask))])
    median_expr = sum(w * u[m] for m, w in sorted(median.items()))
    cover_expr = sum(w * u[m] for m, w in sorted(cover.items()))
    if hint is not None:
        for c in range(n_c):
            model.add_hint(y[c], c in set(hint))
    total = max(int(population.sum()), 1)
    size = {"candidates": n_c, "groups": len(labels), "set_variables": len(masks),
            "median_terms": len(median), "cover_terms": len(cover)}

    def solve(expr: Any, scale: float, offset: float) -> tuple[dict[str, Any], list[int]]:
        model.minimize(expr)
        solver = _solver(time_limit_s, num_workers, seed)
        start = time.perf_counter()
        status = solver.solve(model)
        figures = _figures(solver, status, scale, offset, time.perf_counter() - start)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise InfeasibleError(
                f"choose one counter per borough: CP-SAT found no solution ({figures['status']}) "
                f"within {time_limit_s:g} s. Check that every borough has a candidate, or raise "
                "the time limit.")
        return figures, [c for c in range(n_c) if solver.boolean_value(y[c])]

    if kind == "median":
        primary, chosen = solve(median_expr, _TICKS * total, base)
        second = None
    else:
        primary, chosen = solve(cover_expr, 1.0, over_const)
        second = None
        if tie_break and primary["status"] == "OPTIMAL" and median:
            if cover:
                model.add(cover_expr <= round(primary["objective"] - over_const))
            model.clear_hints()
            for c in range(n_c):
                model.add_hint(y[c], c in set(chosen))
            second, chosen = solve(median_expr, _TICKS * total, base)
    by_group = sorted(chosen, key=lambda c: group_of[c])
    return GroupChoice(chosen=tuple(int(c) for c in by_group), groups=labels, primary=primary,
                       tie_break=second, model_size=size)


@dataclass(frozen=True)
class CoverChoice:
    """The k chosen sites of a maximal covering problem and the people they bring within T."""

    chosen: tuple[int, ...]
    gained: int
    figures: dict[str, Any]


def max_cover(
    minutes: np.ndarray,
    population: np.ndarray,
    k: int,
    *,
    threshold: float,
    covered: np.ndarray | None = None,
    time_limit_s: float = 60.0,
    num_workers: int = 1,
    seed: int = 0,
) -> CoverChoice:
    """Choose at most k sites (columns) bringing most uncovered people within `threshold` minutes.

    ``covered`` marks origins already within the threshold (e.g. of a 24/7 counter); they gain
    nothing. Among choices gaining equally many people the fewest sites win, so fewer than k
    sites come back once every reachable person is covered. Returns the chosen columns
    (ascending) and the people gained.
    """
    minutes = np.asarray(minutes, dtype=float)
    population = np.asarray(population)
    n_o, n_s = minutes.shape
    if not 1 <= k <= n_s:
        raise ScenarioError(f"max_cover: k = {k} but there are {n_s} candidate sites; choose k "
                            f"between 1 and {n_s}.")
    covered = np.zeros(n_o, dtype=bool) if covered is None else np.asarray(covered, dtype=bool)
    weights: dict[int, int] = {}
    for i in np.flatnonzero(~covered & (population > 0)):
        within = np.flatnonzero(minutes[i] <= threshold)
        if len(within):
            mask = 0
            for s in within:
                mask |= 1 << int(s)
            weights[mask] = weights.get(mask, 0) + int(population[i])
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{s}") for s in range(n_s)]
    model.add(sum(x) <= k)
    terms = []
    for j, (mask, w) in enumerate(sorted(weights.items())):
        z = model.new_bool_var(f"z{j}")
        model.add_bool_or([x[s] for s in _bits(mask)]).only_enforce_if(z)
        terms.append(w * z)
    # people first; among equal gains, fewest sites (no site is added that gains nobody)
    scale = n_s + 1
    model.maximize(scale * sum(terms) - sum(x))
    solver = _solver(time_limit_s, num_workers, seed)
    start = time.perf_counter()
    status = solver.solve(model)
    figures = _figures(solver, status, 1.0, 0.0, time.perf_counter() - start)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # scale * people - sites with 0 <= sites < scale: people = ceil(value / scale)
        figures["objective"] = float(math.ceil(solver.objective_value / scale - 1e-9))
        figures["best_bound"] = float(math.ceil(solver.best_objective_bound / scale - 1e-9))
        figures["gap"] = (abs(figures["best_bound"] - figures["objective"])
                          / max(figures["objective"], 1e-9))
    figures["cover_sets"] = len(weights)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise InfeasibleError(f"max_cover: CP-SAT found no solution ({figures['status']}) within "
                              f"{time_limit_s:g} s; raise the time limit.")
    chosen = tuple(s for s in range(n_s) if solver.boolean_value(x[s]))
    gained = sum(w for mask, w in weights.items() if any(mask >> s & 1 for s in chosen))
    return CoverChoice(chosen=chosen, gained=int(gained), figures=figures)


# ---------------------------------------------------------------------------------------------
# One 24/7 counter per borough, on London


def _md_table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str) -> list[str]:
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return lines


def _people(value: Any) -> str:
    return f"{int(value):,}" if value is not None and not pd.isna(value) else "n/a"


def _signed(value: Any) -> str:
    return f"{int(value):+,}" if value is not None and not pd.isna(value) else "n/a"


def _stage(figures: Mapping[str, Any] | None, unit: str) -> str:
    if not figures:
        return "not run"
    value = figures["objective"]
    shown = f"{value:,.0f} {unit}" if unit == "people" else f"{value:.2f} {unit}"
    bound = figures["best_bound"]
    bound_shown = f"{bound:,.0f}" if unit == "people" else f"{bound:.2f}"
    return (f"{figures['status']}, objective {shown}, best bound {bound_shown}, "
            f"gap {figures['gap']:.2%}")


@dataclass(frozen=True, eq=False)
class CounterPlan:
    """The optimal 24/7 counter per borough, against the strategy's draft and final choices.

    table
        One row per borough (the City of London, with no Met counter, included): borough_code,
        borough, population, candidates, then for each plan P in ``plans`` (chosen = the
        optimum, draft, final, baseline, ...) the counter(s) ``P`` and ``pop_over_T_P`` for each
        threshold T (residents of the borough whose nearest chosen counter, in any borough, is
        over T minutes away on the per-counter matrix); with a 'final' plan also
        ``switch_delta_over_T``: the change in people over T across London when only this
        borough moves from the final plan's counter to the optimum's.
    totals
        One row per plan: plan, counters, pop_over_T (matrix), mean_minutes (population-weighted
        mean of the nearest median minutes, capped at max_trip_minutes), and exact_pop_over_T /
        exact_mean_minutes from one profile search to the plan's counters (as `siting run`).
    swaps
        The draft's five swaps: borough, from_id, to_id, kept_in_final, and for each T
        ``delta_over_T_vs_baseline`` (people over T with only this swap made to the 2016
        baseline, minus the baseline) and ``delta_over_T_vs_final`` (the final plan with this
        swap made, minus the final plan without it), and the same from exact re-evaluation
        (``exact_delta_...``, None when ``exact`` is off). Positive = the swap costs people.
    """

    scenario_id: str
    objective: str
    thresholds: tuple[int, ...]
    candidates: tuple[str, ...]
    plans: Mapping[str, tuple[str, ...]]
    table: pd.DataFrame
    totals: pd.DataFrame
    swaps: pd.DataFrame
    figures: Mapping[str, Any]
    names: Mapping[str, str] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)
    """Wall seconds per step (not written to the deterministic outputs)."""

    def to_markdown(self) -> str:
        """A report: totals per plan, the choice borough by borough, and the five swaps."""
        ts = self.thresholds
        plans = list(self.plans)
        objective = self.figures.get("objective_text", self.objective)
        lines = [
            f"# One 24/7 front counter per borough: optimum for `{self.scenario_id}`",
            "",
            f"Objective: **{objective}**, residents going to the nearest chosen counter in any "
            f"borough. Candidates: {len(self.candidates)} counters "
            f"({self.figures.get('candidate_rule', 'given')}).",
            "",
            f"- Solver (CP-SAT, seed {self.figures.get('seed')}, "
            f"{self.figures.get('num_workers')} worker(s)): primary "
            f"{_stage(self.figures.get('primary'), self.figures.get('primary_unit', ''))}.",
        ]
        if self.figures.get("tie_break"):
            lines.append(f"- Tie-break among equal optima (population-weighted mean minutes): "
                         f"{_stage(self.figures['tie_break'], 'min')}.")
        size = self.figures.get("model_size", {})
        if size:
            lines.append(f"- Model: {size.get('candidates')} candidates in {size.get('groups')} "
                         f"boroughs, {size.get('set_variables')} set variables.")
        lines += ["", "## Totals", ""]
        header = ["plan", "counters", *[f"over {t} min" for t in ts], "mean min",
                  *[f"over {t} (exact)" for t in ts], "mean (exact)"]
        rows = []
        for _, r in self.totals.iterrows():
            rows.append([r["plan"], r["counters"], *[_people(r[f"pop_over_{t}"]) for t in ts],
                         f"{r['mean_minutes']:.1f}",
                         *[_people(r.get(f"exact_pop_over_{t}")) for t in ts],
                         "n/a" if pd.isna(r.get("exact_mean_minutes")) else
                         f"{r['exact_mean_minutes']:.1f}"])
        lines += _md_table(header, rows, "lr" + "r" * (2 * len(ts) + 2))
        lines += [
            "",
            "The first columns use the per-counter matrix (each LSOA's median minutes to each "
            "counter, the least over the plan's counters); the *exact* columns run one profile "
            "search to the plan's counters and take the median of the per-departure minimum, "
            "as `siting run` does (never more, and usually slightly less).",
            "",
            "## Borough by borough",
            "",
        ]
        switch = [t for t in ts if f"switch_delta_over_{t}" in self.table]
        header = ["borough", "candidates", *plans,
                  *[f"over {t}: {p}" for t in ts for p in plans],
                  *[f"over {t}: final, switched" for t in switch]]
        rows = []
        for _, r in self.table.iterrows():
            choice = []
            for p in plans:
                ids = [c for c in str(r[p]).split("+") if c]
                text = ", ".join(self.names.get(c, c) for c in ids) or "-"
                if p != "chosen" and r[p] != r["chosen"]:
                    text = f"**{text}**"
                choice.append(text)
            rows.append([r["borough"], r["candidates"], *choice,
                         *[_people(r[f"pop_over_{t}_{p}"]) for t in ts for p in plans],
                         *[_signed(r[f"switch_delta_over_{t}"]) for t in switch]])
        lines += _md_table(header, rows, "lr" + "l" * len(plans)
                           + "r" * (len(ts) * len(plans) + len(switch)))
        lines += ["", "Bold: differs from the optimum. *over T: P*: residents of the borough over "
                  "T minutes from the nearest counter of plan P (in any borough). *final, "
                  "switched*: change in people over T across London when only this borough "
                  "moves from the final strategy's counter to the optimum's (negative: fewer).",
                  ""]
        if len(self.swaps) == 0:
            return "\n".join(lines)
        lines += ["## The draft's five swaps", ""]
        kinds = [("", "")]
        if self.swaps[f"exact_delta_over_{ts[0]}_vs_baseline"].notna().all():
            kinds.append(("exact_", " (exact)"))
        keys = [(e, ref, t) for e, _ in kinds for ref in ("baseline", "final") for t in ts]
        header = ["swap", "kept in final",
                  *[f"over {t}: vs {ref}{dict(kinds)[e]}" for e, ref, t in keys]]
        rows = []
        for _, r in self.swaps.iterrows():
            rows.append([f"{self.names.get(r['from_id'], r['from_id'])} -> "
                         f"{self.names.get(r['to_id'], r['to_id'])}",
                         "yes" if r["kept_in_final"] else "no (reversed)",
                         *[_signed(r[f"{e}delta_over_{t}_vs_{ref}"]) for e, ref, t in keys]])
        lines += _md_table(header, rows, "ll" + "r" * len(keys))
        lines += [
            "",
            "People over T minutes after the swap minus before (positive: the swap puts more "
            "people over T). *vs baseline*: the 2016 24/7 counters with only this swap made; "
            "*vs final*: the final strategy with this swap made, against the final strategy with "
            "it undone. Per-counter matrix figures, and (exact) from one profile search to "
            "each plan's counters.",
            "",
        ]
        return "\n".join(lines)


def _plan_columns(ids: Sequence[str], index: Mapping[str, int]) -> list[int]:
    return [index[c] for c in ids]


def _exact_over(network: TransitNetwork, ids: Sequence[str], registry: gpd.GeoDataFrame,
                lsoas: gpd.GeoDataFrame, scenario: Scenario) -> np.ndarray:
    """Median minutes to the nearest of the given counters, by one profile search (exact)."""
    rows = registry.set_index("counter_id").loc[sorted(ids)]
    targets = Targets.from_arrays(np.asarray(sorted(ids)),
                                  np.column_stack([rows.geometry.x, rows.geometry.y]))
    profiles = profile_search(network, targets,
                              max_access_minutes=scenario.walking.max_access_minutes)
    table = profiles.evaluate(np.column_stack([lsoas.geometry.x, lsoas.geometry.y]),
                              lsoas["lsoa_code"].to_numpy(), _window(scenario))
    summary = summarise(table, (50,)).set_index("origin_id")
    return summary["minutes_p50"].reindex(lsoas["lsoa_code"]).to_numpy(dtype=float)


def optimise_counters(
    scenario: Scenario,
    data_dir: Path,
    *,
    cache_dir: Path = Path(".cache/siting"),
    objective: Objective = "over45",
    candidates: Sequence[str] | None = None,
    references: Mapping[str, Sequence[str]] | None = None,
    exact: bool = True,
    time_limit_s: float = 120.0,
    num_workers: int = 1,
    seed: int = 0,
) -> CounterPlan:
    """Choose one 24/7 counter per borough (CP-SAT), compared with the strategy's choices.

    Parameters
    ----------
    candidates
        Registry counter ids to choose from. Default: the scenario's open counters plus the 73
        counters open in 2017 (every registry counter but those only the final strategy names,
        ``NAMED_ONLY_IN_FINAL``). Every borough with a registry counter needs a candidate.
    references
        Named 24/7 counter sets to compare with; default `strategy_choices()` (draft, final,
        baseline). The scenario's own 24/7 set is added as ``scenario`` when it differs. The
        five swaps are costed when both 'baseline' and 'final' are given.
    exact
        Also evaluate every plan with one profile search to its counters (a few seconds each).
    """
    data_dir = Path(data_dir)
    cache_dir = Path(cache_dir)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    kind, threshold = _parse_objective(objective)
    registry = load_counters()
    known = registry["counter_id"]
    if candidates is None:
        rule = "the scenario's open counters and the 73 open in 2017"
        candidates = sorted(set(scenario.open_counters())
                            | (set(known) - set(NAMED_ONLY_IN_FINAL)))
    else:
        rule = "given"
    cands = _check_ids(candidates, known, "optimise_counters: candidates")
    refs = {name: tuple(_check_ids(ids, known, f"optimise_counters: references[{name!r}]"))
            for name, ids in (strategy_choices() if references is None else references).items()}
    own = tuple(sorted(scenario.counters.open_24h))
    if own not in refs.values():
        refs["scenario"] = own
    with_swaps = "baseline" in refs and "final" in refs
    swap_ids = {c for a, b, _ in STRATEGY_SWAPS for c in (a, b)} if with_swaps else set()
    needed = sorted(set(cands) | {c for ids in refs.values() for c in ids} | swap_ids)

    borough_of = dict(zip(registry["counter_id"], registry["borough_gss"], strict=True))
    names = dict(zip(registry["counter_id"], registry["name"], strict=True))
    boroughs = load_boroughs(data_dir, scenario.data)
    borough_name = dict(zip(boroughs["borough_code"], boroughs["borough"], strict=True))
    missing = sorted(set(borough_of.values()) - {borough_of[c] for c in cands})
    if missing:
        code = missing[0]
        options = sorted(c for c in known if borough_of[c] == code)
        raise InfeasibleError(
            f"optimise_counters: no candidate counter in {borough_name.get(code, code)} ({code}), "
            "so no plan can keep one 24/7 counter in every borough. Add one of its counters "
            f"({', '.join(options)}) to the candidates.")
    timings["setup"] = time.perf_counter() - clock

    clock = time.perf_counter()
    matrix, lsoas, network = _counter_matrix(scenario, data_dir, cache_dir, needed, registry)
    timings["matrix"] = time.perf_counter() - clock
    population = lsoas["population"].to_numpy()
    index = {c: j for j, c in enumerate(matrix.site_ids)}
    cand_cols = _plan_columns(cands, index)
    cap = float(scenario.transit.max_trip_minutes)

    clock = time.perf_counter()
    hint = None
    final = refs.get("final")
    if final and all(c in cands for c in final) and len({borough_of[c] for c in final}) == len(final):
        hint = [cands.index(c) for c in final]
    choice = choose_one_per_group(
        matrix.minutes[:, cand_cols], population, [borough_of[c] for c in cands],
        objective=objective, cap_minutes=cap, hint=hint, time_limit_s=time_limit_s,
        num_workers=num_workers, seed=seed)
    timings["solve"] = time.perf_counter() - clock
    plans: dict[str, tuple[str, ...]] = {"chosen": tuple(sorted(cands[c] for c in choice.chosen))}
    plans.update(refs)

    clock = time.perf_counter()
    nearest = {p: nearest_minutes(matrix.minutes, _plan_columns(ids, index))
               for p, ids in plans.items()}
    exact_cache: dict[tuple[str, ...], np.ndarray] = {}

    def exact_of(ids: Iterable[str]) -> np.ndarray:
        key = tuple(sorted(ids))
        if key not in exact_cache:
            exact_cache[key] = _exact_over(network, key, registry, lsoas, scenario)
        return exact_cache[key]

    exact_nearest = {p: exact_of(ids) for p, ids in plans.items()} if exact else {}
    ts = tuple(scenario.thresholds)

    def over(values: np.ndarray, t: float, mask: np.ndarray | None = None) -> int:
        flag = np.isnan(values) | (values > t)
        if mask is not None:
            flag &= mask
        return int(population[flag].sum())

    totals = []
    for p, ids in plans.items():
        row: dict[str, Any] = {"plan": p, "counters": len(ids)}
        row.update({f"pop_over_{t}": over(nearest[p], t) for t in ts})
        row["mean_minutes"] = round(_mean_minutes(nearest[p], population, cap), 4)
        for t in ts:
            row[f"exact_pop_over_{t}"] = over(exact_nearest[p], t) if exact else None
        row["exact_mean_minutes"] = (round(_mean_minutes(exact_nearest[p], population, cap), 4)
                                     if exact else None)
        totals.append(row)
    swap_columns = ["borough", "from_id", "to_id", "kept_in_final",
                    *[f"{e}delta_over_{t}_vs_{ref}" for e in ("", "exact_")
                      for ref in ("baseline", "final") for t in ts]]

    rows = []
    lsoa_borough = lsoas["borough_code"].to_numpy()
    cand_count = pd.Series([borough_of[c] for c in cands]).value_counts()
    for code in sorted(set(borough_name) | set(borough_of.values())):
        inside = lsoa_borough == code
        row = {"borough_code": code, "borough": borough_name.get(code, code),
               "population": int(population[inside].sum()),
               "candidates": int(cand_count.get(code, 0))}
        for p, ids in plans.items():
            row[p] = "+".join(c for c in ids if borough_of[c] == code)
        for t in ts:
            for p in plans:
                row[f"pop_over_{t}_{p}"] = over(nearest[p], t, inside)
        if "final" in plans:
            # the final plan with only this borough switched to the optimum's counter(s)
            switched = [c for c in plans["final"] if borough_of[c] != code] + \
                [c for c in plans["chosen"] if borough_of[c] == code]
            near = nearest_minutes(matrix.minutes, _plan_columns(switched, index))
            for t in ts:
                row[f"switch_delta_over_{t}"] = over(near, t) - over(nearest["final"], t)
        rows.append(row)
    table = pd.DataFrame(rows)

    swaps = []
    base = list(plans.get("baseline", ()))
    fin = list(plans.get("final", ()))
    for a, b, kept in STRATEGY_SWAPS if with_swaps else ():
        row = {"borough": borough_name.get(borough_of[a], borough_of[a]), "from_id": a,
               "to_id": b, "kept_in_final": kept}
        pairs = {"baseline": (base, [b if c == a else c for c in base]),
                 "final": ([a if c == b else c for c in fin], [b if c == a else c for c in fin])}
        for ref, (before, after) in pairs.items():
            for t in ts:
                row[f"delta_over_{t}_vs_{ref}"] = (
                    over(nearest_minutes(matrix.minutes, _plan_columns(after, index)), t)
                    - over(nearest_minutes(matrix.minutes, _plan_columns(before, index)), t))
                row[f"exact_delta_over_{t}_vs_{ref}"] = (
                    over(exact_of(after), t) - over(exact_of(before), t) if exact else None)
        swaps.append(row)
    timings["exact"] = time.perf_counter() - clock

    unit = "people" if kind == "over" else "min"
    objective_text = (f"fewest people over {threshold:g} minutes (ties: lowest mean minutes)"
                      if kind == "over" else
                      "lowest population-weighted mean of the median minutes (p-median)")
    figures = {
        "objective": objective, "objective_text": objective_text, "primary_unit": unit,
        "primary": choice.primary, "tie_break": choice.tie_break, "model_size": choice.model_size,
        "seed": seed, "num_workers": num_workers, "time_limit_s": time_limit_s,
        "candidate_rule": rule, "cap_minutes": cap,
    }
    return CounterPlan(
        scenario_id=scenario.id, objective=objective, thresholds=ts, candidates=tuple(cands),
        plans=plans, table=table, totals=pd.DataFrame(totals),
        swaps=pd.DataFrame(swaps, columns=swap_columns),
        figures=figures, names=names, timings={k: round(v, 3) for k, v in timings.items()})


# ---------------------------------------------------------------------------------------------
# Low-cost alternatives: k extra sites (maximal covering)


@dataclass(frozen=True, eq=False)
class AlternativesPlan:
    """The k extra sites bringing most people within the threshold, for k = 1..k_max.

    table
        k, sites (ids joined by ';'), names, n_sites (at most k: no site is added that
        gains nobody), people_gained, pop_over_T (after adding them), status (CP-SAT), gap.
    candidates
        site_id, name, kind ('counter' or 'library'), status (the counter's status in the
        scenario, or 'library'), alone (people the site brings within T on its own).
    """

    scenario_id: str
    threshold: int
    base: tuple[str, ...]
    total_population: int
    base_pop_over: int
    table: pd.DataFrame
    candidates: pd.DataFrame
    figures: Mapping[str, Any]
    timings: Mapping[str, float] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """A report: people gained for k = 1..k_max, the sites, and the method."""
        t = self.threshold
        lines = [
            f"# Low-cost alternatives: extra sites within {t} minutes for `{self.scenario_id}`",
            "",
            f"With the scenario's {len(self.base)} 24/7 counters, **{self.base_pop_over:,}** of "
            f"{self.total_population:,} residents are more than {t} minutes from the nearest one "
            "(per-counter matrix). Each row adds the k sites (daytime counters or contact-session "
            "venues) that bring the most of them within "
            f"{t} minutes (maximal covering, CP-SAT, solved for each k separately).",
            "",
            f"Candidates: {len(self.candidates)} sites "
            f"({self.figures.get('candidate_rule', 'given')}).",
            "",
        ]
        header = ["k", "sites used", "people gained", f"still over {t}", "sites", "solver"]
        rows = [[r["k"], r["n_sites"], _people(r["people_gained"]), _people(r[f"pop_over_{t}"]),
                 r["names"].replace(";", "; "), f"{r['status']}, gap {r['gap']:.1%}"]
                for _, r in self.table.iterrows()]
        lines += _md_table(header, rows, "rrrrll")
        lines += ["", "Fewer sites than k are used once no further site brings anyone within "
                  f"{t} minutes.", ""]
        top = self.candidates.sort_values(["alone", "site_id"], ascending=[False, True],
                                          kind="stable").head(10)
        lines += ["", "## Best single sites", ""]
        lines += _md_table(["site", "kind", "status", f"people brought within {t} alone"],
                           [[r["name"], r["kind"], r["status"], _people(r["alone"])]
                            for _, r in top.iterrows()], "lllr")
        lines += ["", "Sites are taken as open whenever residents arrive (a contact session is "
                  "scheduled; a daytime counter's hours are ignored).", ""]
        return "\n".join(lines)


def _libraries_near(data_dir: Path, boroughs: gpd.GeoDataFrame, points: np.ndarray,
                    reach_m: float, limit: int) -> gpd.GeoDataFrame:
    """Libraries within reach_m of any given point, the `limit` closest to one (ties by id)."""
    sites = load_candidates(data_dir, kinds={"library": 1.0}, area=boroughs).sites
    if len(sites) == 0 or len(points) == 0:
        return sites.iloc[:0]
    xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    distance, _ = cKDTree(points).query(xy)
    sites = sites.assign(_d=distance)
    sites = sites[sites["_d"] <= reach_m].sort_values(["_d", "site_id"], kind="stable")
    return sites.head(limit).drop(columns="_d").sort_values("site_id", kind="stable")


def optimise_alternatives(
    scenario: Scenario,
    data_dir: Path,
    *,
    cache_dir: Path = Path(".cache/siting"),
    k: int = 10,
    threshold: int = 45,
    candidates: Sequence[str] | None = None,
    libraries: bool = False,
    library_reach_m: float = 1500.0,
    max_libraries: int = 60,
    time_limit_s: float = 60.0,
    num_workers: int = 1,
    seed: int = 0,
) -> AlternativesPlan:
    """Choose k extra sites (for k = 1..k) bringing most people within `threshold` minutes.

    Parameters
    ----------
    candidates
        Registry counter ids usable as extra sites. Default: every registry counter that is not
        24/7 in the scenario (its closed counters' buildings and its daytime counters).
    libraries
        Also consider public libraries (OS OpenMap Local): those within ``library_reach_m`` of
        an LSOA centroid over the threshold, at most ``max_libraries`` (the closest), since each
        needs its own profile search (about a second).
    """
    data_dir = Path(data_dir)
    cache_dir = Path(cache_dir)
    timings: dict[str, float] = {}
    if threshold <= 0:
        raise ScenarioError(f"optimise_alternatives: threshold {threshold} minutes; use a "
                            "number of minutes > 0, e.g. 45.")
    clock = time.perf_counter()
    registry = load_counters()
    known = registry["counter_id"]
    base = tuple(sorted(scenario.counters.open_24h))
    if candidates is None:
        rule = "registry counters not 24/7 in the scenario"
        candidates = sorted(set(known) - set(base))
    else:
        rule = "given counters"
    cands = [c for c in _check_ids(candidates, known, "optimise_alternatives: candidates")
             if c not in base]
    matrix, lsoas, network = _counter_matrix(scenario, data_dir, cache_dir,
                                             sorted(set(base) | set(cands)), registry)
    population = lsoas["population"].to_numpy()
    base_near = nearest_minutes(matrix.minutes, _plan_columns(base, {c: j for j, c in
                                                               enumerate(matrix.site_ids)}))
    covered = ~np.isnan(base_near) & (base_near <= threshold)
    status = {c: scenario.counters.status(c) for c in cands}
    names = dict(zip(registry["counter_id"], registry["name"], strict=True))
    site_frame = pd.DataFrame({"site_id": cands, "name": [names[c] for c in cands],
                               "kind": "counter", "status": [status[c] for c in cands]})
    minutes = matrix.columns(cands)
    if libraries:
        rule += (f", plus up to {max_libraries} libraries within {library_reach_m:g} m of an "
                 f"LSOA centroid over {threshold} minutes")
        far = ~covered & (population > 0)
        points = np.column_stack([lsoas.geometry.x, lsoas.geometry.y])[far]
        libs = _libraries_near(data_dir, load_boroughs(data_dir, scenario.data), points,
                               library_reach_m, max_libraries)
        if len(libs):
            lib_times = site_times(
                network, lsoas["lsoa_code"].to_numpy(),
                np.column_stack([lsoas.geometry.x, lsoas.geometry.y]),
                libs["site_id"].to_numpy(), np.column_stack([libs.geometry.x, libs.geometry.y]),
                _window(scenario), max_access_minutes=scenario.walking.max_access_minutes,
                cache_dir=cache_dir)
            minutes = np.concatenate([minutes, lib_times.minutes], axis=1)
            site_frame = pd.concat([site_frame, pd.DataFrame({
                "site_id": libs["site_id"].to_numpy(), "name": libs["name"].astype(str).to_numpy(),
                "kind": "library", "status": "library"})], ignore_index=True)
    timings["matrix"] = time.perf_counter() - clock
    if len(site_frame) == 0:
        raise ScenarioError("optimise_alternatives: no candidate sites (every given counter is "
                            "already 24/7). Give closed or daytime counters, or libraries=True.")
    within = (minutes <= threshold) & ~covered[:, None] & (population[:, None] > 0)
    site_frame["alone"] = (within * population[:, None]).sum(axis=0).astype(np.int64)
    base_over = int(population[~covered].sum())

    clock = time.perf_counter()
    rows = []
    per_k = {}
    for kk in range(1, min(k, len(site_frame)) + 1):
        result = max_cover(minutes, population, kk, threshold=threshold, covered=covered,
                           time_limit_s=time_limit_s, num_workers=num_workers, seed=seed)
        ids = [site_frame["site_id"].iloc[s] for s in result.chosen]
        rows.append({"k": kk, "sites": ";".join(ids),
                     "names": ";".join(site_frame["name"].iloc[s] for s in result.chosen),
                     "n_sites": len(result.chosen), "people_gained": result.gained,
                     f"pop_over_{threshold}": base_over - result.gained,
                     "status": result.figures["status"], "gap": result.figures["gap"]})
        per_k[kk] = result.figures
    timings["solve"] = time.perf_counter() - clock
    return AlternativesPlan(
        scenario_id=scenario.id, threshold=int(threshold), base=base,
        total_population=int(population.sum()), base_pop_over=base_over,
        table=pd.DataFrame(rows), candidates=site_frame.reset_index(drop=True),
        figures={"candidate_rule": rule, "per_k": per_k, "seed": seed,
                 "num_workers": num_workers},
        timings={k_: round(v, 3) for k_, v in timings.items()})


# ---------------------------------------------------------------------------------------------
# Outputs


def _csv(frame: pd.DataFrame) -> str:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype.kind == "f":
            out[col] = ["" if pd.isna(v) else f"{v:.4f}" for v in out[col]]
    return out.to_csv(index=False, lineterminator="\n")


def _svg_curve(table: pd.DataFrame, threshold: int) -> str:
    """A small deterministic SVG line chart of people gained against k (from k = 0)."""
    width, height, left, pad = 500, 300, 80, 40
    ks = np.r_[0, table["k"].to_numpy(dtype=int)]
    gained = np.r_[0.0, table["people_gained"].to_numpy(dtype=float)]
    top = max(float(gained.max()), 1.0)
    span = max(int(ks.max()), 1)

    def px(kv: float, g: float) -> tuple[float, float]:
        return (left + kv / span * (width - left - pad),
                height - pad - g / top * (height - 2 * pad))

    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (px(kv, g) for kv, g in
                                                       zip(ks, gained, strict=True)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<line x1="{left}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="black"/>',
        f'<line x1="{left}" y1="{pad}" x2="{left}" y2="{height - pad}" stroke="black"/>',
        f'<text x="{(left + width - pad) / 2:.0f}" y="{height - 6}" text-anchor="middle">'
        'extra sites (k)</text>',
        f'<text x="14" y="{height / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {height / 2:.0f})">people brought within {threshold} min'
        '</text>',
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{points}"/>',
    ]
    for kv, g in zip(ks, gained, strict=True):
        x, y = px(kv, g)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f77b4"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - pad + 14}" text-anchor="middle">{kv}</text>')
    for frac in (0.0, 0.5, 1.0):
        _, y = px(0, top * frac)
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{html.escape(f"{top * frac:,.0f}")}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _outputs(plan: CounterPlan | AlternativesPlan) -> dict[str, str]:
    if isinstance(plan, CounterPlan):
        stem = f"optimise-counters-{plan.objective}"
        return {f"{stem}.md": plan.to_markdown(), f"{stem}.csv": _csv(plan.table),
                f"{stem}-totals.csv": _csv(plan.totals),
                "optimise-counters-swaps.csv": _csv(plan.swaps)}
    if isinstance(plan, AlternativesPlan):
        stem = f"optimise-alternatives-{plan.threshold}min"
        return {f"{stem}.md": plan.to_markdown(), f"{stem}.csv": _csv(plan.table),
                f"{stem}-candidates.csv": _csv(plan.candidates),
                f"{stem}.svg": _svg_curve(plan.table, plan.threshold)}
    raise TypeError(f"write_outputs: expected a CounterPlan or AlternativesPlan, got "
                    f"{type(plan).__name__}")


def write_outputs(plan: CounterPlan | AlternativesPlan, out_dir: Path | str) -> list[Path]:
    """Write a plan's markdown, CSV tables (and the alternatives' SVG curve) into out_dir.

    Files: optimise-counters-<objective>.md/.csv/-totals.csv and optimise-counters-swaps.csv,
    or optimise-alternatives-<T>min.md/.csv/-candidates.csv/.svg. Each is written to a
    temporary file and moved into place; solve times are left out, so the same inputs give
    byte-identical files. Returns the written paths, sorted.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(_outputs(plan).items()):
        handle, temp = tempfile.mkstemp(prefix=f".{name}.", dir=out_dir)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            os.replace(temp, out_dir / name)
        finally:
            if os.path.exists(temp):
                os.remove(temp)
        written.append(out_dir / name)
    return written
