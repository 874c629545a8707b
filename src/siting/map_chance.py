"""The map of a `siting sweep`: wards by their chance of being over each threshold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from siting.analysis import MEASURES
from siting.map_geometry import _bng
from siting.map_layers import (
    _BASE_LINE,
    MEASURE_LABELS,
    _add_basemap,
    _add_boroughs,
    _add_counter_layers,
    _add_ward_layers,
    _base_map,
    _counter_popup,
    _finish,
    _legend_counters,
    _need,
    _status_text,
    _swatch,
    _ward_features,
)
from siting.map_render import _e, _minutes_text, _write, render_html

__all__ = ["CHANCE_COLOURS", "CHANCE_LABELS", "build_sweep_map", "chance_class", "write_sweep_map"]


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
    _add_ward_layers(fmap, _ward_features(wards, tips, classes, plain), [
        (f"Chance of being over {t} minutes from the {MEASURE_LABELS[m]}", CHANCE_COLOURS,
         [_BASE_LINE], f"siting-ward siting-chance-{t}-{m}", f"chance_{t}_{m}")
        for t, m in layers])
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
