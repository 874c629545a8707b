"""The search box's data (places and their cards): the costliest part, so map_page makes it apart."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from siting._crs import BNG
from siting.analysis import MEASURES, Analysis
from siting.map_geometry import _bng, _bounds
from siting.map_layers import MEASURE_LABELS
from siting.map_render import _e, _js, _missing

__all__ = ["search_arguments"]


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


def _journey_words(row: Mapping[Any, Any], measure: str,
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
