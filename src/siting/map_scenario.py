"""One scenario's map page (`siting run`, `siting map`) and the index page that lists the maps."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from siting._atomic import OutputSet
from siting._errors import DataError
from siting.analysis import MEASURES, Analysis
from siting.map_layers import (
    _BOROUGH_STYLE,
    BAND_COLOURS,
    MEASURE_LABELS,
    _add_basemap,
    _add_boroughs,
    _add_counter_layers,
    _add_grid_layers,
    _add_hub_layers,
    _add_lsoa_layer,
    _add_new_sites,
    _add_ward_layers,
    _base_map,
    _counter_popup,
    _csv_link,
    _finish,
    _legend_bands,
    _legend_counters,
    _need,
    _outline_styles,
    _sources_html,
    _status_text,
    _thresholds,
    _ward_features,
    band_index,
)
from siting.map_render import (
    _Block,
    _e,
    _int_text,
    _minutes_text,
    _missing,
    _write,
    render_html,
)
from siting.map_search import _journey_words, _map_tables, _search_arguments

__all__ = ["build_map", "map_html", "write_index", "write_map"]


_POPULATION_TEXT = {"census2011": "2011 census", "mid2019": "mid-2019 estimate"}


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


def _journey_text(row: Mapping[str, Any], measure: str) -> str:
    """The median journey's breakdown, HTML-escaped for a tooltip; '' when not computed."""
    return _e(_journey_words(row, measure))


def _hub_line(row: Mapping[str, Any], analysis: Analysis) -> str:
    hubs_cfg = analysis.scenario.hubs
    if not hubs_cfg.enabled or analysis.hubs.empty:
        return "DWO hubs: not planned in this scenario"
    if _missing(row.get("hub_site_id")):
        return f"DWO hub: none within a {hubs_cfg.walk_limit_minutes:g}-minute walk"
    minutes: Any = row.get("hub_walk_minutes")
    walk = "" if _missing(minutes) else f", {float(minutes):.1f} min walk"
    return f"DWO hub: {_e(row.get('hub_name'))}{walk}"


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
    _add_ward_layers(fmap, _ward_features(wards, tips, bands, levels), [
        (f"Travel time to the {MEASURE_LABELS[measure]}", BAND_COLOURS, lines,
         f"siting-ward siting-ward-{measure}", f"wards_{measure}") for measure in MEASURES])
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
