"""The London final scenario's inputs to a phase-draw study, shared by the draw benches."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from siting.analysis import counter_targets
from siting.data import load_lsoas, scenario_counters
from siting.network.scenario_network import scenario_network
from siting.scenario import load_scenario
from siting.travel import Window

__all__ = ["FinalInputs", "final_inputs"]

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class FinalInputs:
    """What a draw study of the final scenario needs: LSOAs, targets by measure, the network."""

    codes: np.ndarray
    xy: np.ndarray
    population: np.ndarray
    chosen: dict[str, Any]
    window: Window
    network: Any
    access: float

    def describe(self) -> str:
        """The network and workload in one line, as the benches print it first."""
        n = self.network
        return (f"network: {n.n_stops:,} stops, {n.n_connections:,} connections, "
                f"{n.n_phased_entries:,} phased frequency entries; {len(self.codes):,} LSOAs x "
                f"{len(self.window.departures)} departures")


def final_inputs(cache_dir: Path, measures: tuple[str, ...] = ("24h", "any")) -> FinalInputs:
    """Load scenarios/london-2017-final.yaml's LSOAs, counters and network from SITING_DATA_DIR."""
    data_dir = Path(os.environ.get("SITING_DATA_DIR", REPO.parent / "shared" / "data" / "london"))
    scenario = load_scenario(REPO / "scenarios" / "london-2017-final.yaml", data_dir=data_dir)
    lsoas = load_lsoas(data_dir, scenario.data)
    targets = counter_targets(scenario_counters(scenario))
    every = {"24h": targets.select(targets.always_open), "any": targets}
    start_s, end_s = scenario.transit.window_seconds
    return FinalInputs(
        codes=lsoas["lsoa_code"].to_numpy(),
        xy=np.column_stack([lsoas.geometry.x, lsoas.geometry.y]),
        population=lsoas["population"].to_numpy(dtype=float),
        chosen={m: every[m] for m in measures},
        window=Window(start_s, end_s, scenario.transit.step_minutes * 60),
        network=scenario_network(scenario, data_dir, cache_dir),
        access=scenario.walking.max_access_minutes,
    )
