"""Analysis stage: run a scenario's travel-time and hub models into one frozen result object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from siting.scenario import Scenario

__all__ = ["MEASURES", "Analysis"]

MEASURES = ("24h", "any")
"""The two travel-time measures: nearest 24/7 counter, and nearest counter open on arrival."""


@dataclass(frozen=True)
class Analysis:
    """Everything `siting run` computed for one scenario; report, maps and check read only this.

    Frames (all GeoDataFrames in EPSG:27700, sorted by their id column):

    wards
        ward_code, ward_name, borough, borough_code, population, for each measure m in
        ('24h', 'any'): minutes_m (population-weighted mean over the ward's LSOAs of each LSOA's
        median minutes over the departure window), nearest_m_counter (counter id reached by most
        of the ward's population), and for each threshold T: over_T_m (bool: minutes_m > T) and
        pop_over_T_m (people in the ward's LSOAs whose own minutes exceed T); hub_site_id,
        hub_name, hub_walk_minutes (NaN/empty when hubs are disabled or the ward is uncovered);
        geometry (ward polygon).
    lsoas
        lsoa_code, lsoa_name, ward_code, borough_code, population, minutes_m, nearest_m_counter,
        minutes_m_pP for each extra percentile P, over_T_m; geometry (population-weighted centroid).
    counters
        counter_id, name, borough, borough_code, status ('24h', 'daytime', 'closed'), open_s,
        close_s, daily_crime_reports_may2017, position, geometry.
    hubs
        site_id, name, kind, cost, wards_served (count), officers, geometry; empty when disabled.
    hub_assignment
        ward_code, site_id, minutes.
    """

    scenario: Scenario
    wards: gpd.GeoDataFrame
    lsoas: gpd.GeoDataFrame
    counters: gpd.GeoDataFrame
    hubs: gpd.GeoDataFrame
    hub_assignment: pd.DataFrame
    boroughs: gpd.GeoDataFrame
    assumptions: dict[str, Any] = field(default_factory=dict)
    """Transit, walking and hub assumptions actually used (JSON-able)."""
    modes: dict[str, Any] = field(default_factory=dict)
    """Which public-transport modes are modelled, how, and which are missing (JSON-able)."""
    hub_figures: dict[str, Any] = field(default_factory=dict)
    """Solver figures: status, objective, best bound, gap, solve seconds, hubs by kind."""
    timings: dict[str, float] = field(default_factory=dict)
    """Wall seconds per step (not written to the deterministic reports)."""
