"""Public-transport travel time to the nearest open counter, for every departure minute.

One backward profile Connection Scan (Dibbelt, Pajor, Strasser & Wagner, "Connection Scan
Algorithm", 2013/2018, profile variant) from all targets at once gives, for every stop, the
served time at the best target as a step function of the departure time from that stop. Each
origin then only looks up its access stops, so the cost of the scan does not depend on the
number of origins or targets.

Semantics (all integer seconds; a walk leg lasts ``walk_seconds`` = ceil(walk minutes * 60)):

* Departing the origin at tau, a resident walks to a stop s within ``max_access_minutes`` and
  boards a hop departing s at >= tau + access; or walks straight to a target (any distance).
* Staying on a trip is free. Alighting at v at time t (drop_off_type != 1), they can walk to a
  target within ``max_access_minutes`` (arrive t + egress), board another hop departing v at
  >= t + change(v), or walk a footpath v->w and board at w at >= t + change(v->w). change(v)
  is transfers.txt's time for v->v, else the network's ``min_change_seconds`` (a feed may
  forbid changing at v); change(v->w) is transfers.txt's time for v->w, else the crow-fly
  walk + ``min_change_seconds`` (see `siting.network.stops.transfer_rules`).
  At most one footpath between two vehicles; no footpath right after access or before egress.
* Frequency-based services (frequencies.txt, exact_times=0) have no timetable, only a headway:
  each draw of `TransitNetwork.draw` gives every frequency entry a random phase, and
  `siting.draws.served_over_draws` pools them, so reported percentiles are over
  (departure minute x draw), as R5 reports over its Monte Carlo iterations.
* A target open [open_s, close_s) serves an arrival at t at t if open, at open_s if earlier,
  never if t >= close_s (24/7 targets serve at t). The result for (origin, tau) is the least
  (served time, target index) pair: ties go to the lowest target index.

The scan (profile CSA) runs over hops by decreasing departure time. ``T[trip]`` is the best
key (served time * 2**20 + target) reachable by staying on the trip; stop profiles hold
Pareto entries (departure, key) appended in decreasing departure with strictly decreasing key,
so the value of being ready to board at s at time t is the entry with the least departure
>= t (a binary search). For a hop arriving at v at a, the alighting value is
min(egress(v, a), profile_v(a + change), min over footpaths v->w of profile_w(a + walk + change)).
Hops departing at the same second d are scanned positive-duration first; zero-duration hops may
depend on profile entries at d (when the change time is 0) and are iterated to a fixed point,
so the result is exact, not only up to ties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numba import njit

from siting._errors import ScenarioError
from siting._threads import run_blocks
from siting.network.transit import TransitNetwork, walk_seconds
from siting.scan import (
    UNREACHABLE,
    SharedRows,
    StopLayout,
    board_bounds,
    row_starts,
    scan_rows,
    stop_layout,
)
from siting.scenario import MEASURES
from siting.summaries import summarise, summarise_served

__all__ = [
    "ALWAYS_CLOSE",
    "ALWAYS_OPEN",
    "MEASURES",
    "Profiles",
    "Targets",
    "Window",
    "change_costs",
    "direct_walk_seconds",
    "profile_search",
    "profile_search_many",
    "summarise",
    "summarise_served",
    "walk_csr",
]

ALWAYS_OPEN = -(1 << 40)
"""open_s of a 24/7 target (earlier than any time)."""
ALWAYS_CLOSE = 1 << 40
"""close_s of a 24/7 target (later than any time)."""

_SLOTS = 1 << 20
_MAX_TARGETS = _SLOTS - 1
_INF = np.iinfo(np.int64).max


@dataclass(frozen=True, eq=False)
class Targets:
    """Counters to reach: ids, EPSG:27700 points and daily opening hours in seconds."""

    ids: np.ndarray
    xy: np.ndarray
    open_s: np.ndarray
    close_s: np.ndarray

    @classmethod
    def from_arrays(
        cls,
        ids: Sequence[str] | np.ndarray,
        xy: np.ndarray,
        open_s: Sequence[float] | np.ndarray | None = None,
        close_s: Sequence[float] | np.ndarray | None = None,
    ) -> Targets:
        """Targets from ids and (n, 2) BNG coordinates; NaN/None hours (or none given) = 24/7."""
        ids = np.asarray(ids, dtype=object).astype(str)
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        n = len(ids)
        if len(xy) != n:
            raise ScenarioError(f"Targets: {n} ids but {len(xy)} coordinates. Give one point "
                                "per target.")
        if n > _MAX_TARGETS:
            raise ScenarioError(f"Targets: {n} targets, more than {_MAX_TARGETS}. Split them.")
        open_f = _hours(open_s, n)
        close_f = _hours(close_s, n)
        always = np.isnan(open_f) | np.isnan(close_f)
        opening = np.where(always, ALWAYS_OPEN, np.nan_to_num(open_f)).astype(np.int64)
        closing = np.where(always, ALWAYS_CLOSE, np.nan_to_num(close_f)).astype(np.int64)
        bad = ~always & (closing <= opening)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ScenarioError(f"Targets: target {str(ids[i])!r} closes ({closing[i]} s) before it "
                                f"opens ({opening[i]} s). Give close_s after open_s, or NaN "
                                "for a 24/7 counter.")
        return cls(ids=ids, xy=xy, open_s=opening, close_s=closing)

    @property
    def always_open(self) -> np.ndarray:
        """True for 24/7 targets."""
        return (self.open_s == ALWAYS_OPEN) & (self.close_s == ALWAYS_CLOSE)

    def for_measure(self, measure: str) -> Targets:
        """The targets of a measure: "24h" keeps only 24/7 counters, "any" keeps all."""
        if measure == "24h":
            return self.select(self.always_open)
        if measure == "any":
            return self
        raise ScenarioError(f"Unknown measure {measure!r}. Use one of {', '.join(MEASURES)}.")

    def select(self, which: np.ndarray | Sequence[int]) -> Targets:
        """A subset (boolean mask or indices), e.g. ``t.select(t.always_open)`` or one counter."""
        index = np.asarray(which)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return Targets(ids=self.ids[index], xy=self.xy[index], open_s=self.open_s[index],
                       close_s=self.close_s[index])

    def __len__(self) -> int:
        return len(self.ids)


def _hours(values: Sequence[float] | np.ndarray | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    array = np.array([np.nan if v is None else v for v in values], dtype=float)
    if len(array) != n:
        raise ScenarioError(f"Targets: {n} ids but {len(array)} opening times. Give one per "
                            "target.")
    return array


@dataclass(frozen=True)
class Window:
    """Departure times start_s, start_s + step_s, ... < end_s (seconds since midnight)."""

    start_s: int
    end_s: int
    step_s: int = 60

    @property
    def departures(self) -> np.ndarray:
        """The departure times as int64 seconds."""
        return np.arange(self.start_s, self.end_s, self.step_s, dtype=np.int64)


# --------------------------------------------------------------------------- numba kernels


@njit(cache=True, inline="always")
def _served_key(t: int, target: int, open_s: np.ndarray, close_s: np.ndarray) -> int:
    if t >= close_s[target]:
        return _INF
    if t < open_s[target]:
        return open_s[target] * _SLOTS + target
    return t * _SLOTS + target


@njit(cache=True, inline="always")
def _walk_keys(out, direct, open_s, close_s, n_targets, departures):
    """``out[it]``: the key of walking all the way from one origin, per departure.

    The best 24/7 target on foot (least walk, ties to the lowest index) does not depend on the
    departure; a target with hours is evaluated per departure only if it can beat that one:
    its key is at least (departure + its walk) * _SLOTS + its index, so one farther away (or
    as far, with a higher index) never can.
    """
    walk_best = _INF
    walk_c = -1
    for c in range(n_targets):
        if open_s[c] == ALWAYS_OPEN and close_s[c] == ALWAYS_CLOSE and direct[c] < walk_best:
            walk_best = direct[c]
            walk_c = c
    for it in range(len(departures)):
        out[it] = (departures[it] + walk_best) * _SLOTS + walk_c if walk_c >= 0 else _INF
    for c in range(n_targets):
        if open_s[c] == ALWAYS_OPEN and close_s[c] == ALWAYS_CLOSE:
            continue
        if direct[c] > walk_best or (direct[c] == walk_best and c > walk_c):
            continue
        for it in range(len(departures)):
            out[it] = min(out[it], _served_key(departures[it] + direct[c], c, open_s, close_s))


def _evaluate(acc_off, acc_stop, acc_sec, direct_sec, open_s, close_s, departures, prof_start,
              prof_len, prof_dep, prof_key):
    """Best key per origin x departure (departures ascending), origins in blocks on threads.

    One merge walk per access stop: its profile (decreasing departures) is walked from the
    least departure upwards while the departures ascend, instead of a search per departure.
    Walking all the way is `_walk_keys`.
    """
    out = np.empty((len(acc_off) - 1, len(departures)), dtype=np.int64)
    run_blocks(_evaluate_block, len(acc_off) - 1, out, acc_off, acc_stop, acc_sec, direct_sec,
               open_s, close_s, departures, prof_start, prof_len, prof_dep, prof_key)
    return out


@njit(cache=True, nogil=True)
def _evaluate_block(lo, hi, out, acc_off, acc_stop, acc_sec, direct_sec, open_s, close_s,
                    departures, prof_start, prof_len, prof_dep, prof_key):
    """`_evaluate` for origins lo..hi-1."""
    n_dep = len(departures)
    for o in range(lo, hi):
        _walk_keys(out[o], direct_sec[o], open_s, close_s, len(open_s), departures)
        for a in range(acc_off[o], acc_off[o + 1]):
            s = acc_stop[a]
            n = prof_len[s]
            if n == 0:
                continue
            first = prof_start[s]
            walk = acc_sec[a]
            j = first + n - 1
            for it in range(n_dep):
                t = departures[it] + walk
                while j >= first and prof_dep[j] < t:
                    j -= 1
                if j < first:
                    break
                if prof_key[j] < out[o, it]:
                    out[o, it] = prof_key[j]


# --------------------------------------------------------------------------- public API

def change_costs(network: TransitNetwork) -> tuple[np.ndarray, np.ndarray]:
    """Per-stop change seconds (-1: no change there) and whole per-footpath change seconds."""
    change_s = network.stop_change_s.astype(np.int64)
    fp_total = network.fp_seconds.astype(np.int64) + int(network.min_change_seconds)
    return change_s, fp_total



def _inside(street: Any, xy: np.ndarray) -> np.ndarray:
    """Which points lie in a street network's complete core (where its walk times hold)."""
    if street is None or len(xy) == 0:
        return np.zeros(len(xy), dtype=bool)
    return shapely.contains_xy(street.core_box, xy[:, 0], xy[:, 1])


def walk_csr(network: TransitNetwork, xy_from: np.ndarray, xy_to: np.ndarray,
             max_seconds: int, street: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR (by from-point) of to-points with walk_seconds <= max_seconds (the engine's walking rule).

    With ``street`` (an `OsmWalkNetwork`), a walk whose two ends both lie in the street
    extract's complete core is timed on the real streets; every other walk is crow-fly.
    """
    pairs = network.walk.pairs_within(xy_from, xy_to, (max_seconds + 1) / 60)
    i_from = pairs["i_from"].to_numpy()
    i_to = pairs["i_to"].to_numpy()
    seconds = walk_seconds(network.walk, pairs["metres"].to_numpy())
    in_from, in_to = _inside(street, xy_from), _inside(street, xy_to)
    if in_from.any() and in_to.any():
        crow = ~(in_from[i_from] & in_to[i_to])
        from_idx, to_idx = np.flatnonzero(in_from), np.flatnonzero(in_to)
        on_streets = street.pairs_within(xy_from[from_idx], xy_to[to_idx], (max_seconds + 1) / 60)
        i_from = np.r_[i_from[crow], from_idx[on_streets["i_from"].to_numpy(dtype=np.int64)]]
        i_to = np.r_[i_to[crow], to_idx[on_streets["i_to"].to_numpy(dtype=np.int64)]]
        street_s = np.ceil(on_streets["minutes"].to_numpy(dtype=float) * 60.0 - 1e-9)
        seconds = np.r_[seconds[crow], street_s.astype(np.int64)]
        order = np.lexsort((i_to, i_from))
        i_from, i_to, seconds = i_from[order], i_to[order], seconds[order]
    keep = seconds <= max_seconds
    offsets = np.zeros(len(xy_from) + 1, dtype=np.int64)
    np.cumsum(np.bincount(i_from[keep], minlength=len(xy_from)), out=offsets[1:])
    return offsets, i_to[keep].astype(np.int64), seconds[keep].astype(np.int64)


def direct_walk_seconds(network: TransitNetwork, xy_from: np.ndarray, xy_to: np.ndarray,
                        street: Any = None) -> np.ndarray:
    """Dense (from x to) walking seconds all the way; on the streets where both ends are inside."""
    metres = np.hypot(xy_from[:, None, 0] - xy_to[None, :, 0], xy_from[:, None, 1] - xy_to[None, :, 1])
    seconds = walk_seconds(network.walk, metres).reshape(len(xy_from), len(xy_to))
    in_from, in_to = _inside(street, xy_from), _inside(street, xy_to)
    if in_from.any() and in_to.any():
        from_idx, to_idx = np.flatnonzero(in_from), np.flatnonzero(in_to)
        table = street.minutes_from(xy_from[from_idx], xy_to[to_idx])
        ok = table["minutes"].notna().to_numpy()
        rows = from_idx[table["i_from"].to_numpy(dtype=np.int64)[ok]]
        cols = to_idx[table["i_to"].to_numpy(dtype=np.int64)[ok]]
        seconds[rows, cols] = np.ceil(table["minutes"].to_numpy(dtype=float)[ok] * 60.0 - 1e-9)
    return seconds


@dataclass(frozen=True, eq=False)
class Profiles:
    """Per-stop served-time profiles for one target set; evaluate them for any origins.

    Entries of stop s are ``dep[start[s]:start[s] + length[s]]`` (decreasing) with keys
    served time * 2**20 + target index.
    """

    network: TransitNetwork
    targets: Targets
    max_access_minutes: float
    start: np.ndarray
    length: np.ndarray
    dep: np.ndarray
    key: np.ndarray
    street: Any = None
    """An `OsmWalkNetwork` timing walks inside its extract's core on real streets (or None)."""

    @property
    def max_access_seconds(self) -> int:
        """The access/egress walking limit in whole seconds."""
        return round(self.max_access_minutes * 60)

    def served(self, origins_xy: np.ndarray, window: Window, *,
               access: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
               direct: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Served time (int64 s, -1 if never) and target index (-1) per origin x departure.

        ``access`` is the origins' `walk_csr` to the network's stops and ``direct`` their
        `direct_walk_seconds` to the targets, if already computed (they depend only on the
        origins, the stops, the targets and the walk).
        """
        _check_window(self.network, window)
        origins_xy = np.asarray(origins_xy, dtype=float).reshape(-1, 2)
        if access is None:
            access = walk_csr(self.network, origins_xy, self.network.stop_xy,
                              self.max_access_seconds, self.street)
        acc_off, acc_stop, acc_sec = access
        if direct is None:
            direct = direct_walk_seconds(self.network, origins_xy, self.targets.xy, self.street)
        keys = _evaluate(acc_off, acc_stop, acc_sec, np.ascontiguousarray(direct),
                         self.targets.open_s, self.targets.close_s, window.departures,
                         self.start, self.length, self.dep, self.key)
        return _served_and_target(keys)

    def evaluate(self, origins_xy: np.ndarray, origin_ids: Sequence[str] | np.ndarray,
                 window: Window) -> pd.DataFrame:
        """Long table origin_id, departure_s, minutes (NaN if unreachable), counter_id.

        Sorted by origin_id then departure_s.
        """
        origin_ids = np.asarray(origin_ids, dtype=object).astype(str)
        served, target = self.served(origins_xy, window)
        departures = window.departures
        n_origins, n_dep = served.shape
        if len(origin_ids) != n_origins:
            raise ScenarioError(f"evaluate: {len(origin_ids)} origin ids for {n_origins} "
                                "points. Give one id per origin.")
        reached = served >= 0
        minutes = np.where(reached, (served - departures[None, :]) / 60.0, np.nan)
        counter = self.targets.ids[np.maximum(target, 0)].astype(object)
        counter[~reached] = None
        table = pd.DataFrame({
            "origin_id": np.repeat(origin_ids, n_dep),
            "departure_s": np.tile(departures, n_origins),
            "minutes": minutes.ravel(),
            "counter_id": pd.Series(counter.ravel(), dtype="str"),
        })
        return table.sort_values(["origin_id", "departure_s"], kind="stable").reset_index(
            drop=True)

    def summarise(self, origins_xy: np.ndarray, origin_ids: Sequence[str] | np.ndarray,
                  window: Window, percentiles: Sequence[float] = (50,)) -> pd.DataFrame:
        """``summarise(self.evaluate(...), percentiles)`` without building the long table.

        Reads the (origins x departures) arrays directly: the same columns, values and order
        (sorted by origin_id), in a fraction of the time and memory. Origin ids must be unique
        (repeated ids fall back to the long table, which pools their departures).
        """
        origin_ids = np.asarray(origin_ids, dtype=object).astype(str)
        if len(np.unique(origin_ids)) != len(origin_ids):
            return summarise(self.evaluate(origins_xy, origin_ids, window), percentiles)
        served, target = self.served(origins_xy, window)
        if len(origin_ids) != served.shape[0]:
            raise ScenarioError(f"summarise: {len(origin_ids)} origin ids for {served.shape[0]} "
                                "points. Give one id per origin.")
        return summarise_served(served, target, window.departures, origin_ids, self.targets.ids,
                                percentiles)


def _served_and_target(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Served time (-1 if never) and target index (int32, -1) from engine keys."""
    reached = keys != _INF
    served = np.where(reached, keys // _SLOTS, -1)
    target = np.where(reached, keys % _SLOTS, -1).astype(np.int32)
    return served, target


def _check_window(network: TransitNetwork, window: Window) -> None:
    if window.step_s <= 0 or window.end_s <= window.start_s:
        raise ScenarioError(f"Departure window {window}: needs start_s < end_s and step_s > 0.")
    if window.start_s < network.start_s or window.end_s > network.end_s:
        raise ScenarioError(
            f"Departure window [{window.start_s}, {window.end_s}) s is outside the transit "
            f"network's range [{network.start_s}, {network.end_s}) s. Build the network from "
            "the window start to the window end plus the longest trip (e.g. +3 h)."
        )


def profile_search(network: TransitNetwork, targets: Targets, *,
                   max_access_minutes: float = 10.0, street: Any = None) -> Profiles:
    """One backward profile scan from all targets at once (see the module docstring).

    ``street`` (an `OsmWalkNetwork`) times the access, egress and all-the-way walks whose two
    ends lie in its extract's complete core on the real streets; the rest stay crow-fly.
    """
    return profile_search_many(network, [targets], max_access_minutes=max_access_minutes,
                               street=street)[0]


def profile_search_many(network: TransitNetwork, target_sets: Sequence[Targets], *,
                        max_access_minutes: float = 10.0, street: Any = None,
                        egress: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
                        bound: np.ndarray | None = None) -> list[Profiles]:
    """`profile_search` for several target sets (e.g. both measures), two per connection pass.

    ``egress``: each set's `walk_csr` from the network's stops to its targets, and ``bound``
    the scan's lower bounds (`search_bounds`), if already computed: they depend only on the
    stops, the targets, the walk and the network's least ride times, so draws share them.
    """
    _check_sets(target_sets)
    max_access_s = round(max_access_minutes * 60)
    if egress is None:
        egress = [walk_csr(network, network.stop_xy, targets.xy, max_access_s, street)
                  for targets in target_sets]
    if bound is None:
        bound = search_bounds(network, egress)
    out: list[Profiles] = []
    for first in range(0, len(target_sets), 2):
        pair = slice(first, first + 2)
        rows = _scan_shared(network, target_sets[pair], egress[pair], bound[pair])
        out.extend(_unpacked(rows, network, target_sets[pair], max_access_minutes, street))
    return out


def _unpacked(rows: SharedRows, network: TransitNetwork, target_sets: Sequence[Targets],
              max_access_minutes: float, street: Any) -> list[Profiles]:
    """Each target set's `Profiles` from the scan's shared rows."""
    out = []
    for layer, targets in enumerate(target_sets):
        length, dep, key = rows.layer(layer)
        out.append(Profiles(network=network, targets=targets,
                            max_access_minutes=float(max_access_minutes), start=rows.start,
                            length=length, dep=dep, key=key, street=street))
    return out


def _hours_table(target_sets: Sequence[Targets]) -> tuple[np.ndarray, np.ndarray]:
    """Opening and closing seconds per layer and target, padded with 24/7 hours."""
    width = max(len(t) for t in target_sets)
    open_s = np.full((len(target_sets), width), ALWAYS_OPEN, dtype=np.int64)
    close_s = np.full((len(target_sets), width), ALWAYS_CLOSE, dtype=np.int64)
    for layer, targets in enumerate(target_sets):
        open_s[layer, :len(targets)] = targets.open_s
        close_s[layer, :len(targets)] = targets.close_s
    return open_s, close_s


def _scan_shared(network: TransitNetwork, target_sets: Sequence[Targets],
                 egress: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], bound: np.ndarray,
                 layout: StopLayout | None = None) -> SharedRows:
    """The scan of one or two target sets in one pass, as shared rows (one layer per set).

    ``egress``: each set's `walk_csr` from the stops; ``bound``: their `search_bounds`;
    ``layout``: the sets' `siting.scan.stop_layout`, if already made (phase draws share it).
    """
    _check_sets(target_sets)
    if len(target_sets) > 2:
        raise ValueError("one scan takes at most two target sets (profile_search_many pairs them)")
    layers = _egress_layers(egress, network.n_stops)
    open_s, close_s = _hours_table(target_sets)
    start = row_starts(network.dep_stop, network.can_board, network.n_stops)
    change_s, fp_total = change_costs(network)
    return scan_rows(
        (network.dep_stop, network.arr_stop, network.dep_time, network.arr_time, network.trip,
         network.can_board, network.can_alight), len(network.run_ids), start,
        (network.fp_offsets, network.fp_to, fp_total), change_s, layers, open_s, close_s,
        bound, layout)


def _check_sets(target_sets: Sequence[Targets]) -> None:
    """A named error for no target sets, or a set without targets."""
    if not target_sets:
        raise ScenarioError("profile_search: no target sets given.")
    for targets in target_sets:
        if len(targets) == 0:
            raise ScenarioError("profile_search: no targets. Give at least one counter.")


def scan_layout(network: TransitNetwork,
                egress: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                bound: np.ndarray) -> StopLayout:
    """The scan's per-stop words for one or two target sets (`siting.scan.stop_layout`),
    made once for all the phase draws of ``network``."""
    change_s, fp_total = change_costs(network)
    return stop_layout((network.fp_offsets, network.fp_to, fp_total), change_s,
                       _egress_layers(egress, network.n_stops), bound)


def _least_egress(egress: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Per layer and stop, the shortest egress walk to a target (UNREACHABLE if none)."""
    eg_off, _, eg_sec = egress
    n_layers, n_stops = eg_off.shape[0], eg_off.shape[1] - 1
    least = np.full((n_layers, n_stops), UNREACHABLE, dtype=np.int64)
    for layer in range(n_layers):
        offsets = eg_off[layer]
        stops = np.flatnonzero(np.diff(offsets))
        if len(stops):
            seconds = eg_sec[offsets[0]:offsets[-1]].astype(np.int64)
            least[layer, stops] = np.minimum.reduceat(seconds, offsets[stops] - offsets[0])
    return least


def search_bounds(network: TransitNetwork,
                  egress: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
    """The scan's lower bounds (`siting.scan.board_bounds`), one layer per target set.

    ``egress``: each set's `walk_csr` from the network's stops. The same for every phase draw
    of the network (they share its least ride times).
    """
    change_s, fp_total = change_costs(network)
    least = _least_egress(_egress_layers(egress, network.n_stops))
    return board_bounds(network.ride_edges(), network.n_stops, least, change_s,
                        network.fp_offsets, network.fp_to, fp_total)


def _egress_layers(egress: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], n_stops: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sets' egress CSRs as one: per-layer offsets (layers, stops + 1) into shared arrays."""
    eg_off = np.zeros((len(egress), n_stops + 1), dtype=np.int64)
    base = 0
    for layer, (off, tgt, _) in enumerate(egress):
        eg_off[layer] = off + base
        base += len(tgt)
    return (eg_off, np.concatenate([e[1] for e in egress]),
            np.concatenate([e[2] for e in egress]))
