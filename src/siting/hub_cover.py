"""Set-cover arithmetic of the hub model: whole-number costs and dominance reductions.

Both keep the optimum: CP-SAT needs integer costs, and the reductions only drop sites and
wards whose choice another site or ward already settles (`siting.hubs.HubSiting` explains
where they are used).
"""

from __future__ import annotations

import numpy as np

__all__ = ["integer_costs", "reduce_cover"]


def integer_costs(costs: np.ndarray) -> tuple[np.ndarray, int]:
    """Costs as integers: times the smallest power of ten (up to 10**6) making them whole."""
    for k in range(7):
        scaled = costs * 10**k
        tolerance = 1e-9 * max(1.0, float(np.abs(scaled).max(initial=0)))
        if np.allclose(scaled, np.round(scaled), rtol=0, atol=tolerance):
            return np.round(scaled).astype(np.int64), 10**k
    return np.round(costs * 10**6).astype(np.int64), 10**6


def reduce_cover(cover: dict[int, frozenset[int]], cost: np.ndarray, keep: set[int]) -> dict[int, frozenset[int]]:
    """Set-cover reductions that keep the minimum cost.

    Drops a site whose wards another site, no dearer, also covers, and a ward whose candidate
    set contains another ward's (covering that ward covers it). Sites in ``keep`` stay.
    """
    cover = dict(cover)
    while True:
        ward_sites: dict[int, set[int]] = {}
        for s, ws in cover.items():
            for w in ws:
                ward_sites.setdefault(w, set()).add(s)
        order = sorted(cover, key=lambda s: (cost[s], -len(cover[s]), s))
        rank = {s: i for i, s in enumerate(order)}
        removed: set[int] = set()
        for s in order:
            ws = cover[s]
            if s in keep:
                continue
            if not ws:
                removed.add(s)
                continue
            pivot = min(ws, key=lambda w: (len(ward_sites[w]), w))
            for t in sorted(ward_sites[pivot]):
                if t == s or t in removed or cost[t] > cost[s] or not ws <= cover[t]:
                    continue
                if cover[t] != ws or cost[t] < cost[s] or rank[t] < rank[s]:
                    removed.add(s)
                    break
        for s in removed:
            del cover[s]
        ward_sites = {}
        for s, ws in cover.items():
            for w in ws:
                ward_sites.setdefault(w, set()).add(s)
        redundant: set[int] = set()
        for w in sorted(ward_sites, key=lambda w: (len(ward_sites[w]), w)):
            mine = ward_sites[w]
            others = set().union(*(cover[s] for s in mine)) - {w}
            for v in sorted(others):
                if v in redundant:
                    continue
                theirs = ward_sites[v]
                if theirs <= mine and (theirs != mine or v < w):
                    redundant.add(w)
                    break
        if redundant:
            cover = {s: ws - redundant for s, ws in cover.items()}
        if not removed and not redundant:
            return cover
