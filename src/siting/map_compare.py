"""The map of two scenarios compared (`siting map --compare`): wards by how their band changed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from siting._crs import BNG
from siting._errors import DataError
from siting.analysis import MEASURES, Analysis
from siting.compare import setting_differences
from siting.map_geometry import _bng
from siting.map_layers import (
    _STATUS_TEXT,
    BAND_MINUTES,
    MEASURE_LABELS,
    _add_basemap,
    _add_boroughs,
    _add_counter_layers,
    _add_ward_layers,
    _base_map,
    _counter_popup,
    _csv_link,
    _finish,
    _legend_counters,
    _need,
    _sources_html,
    _status_text,
    _swatch,
    _thresholds,
    _ward_features,
    band_index,
)
from siting.map_render import (
    _e,
    _int_text,
    _minutes_text,
    _write,
    render_html,
)

__all__ = ["build_compare_map", "write_compare_map"]


_CHANGE_LABELS = ("worse by 2 or more bands", "worse by 1 band", "same band", "better by 1 band",
                  "better by 2 or more bands")
_CHANGE_COLOURS = ("#b2182b", "#ef8a62", "#f7f7f7", "#67a9cf", "#2166ac")


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
    lines_style = [("#bdbdbd", 0.5, None), ("#252525", 1.6, None)]
    _add_ward_layers(fmap, _ward_features(wards, tips, changes, levels), [
        (f"Change in travel time to the {MEASURE_LABELS[measure]}", _CHANGE_COLOURS, lines_style,
         f"siting-ward siting-ward-{measure}", f"wards_{measure}") for measure in MEASURES])
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
