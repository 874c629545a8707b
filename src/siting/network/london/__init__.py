"""Modelled London GTFS: tube/DLR, buses, river buses, rail and trams from open data plus stated assumptions.

There is no London timetable in the data (see transit/SOURCES.md), so this package *models* one
weekday as a frequency-based GTFS feed (frequencies.txt):

* tube + DLR from the 2010-era station graph with per-line run minutes; each line's graph is cut
  into terminal-to-terminal service patterns, and pattern frequencies are fitted so every section
  of the line runs close to the line's stated headway;
* buses and river buses from TfL's 2016 route stop sequences, with a ring speed model (central /
  inner / outer London) and one headway per route;
* National Rail / Overground / TfL Rail and Tramlink from 2019 OSM track geometry: stations are
  snapped onto a directed track graph (no reversals at junctions), adjacent stations are found by
  searching along the track, run times follow a simple kinematic model plus dwell, and service
  patterns are "strokes" that carry straight on through junction stations.

Every number that is a choice rather than data lives in :class:`LondonAssumptions`, with its
source. The output is an ordinary GTFS folder that any GTFS tool reads.

Modules: ``assumptions`` (LondonAssumptions), ``inputs`` (data files), ``patterns`` (trip
templates), ``tube`` (tube and DLR), ``bus`` (buses and river buses), ``rail`` (rail and trams on
OSM track), ``writer`` (build_london_gtfs), ``describe`` (describe_modes). The names below stay
importable from ``siting.network.london``; the underscored ones are building blocks with
hand-worked tests.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from siting.network.london.assumptions import LondonAssumptions
from siting.network.london.describe import describe_modes
from siting.network.london.inputs import INPUT_FILES, NOTES_FILE, london_inputs

__all__ = [
    "INPUT_FILES",
    "NOTES_FILE",
    "LondonAssumptions",
    "build_london_gtfs",
    "describe_modes",
    "london_inputs",
]

_BUILDERS = {
    "build_london_gtfs": "writer", "_offsets": "patterns", "_kinematic_s": "rail",
    "_through_patterns": "rail", "_fit_frequencies": "tube", "_line_patterns": "tube",
}
"""Imported on first use (PEP 562): a run whose feed is cached never loads the builders
(networkx, scipy.optimize and the OSM track code, about 0.5 s of imports)."""


def __getattr__(name: str) -> Any:
    if name in _BUILDERS:
        return getattr(import_module(f"siting.network.london.{_BUILDERS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
