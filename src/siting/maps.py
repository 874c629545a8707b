"""Maps stage: self-contained, deterministic Folium/Leaflet HTML maps residents can open offline.

Every map embeds Leaflet and its data (wards coloured by 15-minute travel-time bands for both
measures, front counters by status, DWO hubs with the wards they serve and their walking reach),
so only the basemap tiles need internet. Every text taken from the input data is HTML-escaped
before it reaches the page, and element ids are numbered in order, so the same Analysis always
gives byte-identical HTML. Geometry is simplified for display only (the analysis never sees it).

This module is the stage's public face; each concern lives in a module of its own beside it:
`map_render` (HTML plumbing), `map_geometry` (display shapes), `map_layers` (bands, styles,
frame and layers), `map_search` (the search box's data), and the pages: `map_scenario` (one
scenario and the index), `map_compare` (two scenarios) and `map_chance` (a sweep).
"""

from __future__ import annotations

from siting.map_chance import CHANCE_COLOURS as CHANCE_COLOURS
from siting.map_chance import CHANCE_LABELS as CHANCE_LABELS
from siting.map_chance import build_sweep_map, write_sweep_map
from siting.map_chance import chance_class as chance_class
from siting.map_compare import build_compare_map, write_compare_map
from siting.map_geometry import COORD_DECIMALS
from siting.map_geometry import _polyline as _polyline
from siting.map_geometry import _simplified as _simplified
from siting.map_layers import (
    BAND_COLOURS,
    BAND_LABELS,
    BAND_MINUTES,
    DISPLAY_SIMPLIFY_M,
    LSOA_MIN_ZOOM,
    MEASURE_LABELS,
    band_index,
)
from siting.map_layers import BOROUGH_SIMPLIFY_M as BOROUGH_SIMPLIFY_M
from siting.map_layers import LSOA_SIMPLIFY_M as LSOA_SIMPLIFY_M
from siting.map_layers import NO_DATA_BAND as NO_DATA_BAND
from siting.map_render import ScriptFn as ScriptFn
from siting.map_render import render_html
from siting.map_scenario import build_map, map_html, write_index, write_map
from siting.map_search import search_arguments

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

