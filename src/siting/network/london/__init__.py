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

from siting.network.london.assumptions import LondonAssumptions
from siting.network.london.describe import describe_modes
from siting.network.london.inputs import INPUT_FILES, NOTES_FILE, london_inputs
from siting.network.london.patterns import _offsets as _offsets
from siting.network.london.rail import _kinematic_s as _kinematic_s
from siting.network.london.rail import _through_patterns as _through_patterns
from siting.network.london.tube import _fit_frequencies as _fit_frequencies
from siting.network.london.tube import _line_patterns as _line_patterns
from siting.network.london.writer import build_london_gtfs

__all__ = [
    "INPUT_FILES",
    "NOTES_FILE",
    "LondonAssumptions",
    "build_london_gtfs",
    "describe_modes",
    "london_inputs",
]
