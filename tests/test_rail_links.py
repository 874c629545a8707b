"""The compiled track search (siting.network.london._links) against the Python search it
replaced, kept here as the reference: on a hand-built track and on London's rail and tram track."""

from __future__ import annotations

import heapq
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from siting.network.london import rail
from siting.network.london.assumptions import LondonAssumptions


def python_station_links(track: Any, owner: np.ndarray, station_xy: np.ndarray,
                         limit_m: float, passing: frozenset[tuple[int, int]] = frozenset(),
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`rail._station_links` as it was in Python before the search was compiled."""
    head = track.head.tolist()
    length = track.length.tolist()
    ux = track.unit[:, 0].tolist()
    uy = track.unit[:, 1].tolist()
    nx_ = track.xy[:, 0].tolist()
    ny_ = track.xy[:, 1].tolist()
    own = owner.tolist()
    ptr = track.succ_ptr.tolist()
    succ = track.succ.tolist()
    head_owner = owner[track.head]
    segs = np.flatnonzero(head_owner >= 0)
    starts = pd.Series(segs).groupby(head_owner[segs]).apply(list).to_dict()
    line = track.line.tolist()
    rows = []
    moves: set[tuple[int, int, int]] = set()
    for s in sorted(starts):
        sx, sy = float(station_xy[s, 0]), float(station_xy[s, 1])
        best: dict[tuple[int, int], float] = {}
        pred: dict[int, int] = {}  # segment -> previous segment, before passing a station
        heap: list[tuple[float, int, int, int]] = []
        for e in starts[s]:
            h = head[e]
            d0 = max(0.0, (nx_[h] - sx) * ux[e] + (ny_[h] - sy) * uy[e])
            best[(e, -1)] = d0
            heap.append((d0, e, -1, -1))
        heapq.heapify(heap)
        found: dict[int, tuple[float, int, int]] = {}
        while heap:
            d, e, first, via = heapq.heappop(heap)
            if d > limit_m:
                break
            if d > best.get((e, via), math.inf):
                continue
            h = head[e]
            here = own[h]
            if (s, here) in passing:
                here = -1
            for f in succ[ptr[e]:ptr[e + 1]]:
                z = own[head[f]]
                if (s, z) in passing:
                    z = -1
                nvia = via
                if via < 0:  # not yet past a station
                    if z >= 0 and z != s:
                        tx, ty = station_xy[z]
                        val = d + max(0.0, (tx - nx_[h]) * ux[f] + (ty - ny_[h]) * uy[f])
                        leave = first if first >= 0 else f
                        if val < found.get(z, (math.inf, 0, 0))[0]:
                            found[z] = (val, leave, e)
                        nvia = z  # carry on through z's zone to find through moves
                    elif z == s and here != s:
                        continue  # back into our own zone round a loop
                elif z >= 0 and z != via:
                    if z != s:
                        moves.add((s, via, z))
                    continue
                elif z == via and here != via:
                    continue
                nd = d + length[f]
                leave = first if first >= 0 else (f if z != s else -1)
                if nd < best.get((f, nvia), math.inf):
                    best[(f, nvia)] = nd
                    if nvia < 0:
                        pred[f] = e
                    heapq.heappush(heap, (nd, f, leave, nvia))
        for t, (metres, leave, last) in found.items():
            # The link's line: the OSM name covering most of its track (unnamed ignored).
            weight: dict[int, float] = {}
            seg: int | None = last
            while seg is not None:
                if line[seg] >= 0:
                    weight[line[seg]] = weight.get(line[seg], 0.0) + length[seg]
                seg = pred.get(seg)
            name = max(weight, key=lambda k: (weight[k], -k)) if weight else -1
            rows.append((s, t, metres, ux[leave], uy[leave], name))
    links = pd.DataFrame(rows, columns=["a", "b", "metres", "ux", "uy", "line"])
    through = pd.DataFrame(sorted(moves), columns=["a", "via", "b"], dtype=np.int64)
    return links, through



def _check(got: tuple[pd.DataFrame, pd.DataFrame], want: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    pd.testing.assert_frame_equal(got[0], want[0], check_exact=True)
    pd.testing.assert_frame_equal(got[1], want[1], check_exact=True)


def test_hand_built_junction_links_and_through_moves() -> None:
    # A line A - B - C along y = 0 with a branch leaving B 30 degrees to the north to D (700 m
    # long). Track nodes every 50 m at most; stations own the nodes within 60 m. From A: B at
    # 1,000 m; through B, on to C and (a 30-degree turn, within 45) to D. From C, through B to
    # A only: turning up the branch would be a 150-degree turn.
    import geopandas as gpd
    import shapely

    main = shapely.LineString([(0, 0), (2000, 0)])
    branch = shapely.LineString([(1000, 0), (1000 + 700 * math.cos(math.pi / 6), 350)])
    track = rail._track_graph(gpd.GeoSeries([main, branch]), pd.Series(["Main", "Branch"]),
                              max_turn_deg=45.0)
    stations = np.array([[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0],
                         [1000 + 700 * math.cos(math.pi / 6), 350.0]])
    owner = rail._zones(track, stations, 60.0, 200.0)
    got = rail._station_links(track, owner, stations, 5000.0)
    _check(got, python_station_links(track, owner, stations, 5000.0))
    links, through = got
    pairs = set(zip(links["a"], links["b"], strict=True))
    assert {(0, 1), (1, 0), (1, 2), (2, 1), (1, 3), (3, 1)} <= pairs
    assert (0, 2) not in pairs  # B lies between
    a_to_b = links[(links["a"] == 0) & (links["b"] == 1)].iloc[0]
    assert a_to_b["metres"] == pytest.approx(1000.0, abs=1e-6)
    assert (a_to_b["ux"], a_to_b["uy"]) == pytest.approx((1.0, 0.0))
    moves = set(map(tuple, through.to_numpy().tolist()))
    assert (0, 1, 2) in moves
    assert (0, 1, 3) in moves
    assert (2, 1, 0) in moves
    assert (2, 1, 3) not in moves
    # A station passed without calling: from A, trains run through B's zone to C and D.
    got = rail._station_links(track, owner, stations, 5000.0, frozenset({(0, 1)}))
    _check(got, python_station_links(track, owner, stations, 5000.0, frozenset({(0, 1)})))
    assert {(0, 2), (0, 3)} <= set(zip(got[0]["a"], got[0]["b"], strict=True))


def test_compiled_search_matches_python_on_london(london_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = rail._station_links
    sizes = []

    def both(track: Any, owner: np.ndarray, xy: np.ndarray, limit_m: float,
             passing: frozenset[tuple[int, int]] = frozenset()) -> Any:
        got = compiled(track, owner, xy, limit_m, passing)
        _check(got, python_station_links(track, owner, xy, limit_m, passing))
        sizes.append((len(got[0]), len(got[1])))
        return got

    monkeypatch.setattr(rail, "_station_links", both)
    rail._rail_and_tram(london_dir, LondonAssumptions())
    assert len(sizes) == 2  # rail, then trams
    assert min(n for n, _ in sizes) > 50
    assert max(m for _, m in sizes) > 100
