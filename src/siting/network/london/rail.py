"""National Rail, Overground and Tramlink on OSM track: stations, links, through-patterns."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from siting.network.london._links import station_links
from siting.network.london.assumptions import LondonAssumptions
from siting.network.london.inputs import _input, _missing, _read_csv, _read_parquet, _to_bng
from siting.network.london.patterns import _both_directions, _Mode, _Pattern


@dataclass(frozen=True)
class _Track:
    """A directed track graph: directed segments (tail -> head) and allowed successions."""

    xy: np.ndarray  # node coordinates (BNG)
    tail: np.ndarray
    head: np.ndarray
    length: np.ndarray
    unit: np.ndarray  # unit direction of each directed segment
    succ_ptr: np.ndarray  # CSR over directed segments
    succ: np.ndarray
    line: np.ndarray  # OSM way name code of each directed segment (-1: unnamed)


def _track_graph(lines: gpd.GeoSeries, names: pd.Series, *, max_turn_deg: float) -> _Track:
    """Directed segment graph of track lines joined only at shared OSM vertices.

    Lines are densified to 50 m so stations find a vertex nearby; ways that merely cross
    (bridges) share no vertex and so are not connected. A train may pass from one segment
    to the next only if its direction changes by at most ``max_turn_deg``: no reversing at
    junctions.
    """
    geoms = shapely.segmentize(np.asarray(lines.values), 50.0)
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    keys = np.round(coords * 10.0).astype(np.int64)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    xy = uniq / 10.0
    same = idx[1:] == idx[:-1]
    u, v = inv[:-1][same], inv[1:][same]
    codes, _ = pd.factorize(pd.Series(np.asarray(names, dtype=object)), sort=True)
    way_code = codes[idx[:-1][same]]
    keep = u != v
    segs = pd.DataFrame({"lo": np.minimum(u[keep], v[keep]), "hi": np.maximum(u[keep], v[keep]),
                         "line": way_code[keep]})
    segs = segs.sort_values(["lo", "hi", "line"], kind="stable").drop_duplicates(["lo", "hi"])
    pairs = segs[["lo", "hi"]].to_numpy()
    tail = np.concatenate([pairs[:, 0], pairs[:, 1]])
    head = np.concatenate([pairs[:, 1], pairs[:, 0]])
    line = np.concatenate([segs["line"].to_numpy(), segs["line"].to_numpy()])
    vec = xy[head] - xy[tail]
    length = np.hypot(vec[:, 0], vec[:, 1])
    unit = vec / length[:, None]
    order = np.argsort(tail, kind="stable")
    sorted_tail = tail[order]
    lo = np.searchsorted(sorted_tail, head, "left")
    hi = np.searchsorted(sorted_tail, head, "right")
    count = hi - lo
    src = np.repeat(np.arange(len(tail)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    dst = order[np.repeat(lo, count) + offset]
    ok = (head[dst] != tail[src]) & (
        (unit[src] * unit[dst]).sum(axis=1) >= math.cos(math.radians(max_turn_deg)))
    src, dst = src[ok], dst[ok]
    by_src = np.argsort(src, kind="stable")
    succ_ptr = np.searchsorted(src[by_src], np.arange(len(tail) + 1))
    return _Track(xy, tail, head, length, unit, succ_ptr, dst[by_src], line)


def _zones(track: _Track, station_xy: np.ndarray, radius: float, max_m: float) -> np.ndarray:
    """Station index owning each track node (-1: none): nodes within radius, nearest station wins.

    A station with no node within ``radius`` takes the nodes within 50 m beyond its nearest
    node, if that is within ``max_m``; otherwise it owns nothing (it is off this track).
    """
    tree = cKDTree(track.xy)
    nearest, _ = tree.query(station_xy)
    reach = np.where(nearest <= radius, radius, np.where(nearest <= max_m, nearest + 50.0, -1.0))
    owner = np.full(len(track.xy), -1, dtype=np.int64)
    ok = reach > 0
    hits = tree.query_ball_point(station_xy[ok], reach[ok])
    which = np.flatnonzero(ok)
    counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    if counts.sum() == 0:
        return owner
    s = np.repeat(which, counts)
    n = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=int(counts.sum()))
    d = np.hypot(*(track.xy[n] - station_xy[s]).T)
    table = pd.DataFrame({"n": n, "d": d, "s": s}).sort_values(["n", "d", "s"], kind="stable")
    table = table.drop_duplicates("n")
    owner[table["n"].to_numpy()] = table["s"].to_numpy()
    return owner


def _station_links(track: _Track, owner: np.ndarray, station_xy: np.ndarray, limit_m: float,
                   passing: frozenset[tuple[int, int]] = frozenset(),
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Directed links between stations that follow each other along the track, and through moves.

    From each station, a Dijkstra over directed segments records the first station zone it
    enters on each track (a link; the distance runs from the point of the track alongside the
    first station to the point alongside the second), then carries on through that zone to
    the next station (a through move first -> via -> next). Links come with the unit
    direction in which the track leaves the first station (``ux, uy``) and the OSM line name
    covering most of the link's track (``line``, -1 when unnamed). Through moves say
    which continuations the track allows at a station without reversing, so patterns never
    jump between lines that merely pass through one station (e.g. at Clapham Junction).
    A pair (s, p) in ``passing`` means trains from s run through p's zone without calling
    (p's point is near a line it has no platforms on).
    """
    head_owner = owner[track.head]
    segs = np.flatnonzero(head_owner >= 0)
    by_station = np.argsort(head_owner[segs], kind="stable")
    starts_seg = segs[by_station].astype(np.int64)
    station_ids, counts = np.unique(head_owner[segs], return_counts=True)
    seg_off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    pairs = np.array(sorted(passing), dtype=np.int64).reshape(-1, 2)
    pass_off = np.zeros(len(station_xy) + 1, dtype=np.int64)
    np.cumsum(np.bincount(pairs[:, 0], minlength=len(station_xy)), out=pass_off[1:])
    found, metres, through_moves = station_links(
        station_ids.astype(np.int64), seg_off, starts_seg, np.ascontiguousarray(station_xy, float),
        track.head.astype(np.int64), track.length.astype(float),
        np.ascontiguousarray(track.unit[:, 0]), np.ascontiguousarray(track.unit[:, 1]),
        np.ascontiguousarray(track.xy[:, 0]), np.ascontiguousarray(track.xy[:, 1]),
        owner.astype(np.int64), track.succ_ptr.astype(np.int64), track.succ.astype(np.int64),
        track.line.astype(np.int64), pass_off, pairs[:, 1].copy(), float(limit_m))
    leave = found[:, 2]
    rows = list(zip(found[:, 0].tolist(), found[:, 1].tolist(), metres.tolist(),
                    track.unit[leave, 0].tolist(), track.unit[leave, 1].tolist(),
                    found[:, 3].tolist(), strict=True))
    moves = set(map(tuple, through_moves.tolist()))
    links = pd.DataFrame(rows, columns=["a", "b", "metres", "ux", "uy", "line"])
    through = pd.DataFrame(sorted(moves), columns=["a", "via", "b"], dtype=np.int64)
    return links, through


def _kinematic_s(metres: np.ndarray, vmax_kmh: float, accel: float) -> np.ndarray:
    """Run seconds accelerating and braking at ``accel`` with top speed ``vmax_kmh``."""
    v = vmax_kmh / 3.6
    metres = np.asarray(metres, dtype=float)
    cruise = metres / v + v / accel
    short = 2.0 * np.sqrt(metres / accel)
    return np.where(metres >= v * v / accel, cruise, short)


def _through_patterns(exits: pd.DataFrame, through: pd.DataFrame,
                      through_max_deg: float) -> list[list[int]]:
    """Service patterns: station chains that carry straight on through stations.

    ``exits`` holds, for each station ``a`` and neighbour ``b``, the unit direction in which
    the track to ``b`` leaves ``a``; ``through`` the moves a -> via -> b the track allows. A
    train arriving at a station may continue on a link the track allows (in either direction)
    leaving within ``through_max_deg`` of straight ahead. At each station the links are first
    paired greedily, links on the same OSM line name first, then straightest first, so each
    trunk continues along itself; a branch left
    unpaired merges into the straightest trunk link (sharing it, as real branch services do).
    One pattern starts at every terminus (a station where a train cannot go on); patterns
    that are each other's reverse are kept once; links no pattern reaches (closed loops)
    get a loop pattern from their lowest station.
    """
    cos_limit = -math.cos(math.radians(through_max_deg))
    allowed = {(int(p), int(v), int(q)) for p, v, q in zip(through["a"], through["via"],
                                                           through["b"], strict=True)}
    allowed |= {(q, v, p) for p, v, q in allowed}
    by_station: dict[int, list[tuple[int, float, float, int]]] = {}
    for s, t, ux, uy, line in zip(exits["a"], exits["b"], exits["ux"], exits["uy"],
                                  exits["line"], strict=True):
        by_station.setdefault(int(s), []).append((int(t), float(ux), float(uy), int(line)))
    partner: dict[tuple[int, int], int] = {}  # (station, from) -> paired next station
    options: dict[tuple[int, int], int] = {}  # (station, from) -> straightest next station
    for s in sorted(by_station):
        links = sorted(by_station[s])
        pairs = []
        for i, (n1, x1, y1, l1) in enumerate(links):
            for n2, x2, y2, l2 in links[i + 1:]:
                c = x1 * x2 + y1 * y2
                if c <= cos_limit and (n1, s, n2) in allowed:
                    pairs.append((0 if l1 == l2 >= 0 else 1, c, n1, n2))
        taken: set[int] = set()
        for _, _, n1, n2 in sorted(pairs):
            options.setdefault((s, n1), n2)
            options.setdefault((s, n2), n1)
            if n1 not in taken and n2 not in taken:
                taken.update((n1, n2))
                partner[(s, n1)] = n2
                partner[(s, n2)] = n1

    def after(prev: int, here: int) -> int | None:
        return partner.get((here, prev), options.get((here, prev)))

    def walk(prev: int, here: int) -> list[int]:
        path = [prev, here]
        seen = {(min(prev, here), max(prev, here))}
        while (nxt := after(prev, here)) is not None:
            edge = (min(here, nxt), max(here, nxt))
            if edge in seen:
                break
            seen.add(edge)
            path.append(nxt)
            prev, here = here, nxt
        return path

    pairs_ab = sorted({(int(a), int(b)) for a, b in zip(exits["a"], exits["b"], strict=True)})
    chosen: dict[tuple[int, ...], list[int]] = {}
    for start, nxt in pairs_ab:
        if after(nxt, start) is None:  # a train reaching `start` from `nxt` cannot go on
            path = walk(start, nxt)
            key = min(tuple(path), tuple(path[::-1]))
            chosen.setdefault(key, list(key))
    covered = {(min(p, q), max(p, q)) for c in chosen.values() for p, q in itertools.pairwise(c)}
    for a, b in pairs_ab:
        if a < b and (a, b) not in covered:
            path = walk(a, b)
            covered.update((min(p, q), max(p, q)) for p, q in itertools.pairwise(path))
            chosen.setdefault(tuple(path), path)
    return [chosen[k] for k in sorted(chosen)]


def _drop_bypasses(links: pd.DataFrame, ratio: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split undirected links into kept and bypasses.

    A link S-T is a bypass when some station X has links S-X and X-T together at most
    ``ratio`` times as long: fast lines and freight avoiding lines that skip X. In an
    all-stations model the route via X already serves it.
    """
    und = links[["lo", "hi", "metres"]]
    ends = pd.concat([und, und.rename(columns={"lo": "hi", "hi": "lo"})], ignore_index=True)
    two = ends.merge(ends, left_on="hi", right_on="lo", suffixes=("_1", "_2"))
    two = two[two["lo_1"] < two["hi_2"]]
    two = two.assign(lo=two["lo_1"], hi=two["hi_2"], via=two["metres_1"] + two["metres_2"])
    shortest = two.groupby(["lo", "hi"])["via"].min()
    via = shortest.reindex(pd.MultiIndex.from_frame(und[["lo", "hi"]])).to_numpy()
    bypass = np.nan_to_num(via, nan=np.inf) <= ratio * und["metres"].to_numpy()
    return links[~bypass], links[bypass]


def _norm_name(name: str) -> str:
    """Station name key for matching lists: lower case, '&' as 'and', no qualifiers."""
    text = str(name).lower().replace("&", " and ").replace("'", "")
    text = re.sub(r"\(.*?\)", " ", text)
    text = re.sub(r"\b(rail|station|dlr)\b|^london ", " ", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _rail_stations(data_dir: Path, a: LondonAssumptions, bounds: np.ndarray) -> pd.DataFrame:
    """National Rail stations (with CRS) inside the track extent, placed at OSM station points.

    The station list and codes come from the GB station list; positions come from the OSM
    railway_station point (or area centroid) of the same name within 8 km when there is one,
    because OSM nodes sit on the platforms while the list's coordinates can be 100 m+ off.
    """
    table = _read_csv(data_dir, "rail_stations", ["stationName", "lat", "long", "crsCode"])
    table = table.dropna(subset=["lat", "long", "crsCode"])
    x, y = _to_bng(table["long"].to_numpy(float), table["lat"].to_numpy(float))
    x0, y0, x1, y1 = bounds
    inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    stations = pd.DataFrame({"crs": table["crsCode"].astype(str).to_numpy()[inside],
                             "name": table["stationName"].astype(str).to_numpy()[inside],
                             "x": x[inside], "y": y[inside]})
    stations = stations[~stations["crs"].isin(a.rail_excluded_stations)]
    stations = stations.sort_values("crs").drop_duplicates("crs").reset_index(drop=True)
    points = _read_parquet(data_dir, "transport_points", ["fclass", "name", "geometry"])
    areas = _read_parquet(data_dir, "transport_areas", ["fclass", "name", "geometry"])
    osm = pd.concat([
        pd.DataFrame({"key": points["name"], "rank": 0, "x": points.geometry.x,
                      "y": points.geometry.y})[points["fclass"].eq("railway_station").to_numpy()],
        pd.DataFrame({"key": areas["name"], "rank": 1, "x": areas.geometry.centroid.x,
                      "y": areas.geometry.centroid.y})[areas["fclass"].eq("railway_station")
                                                       .to_numpy()],
    ]).dropna(subset=["key"])
    osm["key"] = osm["key"].map(_norm_name)
    cand = stations.assign(key=stations["name"].map(_norm_name)).reset_index().merge(
        osm, on="key", suffixes=("", "_osm"))
    cand["d"] = np.hypot(cand["x"] - cand["x_osm"], cand["y"] - cand["y_osm"])
    cand = cand[cand["d"] <= 8000.0].sort_values(["index", "rank", "d"], kind="stable")
    cand = cand.drop_duplicates("index").set_index("index")
    stations["moved_m"] = 0.0
    stations.loc[cand.index, "moved_m"] = cand["d"]
    stations.loc[cand.index, "x"] = cand["x_osm"]
    stations.loc[cand.index, "y"] = cand["y_osm"]
    stations["stop_id"] = "rail:" + stations["crs"]
    return stations


def _tram_stops(data_dir: Path) -> pd.DataFrame:
    """Tramlink stops: OSM tram_stop nodes (one per platform) merged by name."""
    points = _read_parquet(data_dir, "transport_points", ["fclass", "name", "geometry"])
    trams = points[points["fclass"].eq("tram_stop") & points["name"].notna()]
    frame = pd.DataFrame({"name": trams["name"].astype(str).to_numpy(),
                          "x": trams.geometry.x.to_numpy(), "y": trams.geometry.y.to_numpy()})
    stops = frame.groupby("name", sort=True)[["x", "y"]].mean().reset_index()
    slug = stops["name"].map(lambda n: re.sub(r"[^a-z0-9]+", "-", n.lower()).strip("-"))
    stops["stop_id"] = "tram:" + slug
    return stops


def _track_mode(mode: str, lines: gpd.GeoDataFrame, stations: pd.DataFrame, *, radius: float,
                max_m: float, a: LondonAssumptions, vmax_kmh: float, accel: float,
                dwell_s: float, headway_min: float, agency: str, route_type: int,
                route_label: str) -> _Mode:
    """Stations on OSM track -> station links -> through-patterns with kinematic run times.

    Links are kept when found in either direction, are at most ``rail_max_detour`` times the
    straight line, are not listed in ``rail_excluded_links`` and do not bypass a station
    (``rail_bypass_ratio``). Run seconds = kinematic time over the track distance; dwell is
    added at intermediate stops.
    """
    track = _track_graph(lines.geometry, lines["name"], max_turn_deg=a.rail_max_turn_deg)
    xy = stations[["x", "y"]].to_numpy(float)
    ids = stations["stop_id"].to_numpy()
    names = stations["name"].to_numpy()
    owner = _zones(track, xy, radius, max_m)
    index = {str(i).split(":", 1)[1]: k for k, i in enumerate(ids)}
    codes = [tuple(str(c).split("-", 1)) for c in a.rail_excluded_links]
    skip = frozenset((index[p], index[q]) for pair in codes if all(c in index for c in pair)
                     for p, q in (pair, pair[::-1]))
    passes = [tuple(str(c).split(">", 1)) for c in a.rail_passing]
    passing = frozenset((index[p], index[q]) for p, q in passes if p in index and q in index)
    directed, through = _station_links(track, owner, xy, a.rail_max_link_km * 1000.0, passing)
    directed = directed.assign(lo=np.minimum(directed["a"], directed["b"]),
                               hi=np.maximum(directed["a"], directed["b"]))
    und = directed.groupby(["lo", "hi"], as_index=False)["metres"].min()
    crow = np.hypot(*(xy[und["lo"].to_numpy()] - xy[und["hi"].to_numpy()]).T)
    detour = und["metres"].to_numpy() > a.rail_max_detour * np.maximum(crow, 1.0)
    listed = np.array([(i, j) in skip or (i, j) in passing or (j, i) in passing
                       for i, j in zip(und["lo"], und["hi"], strict=True)], dtype=bool)
    kept, bypasses = _drop_bypasses(und[~detour & ~listed], a.rail_bypass_ratio)
    metres = kept.set_index(["lo", "hi"])["metres"]
    exits = directed.merge(kept[["lo", "hi"]], on=["lo", "hi"])[["a", "b", "ux", "uy", "line"]]
    # A link found one way only: the far station's exit points back along the link.
    have = set(zip(exits["a"], exits["b"], strict=True))
    back = [(b, a_, *(xy[a_] - xy[b]) / max(np.hypot(*(xy[a_] - xy[b])), 1.0), line)
            for a_, b, line in zip(exits["a"], exits["b"], exits["line"], strict=True)
            if (b, a_) not in have]
    exits = pd.concat([exits, pd.DataFrame(back, columns=["a", "b", "ux", "uy", "line"])],
                      ignore_index=True).sort_values(["a", "b"]).reset_index(drop=True)
    chains = sorted(_through_patterns(exits, through, a.rail_through_max_deg),
                    key=lambda c: tuple(ids[c]))
    patterns: list[_Pattern] = []
    routes = []
    for k, chain in enumerate(chains):
        hop_m = [metres[(min(p, q), max(p, q))] for p, q in itertools.pairwise(chain)]
        run_s = _kinematic_s(np.array(hop_m), vmax_kmh, accel)
        route_id = f"{mode}:{k:03d}"
        routes.append({"route_id": route_id, "agency_id": agency,
                       "route_short_name": f"{route_label} {k:03d}",
                       "route_long_name": f"{names[chain[0]]} - {names[chain[-1]]}",
                       "route_type": route_type})
        patterns += _both_directions(mode, route_id, route_id, list(ids[chain]), run_s.tolist(),
                                     dwell_s, round(headway_min * 60))
    served = sorted({s for c in chains for s in c})
    stops = stations.iloc[served][["stop_id", "name", "x", "y"]].rename(
        columns={"name": "stop_name"}).reset_index(drop=True)
    unsnapped = sorted(names[np.setdiff1d(np.arange(len(stations)), np.unique(owner[owner >= 0]))])

    def pairs(frame: pd.DataFrame) -> list[str]:
        return sorted(f"{names[i]} - {names[j]}" for i, j in zip(frame["lo"], frame["hi"],
                                                                 strict=True))

    notes = {"stations_off_track": [str(n) for n in unsnapped],
             "links": len(kept),
             "links_dropped_detour": pairs(und[detour]),
             "links_dropped_listed": pairs(und[listed]),
             "links_dropped_bypass": pairs(bypasses),
             "link_km_median": round(float(np.median(kept["metres"])) / 1000.0, 2)
             if len(kept) else 0.0}
    return _Mode(stops, pd.DataFrame(routes), patterns, notes)


def _rail_and_tram(data_dir: Path, a: LondonAssumptions) -> tuple[_Mode, _Mode]:
    """National Rail/Overground and Tramlink from OSM track, stations and tram stops."""
    tracks = _read_parquet(data_dir, "railways", ["fclass", "name", "geometry"])
    tracks = tracks[tracks.geometry.geom_type == "LineString"]
    rail_lines = tracks[tracks["fclass"].eq("rail") &
                        ~tracks["name"].isin(list(a.rail_excluded_track_names))]
    tram_lines = tracks[tracks["fclass"].eq("tram")]
    if rail_lines.empty or tram_lines.empty:
        raise _missing(_input(data_dir, "railways"), "holds no fclass 'rail' or 'tram' lines")
    stations = _rail_stations(data_dir, a, rail_lines.total_bounds)
    rail = _track_mode("rail", rail_lines, stations, radius=a.rail_snap_radius_m,
                       max_m=a.rail_snap_max_m, a=a, vmax_kmh=a.rail_max_speed_kmh,
                       accel=a.rail_accel_ms2, dwell_s=a.rail_dwell_s,
                       headway_min=a.rail_headway_min, agency="NR", route_type=2,
                       route_label="Rail")
    moved = stations[stations["moved_m"] > 300.0]
    rail.notes["stations_moved_to_osm_over_300m"] = sorted(moved["name"].tolist())
    tram = _track_mode("tram", tram_lines, _tram_stops(data_dir),
                       radius=a.tram_snap_radius_m, max_m=a.tram_snap_radius_m * 3, a=a,
                       vmax_kmh=a.tram_max_speed_kmh, accel=a.tram_accel_ms2,
                       dwell_s=a.tram_dwell_s, headway_min=a.tram_headway_min, agency="TfL",
                       route_type=0, route_label="Tram")
    return rail, tram
