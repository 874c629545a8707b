"""Tube and DLR: per-line service patterns on the station graph, fitted frequencies."""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Mapping
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from scipy.optimize import lsq_linear

from siting._errors import ScenarioError
from siting.network.london.assumptions import LondonAssumptions
from siting.network.london.inputs import _input, _missing, _read_csv, _to_bng
from siting.network.london.patterns import _both_directions, _Mode, _Pattern


def _turn_ok(path: list[int], xy: Mapping[int, tuple[float, float]], max_turn_deg: float) -> bool:
    """True when no station on the path turns the direction of travel by more than the limit."""
    limit = math.cos(math.radians(max_turn_deg))
    for p, q, r in zip(path, path[1:], path[2:], strict=False):
        ax, ay = xy[q][0] - xy[p][0], xy[q][1] - xy[p][1]
        bx, by = xy[r][0] - xy[q][0], xy[r][1] - xy[q][1]
        norm = math.hypot(ax, ay) * math.hypot(bx, by)
        if norm > 0 and (ax * bx + ay * by) / norm < limit:
            return False
    return True


def _line_patterns(graph: nx.Graph, loop_start: int | None,
                   xy: Mapping[int, tuple[float, float]], max_turn_deg: float) -> list[list[int]]:
    """Terminal-to-terminal station sequences covering every edge of one line's graph.

    Greedy cover: repeatedly take the simple path between two terminals (degree-1 stations)
    that covers the most uncovered edges (ties: longest run time, then station ids), among
    paths that never turn back by more than ``max_turn_deg`` at a station (judged from station
    positions: no Chalk Farm -> Camden Town -> Kentish Town, no reversing round a triangle
    junction). Edges
    left over are the other sides of loops: a loop without a terminal beyond it (Piccadilly's
    Heathrow loop, the Circle) becomes a "lollipop" from the farthest terminal round the loop
    and back to its entry station, or a closed loop from ``loop_start`` when the line has no
    terminal at all; the other side of a loop between two covered stations (Central line's
    Hainault loop, Northern line's second central branch) runs from the farthest terminal
    through the entry station and along it.
    """
    terminals = sorted(n for n, d in graph.degree() if d == 1)
    key = lambda u, v: (u, v) if u <= v else (v, u)  # noqa: E731
    time_of = {key(u, v): d["time"] for u, v, d in graph.edges(data=True)}
    candidates: list[list[int]] = []
    for i, a in enumerate(terminals):
        for b in terminals[i + 1:]:
            candidates.extend(p for p in nx.all_simple_paths(graph, a, b)
                              if _turn_ok(p, xy, max_turn_deg))
    uncovered = set(time_of)
    chosen: list[list[int]] = []
    def score(path: list[int], todo: set[tuple[int, int]]) -> tuple[int, float, tuple[int, ...]]:
        edges = {key(u, v) for u, v in itertools.pairwise(path)}
        runtime = sum(time_of[e] for e in edges)
        return (len(edges & todo), runtime, tuple(-n for n in path))

    while uncovered and candidates:
        best = max(candidates, key=lambda p: score(p, uncovered))
        if not score(best, uncovered)[0]:
            break
        chosen.append(best)
        uncovered -= {key(u, v) for u, v in itertools.pairwise(best)}
    while uncovered:
        rest = nx.Graph(sorted(uncovered))
        component = rest.subgraph(min(nx.connected_components(rest), key=min)).copy()
        covered_nodes = {n for p in chosen for n in p}
        entries = sorted(n for n in component if n in covered_nodes)
        cycles = nx.cycle_basis(component)
        if entries:
            entry = entries[0]
        elif loop_start is not None and loop_start in component:
            entry = loop_start
        else:
            entry = min(component)
        walk: list[int]
        if cycles:
            cycle = max(cycles, key=len)
            nearest = min(cycle, key=lambda n: (nx.shortest_path_length(component, entry, n), n))
            stem = nx.shortest_path(component, entry, nearest)
            i = cycle.index(nearest)
            ring = cycle[i:] + cycle[:i]
            if len(ring) > 2 and ring[-1] < ring[1]:
                ring = [ring[0], *ring[1:][::-1]]
            walk = stem + ring[1:] + [nearest]
        else:
            far = max(component, key=lambda n: (nx.shortest_path_length(component, entry, n), -n))
            walk = nx.shortest_path(component, entry, far)
        if entries:
            covered = nx.Graph([e for p in chosen for e in itertools.pairwise(p)])
            if entry in covered:
                lengths = nx.single_source_shortest_path_length(covered, entry)
                ends = [t for t in terminals if t in lengths]
                if ends:
                    far_end = max(ends, key=lambda t: (lengths[t], -t))
                    walk = nx.shortest_path(covered, far_end, entry) + walk[1:]
        chosen.append(walk)
        uncovered -= {key(u, v) for u, v in itertools.pairwise(walk)}
    return chosen


def _fit_frequencies(patterns: list[list[int]], graph: nx.Graph, per_hour: float) -> list[float]:
    """Per-pattern trains/hour so each section's total is as close as possible to ``per_hour``.

    Bounded least squares over sections weighted by run time: minimise
    sum_e t_e * (sum_{p on e} f_p - F)^2 with F / load_p <= f_p <= F, where load_p is the most
    patterns sharing any section of p (so no pattern is starved and none exceeds the line).
    """
    edges = sorted({(min(u, v), max(u, v)) for u, v in graph.edges()})
    index = {e: i for i, e in enumerate(edges)}
    a = np.zeros((len(edges), len(patterns)))
    for j, path in enumerate(patterns):
        for u, v in itertools.pairwise(path):
            a[index[(min(u, v), max(u, v))], j] = 1.0
    weights = np.sqrt(np.array([graph.edges[e]["time"] for e in edges], dtype=float))
    load = a.sum(axis=1)
    lower = np.array([per_hour / max(load[a[:, j] > 0].max(), 1.0) for j in range(len(patterns))])
    if len(patterns) == 1:
        return [per_hour]
    fit = lsq_linear(a * weights[:, None], np.full(len(edges), per_hour) * weights,
                     bounds=(lower - 1e-9, np.full(len(patterns), per_hour) + 1e-9))
    return [float(min(max(x, lo), per_hour)) for x, lo in zip(fit.x, lower, strict=True)]


def _tube(data_dir: Path, a: LondonAssumptions) -> _Mode:
    """Tube and DLR routes: per-line patterns on the station graph, data run minutes."""
    stations = _read_csv(data_dir, "tube_stations", ["id", "latitude", "longitude", "name"])
    lines = _read_csv(data_dir, "tube_lines", ["line", "name"])
    conns = _read_csv(data_dir, "tube_connections", ["station1", "station2", "line", "time"])
    path = _input(data_dir, "tube_connections")
    unknown = sorted(set(conns["station1"]).union(conns["station2"]) - set(stations["id"]))
    if unknown:
        raise _missing(path, f"stations {unknown[:5]} are not in london.stations.csv")
    names = dict(zip(lines["line"], lines["name"], strict=True))
    for line in sorted(set(conns["line"]) - set(names)):
        raise _missing(path, f"line {line} is not in london.lines.csv")
    for name in sorted(set(lines["name"]) - set(a.tube_headway_min) -
                       set(a.tube_excluded_lines)):
        raise ScenarioError(
            f"transit.assumptions.tube_headway_min has no headway for the line {name!r} of "
            f"{_input(data_dir, 'tube_lines')}; add it, e.g. {{{name!r}: 3.0}}."
        )
    station_name = dict(zip(stations["id"], stations["name"], strict=True))
    by_name = {v: k for k, v in station_name.items()}
    if a.tube_loop_start not in by_name:
        close = difflib.get_close_matches(a.tube_loop_start, sorted(by_name), n=3, cutoff=0.5)
        raise ScenarioError(
            f"field `transit.assumptions.tube_loop_start`: no station named "
            f"{a.tube_loop_start!r} in {_input(data_dir, 'tube_stations')}"
            + (f"; did you mean {close[0]!r}?" if close else ".")
        )
    loop_start = by_name[a.tube_loop_start]
    sx, sy = _to_bng(stations["longitude"].to_numpy(float), stations["latitude"].to_numpy(float))
    station_xy = {int(i): (float(x), float(y)) for i, x, y in zip(stations["id"], sx, sy,
                                                                  strict=True)}
    patterns: list[_Pattern] = []
    routes = []
    used: set[int] = set()
    for line in sorted(names):
        name = names[line]
        if name in a.tube_excluded_lines:
            continue
        edges = conns[conns["line"] == line]
        if edges.empty:
            continue
        graph = nx.Graph()
        for s1, s2, minutes in sorted(zip(edges["station1"], edges["station2"], edges["time"],
                                          strict=True)):
            graph.add_edge(int(s1), int(s2), time=float(minutes))
        paths = _line_patterns(graph, loop_start, station_xy, a.tube_max_turn_deg)
        freqs = _fit_frequencies(paths, graph, 60.0 / a.tube_headway_min[name])
        dlr = "Docklands" in name
        mode = "dlr" if dlr else "tube"
        route_id = f"{mode}:{line}"
        routes.append({"route_id": route_id, "agency_id": "TfL",
                       "route_short_name": "DLR" if dlr else name.replace(" Line", ""),
                       "route_long_name": name, "route_type": 0 if dlr else 1})
        for k, (path_, per_hour) in enumerate(zip(paths, freqs, strict=True)):
            used.update(path_)
            run_s = [60.0 * graph.edges[u, v]["time"] for u, v in itertools.pairwise(path_)]
            patterns += _both_directions(
                mode, route_id, f"{route_id}:p{k}", [f"tube:{s}" for s in path_], run_s,
                a.tube_dwell_s, round(3600.0 / per_hour))
    kept = stations[stations["id"].isin(sorted(used))]
    x, y = _to_bng(kept["longitude"].to_numpy(float), kept["latitude"].to_numpy(float))
    stops = pd.DataFrame({"stop_id": "tube:" + kept["id"].astype(str),
                          "stop_name": kept["name"].astype(str), "x": x, "y": y})
    return _Mode(stops, pd.DataFrame(routes), patterns,
                 {"excluded_lines": list(a.tube_excluded_lines)})
