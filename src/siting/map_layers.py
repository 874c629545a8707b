"""What every map page shares: bands, styles, the page frame and panels, and the layers drawn."""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Figure
from folium.utilities import JsCode

from siting._crs import BNG, WGS84
from siting._errors import DataError
from siting.analysis import MEASURES, Analysis
from siting.map_geometry import (
    COORD_DECIMALS,
    _bng,
    _display_geojson,
    _encoded_polygons,
    _lonlat,
)
from siting.map_render import (
    _assets_html,
    _Block,
    _clock,
    _e,
    _int_text,
    _js,
    _JsLayer,
    _missing,
    _number_ids,
    _OfflineMap,
    _Raw,
)
from siting.network.walk import DEFAULT_CIRCUITY, WalkModel

__all__ = [
    "BAND_COLOURS",
    "BAND_LABELS",
    "BAND_MINUTES",
    "BOROUGH_SIMPLIFY_M",
    "DISPLAY_SIMPLIFY_M",
    "LSOA_MIN_ZOOM",
    "LSOA_SIMPLIFY_M",
    "MEASURE_LABELS",
    "NO_DATA_BAND",
    "band_index",
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

LSOA_SIMPLIFY_M = 20.0
"""Tolerance (metres) of the display-only simplification of neighbourhood (LSOA) outlines."""

LSOA_MIN_ZOOM = 13
"""Zoom level from which the neighbourhood (LSOA) outlines are drawn over the wards."""

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
_COUNTER_ICONS = {
    # status: (css class, label, size in px, z offset)
    "24h": ("siting-counter siting-counter-24h", "24", 24, 300),
    "daytime": ("siting-counter siting-counter-daytime", "D", 20, 200),
    "closed": ("siting-counter siting-counter-closed", "×", 16, 0),
}
_NEW_SITE_ICON = ("siting-counter siting-counter-new", "N", 22, 250)
_HUB_ICON = ("siting-hub", "H", 18, 100)
_HUB_LINE = {"color": "#1b7837", "weight": 1.5, "opacity": 0.8}
_REACH_STYLE = {"color": "#1b7837", "weight": 1.2, "dashArray": "4 4", "fillColor": "#1b7837",
                "fillOpacity": 0.06}
_BOROUGH_STYLE = {"color": "#252525", "weight": 1.4, "opacity": 0.75, "fill": False}
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


def band_index(minutes: Iterable[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Band of each travel time: 0 for (0, 15] min ... 5 for over 75 min, 6 when missing."""
    series = minutes if isinstance(minutes, pd.Series) else pd.Series(
        minutes if isinstance(minutes, np.ndarray) else list(minutes), dtype=object)
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    out = np.full(values.shape, NO_DATA_BAND, dtype=np.int64)
    ok = np.isfinite(values)
    out[ok] = np.clip(np.ceil(values[ok] / BAND_MINUTES) - 1, 0, NO_DATA_BAND - 1)
    return out


def _thresholds(analysis: Analysis) -> list[int]:
    return sorted({int(t) for t in analysis.scenario.thresholds})


def _need(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"siting.maps: the Analysis {what} table lacks column(s) {', '.join(missing)}; "
            "build the Analysis with siting.analysis.analyse (see its docstring for the columns)."
        )


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
    figure = cast(Figure, fmap.get_root())
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
                                       collapsed=JsCode(f"window.innerWidth < {_NARROW_PX}")))  # type: ignore[arg-type]
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


# ---------------------------------------------------------------------------------------------
# Layers


def _constant(expr: str) -> Callable[[str], str]:
    """A layer expression that does not depend on the map's variable name."""
    def make(_map_name: str) -> str:
        return expr
    return make


def _ward_features(wards: gpd.GeoDataFrame, tips: Sequence[str], bands: Sequence[np.ndarray],
                   levels: Sequence[np.ndarray]) -> dict[str, Any]:
    geoms = _display_geojson(wards.geometry, DISPLAY_SIMPLIFY_M)
    features = []
    for i, code in enumerate(wards["ward_code"]):
        features.append({"type": "Feature", "geometry": geoms[i], "properties": {
            "c": _e(code), "b": [int(b[i]) for b in bands], "o": [int(o[i]) for o in levels],
            "t": tips[i]}})
    return {"type": "FeatureCollection", "features": features}


def _add_ward_layers(fmap: folium.Map, features: dict[str, Any],
                     layers: Sequence[tuple[str, Sequence[str], Sequence[Any], str, str]]) -> None:
    """The wards' shapes once, as a page variable, and a base layer drawing them for each
    (title, fills, lines, class, kind), the first shown."""
    data = _js(features)
    store = _Block(name="WardData", script=lambda _m, n: f"var {n} = {data};")
    fmap.add_child(store)
    for index, (title, fills, lines, cls, kind) in enumerate(layers):
        opts = _js({"fills": list(fills), "lines": lines, "fillOpacity": _FILL_OPACITY,
                    "hover": _HOVER, "cls": cls})
        fmap.add_child(_JsLayer(
            title,
            lambda _m, i=index, o=opts: f"SitingMap.wards({store.get_name()}, {i}, {o})",  # type: ignore[misc]
            overlay=False, show=index == 0, kind=kind))


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


def _counter_popup(row: Mapping[str, Any], status_text: str) -> str:
    reports: Any = row.get("daily_crime_reports_may2017")
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
        items: list[list[Any]] = []
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
        fmap.add_child(_JsLayer(name, lambda _m, d=data, i=icon_js: f"SitingMap.points({d}, {i})",  # type: ignore[misc]
                                kind=f"counters_{status}"))


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
    by_hub: dict[Any, list[dict[Any, Any]]] = {}
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
