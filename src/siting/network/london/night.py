"""Night service: the N-prefixed night buses, 24-hour day routes at night, and the Night Tube.

Every trip the writer emits is a :class:`_Run`: a pattern, the calendar service it runs on and
the window of its frequencies.txt row. Night runs belong to the evening's service day and
carry GTFS times past 24:00 (00:30 on Saturday morning is 24:30 on Friday's service), which is
how GTFS writes overnight service and how the engine reads it (a morning query also sees the
previous service day's trips, shifted by -24 h).

* ``NIGHT`` runs every night: night buses (``night_bus_routes``) over ``night_bus_hours``, and
  the night service of ``bus_24h_routes``, from the end of their day span to the end of the night,
  all every ``night_bus_headway_min``;
* ``NIGHT_TUBE`` runs on Friday and Saturday nights only (TfL: the Night Tube runs "on Friday and
  Saturday nights", from 19 August 2016): the patterns of ``night_tube_patterns`` over
  ``night_tube_hours``, each line from its ``night_tube_from`` date; and the weekend night
  service of ``bus_weekend_night_routes``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
from dataclasses import dataclass, replace
from pathlib import Path

import networkx as nx

from siting._errors import ScenarioError
from siting.network.london.assumptions import LondonAssumptions, _night_tube_pattern, _span
from siting.network.london.inputs import _read_csv
from siting.network.london.patterns import _both_directions, _Pattern

DAILY = "daily"
"""Calendar service of the day patterns: every day of the week."""
NIGHT = "night"
"""Calendar service of the night buses: every night (service day = the evening's date)."""
NIGHT_TUBE = "night_fri_sat"
"""Calendar service of Friday and Saturday nights: the Night Tube (and weekend night buses)."""
CALENDAR = {DAILY: range(7), NIGHT: range(7), NIGHT_TUBE: (4, 5)}
"""Weekdays (Monday = 0) each calendar service runs on."""

_DAY = 24 * 3600


@dataclass(frozen=True)
class _Run:
    """A pattern on a calendar service, repeated every headway over [start_s, end_s)."""

    pattern: _Pattern
    service_id: str
    start_s: int
    end_s: int


def _route_code(pattern: _Pattern) -> str:
    return pattern.route_id.split(":", 1)[1]


def _is_night_bus(pattern: _Pattern, a: LondonAssumptions) -> bool:
    return pattern.mode == "bus" and bool(re.search(a.night_bus_routes, _route_code(pattern)))


def day_runs(patterns: list[_Pattern], a: LondonAssumptions) -> list[_Run]:
    """Every day pattern over its mode's ``day_service_hours`` (night-only bus routes left out)."""
    spans = {mode: _span(text) for mode, text in a.day_service_hours.items()}
    return [_Run(p, DAILY, *spans[p.mode]) for p in patterns if not _is_night_bus(p, a)]


def night_bus_runs(patterns: list[_Pattern], a: LondonAssumptions) -> list[_Run]:
    """Night buses every night over ``night_bus_hours``; 24-hour routes from their day end on.

    Routes in ``bus_weekend_night_routes`` get the same night run on Friday and Saturday
    nights only (service ``NIGHT_TUBE``) every ``night_bus_weekend_headway_min``.
    Night hours are clock times after midnight, written on the evening's service day (+24 h).
    A 24-hour route's night run starts where its day span ends (no double service), at the
    night headway; its trip id is the day trip's plus ``:night``.
    """
    start, end = (s + _DAY for s in _span(a.night_bus_hours))
    headway = round(a.night_bus_headway_min * 60)
    all_night = set(a.bus_24h_routes)
    day_end = _span(a.day_service_hours["bus"])[1]
    weekend = set(a.bus_weekend_night_routes)
    weekend_headway = round(a.night_bus_weekend_headway_min * 60)
    runs = []
    for p in patterns:
        if _is_night_bus(p, a):
            runs.append(_Run(replace(p, headway_s=headway), NIGHT, start, end))
        elif p.mode != "bus" or max(start, day_end) >= end:
            continue
        elif _route_code(p) in all_night:
            runs.append(_Run(replace(p, trip_id=f"{p.trip_id}:night", headway_s=headway), NIGHT,
                             max(start, day_end), end))
        elif _route_code(p) in weekend:
            runs.append(_Run(replace(p, trip_id=f"{p.trip_id}:night", headway_s=weekend_headway),
                             NIGHT_TUBE, max(start, day_end), end))
    return runs


def night_tube_runs(data_dir: Path, a: LondonAssumptions, service_date: dt.date) -> list[_Run]:
    """Night Tube patterns (both directions) on Friday and Saturday nights over night_tube_hours.

    Each pattern's stations are joined leg by leg by the fastest path on its line's graph (the
    data's run minutes), so 'Morden > Charing Cross > Camden Town' takes the Charing Cross
    branch. A line runs only when its ``night_tube_from`` date is on or before the service date.
    Unknown lines or stations raise ScenarioError naming the field and the closest names.
    """
    field = "transit.assumptions.night_tube_patterns"
    stations = _read_csv(data_dir, "tube_stations", ["id", "name"])
    lines = _read_csv(data_dir, "tube_lines", ["line", "name"])
    conns = _read_csv(data_dir, "tube_connections", ["station1", "station2", "line", "time"])
    line_id = dict(zip(lines["name"], lines["line"], strict=True))
    by_name = dict(zip(stations["name"], stations["id"], strict=True))
    start, end = (s + _DAY for s in _span(a.night_tube_hours))
    runs: list[_Run] = []
    for k, text in enumerate(a.night_tube_patterns):
        name, waypoints, minutes = _night_tube_pattern(text)
        if name not in line_id or name in a.tube_excluded_lines:
            valid = sorted(set(line_id) - set(a.tube_excluded_lines))
            close = difflib.get_close_matches(name, valid, n=1, cutoff=0.4)
            raise ScenarioError(
                f"field `{field}`: {text!r} names the line {name!r}, which the modelled tube "
                f"does not run." + (f" Did you mean {close[0]!r}?" if close else "")
                + f" Lines: {', '.join(valid)}.")
        opened = a.night_tube_from.get(name)
        if opened is None or dt.date.fromisoformat(opened) > service_date:
            continue
        edges = conns[conns["line"] == line_id[name]]
        graph = nx.Graph()
        for s1, s2, t in zip(edges["station1"], edges["station2"], edges["time"], strict=True):
            graph.add_edge(int(s1), int(s2), time=float(t))
        ids = []
        for station in waypoints:
            if station not in by_name or int(by_name[station]) not in graph:
                on_line = sorted(n for n, i in by_name.items() if int(i) in graph)
                close = difflib.get_close_matches(station, on_line, n=1, cutoff=0.4)
                raise ScenarioError(
                    f"field `{field}`: {text!r}: no station {station!r} on the {name} in "
                    "london.stations.csv." + (f" Did you mean {close[0]!r}?" if close else ""))
            ids.append(int(by_name[station]))
        path = [ids[0]]
        for u, v in itertools.pairwise(ids):
            path += nx.shortest_path(graph, u, v, weight="time")[1:]
        run_s = [60.0 * graph.edges[u, v]["time"] for u, v in itertools.pairwise(path)]
        route_id = f"tube:{line_id[name]}"
        for p in _both_directions("tube", route_id, f"{route_id}:night{k}",
                                  [f"tube:{s}" for s in path], run_s, a.tube_dwell_s,
                                  round(minutes * 60)):
            runs.append(_Run(p, NIGHT_TUBE, start, end))
    return runs
