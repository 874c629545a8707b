"""The common trip-template representation every mode builds: patterns, modes, offsets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class _Pattern:
    """One trip template: a route, a direction, its stops with offsets, and a headway."""

    mode: str
    route_id: str
    trip_id: str
    direction: int
    stops: tuple[str, ...]
    arrive_s: tuple[int, ...]
    depart_s: tuple[int, ...]
    headway_s: int


@dataclass
class _Mode:
    """Stops, routes and patterns of one mode, as built."""

    stops: pd.DataFrame  # stop_id, stop_name, x, y (BNG)
    routes: pd.DataFrame  # route_id, agency_id, route_short_name, route_long_name, route_type
    patterns: list[_Pattern]
    notes: dict[str, Any] = field(default_factory=dict)


def _offsets(run_s: Sequence[float], dwell_s: float) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Arrival/departure offsets from hop run times, with dwell at intermediate stops.

    Cumulative times are rounded once (not per hop), so offsets never decrease.
    """
    n = len(run_s) + 1
    arrive = np.zeros(n)
    depart = np.zeros(n)
    for i, run in enumerate(run_s, start=1):
        arrive[i] = depart[i - 1] + float(run)
        depart[i] = arrive[i] + (dwell_s if i < n - 1 else 0.0)
    a = np.rint(arrive).astype(int)
    d = np.maximum(np.rint(depart).astype(int), a)
    return tuple(int(v) for v in a), tuple(int(v) for v in d)


def _both_directions(mode: str, route_id: str, base: str, stops: Sequence[str],
                     run_s: Sequence[float], dwell_s: float, headway_s: int) -> list[_Pattern]:
    """The pattern as two trips, direction 0 as given and direction 1 reversed."""
    out = []
    for direction in (0, 1):
        seq = list(stops) if direction == 0 else list(stops)[::-1]
        runs = list(run_s) if direction == 0 else list(run_s)[::-1]
        arrive, depart = _offsets(runs, dwell_s)
        out.append(_Pattern(mode, route_id, f"{base}:{direction}", direction, tuple(seq),
                            arrive, depart, int(headway_s)))
    return out
