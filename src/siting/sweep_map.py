"""The sweep's map: the scenario's wards coloured by their chance of being over each threshold."""

from __future__ import annotations

from pathlib import Path

from siting.scenario import Scenario
from siting.sweep_summary import SweepSummary

__all__ = ["write_sweep_map"]


def write_sweep_map(summary: SweepSummary, scenario: Scenario, data_dir: Path, path: Path) -> Path:
    """Write maps/<id>-sweep.html: wards by chance over 45/60 minutes, counters, boroughs."""
    from siting.data import load_boroughs, load_wards, scenario_counters
    from siting.maps import write_sweep_map as write

    wards = load_wards(data_dir, scenario.data)[["ward_code", "geometry"]]
    wards = wards.merge(summary.wards, on="ward_code", how="inner")
    return write(wards, scenario_counters(scenario), load_boroughs(data_dir, scenario.data), path,
                 title=f"{scenario.title}: how sure is it?",
                 description=f"Chance of being over {', '.join(map(str, scenario.thresholds))} "
                 f"minutes from a counter over {summary.facts['samples']} samples of the "
                 "modelling assumptions.",
                 thresholds=scenario.thresholds, samples=int(summary.facts["samples"]))
