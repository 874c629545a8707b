"""Walking model: crow-fly distance times a calibrated circuity factor, or a real OSM street network.

`WalkModel` is the London-wide default (no London-wide street network is available);
`OsmWalkNetwork` walks on a real OSM extract; `calibrate_circuity` measures the network/crow-fly
ratio on such extracts, and `DEFAULT_CIRCUITY` is that measurement.
"""

from __future__ import annotations

import ast
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from siting._crs import BNG
from siting._errors import DataError

if TYPE_CHECKING:
    from siting.scenario import Scenario

__all__ = [
    "DEFAULT_CIRCUITY",
    "CircuityCalibration",
    "OsmWalkNetwork",
    "WalkModel",
    "calibrate_circuity",
    "street_network",
    "walkable_edge",
]

DEFAULT_CIRCUITY = 1.287
"""Network / crow-fly distance ratio for walking in London, measured by `calibrate_circuity` with
its defaults on the Wood Green/Bowes Park and Clerkenwell OSM extracts (20,000 junction pairs
300-2,000 m apart inside each extract's core box, seed 0): median 1.287, quartiles 1.195-1.427,
mean 1.361 (seed 1: median 1.292; 250 m away from the box edges: 1.281). The data notes'
earlier figure was 1.283."""

_WALK_SPEED_KMH = 4.8


@dataclass(frozen=True)
class WalkModel:
    """Crow-fly walking: minutes = distance_m * circuity / speed; coordinates in EPSG:27700."""

    speed_kmh: float = _WALK_SPEED_KMH
    circuity: float = DEFAULT_CIRCUITY

    @property
    def metres_per_minute(self) -> float:
        """Walking speed along the street network, in metres per minute."""
        return self.speed_kmh * 1000.0 / 60.0

    def minutes(self, distance_m: np.ndarray | float) -> np.ndarray | float:
        """Walk minutes for crow-fly distances in metres."""
        return np.asarray(distance_m, dtype=float) * self.circuity / self.metres_per_minute

    def reach_m(self, max_minutes: float) -> float:
        """Crow-fly radius (metres) that can be walked within max_minutes."""
        return max_minutes * self.metres_per_minute / self.circuity

    def pairs_within(
        self,
        xy_from: np.ndarray,
        xy_to: np.ndarray,
        max_minutes: float,
    ) -> pd.DataFrame:
        """Sparse long table (i_from, i_to, metres, minutes) of pairs walkable within max_minutes.

        Uses a KD-tree so the cost grows with the number of close pairs, not with the product.
        """
        from scipy.spatial import cKDTree

        xy_from = np.asarray(xy_from, dtype=float).reshape(-1, 2)
        xy_to = np.asarray(xy_to, dtype=float).reshape(-1, 2)
        if len(xy_from) == 0 or len(xy_to) == 0:
            return _empty_pairs()
        # query_ball_point keeps zero-distance pairs, which a sparse distance matrix drops.
        # The tree holds the larger set and the smaller is queried (the pairs are the same:
        # the distance is symmetric), e.g. 20,000 stops against one site.
        swap = len(xy_to) < len(xy_from)
        tree, query = (xy_from, xy_to) if swap else (xy_to, xy_from)
        hits = cKDTree(tree).query_ball_point(query, self.reach_m(max_minutes))
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        near = np.repeat(np.arange(len(query), dtype=np.int64), counts)
        far = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=int(counts.sum()))
        i_from, i_to = (far, near) if swap else (near, far)
        metres = np.hypot(*(xy_from[i_from] - xy_to[i_to]).T) if len(i_from) else np.array([])
        table = pd.DataFrame({"i_from": i_from, "i_to": i_to, "metres": metres})
        table["minutes"] = self.minutes(table["metres"].to_numpy())
        return table.sort_values(["i_from", "i_to"], kind="stable").reset_index(drop=True)


def _empty_pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {"i_from": np.array([], dtype=np.int64), "i_to": np.array([], dtype=np.int64),
         "metres": np.array([], dtype=float), "minutes": np.array([], dtype=float)}
    )


# --------------------------------------------------------------------------------------------
# Which OSM ways a pedestrian can use
# --------------------------------------------------------------------------------------------

_NOT_WALKABLE_HIGHWAY = frozenset({
    "motorway", "motorway_link", "proposed", "construction", "abandoned", "planned", "razed",
    "platform", "raceway", "bus_guideway", "no", "rest_area", "services",
})
_FOOT_FORBIDDEN = frozenset({"no", "private", "use_sidepath"})
_FOOT_ALLOWED = frozenset({"yes", "designated", "permissive", "official"})
_NO_SIDEWALK = frozenset({"no", "none"})
_WAY_TAGS = ("foot", "sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")


def _tag(data: dict[str, Any], key: str) -> str | None:
    """One OSM tag value of an edge; a simplified edge's list keeps its first value."""
    value = data.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and value.startswith("["):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    if isinstance(value, list):
        return str(value[0]) if value else None
    return str(value)


def walkable_edge(data: dict[str, Any]) -> bool:
    """Whether a pedestrian may walk an OSM highway edge (its tags as an osmnx edge dict).

    The extracts hold every ``highway=*`` way, so this keeps what a pedestrian can use:

    - drops motorways and their slip roads, ways that are not (yet or any longer) roads
      (proposed, construction, abandoned, razed), platforms, raceways and guided busways;
    - drops ``foot=no|private|use_sidepath`` and ``access=private|no`` unless foot access is
      granted (``foot=yes|designated|permissive``);
    - drops ``area=yes`` outlines: walking round a square's perimeter is not a route, and squares
      are crossed by mapped footways;
    - drops trunk roads and trunk slip roads tagged as having no pavement on either side
      (``sidewalk=no``), e.g. stretches of the North Circular, unless ``foot=yes``; trunk roads
      without a sidewalk tag are kept, as London's A-roads almost all have pavements;
    - keeps roads whose pavements are mapped separately (``sidewalk=separate``, dropped by osmnx's
      'walk' filter): walking along the centre line approximates the pavement and keeps the
      crossings connected. Cycleways are kept unless ``foot=no`` (shared paths in the UK).
    """
    highway = _tag(data, "highway")
    if highway is None or highway in _NOT_WALKABLE_HIGHWAY:
        return False
    foot = _tag(data, "foot")
    if foot in _FOOT_FORBIDDEN:
        return False
    if _tag(data, "access") in {"private", "no"} and foot not in _FOOT_ALLOWED:
        return False
    if _tag(data, "area") == "yes":
        return False
    if highway in {"trunk", "trunk_link"} and foot not in _FOOT_ALLOWED:
        both = _tag(data, "sidewalk:both")
        left, right = _tag(data, "sidewalk:left"), _tag(data, "sidewalk:right")
        if (_tag(data, "sidewalk") in _NO_SIDEWALK or both in _NO_SIDEWALK
                or (left in _NO_SIDEWALK and right in _NO_SIDEWALK)):
            return False
    return True


# --------------------------------------------------------------------------------------------
# The street network
# --------------------------------------------------------------------------------------------

def _fix_hint(path: Path) -> str:
    return (
        "Use an OSM XML file (.osm, e.g. an Overpass `way[\"highway\"](bbox);(._;>;);out;` "
        "response or an openstreetmap.org export) or an osmnx .graphml; convert a .pbf with "
        f"`osmium cat {path.name} -o {path.stem}.osm`."
    )


def _read_graph(path: Path) -> tuple[Any, bool]:
    """The raw osmnx graph of an .osm or .graphml file, and whether it came from OSM XML."""
    import osmnx as ox  # heavy import, needed only when a network is actually loaded

    if not path.is_file():
        raise DataError(f"{path}: street network file not found. Check the path. {_fix_hint(path)}")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".pbf" else path.suffix.lower()
    if suffix in {".pbf", ".osm.pbf"}:
        raise DataError(f"{path}: osmnx cannot read .pbf files. {_fix_hint(path)}")
    if suffix not in {".osm", ".xml", ".graphml"}:
        raise DataError(f"{path}: unknown street network format {path.suffix!r}. {_fix_hint(path)}")
    try:
        if suffix == ".graphml":
            return ox.load_graphml(path), False
        saved = list(ox.settings.useful_tags_way)
        ox.settings.useful_tags_way = sorted(set(saved) | set(_WAY_TAGS))
        try:
            graph = ox.graph_from_xml(path, bidirectional=True, simplify=False, retain_all=True)
        finally:
            ox.settings.useful_tags_way = saved
        return graph, True
    except (ET.ParseError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DataError(
            f"{path}: could not read a street network from this file ({type(exc).__name__}: "
            f"{exc}). {_fix_hint(path)}"
        ) from exc


def _osm_bounds(path: Path) -> tuple[float, float, float, float] | None:
    """The (minlon, minlat, maxlon, maxlat) of an OSM XML file's <bounds> element, if any."""
    if path.suffix.lower() not in {".osm", ".xml"}:
        return None
    for _event, elem in ET.iterparse(path, events=("start",)):
        if elem.tag == "bounds":
            return (float(elem.get("minlon")), float(elem.get("minlat")),
                    float(elem.get("maxlon")), float(elem.get("maxlat")))
        if elem.tag in {"node", "way", "relation"}:
            return None
    return None


def crs_is_geographic(crs: Any) -> bool:
    """Whether a CRS (any pyproj input) is in degrees."""
    from pyproj import CRS

    return bool(CRS.from_user_input(crs).is_geographic)


def _way_core_box(graph: Any, xs: np.ndarray, ys: np.ndarray, index: dict[Any, int]) -> tuple[float, float, float, float]:
    """Smallest box holding at least one node of every way (from the edges' way ids)."""
    rows = []
    for u, v, data in graph.edges(data=True):
        way = data.get("osmid")
        if isinstance(way, list):
            return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())
        rows.append((way, index[u]))
        rows.append((way, index[v]))
    if not rows:
        return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())
    frame = pd.DataFrame(rows, columns=["way", "node"]).drop_duplicates()
    frame["x"], frame["y"] = xs[frame["node"].to_numpy()], ys[frame["node"].to_numpy()]
    per_way = frame.groupby("way").agg(x_min=("x", "min"), x_max=("x", "max"), y_min=("y", "min"), y_max=("y", "max"))
    # Every way has a node inside the box: west <= each way's max x, east >= each way's min x.
    west, east = float(per_way["x_max"].min()), float(per_way["x_min"].max())
    south, north = float(per_way["y_max"].min()), float(per_way["y_min"].max())
    if west >= east or south >= north:
        return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())
    return west, south, east, north


class OsmWalkNetwork:
    """A walkable OSM street network in BNG, loaded once, for many shortest-walk queries.

    Edges are the walkable ways (`walkable_edge`), both directions, restricted to the largest
    connected part. Points join the network at their nearest node and walk that last stretch in a
    straight line; a point farther than ``max_snap_m`` from every node is off the network
    (outside the extract) and unreachable. Edge lengths are BNG straight segments of the
    unsimplified OSM ways (osmnx ``length`` for a .graphml).
    """

    def __init__(self, path: Path | str, *, speed_kmh: float = _WALK_SPEED_KMH,
                 max_snap_m: float = 250.0) -> None:
        from scipy import sparse
        from scipy.sparse import csgraph
        from scipy.spatial import cKDTree

        self.path = Path(path)
        self.speed_kmh = float(speed_kmh)
        self.max_snap_m = float(max_snap_m)
        graph, from_xml = _read_graph(self.path)
        crs = graph.graph.get("crs", "epsg:4326")
        nodes = list(graph.nodes)
        if not nodes:
            raise DataError(f"{self.path}: the file holds no street nodes. {_fix_hint(self.path)}")
        index = {node: i for i, node in enumerate(nodes)}
        xs = np.fromiter((graph.nodes[n]["x"] for n in nodes), dtype=float, count=len(nodes))
        ys = np.fromiter((graph.nodes[n]["y"] for n in nodes), dtype=float, count=len(nodes))
        ex, ey = Transformer.from_crs(crs, BNG, always_xy=True).transform(xs, ys)
        xy = np.column_stack([ex, ey])

        rows, cols, lengths = [], [], []
        for u, v, data in graph.edges(data=True):
            if not walkable_edge(data):
                continue
            i, j = index[u], index[v]
            if from_xml or data.get("length") is None:
                length = float(np.hypot(*(xy[i] - xy[j])))
            else:
                length = float(data["length"])
            rows += [i, j]
            cols += [j, i]
            lengths += [length, length]
        if not rows:
            raise DataError(
                f"{self.path}: no walkable ways (highway=* without foot=no, not motorway). "
                f"{_fix_hint(self.path)}"
            )
        # Parallel edges: keep the shortest (a sparse matrix would add them up).
        edges = (pd.DataFrame({"i": rows, "j": cols, "m": np.maximum(lengths, 0.01)})
                 .groupby(["i", "j"], sort=True)["m"].min().reset_index())
        n = len(nodes)
        full = sparse.csr_array((edges["m"].to_numpy(), (edges["i"].to_numpy(), edges["j"].to_numpy())),
                                shape=(n, n))
        _ncomp, labels = csgraph.connected_components(full, directed=False)
        touched = np.zeros(n, dtype=bool)
        touched[edges["i"].to_numpy()] = True
        sizes = np.bincount(labels[touched])
        keep = np.flatnonzero(labels == int(np.argmax(sizes)))
        self.graph: sparse.csr_array = full[keep][:, keep].tocsr()
        self.node_xy: np.ndarray = xy[keep]
        self.node_osmid: np.ndarray = np.asarray(nodes, dtype=object)[keep]
        self._tree = cKDTree(self.node_xy)
        box = _osm_bounds(self.path) if from_xml else None
        self.core_box_lonlat: tuple[float, float, float, float] = box or _way_core_box(graph, xs, ys, index)
        """(min x, min y, max x, max y) in the file's CRS where the extract is complete: the
        file's <bounds>, else the smallest box holding a node of every way (an Overpass
        ``way(bbox)`` answer also holds the parts of ways beyond its box)."""
        ring = shapely.segmentize(shapely.box(*self.core_box_lonlat), 0.0005 if crs_is_geographic(crs) else 50.0)
        to_bng = Transformer.from_crs(crs, BNG, always_xy=True)
        self.core_box: shapely.Polygon = shapely.transform(ring, lambda c: np.column_stack(to_bng.transform(c[:, 0], c[:, 1])))
        """`core_box_lonlat` in BNG: where walk times are complete (no streets missing)."""

    def __repr__(self) -> str:
        return (f"OsmWalkNetwork({self.path.name!r}, nodes={len(self.node_xy)}, "
                f"edges={self.graph.nnz // 2}, speed_kmh={self.speed_kmh})")

    @property
    def metres_per_minute(self) -> float:
        """Walking speed in metres per minute."""
        return self.speed_kmh * 1000.0 / 60.0

    @property
    def extent(self) -> shapely.Polygon:
        """Convex hull of the network's nodes (BNG): where walk times mean something."""
        return shapely.convex_hull(shapely.multipoints(self.node_xy))

    @property
    def degree(self) -> np.ndarray:
        """Number of distinct neighbours of each node (2 = a bend, not a junction)."""
        return np.diff(self.graph.indptr)

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node index and straight-line distance (m) for each BNG point."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if len(xy) == 0:
            return np.array([], dtype=np.int64), np.array([], dtype=float)
        dist, idx = self._tree.query(xy)
        return np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=float)

    def node_metres(self, xy_from: np.ndarray, *, max_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Walk metres from each point to every node (inf beyond max_m or off the network).

        Returns (matrix n_points x n_nodes, snap metres of each point). One Dijkstra per
        distinct snapped node.
        """
        from scipy.sparse import csgraph

        idx, snap_m = self.snap(xy_from)
        n = len(self.node_xy)
        if len(idx) == 0:
            return np.zeros((0, n)), snap_m
        unique, inverse = np.unique(idx, return_inverse=True)
        limit = np.inf if max_m is None else float(max_m)
        dist = csgraph.dijkstra(self.graph, directed=True, indices=unique, limit=limit)
        out = dist[inverse] + snap_m[:, None]
        out[snap_m > self.max_snap_m] = np.inf
        if max_m is not None:
            out[out > max_m] = np.inf
        return out, snap_m

    def minutes_from(
        self,
        xy_from: np.ndarray,
        xy_to: np.ndarray,
        *,
        max_minutes: float | None = None,
    ) -> pd.DataFrame:
        """Long table (i_from, i_to, metres, minutes) of network walks between BNG points.

        With ``max_minutes`` only pairs walkable within it are listed; without it every pair
        is listed and unreachable ones have NaN. Both ends walk straight to their nearest node.
        """
        xy_to = np.asarray(xy_to, dtype=float).reshape(-1, 2)
        max_m = None if max_minutes is None else max_minutes * self.metres_per_minute
        dist, _snap = self.node_metres(xy_from, max_m=max_m)
        if dist.shape[0] == 0 or len(xy_to) == 0:
            return _empty_pairs()
        t_idx, t_snap = self.snap(xy_to)
        metres = dist[:, t_idx] + t_snap[None, :]
        metres[:, t_snap > self.max_snap_m] = np.inf
        i_from, i_to = np.meshgrid(np.arange(dist.shape[0]), np.arange(len(xy_to)), indexing="ij")
        table = pd.DataFrame({"i_from": i_from.ravel().astype(np.int64),
                              "i_to": i_to.ravel().astype(np.int64),
                              "metres": metres.ravel()})
        if max_m is not None:
            table = table[table["metres"] <= max_m]
        table["metres"] = table["metres"].where(np.isfinite(table["metres"]))
        table["minutes"] = table["metres"] / self.metres_per_minute
        return table.sort_values(["i_from", "i_to"], kind="stable").reset_index(drop=True)

    def pairs_within(self, xy_from: np.ndarray, xy_to: np.ndarray, max_minutes: float) -> pd.DataFrame:
        """Same table as `WalkModel.pairs_within`, walking on the network."""
        return self.minutes_from(xy_from, xy_to, max_minutes=max_minutes)

    def minutes_to_areas(
        self,
        xy_from: np.ndarray,
        areas: Sequence[shapely.Geometry] | np.ndarray,
        *,
        max_minutes: float | None = None,
        tolerance_m: float = 15.0,
    ) -> pd.DataFrame:
        """Long table (i_from, i_area, metres, minutes): walk from each point to each area's edge.

        The walk ends at the nearest node inside the area or within ``tolerance_m`` of it (ward
        boundaries follow street centre lines); a point inside an area is 0 minutes from it.
        Only pairs within ``max_minutes`` (when given) that reach the area are listed.
        """
        xy_from = np.asarray(xy_from, dtype=float).reshape(-1, 2)
        geoms = np.asarray(areas, dtype=object)
        if len(xy_from) == 0 or len(geoms) == 0:
            return _empty_pairs().rename(columns={"i_to": "i_area"})
        max_m = None if max_minutes is None else max_minutes * self.metres_per_minute
        dist, _snap = self.node_metres(xy_from, max_m=max_m)
        tree = shapely.STRtree(shapely.points(self.node_xy))
        area_idx, node_idx = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
        frames = []
        for a in np.unique(area_idx):
            members = node_idx[area_idx == a]
            best = dist[:, members].min(axis=1)
            frames.append(pd.DataFrame({"i_from": np.arange(len(xy_from)), "i_area": a, "metres": best}))
        inside_from, inside_area = shapely.STRtree(geoms).query(
            shapely.points(xy_from), predicate="intersects")
        frames.append(pd.DataFrame({"i_from": inside_from, "i_area": inside_area, "metres": 0.0}))
        table = (pd.concat(frames, ignore_index=True)
                 .groupby(["i_from", "i_area"], sort=True)["metres"].min().reset_index())
        table = table[np.isfinite(table["metres"])]
        if max_m is not None:
            table = table[table["metres"] <= max_m]
        table = table.astype({"i_from": np.int64, "i_area": np.int64})
        table["minutes"] = table["metres"] / self.metres_per_minute
        return table.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Circuity calibration
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CircuityCalibration:
    """Network / crow-fly walking distance ratio measured on OSM extracts."""

    median: float
    mean: float
    p25: float
    p75: float
    n_pairs: int
    files: tuple[str, ...]
    per_file: tuple[tuple[str, int, float], ...]
    """(file name, pairs, median ratio) for each extract."""
    min_m: float
    max_m: float
    seed: int
    method: str


def _sample_pairs(net: OsmWalkNetwork, eligible: np.ndarray, samples: int, min_m: float,
                  max_m: float, rng: np.random.Generator) -> pd.DataFrame:
    """Uniformly sampled node pairs min_m..max_m apart, with network and crow-fly metres."""
    from scipy.sparse import csgraph
    from scipy.spatial import cKDTree

    xy = net.node_xy[eligible]
    tree = cKDTree(xy)
    far = tree.query_ball_point(xy, max_m)
    near = tree.query_ball_point(xy, min_m)
    partners = [np.setdiff1d(np.asarray(f, dtype=np.int64), np.asarray(c, dtype=np.int64))
                for f, c in zip(far, near, strict=True)]
    counts = np.array([len(p) for p in partners], dtype=float)
    if counts.sum() == 0:
        return pd.DataFrame(columns=["network_m", "crow_m"])
    # A source drawn with probability proportional to its partners, then partners drawn
    # uniformly, gives every eligible pair the same chance.
    per_source = 10
    n_sources = max(1, math.ceil(samples / per_source))
    sources = rng.choice(len(xy), size=n_sources, replace=True, p=counts / counts.sum())
    src_list, dst_list = [], []
    for s in sources:
        pick = rng.choice(partners[s], size=min(per_source, len(partners[s])), replace=False)
        src_list.append(np.full(len(pick), s))
        dst_list.append(pick)
    src = np.concatenate(src_list)[:samples]
    dst = np.concatenate(dst_list)[:samples]
    unique, inverse = np.unique(eligible[src], return_inverse=True)
    dist = csgraph.dijkstra(net.graph, directed=True, indices=unique, limit=max_m * 4)
    network_m = dist[inverse, eligible[dst]]
    crow_m = np.hypot(*(xy[src] - xy[dst]).T)
    table = pd.DataFrame({"network_m": network_m, "crow_m": crow_m})
    return table[np.isfinite(table["network_m"])]


def _eligible_nodes(net: OsmWalkNetwork, margin_m: float) -> np.ndarray:
    """Junction and dead-end nodes inside the extract's core box, where the network is complete."""
    junction = net.degree != 2
    core = shapely.buffer(net.core_box, -margin_m) if margin_m > 0 else net.core_box
    if core.is_empty:
        return np.array([], dtype=np.int64)
    inside = shapely.contains_xy(core, net.node_xy[:, 0], net.node_xy[:, 1])
    return np.flatnonzero(junction & inside)


def calibrate_circuity(
    osm_path: Path | str | Sequence[Path | str],
    *,
    samples: int = 20000,
    seed: int = 0,
    min_m: float = 300.0,
    max_m: float = 2000.0,
    margin_m: float = 0.0,
) -> CircuityCalibration:
    """Measure the walking network / crow-fly distance ratio on one or more OSM extracts.

    Method: load each extract as an `OsmWalkNetwork` (walkable ways, largest connected part);
    take junction and dead-end nodes (the nodes osmnx keeps when simplifying) inside the
    extract's core box (`OsmWalkNetwork.core_box`, shrunk by ``margin_m``), where every street
    is present, so that pairs are not lengthened by streets missing beyond the extract's edge;
    draw node pairs ``min_m``-``max_m`` apart uniformly at random (seeded), split among the files
    in proportion to their eligible pairs; ratio = Dijkstra network metres / straight-line metres
    (both in BNG). Reports the median (the robust figure used for `DEFAULT_CIRCUITY`), mean,
    quartiles and pair counts.
    """
    from scipy.spatial import cKDTree

    paths = [Path(osm_path)] if isinstance(osm_path, str | Path) else [Path(p) for p in osm_path]
    if not paths:
        raise DataError("calibrate_circuity: no OSM file given. Pass the path of an .osm extract.")
    rng = np.random.default_rng(seed)
    nets = [OsmWalkNetwork(p) for p in paths]
    eligible = [_eligible_nodes(net, margin_m) for net in nets]
    weights = []
    for net, elig in zip(nets, eligible, strict=True):
        tree = cKDTree(net.node_xy[elig])
        n_far = tree.count_neighbors(tree, max_m) if len(elig) else 0
        n_near = tree.count_neighbors(tree, min_m) if len(elig) else 0
        weights.append(max(0, int(n_far) - int(n_near)))
    total = sum(weights)
    if total == 0:
        raise DataError(
            f"{', '.join(map(str, paths))}: no node pairs {min_m:.0f}-{max_m:.0f} m apart inside "
            "the extract. Use a larger extract or a smaller min_m."
        )
    frames, per_file = [], []
    for path, net, elig, weight in zip(paths, nets, eligible, weights, strict=True):
        quota = round(samples * weight / total)
        if quota == 0:
            per_file.append((path.name, 0, float("nan")))
            continue
        table = _sample_pairs(net, elig, quota, min_m, max_m, rng)
        ratio = table["network_m"] / table["crow_m"]
        per_file.append((path.name, len(table), float(ratio.median())))
        frames.append(ratio)
    ratios = pd.concat(frames, ignore_index=True)
    return CircuityCalibration(
        median=float(ratios.median()),
        mean=float(ratios.mean()),
        p25=float(ratios.quantile(0.25)),
        p75=float(ratios.quantile(0.75)),
        n_pairs=len(ratios),
        files=tuple(p.name for p in paths),
        per_file=tuple(per_file),
        min_m=min_m,
        max_m=max_m,
        seed=seed,
        method=(
            "osmnx graph_from_xml (unsimplified, both directions), walkable ways per "
            "siting.network.walk.walkable_edge, largest connected part; junction/dead-end node "
            f"pairs {min_m:.0f}-{max_m:.0f} m apart inside the extract's core box (file <bounds>, "
            "else the smallest box holding a node of every way"
            f"{f', shrunk by {margin_m:.0f} m' if margin_m > 0 else ''}), sampled uniformly "
            f"(seed {seed}); ratio = "
            "scipy Dijkstra network metres / straight-line metres, both in EPSG:27700"
        ),
    )


def street_network(scenario: Scenario, data_dir: Path) -> OsmWalkNetwork | None:
    """The real OSM walk network the scenario names, or None: walks stay crow-fly.

    Travel times use it for access, egress and all-the-way walks with both ends inside the
    extract's complete core; the hub model walks on it for the wards it plans.
    """
    if not scenario.walking.network:
        return None
    return OsmWalkNetwork(data_dir / scenario.walking.network, speed_kmh=scenario.walking.speed_kmh)
