"""Per-site travel-time matrix: one backward profile search per site, sites in parallel, cached.

``t[i, c]`` is the median (p50) over the scenario's departure window of the public-transport
minutes from origin i to site c alone (walking all the way is always an option, so every time
is finite), on the same network and engine as `siting run`. Sites are treated as
always open. Columns are cached on disk keyed by the network, the origins and the window.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numba import get_num_threads, njit

from siting._cache import discard, manifest_path, usable, write_manifest
from siting._errors import ScenarioError
from siting.data import load_counters, load_lsoas
from siting.draws import _between
from siting.network.scenario_network import scenario_network as _scenario_network
from siting.network.transit import TransitNetwork, walk_seconds
from siting.scenario import Scenario
from siting.travel import (
    _SLOTS,
    ALWAYS_CLOSE,
    ALWAYS_OPEN,
    Targets,
    Window,
    _evaluate_block,
    profile_search_many,
    walk_csr,
)

__all__ = ["TimeMatrix", "per_counter_times", "scenario_network", "site_times"]

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
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


@njit(cache=True, nogil=True)
def _percentile_of_keys(keys, departures, p, out):
    """Per origin: the p-th percentile over departures of the minutes to one always-open site.

    ``keys``: the engine's best key per origin and departure (`siting.travel._evaluate_block`;
    walking all the way is always an option, so every one is finite). Matches
    `siting.summaries.summarise` (linear interpolation of the minutes).
    """
    n_origins, n_dep = keys.shape
    seconds = np.empty(n_dep, dtype=np.int64)
    position = p / 100.0 * (n_dep - 1)
    lo = int(np.floor(position))
    frac = position - lo
    hi = min(lo + 1, n_dep - 1)
    for o in range(n_origins):
        for it in range(n_dep):
            seconds[it] = keys[o, it] // _SLOTS - departures[it]
        # The two order statistics only (a selection, not a sort): after partitioning at hi,
        # the lo-th least is the largest of the first hi.
        part = np.partition(seconds, hi)
        low = part[:hi].max() if lo < hi else part[hi]
        value = low / 60.0
        if frac > 0:
            value = low / 60.0 + frac * (part[hi] / 60.0 - low / 60.0)
        out[o] = value


_ALWAYS = (np.array([ALWAYS_OPEN], dtype=np.int64), np.array([ALWAYS_CLOSE], dtype=np.int64))
"""Opening and closing seconds of a site open 24/7 (the matrix treats every site so)."""


def _site_columns(network: TransitNetwork, access: tuple[np.ndarray, np.ndarray, np.ndarray],
                  origin_xy: np.ndarray, sites_xy: np.ndarray, window: Window,
                  max_access_s: int, percentile: float) -> list[np.ndarray]:
    """Percentile minutes from every origin to each of one or two sites: one profile scan
    (each site a layer of it), then each site's lookup.

    The lookup is `siting.travel`'s merge walk, run on this (worker) thread.
    """
    sets = [Targets.from_arrays(["site"], xy.reshape(1, 2)) for xy in sites_xy]
    found = profile_search_many(network, sets, max_access_minutes=max_access_s / 60)
    columns = []
    for site_xy, prof in zip(sites_xy, found, strict=True):
        metres = np.hypot(origin_xy[:, 0] - site_xy[0], origin_xy[:, 1] - site_xy[1])
        direct = walk_seconds(network.walk, metres).astype(np.int64).reshape(-1, 1)
        keys = np.empty((len(origin_xy), len(window.departures)), dtype=np.int64)
        _evaluate_block(0, len(origin_xy), keys, *access, direct, *_ALWAYS, window.departures,
                        prof.start, prof.length, prof.dep, prof.key)
        out = np.empty(len(origin_xy))
        _percentile_of_keys(keys, window.departures, float(percentile), out)
        columns.append(out)
    return columns


def _compute_columns(network: TransitNetwork, origin_xy: np.ndarray, site_xy: np.ndarray,
                     window: Window, max_access_s: int, percentile: float,
                     done: Callable[[int, np.ndarray], None]) -> None:
    """Each site's column, two sites per profile scan, ``numba.get_num_threads()`` scans at
    a time.

    Each scan is `siting.travel.profile_search_many` (the engine `siting run` uses:
    transfers.txt change times, footpaths, pruning); the kernels release the GIL, so threads
    scan pairs of sites side by side, each taking the next pair as it finishes (no batch
    waits for its slowest). ``done(j, column)`` is called on this thread as site j finishes.
    The scan keeps two layers in registers (`siting.scan`), so a single site runs as two
    identical layers: two sites per pass cost little more than one (3 pairs of London
    counters: 1.8-2.1 s against 2.8-3.1 s for the 6 one at a time, 2026-11-30). Each site's
    profile is exact either way, so the columns do not change.
    """
    access = walk_csr(network, origin_xy, network.stop_xy, max_access_s)
    network.ride_edges()  # computed once, before the threads share it
    # No journey departing in the window boards a connection departing before it (3% of
    # London's connections): scan without them, as the draws do.
    network = _between(network, window.start_s, int(np.iinfo(np.int64).max))
    pool = ThreadPoolExecutor(max_workers=max(1, get_num_threads()))
    try:
        futures = {pool.submit(_site_columns, network, access, origin_xy,
                               site_xy[first:first + 2], window, max_access_s, percentile):
                   range(first, min(first + 2, len(site_xy)))
                   for first in range(0, len(site_xy), 2)}
        for future in as_completed(futures):
            for j, column in zip(futures[future], future.result(), strict=True):
                done(j, column)
    finally:
        # On Ctrl-C or an error, the sites not yet started are dropped (the finished ones are
        # saved): only the scans under way are waited for.
        pool.shutdown(wait=True, cancel_futures=True)


_MATRIX_CACHE_VERSION = 2  # 2: the pruned engine, with transfers.txt change times


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


class _Bar:
    """A rich progress bar on stderr when asked for and stderr is a terminal (not in CI); else silent."""

    def __init__(self, enabled: bool, total: int, description: str) -> None:
        self.enabled = bool(enabled) and sys.stderr.isatty() and not os.environ.get("CI")
        self.total, self.description = total, description
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Bar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), TextColumn("{task.fields[now]}"),
                                      console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total, now="")
        return self

    def label(self, text: str) -> None:
        """Name what is being computed now."""
        if self._progress is not None:
            self._progress.update(self._task, now=text)

    def advance(self, n: int) -> None:
        """n more done."""
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


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
    chunk: int | None = None,
    progress: bool = False,
) -> TimeMatrix:
    """Percentile minutes over the window from every origin to every (always-open) site.

    One backward profile search per site on the shared network, sites in parallel (numba
    threads). Columns are cached in ``cache_dir`` in one .npz per (network cache key, origins,
    window, walk limit, percentile), keyed inside by site id and coordinates, so a later call
    computes only the sites it has not seen. Without a cache key (an in-memory network) or a
    cache_dir nothing is cached. The finished columns are saved after every ``chunk`` sites
    (default: twice the numba threads), so an interrupted run keeps them; ``progress`` shows a
    bar advancing per site on a terminal (rich, on stderr; nothing in pipes or CI).
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
        step = max(1, int(chunk or 2 * get_num_threads()))
        columns: dict[int, np.ndarray] = {}
        with _Bar(progress, len(todo), "travel times to each site") as bar:

            def finished(j: int, column: np.ndarray) -> None:
                columns[j] = column
                bar.advance(1)
                bar.label(site_ids[todo[j]])
                if len(columns) % step == 0 or len(columns) == len(todo):
                    log.info("site travel times: %d/%d sites, %.1f s", len(columns), len(todo),
                             time.perf_counter() - start)
                    if path is not None:  # saved as it goes, in the sites' order
                        done = sorted(columns)
                        _save_cached(path, np.concatenate([cached_ids, site_ids[todo][done]]),
                                     np.concatenate([cached_xy, site_xy[todo][done]]),
                                     np.column_stack([cached, *(columns[k] for k in done)]))

            _compute_columns(network, origin_xy, site_xy[todo], window, max_access_s, percentile,
                             finished)
        order = sorted(columns)
        cached_ids = np.concatenate([cached_ids, site_ids[todo]])
        cached_xy = np.concatenate([cached_xy, site_xy[todo]])
        cached = np.column_stack([cached, *(columns[k] for k in order)])
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


def _plan_columns(ids: Sequence[str], index: Mapping[str, int]) -> list[int]:
    """Column indices of the given site ids, in their order."""
    return [index[c] for c in ids]


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
                    registry: gpd.GeoDataFrame, network: TransitNetwork | None = None, *,
                    progress: bool = False) -> tuple[TimeMatrix, gpd.GeoDataFrame, TransitNetwork]:
    lsoas = load_lsoas(data_dir, scenario.data)
    network = network or scenario_network(scenario, data_dir, cache_dir)
    rows = registry.set_index("counter_id").loc[list(ids)]
    matrix = site_times(
        network, lsoas["lsoa_code"].to_numpy(),
        np.column_stack([lsoas.geometry.x, lsoas.geometry.y]), np.asarray(ids),
        np.column_stack([rows.geometry.x, rows.geometry.y]), _window(scenario),
        max_access_minutes=scenario.walking.max_access_minutes, cache_dir=cache_dir,
        progress=progress)
    return matrix, lsoas, network
