"""Maps stage: self-contained, deterministic Folium/Leaflet HTML maps residents can open offline.

Every map embeds Leaflet and its data (wards coloured by 15-minute travel-time bands for both
measures, front counters by status, DWO hubs with the wards they serve and their walking reach),
so only the basemap tiles need internet. Every text taken from the input data is HTML-escaped
before it reaches the page, and element ids are numbered in order, so the same Analysis always
gives byte-identical HTML. Geometry is simplified for display only (the analysis never sees it).
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.utilities import JsCode

from siting._atomic import OutputSet
from siting._crs import BNG, WGS84
from siting._errors import DataError
from siting.analysis import MEASURES, Analysis, setting_differences
from siting.network.walk import DEFAULT_CIRCUITY, WalkModel

__all__ = [
    "BAND_COLOURS",
    "BAND_LABELS",
    "BAND_MINUTES",
    "COORD_DECIMALS",
    "DISPLAY_SIMPLIFY_M",
    "LSOA_MIN_ZOOM",
    "MEASURE_LABELS",
    "band_index",
    "build_compare_map",
    "build_map",
    "build_sweep_map",
    "map_html",
    "render_html",
    "search_arguments",
    "write_compare_map",
    "write_index",
    "write_map",
    "write_sweep_map",
]

BAND_MINUTES = 15
"""Width of the travel-time bands; a ward's band is (15k, 15(k+1)] minutes, the last open-ended."""

BAND_LABELS = ("up to 15 min", "15–30 min", "30–45 min", "45–60 min", "60–75 min",
               "over 75 min", "no counter reached")
"""Legend labels of the bands returned by `band_index` (the last: minutes missing)."""

BAND_COLOURS = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026", "#9e9e9e")
"""Fill of each band (ColorBrewer YlOrRd, 6 classes) and grey for no counter reached."""

NO_DATA_BAND = len(BAND_LABELS) - 1

MEASURE_LABELS = {"24h": "nearest 24/7 counter", "any": "nearest counter open on arrival"}
"""What each travel-time measure of the Analysis means, as shown on the map."""

DISPLAY_SIMPLIFY_M = 10.0
"""Tolerance (metres, in BNG) of the display-only simplification of ward outlines."""

BOROUGH_SIMPLIFY_M = 20.0
"""Tolerance (metres) for the borough outlines drawn over the wards."""

COORD_DECIMALS = 5
"""Decimal places of longitude/latitude in the page (about 1 m)."""

_NARROW_PX = 800
"""Below this window width the panels start folded and the layer list is a button."""
_FILL_OPACITY = 0.72
_HOVER = "#00b7eb"
_BASE_LINE = ("#ffffff", 0.6, None)
_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
_TILES_ATTRIBUTION = ('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
                      "contributors")
_DATA_ATTRIBUTION = ("Contains OS data &copy; Crown copyright 2014; ONS data &copy; Crown "
                     "copyright; Powered by TfL Open Data")
_TILE_NOTE = ("<b>No background map:</b> it needs an internet connection. The travel-time, "
              "counter and hub layers are in this file and work offline.")
_STATUS_TEXT = {"24h": "open 24 hours", "daytime": "open in the daytime only", "closed": "closed"}
_KIND_TEXT = {"police": "police building", "fire": "fire station", "library": "library",
              "hospital": "hospital", "school": "school", "worship": "place of worship",
              "user": "site proposed by the user"}
_POPULATION_TEXT = {"census2011": "2011 census", "mid2019": "mid-2019 estimate"}
_COUNTER_ICONS = {
    # status: (css class, label, size in px, z offset)
    "24h": ("siting-counter siting-counter-24h", "24", 24, 300),
    "daytime": ("siting-counter siting-counter-daytime", "D", 20, 200),
    "closed": ("siting-counter siting-counter-closed", "×", 16, 0),
}
_HUB_ICON = ("siting-hub", "H", 18, 100)
_HUB_LINE = {"color": "#1b7837", "weight": 1.5, "opacity": 0.8}
_REACH_STYLE = {"color": "#1b7837", "weight": 1.2, "dashArray": "4 4", "fillColor": "#1b7837",
                "fillOpacity": 0.06}
_BOROUGH_STYLE = {"color": "#252525", "weight": 1.4, "opacity": 0.75, "fill": False}
_CHANGE_LABELS = ("worse by 2 or more bands", "worse by 1 band", "same band", "better by 1 band",
                  "better by 2 or more bands")
_CHANGE_COLOURS = ("#b2182b", "#ef8a62", "#f7f7f7", "#67a9cf", "#2166ac")
_SOURCES = (
    "Ward boundaries (2014, City of London as one ward) and borough outlines: London Datastore "
    "(GLA/ONS). Contains OS data © Crown copyright and database right 2014.",
    "Population at LSOA population-weighted centroids: ONS. Contains National Statistics data "
    "© Crown copyright and database right.",
    "Front counters, their status and daily crime reports (May 2017): MOPAC / Metropolitan "
    "Police Public Access and Engagement Strategy (2017), annex 3; locations typed into the "
    "project with their sources (siting/facts/COUNTERS.md).",
    "Public transport: modelled from TfL open data (Powered by TfL Open Data) or the scenario's "
    "GTFS feed; see the modes below.",
    "DWO hub candidates: police buildings, London Fire Brigade stations, libraries, hospitals "
    "and other sites named in the scenario; © OpenStreetMap contributors (ODbL) where used.",
    "Background map: © OpenStreetMap contributors (needs internet).",
)


# ---------------------------------------------------------------------------------------------
# Small helpers


def band_index(minutes: Iterable[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Band of each travel time: 0 for (0, 15] min ... 5 for over 75 min, 6 when missing."""
    series = minutes if isinstance(minutes, pd.Series) else pd.Series(
        minutes if isinstance(minutes, np.ndarray) else list(minutes), dtype=object)
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    out = np.full(values.shape, NO_DATA_BAND, dtype=np.int64)
    ok = np.isfinite(values)
    out[ok] = np.clip(np.ceil(values[ok] / BAND_MINUTES) - 1, 0, NO_DATA_BAND - 1)
    return out


def _e(value: Any) -> str:
    """HTML-escaped text of a value from the input data ('' for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def _js(value: Any) -> str:
    """JSON for a <script> block: no '<', '>' or '&' so no text can close the script."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                       ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, code)
    return text


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _minutes_text(value: Any) -> str:
    return "no counter reached" if _missing(value) or not math.isfinite(float(value)) \
        else f"{float(value):.1f} min"


def _int_text(value: Any) -> str:
    return "no data" if _missing(value) else f"{round(float(value)):,}"


def _clock(seconds: Any) -> str:
    if _missing(seconds):
        return ""
    total = round(float(seconds)) // 60
    return f"{total // 60:02d}:{total % 60:02d}"


def _bng(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise DataError("siting.maps: a layer of the Analysis has no CRS; the Analysis frames "
                        "must be GeoDataFrames in EPSG:27700 (siting.analysis.analyse makes them).")
    return frame if frame.crs == BNG else frame.to_crs(BNG)


def _lonlat(geoms: gpd.GeoSeries) -> np.ndarray:
    """Rounded (lat, lon) of points (BNG GeoSeries)."""
    wgs = geoms.to_crs(WGS84)
    return np.round(np.column_stack([wgs.y.to_numpy(), wgs.x.to_numpy()]), COORD_DECIMALS)


def _simplified(geoms: gpd.GeoSeries, tolerance_m: float) -> gpd.GeoSeries:
    """Display-only shapes simplified in BNG (Douglas-Peucker), then in WGS84.

    The plain simplification is about ten times faster than the topology-preserving one and
    gives the same vertex counts on the London wards, LSOAs and boroughs; any shape it would
    empty or make invalid is simplified with topology preserved instead.
    """
    plain = geoms.simplify(tolerance_m, preserve_topology=False)
    bad = plain.is_empty | ~plain.is_valid
    if bad.any():
        plain = plain.where(~bad, geoms[bad].simplify(tolerance_m, preserve_topology=True))
    return plain.to_crs(WGS84)


def _display_geojson(geoms: gpd.GeoSeries, tolerance_m: float) -> list[dict[str, Any]]:
    """Display-only GeoJSON geometries: simplified in BNG, then WGS84 rounded to ~1 m."""
    simplified = _simplified(geoms, tolerance_m)
    rounded = shapely.transform(simplified.to_numpy(), lambda xy: np.round(xy, COORD_DECIMALS))
    return [_mapping(g) for g in rounded]


def _ring(ring: Any) -> tuple[tuple[float, ...], ...]:
    return tuple(map(tuple, shapely.get_coordinates(ring).tolist()))


def _mapping(geom: Any) -> dict[str, Any]:
    """``shapely.geometry.mapping`` of a geometry, the same dict, with each ring's coordinates
    read as one array rather than point by point (polygons; others go to shapely)."""
    if geom is not None and geom.geom_type == "Polygon" and not geom.is_empty:
        return {"type": "Polygon", "coordinates": (
            _ring(geom.exterior), *(_ring(hole) for hole in geom.interiors))}
    if geom is not None and geom.geom_type == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": [
            (_ring(part.exterior), *(_ring(hole) for hole in part.interiors))
            for part in geom.geoms]}
    return shapely.geometry.mapping(geom)


def _need(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"siting.maps: the Analysis {what} table lacks column(s) {', '.join(missing)}; "
            "build the Analysis with siting.analysis.analyse (see its docstring for the columns)."
        )


def _asset(name: str) -> str:
    return resources.files("siting").joinpath(f"static/{name}").read_text(encoding="utf-8")


def _inline_css(name: str) -> str:
    """A vendored stylesheet with its images inlined as data: URIs."""
    css = _asset(name)

    def data_uri(match: re.Match[str]) -> str:
        image = resources.files("siting").joinpath(f"static/leaflet-{match.group(1)}").read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(image).decode('ascii')})"

    return re.sub(r"url\(images/([a-z0-9-]+\.png)\)", data_uri, css)


def _assets_html() -> str:
    """Leaflet and the siting helpers, inlined so the page needs no CDN."""
    licence = _asset("leaflet-LICENSE.txt").replace("*/", "* /")
    js_leaflet = (f"/* Leaflet licence (siting/static/leaflet-LICENSE.txt):\n{licence}*/\n"
                  + re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", _asset("leaflet.js")))
    parts = {"leaflet.css": _inline_css("leaflet.css"), "siting-map.css": _asset("siting-map.css"),
             "leaflet.js": js_leaflet, "siting-map.js": _asset("siting-map.js")}
    for name, text in parts.items():
        lowered = text.lower()
        if "</script" in lowered or "</style" in lowered:
            raise DataError(f"siting/static/{name} contains a closing tag and cannot be inlined; "
                            "re-vendor the original file (see siting/static/README.md).")
    return (f"<style>\n{parts['leaflet.css']}\n</style>\n<style>\n{parts['siting-map.css']}\n</style>\n"
            f"<script>\n{parts['leaflet.js']}\n</script>\n<script>\n{parts['siting-map.js']}\n</script>\n")


# ---------------------------------------------------------------------------------------------
# Folium elements that write their text as is (never re-parsed by Jinja: data may hold '{{')


class _Raw(Element):
    """Text added to the page verbatim."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Raw"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


ScriptFn = Callable[[str, str], str]
"""Builds a script from (map variable name, own variable name), known only when rendering."""


class _Block(MacroElement):
    """Header HTML and/or a script (data, panels) added to the page verbatim."""

    def __init__(self, *, header: str = "", script: ScriptFn | None = None, name: str = "Block") -> None:
        super().__init__()
        self._name = name
        self.header = header
        self.script = script

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        if self.header:
            figure.header.add_child(_Raw(self.header), name=self.get_name())
        if self.script is not None:
            text = self.script(self._parent.get_name(), self.get_name())
            figure.script.add_child(_Raw(text + "\n"), name=self.get_name())


class _JsLayer(Layer):
    """A Leaflet layer made by a JS expression; listed in the LayerControl under `name`."""

    def __init__(self, name: str, expr: Callable[[str], str], *, overlay: bool = True,
                 show: bool = True, kind: str = "Layer") -> None:
        super().__init__(name=html.escape(name), overlay=overlay, control=True, show=show)
        self._name = kind
        self.expr = expr

    def render(self, **kwargs: Any) -> None:
        map_name = self._parent.get_name()
        text = f"var {self.get_name()} = {self.expr(map_name)};\n"
        if self.show:
            text += f"{self.get_name()}.addTo({map_name});\n"
        self.get_root().script.add_child(_Raw(text), name=self.get_name())


class _OfflineMap(folium.Map):
    """folium.Map without its CDN scripts and styles (Leaflet is inlined by `_assets_html`)."""

    default_js: list[tuple[str, str]] = []  # noqa: RUF012 (folium's class attribute)
    default_css: list[tuple[str, str]] = []  # noqa: RUF012


def _number_ids(root: Element) -> None:
    """Replace folium's random element ids by their order in the tree (deterministic HTML)."""
    counter = 0
    stack = [root]
    while stack:
        element = stack.pop(0)
        element._id = str(counter)
        counter += 1
        stack[0:0] = list(element._children.values())


def render_html(fmap: folium.Map) -> str:
    """The complete HTML page of a map built by this module."""
    page = fmap.get_root().render()
    page = page.replace("<html>", '<html lang="en">', 1)
    return "\n".join(line.rstrip() for line in page.splitlines()) + "\n"


def _write(text: str, path: Path | str, into: OutputSet | None = None) -> Path:
    """Write a page atomically, or stage it into a caller's output set (committed together)."""
    path = Path(path)
    if into is not None:
        into.write_text(path, text)
        return path
    with OutputSet() as outputs:
        outputs.write_text(path, text)
        outputs.commit()
    return path


# ---------------------------------------------------------------------------------------------
# Page furniture: base map, panels


def _base_map(title: str, description: str, wards: gpd.GeoDataFrame) -> folium.Map:
    """Map with inlined assets, panes, fitted bounds, attribution and the basemap layer."""
    bounds = wards.to_crs(WGS84).total_bounds
    south, west = round(float(bounds[1]), COORD_DECIMALS), round(float(bounds[0]), COORD_DECIMALS)
    north, east = round(float(bounds[3]), COORD_DECIMALS), round(float(bounds[2]), COORD_DECIMALS)
    fmap = _OfflineMap(location=[round((south + north) / 2, COORD_DECIMALS),
                                 round((west + east) / 2, COORD_DECIMALS)],
                       zoom_start=10, tiles=None, control_scale=True, zoom_snap=0.25)
    fmap.siting_bounds = [[south, west], [north, east]]  # type: ignore[attr-defined]
    figure = fmap.get_root()
    figure.title = html.escape(title)
    figure.header.add_child(_Raw(f'<meta name="description" content="{html.escape(description)}" />\n'
                                 '<meta name="generator" content="siting" />\n'), name="siting_meta")
    fmap.add_child(_Block(header=_assets_html(), name="Assets"))
    fmap.add_child(_Block(name="Setup", script=lambda m, _n: (
        f"SitingMap.panes({m});\n"
        f"{m}.attributionControl.addAttribution({_js(_DATA_ATTRIBUTION)});")))
    return fmap


def _add_basemap(fmap: folium.Map) -> _JsLayer:
    tiles = _JsLayer("Background map (OpenStreetMap; needs internet)", lambda _m: (
        f"L.tileLayer({_js(_TILES_URL)}, {_js({'attribution': _TILES_ATTRIBUTION, 'maxZoom': 19})})"),
        kind="Tiles")
    fmap.add_child(tiles)
    return tiles


def _finish(fmap: folium.Map, tiles: _JsLayer, legend_html: str, info_html: str) -> folium.Map:
    """Layer list, legend, title panel, offline note; then number the element ids."""
    # expanded on wide screens (the measure is chosen there), a button on narrow ones
    fmap.add_child(folium.LayerControl(position="topright",
                                       collapsed=JsCode(f"window.innerWidth < {_NARROW_PX}")))
    fit = _js(fmap.siting_bounds)  # type: ignore[attr-defined]
    fmap.add_child(_Block(name="Legend", script=lambda m, _n: (
        f"SitingMap.panel({m}, 'bottomright', 'siting-legend', {_js(legend_html)}, {_NARROW_PX});")))
    fmap.add_child(_Block(name="Info", script=lambda m, _n: (
        f"SitingMap.panel({m}, 'topleft', 'siting-info', {_js(info_html)}, {_NARROW_PX});")))
    fmap.add_child(_Block(name="TileNote", script=lambda m, _n: (
        f"SitingMap.tileNote({m}, {tiles.get_name()}, {_js(_TILE_NOTE)});\n"
        f"SitingMap.fit({m}, {fit});")))
    _number_ids(fmap.get_root())
    return fmap


def _swatch(fill: str, line: tuple[str, float, str | None] = ("#777", 1, None),
            opacity: float = _FILL_OPACITY) -> str:
    colour, weight, dash = line
    style = "dashed" if dash else "solid"
    return (f'<span class="siting-swatch" style="background:{fill};opacity:1;'
            f'box-shadow:inset 0 0 0 40px rgba(255,255,255,{1 - opacity:.2f});'
            f'border:{max(1.0, weight):g}px {style} {colour}"></span>')


def _icon_html(icon: tuple[str, str, int, int], *, changed: bool = False) -> str:
    cls, label, _size, _z = icon
    inner = f"<span>{label}</span>" if cls == "siting-hub" else label
    ring = " siting-counter-changed" if changed else ""
    return f'<div class="{cls}{ring}">{inner}</div>'


def _icon_js(icon: tuple[str, str, int, int]) -> dict[str, Any]:
    _cls, _label, size, z = icon
    return {"cls": "siting-icon", "html": _icon_html(icon), "size": size, "z": z}


def _outline_styles(thresholds: Sequence[int]) -> list[tuple[str, float, str | None]]:
    """Ward outline per number of thresholds exceeded: thin white, then thicker and darker."""
    lines: list[tuple[str, float, str | None]] = [_BASE_LINE]
    for k in range(1, len(thresholds) + 1):
        last = k == len(thresholds)
        lines.append(("#000000" if last else "#54278f", 1.0 + k, None if last else "6 4"))
    return lines


def _render_value(value: Any, depth: int = 0) -> str:
    """Escaped HTML of a JSON-like value (assumptions, modes)."""
    if isinstance(value, Mapping):
        if not value:
            return "none"
        if depth >= 3:
            return _e(json.dumps(value, ensure_ascii=False, default=str))
        items = []
        for key, item in value.items():
            nested = isinstance(item, Mapping) and bool(item) and depth + 1 < 3
            joiner = "" if nested else ": "
            items.append(f"<li><b>{_e(key)}</b>{joiner}{_render_value(item, depth + 1)}</li>")
        return f'<ul class="siting-kv">{"".join(items)}</ul>'
    if isinstance(value, list | tuple):
        if not value:
            return "none"
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            return ", ".join(_e(v) for v in value)
        return "<ul>" + "".join(f"<li>{_render_value(v, depth + 1)}</li>" for v in value) + "</ul>"
    if isinstance(value, float) and not math.isfinite(value):
        return "none"
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _e(value)


def _sources_html(analysis: Analysis) -> str:
    items = "".join(f"<li>{_e(s)}</li>" for s in _SOURCES)
    return (f"<details><summary>Data sources</summary><ul>{items}</ul></details>"
            f"<details><summary>Assumptions</summary>{_render_value(analysis.assumptions)}</details>"
            f"<details><summary>Public-transport modes</summary>{_render_value(analysis.modes)}</details>")


def _csv_link(csv_href: str | None, csv_text: str | None = None, filename: str = "wards.csv") -> str:
    """Download link of the ward table: embedded in the page (csv_text) or a relative link."""
    if csv_text is not None:
        payload = base64.b64encode(csv_text.encode("utf-8")).decode("ascii")
        return (f'<p><a class="siting-csv" href="data:text/csv;charset=utf-8;base64,{payload}" '
                f'download="{html.escape(filename, quote=True)}">Download the ward table behind '
                "this map (CSV, in this file)</a></p>")
    if not csv_href:
        return ""
    if re.match(r"^\s*(javascript|data|vbscript):", csv_href, re.IGNORECASE):
        raise DataError(f"siting.maps: csv_href {csv_href!r} is not a file link; pass a relative "
                        "path such as '../out/<scenario-id>/wards.csv'.")
    return (f'<p><a class="siting-csv" href="{html.escape(csv_href, quote=True)}" download>'
            "Download the ward table behind this map (CSV)</a></p>")



LSOA_SIMPLIFY_M = 20.0
"""Tolerance (metres) of the display-only simplification of neighbourhood (LSOA) outlines."""

LSOA_MIN_ZOOM = 13
"""Zoom level from which the neighbourhood (LSOA) outlines are drawn over the wards."""

_NEW_SITE_ICON = ("siting-counter siting-counter-new", "N", 22, 250)
_SEARCH_TEXT = {
    "prompt": "Find your area",
    "placeholder": "ward or neighbourhood name",
    "notFound": "No ward or neighbourhood of that name in this map.",
    "noCounter": "no counter reached",
    "hubLabel": "Nearest DWO hub",
    "noHub": "none within the walk limit",
    "journeyLabel": "Typical journey:",
    "note": "Median over the departure window, door to door by public transport.",
}


def _bounds(geoms: gpd.GeoSeries, pad_m: float = 0.0) -> np.ndarray:
    """(south, west, north, east) of each geometry in WGS84, rounded like the rest of the page."""
    boxes = geoms.buffer(pad_m).to_crs(WGS84).bounds.to_numpy() if pad_m else \
        geoms.to_crs(WGS84).bounds.to_numpy()
    return np.round(boxes[:, [1, 0, 3, 2]], COORD_DECIMALS)


def _number_or_none(value: Any, digits: int = 1) -> float | None:
    return None if _missing(value) or not math.isfinite(float(value)) else round(float(value), digits)


def _card_rows(frame: pd.DataFrame, counter_index: Mapping[str, int],
               hub_index: Mapping[str, int]) -> list[list[Any]]:
    """Compact card data per area: minutes, counter index, journey text per measure; hub, walk."""
    rows = []
    parts = {m: [c for c in frame.columns if str(c).startswith(f"journey_{m}_")] for m in MEASURES}
    # only the columns a card reads (copying every column took 0.21 s for the LSOAs, 0.13 s now)
    used = [c for m in MEASURES for c in (f"minutes_{m}", f"nearest_{m}_counter", *parts[m])]
    used += ["hub_site_id", "hub_walk_minutes"]
    for row in frame[[c for c in used if c in frame.columns]].to_dict("records"):
        minutes = [_number_or_none(row.get(f"minutes_{m}")) for m in MEASURES]
        counters = [counter_index.get(str(row.get(f"nearest_{m}_counter")), -1) for m in MEASURES]
        # shown as text, never markup
        journeys = [_journey_words(row, m, parts[m]) for m in MEASURES]
        hub = row.get("hub_site_id")
        hub_i = -1 if _missing(hub) else hub_index.get(str(hub), -1)
        rows.append([*minutes, *counters, *journeys, hub_i,
                     None if hub_i < 0 else _number_or_none(row.get("hub_walk_minutes"))])
    return rows


def search_arguments(analysis: Analysis) -> str:
    """The search box's data as the page writes it (`_search_arguments` on `build_map`'s tables).

    The costliest part of a map page: `siting run` makes it in a process of its own beside the
    rest of the page (``build_map(search=...)``).
    """
    return _search_arguments(analysis, *_map_tables(analysis))


def _map_tables(analysis: Analysis) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The wards and counters a map draws, in BNG, in id order."""
    wards = _bng(analysis.wards).sort_values("ward_code", kind="stable").reset_index(drop=True)
    counters = _bng(analysis.counters).sort_values("counter_id", kind="stable").reset_index(drop=True)
    return wards, counters


def _search_arguments(analysis: Analysis, wards: gpd.GeoDataFrame,
                      counters: gpd.GeoDataFrame) -> str:
    """The "find your area" box: every ward and neighbourhood (LSOA) by name, with its card;
    the arguments of the page's ``SitingMap.search`` call after the map."""
    counter_ids = [str(c) for c in counters["counter_id"]]
    counter_index = {c: i for i, c in enumerate(counter_ids)}
    hubs = analysis.hubs
    hub_ids = [] if hubs is None or hubs.empty else [str(h) for h in hubs["site_id"]]
    hub_index = {h: i for i, h in enumerate(hub_ids)}
    hub_names = [] if not hub_ids else [str(n) for n in hubs["name"]]
    ward_rows = _card_rows(wards, counter_index, hub_index)
    ward_box = _bounds(wards.geometry)
    places: list[list[Any]] = []
    for i, row in enumerate(wards[["ward_name", "borough", "ward_code"]].itertuples(index=False)):
        places.append([f"{row.ward_name}, {row.borough}", "ward", ward_box[i].tolist(), i, -1,
                       _e(row.ward_code)])
    lsoa_rows: list[list[Any]] = []
    lsoas = analysis.lsoas
    if lsoas is not None and not lsoas.empty and "lsoa_name" in lsoas.columns:
        lsoas = _bng(lsoas).sort_values("lsoa_code", kind="stable").reset_index(drop=True)
        ward_of = wards.set_index("ward_code")
        hub_cols = ["hub_site_id", "hub_walk_minutes"]
        merged = lsoas.drop(columns=[c for c in hub_cols if c in lsoas.columns]).merge(
            pd.DataFrame(ward_of[[c for c in hub_cols if c in ward_of.columns]]).reset_index(),
            on="ward_code", how="left")
        lsoa_rows = _card_rows(merged, counter_index, hub_index)
        shapes = analysis.lsoa_areas
        if shapes is not None and not shapes.empty:
            geoms = lsoas[["lsoa_code"]].merge(_bng(shapes), on="lsoa_code", how="left")["geometry"]
            boxes = _bounds(gpd.GeoSeries(geoms.where(geoms.notna(), lsoas.geometry.buffer(300)),
                                          crs=BNG))
        else:
            boxes = _bounds(lsoas.geometry, pad_m=300.0)
        ward_names = ward_of["ward_name"]
        for i, row in enumerate(lsoas[["lsoa_name", "ward_code"]].itertuples(index=False)):
            ward_name = ward_names.get(row.ward_code, "")
            label = f"{row.lsoa_name} (neighbourhood in {ward_name})" if ward_name else str(row.lsoa_name)
            places.append([label, "lsoa", boxes[i].tolist(), -1, i, _e(row.ward_code)])
    districts = analysis.postcode_districts
    if districts is not None and not districts.empty:
        _add_district_places(places, districts, wards)
    options = {**_SEARCH_TEXT, "measures": [MEASURE_LABELS[m].capitalize() for m in MEASURES],
               "counters": [str(n) for n in counters["name"]], "hubs": hub_names}
    return f"{_js(places)}, {_js({'wards': ward_rows, 'lsoas': lsoa_rows})}, {_js(options)}"


def _polyline(coords: np.ndarray) -> str:
    """Google's encoded-polyline text of (lon, lat) points at 1e-5 degrees (about 1 m).

    Each latitude then longitude delta is zig-zag encoded in 5-bit chunks offset by 63: about
    a third of the size of the same points written as JSON numbers.
    """
    scaled = np.round(np.asarray(coords, dtype=float)[:, [1, 0]] * 1e5).astype(np.int64)
    deltas = np.diff(scaled, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel()
    out = []
    for value in deltas.tolist():
        value = ~(value << 1) if value < 0 else value << 1
        while value >= 0x20:
            out.append(chr((0x20 | (value & 0x1F)) + 63))
            value >>= 5
        out.append(chr(value + 63))
    return "".join(out)


def _polylines(rings: Sequence[np.ndarray]) -> list[str]:
    """`_polyline` of many rings at once, vectorised (the same text, ring by ring)."""
    if not rings:
        return []
    sizes = np.array([len(r) for r in rings], dtype=np.int64)
    coords = np.concatenate([np.asarray(r, dtype=float).reshape(-1, 2) for r in rings])
    scaled = np.round(coords[:, [1, 0]] * 1e5).astype(np.int64)
    deltas = np.diff(scaled, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    deltas[starts] = scaled[starts]  # each ring starts from zero
    values = deltas.ravel()
    zigzag = np.where(values < 0, ~(values << 1), values << 1)
    chunks = np.ones(len(zigzag), dtype=np.int64)  # 5-bit chunks: 1 + shifts while >= 0x20
    rest = zigzag >> 5
    while (rest > 0).any():
        chunks += rest > 0
        rest >>= 5
    width = int(chunks.max())
    k = np.arange(width)
    parts = (zigzag[:, None] >> (5 * k)) & 0x1F
    parts |= np.where(k[None, :] < chunks[:, None] - 1, 0x20, 0)
    text = (parts[k[None, :] < chunks[:, None]] + 63).astype(np.uint8).tobytes().decode("ascii")
    ends = np.cumsum(np.add.reduceat(chunks, 2 * starts))
    return [text[a:b] for a, b in zip(np.r_[0, ends[:-1]], ends, strict=True)]


def _encoded_polygons(geoms: gpd.GeoSeries, tolerance_m: float) -> list[list[list[str]]]:
    """Display-only polygons as [polygon][ring] encoded polylines (simplified in BNG, WGS84)."""
    simplified = _simplified(geoms, tolerance_m)
    shape: list[list[int]] = []
    rings: list[np.ndarray] = []
    for geom in simplified:
        polygons = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        counts = []
        for p in polygons:
            if not p.is_empty:
                counts.append(1 + len(p.interiors))
                rings += [shapely.get_coordinates(ring) for ring in (p.exterior, *p.interiors)]
        shape.append(counts)
    encoded = iter(_polylines(rings))
    return [[[next(encoded) for _ in range(n)] for n in counts] for counts in shape]


def _add_district_places(places: list[list[Any]], districts: pd.DataFrame,
                         wards: gpd.GeoDataFrame) -> None:
    """Postcode districts in the search: the box of the addresses that place them, and the card
    of the ward holding their median address (said so on the label)."""
    boxes = gpd.GeoSeries(shapely.box(districts["x_min"], districts["y_min"], districts["x_max"],
                                      districts["y_max"]), crs=BNG)
    bounds = _bounds(boxes, pad_m=500.0)
    centres = shapely.points(districts["x"].to_numpy(float), districts["y"].to_numpy(float))
    tree = shapely.STRtree(wards.geometry.to_numpy())
    hits = tree.query(centres, predicate="within")
    ward_of = dict(zip(hits[0].tolist(), hits[1].tolist(), strict=True))
    for i, row in enumerate(districts[["district", "n"]].itertuples(index=False)):
        ward = ward_of.get(i)
        if ward is None:
            continue  # placed outside the map's wards
        name = wards["ward_name"].iloc[ward]
        places.append([f"{row.district} (postcode district, around {name})", "district",
                       bounds[i].tolist(), ward, -1, _e(wards["ward_code"].iloc[ward])])


def _add_lsoa_layer(fmap: folium.Map, analysis: Analysis) -> None:
    """Neighbourhood (LSOA) outlines in the same bands, drawn only when zoomed in."""
    shapes = analysis.lsoa_areas
    lsoas = analysis.lsoas
    if shapes is None or shapes.empty or lsoas is None or lsoas.empty:
        return
    columns = [f"minutes_{m}" for m in MEASURES]
    if any(c not in lsoas.columns for c in columns):
        return
    table = _bng(shapes).merge(pd.DataFrame(lsoas[["lsoa_code", *columns]]), on="lsoa_code",
                               how="inner").sort_values("lsoa_code", kind="stable")
    if table.empty:
        return
    table = gpd.GeoDataFrame(table, geometry="geometry", crs=BNG).reset_index(drop=True)
    shapes_enc = _encoded_polygons(table.geometry, LSOA_SIMPLIFY_M)
    bands = [band_index(table[c]) for c in columns]
    data = _js([[shapes_enc[i], [int(b[i]) for b in bands]] for i in range(len(table))])
    opts = _js({"fills": list(BAND_COLOURS), "fillOpacity": _FILL_OPACITY, "minZoom": LSOA_MIN_ZOOM,
                "cls": "siting-lsoa",
                "layerNames": [html.escape(f"Travel time to the {MEASURE_LABELS[m]}") for m in MEASURES]})
    fmap.add_child(_JsLayer(
        f"Neighbourhoods (LSOAs), from zoom level {LSOA_MIN_ZOOM}",
        lambda m: f"SitingMap.lsoas({m}, {data}, {opts})", kind="lsoas"))


def _add_new_sites(fmap: folium.Map, sites: gpd.GeoDataFrame) -> str:
    """The sites a plan adds (their own layer and icon); the legend item, or '' when none."""
    if sites.empty:
        return ""
    latlon = _lonlat(sites.geometry)
    items = [[float(latlon[i, 0]), float(latlon[i, 1]),
              _counter_popup(row, "proposed new site, " + _status_text(row)), _e(row["name"]), 0]
             for i, row in enumerate(sites.to_dict("records"))]
    data, icon = _js(items), _js(_icon_js(_NEW_SITE_ICON))
    fmap.add_child(_JsLayer(f"New sites proposed by the plan ({len(items)})",
                            lambda _m: f"SitingMap.points({data}, {icon})", kind="counters_new"))
    return (f'<li><span class="siting-marker-sample">{_icon_html(_NEW_SITE_ICON)}</span>'
            "new site proposed by the plan</li>")


# ---------------------------------------------------------------------------------------------
# One scenario


def _thresholds(analysis: Analysis) -> list[int]:
    return sorted({int(t) for t in analysis.scenario.thresholds})


def _over_levels(wards: pd.DataFrame, measure: str, thresholds: Sequence[int]) -> np.ndarray:
    """How many thresholds each ward exceeds (missing minutes count as over every threshold)."""
    minutes = pd.to_numeric(wards[f"minutes_{measure}"], errors="coerce")
    level = np.zeros(len(wards), dtype=np.int64)
    for t in thresholds:
        column = f"over_{t}_{measure}"
        over = wards[column].fillna(True).astype(bool) if column in wards.columns \
            else (minutes.isna() | (minutes > t))
        level += over.to_numpy(dtype=bool)
    return level


def _counter_names(counters: pd.DataFrame) -> dict[str, str]:
    return {str(k): str(v) for k, v in zip(counters["counter_id"], counters["name"], strict=True)}


def _ward_tip(row: Mapping[str, Any], names: Mapping[str, str], population_text: str,
              hub_line: str) -> str:
    lines = [f"<b>{_e(row['ward_name'])}</b>", _e(row["borough"]),
             f"Population ({population_text}): {_int_text(row.get('population'))}"]
    for measure in MEASURES:
        cid = row.get(f"nearest_{measure}_counter")
        where = "" if _missing(cid) else f" ({_e(names.get(str(cid), cid))})"
        lines.append(f"{MEASURE_LABELS[measure].capitalize()}: "
                     f"<b>{_minutes_text(row.get(f'minutes_{measure}'))}</b>{where}")
        journey = _journey_text(row, measure)
        if journey:
            lines.append(f"&nbsp;&nbsp;typical journey: {journey}")
    lines.append(hub_line)
    return "<br>".join(lines)


def _journey_words(row: Mapping[str, Any], measure: str,
                   columns: Sequence[str] | None = None) -> str:
    """The median journey's breakdown (siting.journeys) as plain text; '' when not computed.

    ``columns``: the row's journey columns of this measure, if already listed."""
    prefix = f"journey_{measure}_"
    if f"{prefix}walk_min" not in row or _missing(row.get(f"{prefix}walk_min")):
        return ""
    from siting.journey_words import describe

    if columns is None:
        columns = [k for k in row if str(k).startswith(prefix)]
    return describe({k[len(prefix):]: row[k] for k in columns})


def _journey_text(row: Mapping[str, Any], measure: str) -> str:
    """The median journey's breakdown, HTML-escaped for a tooltip; '' when not computed."""
    return _e(_journey_words(row, measure))


def _constant(expr: str) -> Callable[[str], str]:
    """A layer expression that does not depend on the map's variable name."""
    def make(_map_name: str) -> str:
        return expr
    return make


def _add_grid_layers(fmap: folium.Map, grid: Any, isochrones: gpd.GeoDataFrame | None) -> str:
    """The grid as an offline image per measure, and isochrone outlines; legend items."""
    from siting.overlays import grid_png, isochrone_colours

    legend = ""
    if grid is not None and grid.cell_m is not None:
        for measure in MEASURES:
            column = f"minutes_{measure}"
            if column not in grid.cells.columns:
                continue
            uri, bounds = grid_png(grid.cells, column, cell_m=grid.cell_m,
                                   colours=BAND_COLOURS, bands=band_index(grid.cells[column]))
            options = _js({"opacity": 1.0, "interactive": False, "className": "siting-grid"})
            expr = f"L.imageOverlay({_js(uri)}, {_js(bounds)}, {options})"
            fmap.add_child(_JsLayer(
                f"{grid.cell_m:g} m grid: travel time to the {MEASURE_LABELS[measure]}",
                _constant(expr), show=False, kind=f"grid_{measure}"))
        legend += (f"<li>{_swatch(BAND_COLOURS[2])}{grid.cell_m:g} m grid "
                   f"({len(grid.cells):,} cells): same bands, per cell</li>")
    if isochrones is not None and len(isochrones):
        iso = _bng(isochrones).reset_index(drop=True)
        geoms = _display_geojson(iso.geometry, 2 * DISPLAY_SIMPLIFY_M)
        colours = isochrone_colours(iso["minutes"].tolist(), BAND_COLOURS, BAND_MINUTES)
        for measure in sorted(set(iso["measure"]), key=lambda m: list(MEASURES).index(m)
                              if m in MEASURES else 99):
            features = []
            for i, r in enumerate(iso.to_dict("records")):
                if r["measure"] != measure or not geoms[i]:
                    continue
                where = "the nearest counter" if r["counter"] == "nearest" else _e(r["counter"])
                tip = (f"Within {r['minutes']:g} min of {where} "
                       f"({MEASURE_LABELS.get(measure, measure)}), median over the window; "
                       f"{r['area_km2']:,.1f} km²")
                features.append({"type": "Feature", "geometry": geoms[i], "properties": {
                    "s": {"color": "#222222" if r["minutes"] >= 45 else colours[i], "weight": 2,
                          "fill": False, "opacity": 0.9}, "t": tip}})
            data = _js({"type": "FeatureCollection", "features": features})
            label = "nearest counter" if set(iso["counter"]) == {"nearest"} else \
                ", ".join(sorted(set(iso["counter"])))
            fmap.add_child(_JsLayer(
                f"Isochrones {', '.join(f'{m:g}' for m in sorted(set(iso['minutes'])))} min: "
                f"{label} ({MEASURE_LABELS.get(measure, measure)})",
                _constant(f"L.geoJSON({data}, {{style: function (f) {{ return f.properties.s; }}, "
                          "onEachFeature: function (f, l) { l.bindTooltip(f.properties.t, "
                          "{sticky: true}); }})"),
                show=False, kind=f"isochrones_{measure}"))
        legend += ('<li><span class="siting-swatch" style="border:2px solid #222"></span>'
                   "isochrone: area within N minutes (grid median)</li>")
    return legend


def _hub_line(row: Mapping[str, Any], analysis: Analysis) -> str:
    hubs_cfg = analysis.scenario.hubs
    if not hubs_cfg.enabled or analysis.hubs.empty:
        return "DWO hubs: not planned in this scenario"
    if _missing(row.get("hub_site_id")):
        return f"DWO hub: none within a {hubs_cfg.walk_limit_minutes:g}-minute walk"
    minutes = row.get("hub_walk_minutes")
    walk = "" if _missing(minutes) else f", {float(minutes):.1f} min walk"
    return f"DWO hub: {_e(row.get('hub_name'))}{walk}"


def _ward_features(wards: gpd.GeoDataFrame, tips: Sequence[str], bands: Sequence[np.ndarray],
                   levels: Sequence[np.ndarray]) -> dict[str, Any]:
    geoms = _display_geojson(wards.geometry, DISPLAY_SIMPLIFY_M)
    features = []
    for i, code in enumerate(wards["ward_code"]):
        features.append({"type": "Feature", "geometry": geoms[i], "properties": {
            "c": _e(code), "b": [int(b[i]) for b in bands], "o": [int(o[i]) for o in levels],
            "t": tips[i]}})
    return {"type": "FeatureCollection", "features": features}


def _counter_popup(row: Mapping[str, Any], status_text: str) -> str:
    reports = row.get("daily_crime_reports_may2017")
    reports_text = "not published" if _missing(reports) else f"{float(reports):g}"
    where = "" if str(row.get("position", "matched")) in ("matched", "", "nan") else \
        f"<p>Location: {_e(row.get('position'))}</p>"
    return (f"<h3>{_e(row['name'])}</h3><p>{_e(row.get('borough'))}</p>"
            f"<p><b>In this scenario:</b> {status_text}</p>"
            f"<p><b>Daily crime reports, May 2017:</b> {reports_text}</p>{where}")


def _status_text(row: Mapping[str, Any]) -> str:
    status = str(row["status"])
    text = _STATUS_TEXT.get(status, _e(status))
    if status == "daytime" and not _missing(row.get("open_s")) and not _missing(row.get("close_s")):
        text += f", {_clock(row['open_s'])}–{_clock(row['close_s'])}"
    return text


def _add_counter_layers(fmap: folium.Map, counters: gpd.GeoDataFrame,
                        popup: Callable[[Mapping[str, Any]], str],
                        changed: Callable[[Mapping[str, Any]], bool] | None = None) -> None:
    """One layer per status; with `changed`, counters whose status changed get a ring."""
    latlon = _lonlat(counters.geometry)
    titles = {"24h": "24/7 front counters", "daytime": "Daytime-only front counters",
              "closed": "Front counters closed"}
    records = counters.to_dict("records")
    for status in ("24h", "daytime", "closed"):
        items = []
        for i, row in enumerate(records):
            if row["status"] != status:
                continue
            ring = bool(changed(row)) if changed is not None else False
            items.append([float(latlon[i, 0]), float(latlon[i, 1]), popup(row), _e(row["name"]),
                          int(ring)])
        icon = _icon_js(_COUNTER_ICONS[status])
        icon["changed"] = _icon_html(_COUNTER_ICONS[status], changed=True)
        rings = sum(it[4] for it in items)
        name = f"{titles[status]} ({len(items)})"
        if changed is not None:
            name = f"{titles[status]} ({len(items)}; {rings} changed)"
        data, icon_js = _js(items), _js(icon)
        fmap.add_child(_JsLayer(name, lambda _m, d=data, i=icon_js: f"SitingMap.points({d}, {i})",
                                kind=f"counters_{status}"))


def _walk_reach_m(analysis: Analysis) -> tuple[float, float, float]:
    """Crow-fly radius of the hub walk limit, with the speed and circuity used."""
    walking = analysis.assumptions.get("walking", {}) if isinstance(analysis.assumptions, Mapping) else {}
    scen = analysis.scenario.walking
    circuity = walking.get("circuity_used") or scen.circuity or DEFAULT_CIRCUITY
    speed = walking.get("speed_kmh") or scen.speed_kmh
    model = WalkModel(speed_kmh=float(speed), circuity=float(circuity))
    return model.reach_m(analysis.scenario.hubs.walk_limit_minutes), float(speed), float(circuity)


def _add_hub_layers(fmap: folium.Map, analysis: Analysis, wards: gpd.GeoDataFrame) -> str:
    """Hub markers with lines to the wards they serve, and their walking reach; legend items."""
    hubs = _bng(analysis.hubs).sort_values("site_id", kind="stable").reset_index(drop=True)
    if hubs.empty:
        return ""
    _need(hubs, ["site_id", "name"], "hubs")
    assignment = analysis.hub_assignment
    _need(assignment, ["ward_code", "site_id", "minutes"], "hub_assignment")
    ward_rows = wards.set_index("ward_code")
    rep = _lonlat(wards.geometry.representative_point())
    ward_pos = {code: (float(rep[i, 0]), float(rep[i, 1])) for i, code in enumerate(wards["ward_code"])}
    served = (assignment.assign(_name=assignment["ward_code"].map(ward_rows["ward_name"]))
              .sort_values(["site_id", "minutes", "ward_code"], kind="stable"))
    # one pass over plain records (a pandas group and lookup per hub cost most of the map's time)
    by_hub: dict[Any, list[dict[str, Any]]] = {}
    for r in served.to_dict("records"):
        by_hub.setdefault(r["site_id"], []).append(r)
    borough = dict(zip(ward_rows.index, ward_rows["borough"], strict=True))
    latlon = _lonlat(hubs.geometry)
    items = []
    for i, row in enumerate(hubs.to_dict("records")):
        rows = by_hub.get(row["site_id"], [])
        listed = "".join(
            f"<li>{_e(r['_name'])} ({_e(borough.get(r['ward_code']))}): "
            f"{float(r['minutes']):.1f} min walk</li>" for r in rows)
        officers = "" if _missing(row.get("officers")) else f"; officers: {_int_text(row['officers'])}"
        kind = _KIND_TEXT.get(str(row.get("kind")), _e(row.get("kind")))
        popup = (f"<h3>{_e(row['name'])}</h3><p>DWO hub at a {kind}</p>"
                 f"<p><b>Serves {len(rows)} ward{'s' if len(rows) != 1 else ''}</b>{officers}</p>"
                 f"<ul>{listed}</ul>")
        ends = [list(ward_pos[r["ward_code"]]) for r in rows if r["ward_code"] in ward_pos]
        items.append([float(latlon[i, 0]), float(latlon[i, 1]), popup, _e(row["name"]), 0, ends])
    radius, speed, circuity = _walk_reach_m(analysis)
    limit = analysis.scenario.hubs.walk_limit_minutes
    data, icon, line = _js(items), _js(_icon_js(_HUB_ICON)), _js(_HUB_LINE)
    centres = _js([[float(a), float(b)] for a, b in latlon])
    radius_js, reach_style = _js(round(radius, 1)), _js(_REACH_STYLE)
    fmap.add_child(_JsLayer(
        f"DWO hubs and the wards they serve ({len(hubs)})",
        lambda _m: f"SitingMap.hubs({data}, {icon}, {line})", kind="hubs"))
    fmap.add_child(_JsLayer(
        f"DWO hubs: {limit:g}-minute walking reach",
        lambda _m: f"SitingMap.circles({centres}, {radius_js}, {reach_style})", kind="reach",
        show=False))
    reach = (f'<span class="siting-swatch" style="border:1.5px dashed {_REACH_STYLE["color"]};'
             f'border-radius:50%;background:rgba(27,120,55,.08)"></span>')
    return (f'<li><span class="siting-marker-sample">{_icon_html(_HUB_ICON)}</span>DWO hub '
            "(lines: the wards it serves)</li>"
            f'<li>{reach}<span title="{speed:g} km/h along streets {circuity:.3g}× '
            f'as long as the straight line">{limit:g}-minute walk from a hub '
            f"({radius:,.0f} m)</span></li>")


def _add_boroughs(fmap: folium.Map, boroughs: gpd.GeoDataFrame) -> None:
    if boroughs is None or boroughs.empty:
        return
    boroughs = _bng(boroughs)
    sort_key = "borough_code" if "borough_code" in boroughs.columns else boroughs.columns[0]
    boroughs = boroughs.sort_values(sort_key, kind="stable")
    geoms = _display_geojson(boroughs.geometry, BOROUGH_SIMPLIFY_M)
    data = _js({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": g, "properties": {}} for g in geoms]})
    style = _js(_BOROUGH_STYLE)
    fmap.add_child(_JsLayer("Borough boundaries", lambda _m: f"SitingMap.outlines({data}, {style})",
                            kind="boroughs"))


def _population_table(analysis: Analysis, wards: pd.DataFrame, thresholds: Sequence[int]) -> str:
    total = float(pd.to_numeric(wards["population"], errors="coerce").fillna(0).sum())
    head = "".join(f'<th class="num">over {t} min</th>' for t in thresholds)
    short = {"24h": "24/7 counter", "any": "Counter open on arrival"}
    rows = []
    for measure in MEASURES:
        cells = []
        minutes = pd.to_numeric(wards[f"minutes_{measure}"], errors="coerce")
        for t in thresholds:
            column = f"pop_over_{t}_{measure}"
            people = float(wards[column].fillna(0).sum()) if column in wards.columns else \
                float(wards.loc[minutes.isna() | (minutes > t), "population"].fillna(0).sum())
            share = f" ({100 * people / total:.1f}%)" if total > 0 else ""
            cells.append(f'<td class="num">{people:,.0f}{share}</td>')
        rows.append(f"<tr><td>{short[measure]}</td>{''.join(cells)}</tr>")
    return ("<p><b>People by travel time to the nearest…</b></p>"
            f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>")


def _legend_bands(thresholds: Sequence[int], lines: Sequence[tuple[str, float, str | None]]) -> str:
    bands = "".join(f"<li>{_swatch(BAND_COLOURS[i])}{BAND_LABELS[i]}</li>" for i in range(len(BAND_LABELS)))
    outlines = "".join(f"<li>{_swatch('#ffffff', lines[k + 1], 0)}ward average over {t} min</li>"
                       for k, t in enumerate(thresholds))
    return f"<ul>{bands}</ul><ul>{outlines}</ul>"


def _legend_counters(changed: bool = False) -> str:
    items = [
        ("24h", "24/7 front counter"), ("daytime", "daytime-only front counter"),
        ("closed", "front counter closed (or closing)"),
    ]
    out = "".join(f'<li><span class="siting-marker-sample">{_icon_html(_COUNTER_ICONS[s])}</span>{label}</li>'
                  for s, label in items)
    if changed:
        sample = _icon_html(_COUNTER_ICONS["daytime"], changed=True)
        out += f'<li><span class="siting-marker-sample">{sample}</span>status changed</li>'
    return out


def build_map(analysis: Analysis, *, csv_href: str | None = None, csv_text: str | None = None,
              new_sites: Sequence[str] = (), grid: Any = None,
              isochrones: gpd.GeoDataFrame | None = None, search: str | None = None) -> folium.Map:
    """The resident's map of one scenario: travel-time bands, counters, hubs, legend, sources.

    Parameters
    ----------
    analysis
        The scenario's Analysis (frames in EPSG:27700).
    csv_href
        Link (relative to the map's folder) to the run's wards.csv, shown as a download link.
    csv_text
        The ward table itself, embedded in the page as a download (the map stays self-contained
        when shared alone); takes precedence over ``csv_href``.
    new_sites
        Counter ids a plan opens that the scenario it came from did not (e.g. the optimiser's
        alternatives): drawn in a layer and with an icon of their own.
    grid, isochrones
        A `siting.grid.Grid` drawn as an offline image in the same bands, and its isochrones
        (`siting.isochrones.isochrones`) as outlines; both optional layers, off at first.
    search
        The search box's data (`search_arguments`) when made elsewhere, or a placeholder
        the caller replaces by it in the page; made here when None.
    """
    scenario = analysis.scenario
    wards, counters = _map_tables(analysis)
    _need(wards, ["ward_code", "ward_name", "borough", "population",
                  *[f"minutes_{m}" for m in MEASURES]], "wards")
    _need(counters, ["counter_id", "name", "status"], "counters")
    thresholds = _thresholds(analysis)
    lines = _outline_styles(thresholds)
    names = _counter_names(counters)
    population_text = _POPULATION_TEXT.get(scenario.data.population, scenario.data.population)
    records = wards.drop(columns="geometry").to_dict("records")
    tips = [_ward_tip(r, names, population_text, _hub_line(r, analysis)) for r in records]
    bands = [band_index(wards[f"minutes_{m}"]) for m in MEASURES]
    levels = [_over_levels(wards, m, thresholds) for m in MEASURES]

    fmap = _base_map(scenario.title, scenario.description or scenario.title, wards)
    tiles = _add_basemap(fmap)
    data = _js(_ward_features(wards, tips, bands, levels))
    store = _Block(name="WardData", script=lambda _m, n: f"var {n} = {data};")
    fmap.add_child(store)
    for index, measure in enumerate(MEASURES):
        opts = _js({"fills": list(BAND_COLOURS), "lines": lines, "fillOpacity": _FILL_OPACITY,
                    "hover": _HOVER, "cls": f"siting-ward siting-ward-{measure}"})
        fmap.add_child(_JsLayer(
            f"Travel time to the {MEASURE_LABELS[measure]}",
            lambda _m, i=index, o=opts: f"SitingMap.wards({store.get_name()}, {i}, {o})",
            overlay=False, show=index == 0, kind=f"wards_{measure}"))
    _add_lsoa_layer(fmap, analysis)
    _add_boroughs(fmap, analysis.boroughs)
    hub_legend = _add_hub_layers(fmap, analysis, wards)
    new = {str(s) for s in new_sites}
    _add_counter_layers(fmap, counters[~counters["counter_id"].isin(new)],
                        lambda r: _counter_popup(r, _status_text(r)))
    new_legend = _add_new_sites(fmap, counters[counters["counter_id"].isin(new)])
    grid_legend = _add_grid_layers(fmap, grid, isochrones)
    arguments = _search_arguments(analysis, wards, counters) if search is None else search
    fmap.add_child(_Block(name="Search", script=lambda m, _n: (
        f"SitingMap.search({m}, {arguments});")))

    window = scenario.transit.departure_window.replace("-", "–")
    day = scenario.transit.service_date
    legend = (
        "<details open><summary><h2>Travel time by public transport</h2></summary>"
        f"<p>Door to door, leaving {_e(window)} on {day:%a} {day.day} {day:%b %Y}; "
        "ward averages.</p>"
        f"{_legend_bands(thresholds, lines)}"
        f"<ul>{_legend_counters()}{new_legend}{hub_legend}{grid_legend}"
        f'<li><span class="siting-swatch" style="border:2px solid {_BOROUGH_STYLE["color"]}"></span>'
        "borough boundary</li></ul></details>")
    counts = counters["status"].value_counts()
    summary = (f"{int(counts.get('24h', 0))} counters open 24/7, {int(counts.get('daytime', 0))} "
               f"open in the daytime only, {int(counts.get('closed', 0))} closed")
    hubs_text = "" if analysis.hubs.empty else f"; {len(analysis.hubs)} DWO hubs"
    info = (
        f"<details open><summary><h1>{_e(scenario.title)}</h1></summary><div class=\"siting-body\">"
        f"<p>{_e(scenario.description)}</p>"
        f"<p>{summary}{hubs_text}. Colours show each ward's public-transport travel time "
        "to the nearest 24/7 counter or to the nearest counter open when you arrive "
        "(switch in the layer list, top right); hover a ward for its figures, click a marker "
        "for details.</p>"
        f"{_population_table(analysis, wards, thresholds)}"
        f"{_csv_link(csv_href, csv_text, f'{scenario.id}-wards.csv')}{_sources_html(analysis)}"
        f"<p>Scenario <code>{_e(scenario.id)}</code>; made with siting.</p></div></details>")
    return _finish(fmap, tiles, legend, info)


def write_map(analysis: Analysis, path: Path | str, *, csv_href: str | None = None,
              csv_text: str | None = None, new_sites: Sequence[str] = (), grid: Any = None,
              isochrones: gpd.GeoDataFrame | None = None, into: OutputSet | None = None) -> Path:
    """Write the scenario's map as one self-contained HTML file (byte-identical for the same input).

    With ``into`` the page is staged into the caller's output set instead (see siting._atomic).
    """
    return _write(map_html(analysis, csv_href=csv_href, csv_text=csv_text, new_sites=new_sites,
                           grid=grid, isochrones=isochrones), path, into)


def map_html(analysis: Analysis, *, csv_href: str | None = None, csv_text: str | None = None,
             new_sites: Sequence[str] = (), grid: Any = None,
             isochrones: gpd.GeoDataFrame | None = None, search: str | None = None) -> str:
    """The scenario's map page as text (what `write_map` writes); ``search`` as `build_map`."""
    return render_html(build_map(analysis, csv_href=csv_href, csv_text=csv_text,
                                 new_sites=new_sites, grid=grid, isochrones=isochrones,
                                 search=search))


# ---------------------------------------------------------------------------------------------
# Two scenarios compared


def _change_class(delta: np.ndarray) -> np.ndarray:
    """0 worse by 2+, 1 worse by 1, 2 same, 3 better by 1, 4 better by 2+ (delta = other - base)."""
    return np.select([delta >= 2, delta == 1, delta == 0, delta == -1], [0, 1, 2, 3], default=4)


def build_compare_map(base: Analysis, other: Analysis, *, csv_href: str | None = None) -> folium.Map:
    """Map of the wards whose 15-minute band got worse or better from `base` to `other`."""
    keep = ["ward_code", "ward_name", "borough", "population",
            *[f"minutes_{m}" for m in MEASURES], "geometry"]
    for label, analysis in (("base", base), ("other", other)):
        _need(analysis.wards, keep, f"{label} wards")
    left = _bng(other.wards)[keep].sort_values("ward_code", kind="stable")
    right = pd.DataFrame(base.wards[["ward_code", *[f"minutes_{m}" for m in MEASURES]]])
    wards = left.merge(right, on="ward_code", how="inner", suffixes=("", "_base"))
    wards = gpd.GeoDataFrame(wards, geometry="geometry", crs=BNG).reset_index(drop=True)
    if wards.empty:
        raise DataError(
            f"siting map --compare: scenarios {base.scenario.id!r} and {other.scenario.id!r} "
            "share no ward codes; compare scenarios that use the same ward boundaries "
            "(the `data.wards` file).")
    thresholds = sorted(set(_thresholds(base)) | set(_thresholds(other)))
    changes, levels, figures = [], [], []
    for measure in MEASURES:
        b0 = band_index(wards[f"minutes_{measure}_base"])
        b1 = band_index(wards[f"minutes_{measure}"])
        change = _change_class(b1 - b0)
        changes.append(change)
        levels.append((change != 2).astype(np.int64))
        pop = pd.to_numeric(wards["population"], errors="coerce").fillna(0).to_numpy()
        figures.append({k: (int((change == k).sum()), float(pop[change == k].sum())) for k in range(5)})
    tips = []
    for i, row in enumerate(wards.drop(columns="geometry").to_dict("records")):
        lines = [f"<b>{_e(row['ward_name'])}</b>", _e(row["borough"]),
                 f"Population: {_int_text(row.get('population'))}"]
        for k, measure in enumerate(MEASURES):
            lines.append(
                f"{MEASURE_LABELS[measure].capitalize()}: {_minutes_text(row[f'minutes_{measure}_base'])}"
                f" → <b>{_minutes_text(row[f'minutes_{measure}'])}</b> ({_CHANGE_LABELS[changes[k][i]]})")
        tips.append("<br>".join(lines))

    title = f"{other.scenario.title} compared with {base.scenario.title}"
    fmap = _base_map(title, f"Travel-time bands of {other.scenario.id} against {base.scenario.id}",
                     wards)
    tiles = _add_basemap(fmap)
    data = _js(_ward_features(wards, tips, changes, levels))
    store = _Block(name="WardData", script=lambda _m, n: f"var {n} = {data};")
    fmap.add_child(store)
    lines_style = [("#bdbdbd", 0.5, None), ("#252525", 1.6, None)]
    for index, measure in enumerate(MEASURES):
        opts = _js({"fills": list(_CHANGE_COLOURS), "lines": lines_style, "fillOpacity": _FILL_OPACITY,
                    "hover": _HOVER, "cls": f"siting-ward siting-ward-{measure}"})
        fmap.add_child(_JsLayer(
            f"Change in travel time to the {MEASURE_LABELS[measure]}",
            lambda _m, i=index, o=opts: f"SitingMap.wards({store.get_name()}, {i}, {o})",
            overlay=False, show=index == 0, kind=f"wards_{measure}"))
    _add_boroughs(fmap, other.boroughs)

    base_status = dict(zip(base.counters["counter_id"], base.counters["status"], strict=True))
    counters = _bng(other.counters).sort_values("counter_id", kind="stable").reset_index(drop=True)

    def popup(row: Mapping[str, Any]) -> str:
        before = base_status.get(row["counter_id"])
        before_text = "not in the registry" if before is None else _STATUS_TEXT.get(before, _e(before))
        return _counter_popup(row, _status_text(row)).replace(
            "<p><b>In this scenario:</b>",
            f"<p><b>In {_e(base.scenario.id)}:</b> {before_text}</p>"
            f"<p><b>In {_e(other.scenario.id)}:</b>", 1)

    _add_counter_layers(fmap, counters, popup,
                        changed=lambda r: base_status.get(r["counter_id"]) != r["status"])

    change_items = "".join(f"<li>{_swatch(_CHANGE_COLOURS[k], lines_style[int(k != 2)])}"
                           f"{_CHANGE_LABELS[k]}</li>" for k in range(5))
    legend = ("<details open><summary><h2>Change in travel-time band</h2></summary>"
              f"<p>From {_e(base.scenario.id)} to {_e(other.scenario.id)}, in {BAND_MINUTES}-minute "
              "bands (no counter reached counts as the worst band).</p>"
              f"<ul>{change_items}</ul><ul>{_legend_counters(changed=True)}</ul></details>")
    rows = []
    short = {"24h": "24/7 counter", "any": "Counter open on arrival"}
    for k, measure in enumerate(MEASURES):
        fig = figures[k]
        worse = (fig[0][0] + fig[1][0], fig[0][1] + fig[1][1])
        better = (fig[3][0] + fig[4][0], fig[3][1] + fig[4][1])
        rows.append(f"<tr><td>{short[measure]}</td>"
                    f'<td class="num">{worse[0]} wards<br>{worse[1]:,.0f} people</td>'
                    f'<td class="num">{better[0]} wards<br>{better[1]:,.0f} people</td>'
                    f'<td class="num">{fig[2][0]} wards</td></tr>')
    over_rows = []
    for measure in MEASURES:
        for t in thresholds:
            column = f"pop_over_{t}_{measure}"
            if column in base.wards.columns and column in other.wards.columns:
                over_rows.append(
                    f"<tr><td>{short[measure]}, over {t} min</td>"
                    f'<td class="num">{float(base.wards[column].fillna(0).sum()):,.0f}</td>'
                    f'<td class="num">{float(other.wards[column].fillna(0).sum()):,.0f}</td></tr>')
    over_table = "" if not over_rows else (
        "<p><b>People over the thresholds</b></p>"
        f"<table><tr><th></th><th class=\"num\">{_e(base.scenario.id)}</th>"
        f"<th class=\"num\">{_e(other.scenario.id)}</th></tr>{''.join(over_rows)}</table>")
    info = (
        f"<details open><summary><h1>{_e(title)}</h1></summary><div class=\"siting-body\">"
        f"<p>Wards coloured by how their travel-time band changed from <code>{_e(base.scenario.id)}"
        f"</code> to <code>{_e(other.scenario.id)}</code>; hover a ward for both figures, click "
        "a counter for its status in each.</p>"
        "<p><b>Travel-time band to the nearest…</b></p>"
        "<table><tr><th></th><th class=\"num\">worse</th>"
        f"<th class=\"num\">better</th><th class=\"num\">same</th></tr>{''.join(rows)}</table>"
        f"{over_table}{_settings_table(base, other)}<details><summary>The two scenarios</summary>"
        f"<p><b>Base:</b> {_e(base.scenario.title)} (<code>{_e(base.scenario.id)}</code>). "
        f"{_e(base.scenario.description)}</p>"
        f"<p><b>Compared:</b> {_e(other.scenario.title)} (<code>{_e(other.scenario.id)}</code>). "
        f"{_e(other.scenario.description)}</p></details>"
        f"{_csv_link(csv_href)}{_sources_html(other)}</div></details>")
    return _finish(fmap, tiles, legend, info)


def _settings_table(base: Analysis, other: Analysis) -> str:
    """The settings besides the counters that differ (window, feed, date, walking...), shown
    open: a comparison is only fair when the reader sees everything that changed."""
    diff = setting_differences(base, other)
    if diff.empty:
        return "<p>The two scenarios differ only in their counters.</p>"
    rows = "".join(f"<tr><td><code>{_e(r.setting)}</code></td><td>{_e(r.before)}</td>"
                   f"<td><b>{_e(r.after)}</b></td></tr>" for r in diff.itertuples())
    return ("<p><b>Settings that differ besides the counters</b></p>"
            f"<table class=\"siting-settings\"><tr><th>setting</th><th>{_e(base.scenario.id)}</th>"
            f"<th>{_e(other.scenario.id)}</th></tr>{rows}</table>")


def write_compare_map(base: Analysis, other: Analysis, path: Path | str, *,
                      csv_href: str | None = None) -> Path:
    """Write the comparison map of two scenarios (for `siting map --compare BASE OTHER`)."""
    return _write(render_html(build_compare_map(base, other, csv_href=csv_href)), path)


# ---------------------------------------------------------------------------------------------
# Index page

_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)
_DESCRIPTION = re.compile(r'<meta name="description" content="(.*?)" />', re.DOTALL)

_INDEX_CSS = """
body { color: #222; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
       margin: 2rem auto; max-width: 52rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; }
li { margin: 0.8rem 0; }
a { font-weight: 600; }
p { color: #444; margin: 0.2rem 0; }
code { color: #666; font-size: 0.85em; }
"""


def write_index(map_paths: Sequence[Path | str], path: Path | str, *,
                title: str = "Police front counters and DWO hubs: scenario maps",
                into: OutputSet | None = None, read_from: Mapping[Path, Path] | None = None) -> Path:
    """Write index.html listing the maps (in the order given) with their titles and links.

    ``read_from`` maps a listed path to the file to read its title from (a map staged in
    ``into`` and not yet in place).
    """
    path = Path(path)
    items = []
    for map_path in map_paths:
        map_path = Path(map_path)
        source = Path((read_from or {}).get(map_path, map_path))
        if not source.is_file():
            raise DataError(f"{map_path}: map not found, so the index cannot list it. Run "
                            "`siting run <scenario>.yaml` to make it, or drop it from the list.")
        head = source.read_text(encoding="utf-8", errors="replace")[:20000]
        found = _TITLE.search(head)
        name = html.unescape(found.group(1)).strip() if found else map_path.stem
        described = _DESCRIPTION.search(head)
        about = html.unescape(described.group(1)).strip() if described else ""
        rel = os.path.relpath(map_path.resolve(), path.resolve().parent).replace(os.sep, "/")
        about_html = f"<p>{_e(about)}</p>" if about and about != name else ""
        items.append(f'<li><a href="{html.escape(quote(rel), quote=True)}">{_e(name)}</a> '
                     f"<code>{_e(map_path.name)}</code>{about_html}</li>")
    body = "\n".join(items) if items else "<li>No maps yet: run <code>siting run</code>.</li>"
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8" />\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1" />\n'
        f"<title>{_e(title)}</title>\n<style>{_INDEX_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_e(title)}</h1>\n<p>Each map opens in your browser and works offline "
        "(the background map needs internet).</p>\n"
        f"<ul>\n{body}\n</ul>\n</body>\n</html>\n")
    return _write(page, path, into)


# ---------------------------------------------------------------------------------------------
# Uncertainty sweep: chance of being over a threshold

CHANCE_LABELS = ("never over (0%)", "under 10%", "10–50%", "50–90%", "90% or more")
CHANCE_COLOURS = ("#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#67001f")


def chance_class(chance: Iterable[float] | np.ndarray | pd.Series) -> np.ndarray:
    """0: never over, 1: under 10%, 2: 10-50%, 3: 50-90%, 4: 90% or more of the samples."""
    p = np.asarray(pd.to_numeric(pd.Series(chance), errors="coerce").fillna(1.0), dtype=float)
    return np.select([p <= 0, p < 0.1, p < 0.5, p < 0.9], [0, 1, 2, 3], default=4)


def build_sweep_map(wards: gpd.GeoDataFrame, counters: gpd.GeoDataFrame,
                    boroughs: gpd.GeoDataFrame | None, *, title: str, description: str,
                    thresholds: Sequence[int], samples: int) -> folium.Map:
    """Map of a `siting sweep`: each ward's chance of being over each threshold (both measures).

    ``wards``: ward_code, ward_name, borough, p_over_T_24h / p_over_T_any and
    minutes_m_median / _p10 / _p90 columns, polygons in EPSG:27700.
    """
    wards = _bng(wards).sort_values("ward_code", kind="stable").reset_index(drop=True)
    layers = [(t, m) for t in thresholds for m in MEASURES]
    _need(wards, ["ward_code", "ward_name", "borough",
                  *[f"p_over_{t}_{m}" for t, m in layers]], "wards")
    tips = []
    for row in wards.drop(columns="geometry").to_dict("records"):
        lines = [f"<b>{_e(row['ward_name'])}</b>", _e(row["borough"])]
        for m in MEASURES:
            band = (f"{_minutes_text(row.get(f'minutes_{m}_median'))} "
                    f"(10–90%: {_minutes_text(row.get(f'minutes_{m}_p10'))}–"
                    f"{_minutes_text(row.get(f'minutes_{m}_p90'))})")
            chances = ", ".join(f"over {t} min {100 * float(row[f'p_over_{t}_{m}']):.0f}%"
                                for t in thresholds)
            lines.append(f"{MEASURE_LABELS[m].capitalize()}: <b>{band}</b>; chance {chances}")
        tips.append("<br>".join(lines))
    classes = [chance_class(wards[f"p_over_{t}_{m}"]) for t, m in layers]
    plain = [np.zeros(len(wards), dtype=np.int64)] * len(layers)
    fmap = _base_map(title, description, wards)
    tiles = _add_basemap(fmap)
    data = _js(_ward_features(wards, tips, classes, plain))
    store = _Block(name="WardData", script=lambda _m, n: f"var {n} = {data};")
    fmap.add_child(store)
    for index, (t, m) in enumerate(layers):
        opts = _js({"fills": list(CHANCE_COLOURS), "lines": [_BASE_LINE], "fillOpacity": _FILL_OPACITY,
                    "hover": _HOVER, "cls": f"siting-ward siting-chance-{t}-{m}"})
        fmap.add_child(_JsLayer(
            f"Chance of being over {t} minutes from the {MEASURE_LABELS[m]}",
            lambda _m, i=index, o=opts: f"SitingMap.wards({store.get_name()}, {i}, {o})",
            overlay=False, show=index == 0, kind=f"chance_{t}_{m}"))
    _add_boroughs(fmap, boroughs)
    counters = _bng(counters).sort_values("counter_id", kind="stable").reset_index(drop=True)
    _add_counter_layers(fmap, counters, lambda r: _counter_popup(r, _status_text(r)))
    items = "".join(f"<li>{_swatch(CHANCE_COLOURS[i])}{CHANCE_LABELS[i]}</li>"
                    for i in range(len(CHANCE_LABELS)))
    legend = ("<details open><summary><h2>Chance of being over the threshold</h2></summary>"
              f"<p>Share of {samples} samples of the modelling assumptions in which the ward's "
              f"average travel time is over the threshold.</p><ul>{items}</ul>"
              f"<ul>{_legend_counters()}</ul></details>")
    info = (f"<details open><summary><h1>{_e(title)}</h1></summary><div class=\"siting-body\">"
            f"<p>{_e(description)}</p><p>Each sample rebuilds the modelled network with other "
            "plausible headways, bus speeds, reliability allowances, interchange and walking "
            "assumptions (docs/sweep.md); hover a ward for its median time, its 10–90% band and "
            "its chances.</p><p>Made with siting (<code>siting sweep</code>).</p></div></details>")
    return _finish(fmap, tiles, legend, info)


def write_sweep_map(wards: gpd.GeoDataFrame, counters: gpd.GeoDataFrame,
                    boroughs: gpd.GeoDataFrame | None, path: Path | str, **kwargs: Any) -> Path:
    """Write the sweep map as one self-contained HTML file (byte-identical for the same input)."""
    return _write(render_html(build_sweep_map(wards, counters, boroughs, **kwargs)), path)
