"""Benchmark: London final scenario travel times, profile search vs a per-origin baseline.

Times, in one run on the real London data: building the modelled London GTFS and the transit
network (cold), loading the cached network (warm), and the travel times of all 4,835 LSOAs and
630 wards over the 3-hour window at one-minute steps for both measures (nearest 24/7 counter,
nearest counter open on arrival). The baseline is a per-origin search on the same network (a
numba forward earliest-arrival CSA run once per origin and departure, see
bench_travel_engine.py) on a sample of origins, extrapolated to all origins; its answers are
checked against the profile search on the sample.

Run: SITING_DATA_DIR=../shared/data/london python bench/bench_travel.py [--sample 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory import measure
from bench_travel_engine import brute_force

from siting.analysis import _targets
from siting.data import load_lsoas, load_wards, scenario_counters
from siting.network.scenario_network import scenario_network
from siting.network.transit import TransitNetwork
from siting.scenario import load_scenario
from siting.travel import Window, profile_search

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=20, help="origins for the baseline")
    args = parser.parse_args(argv)
    data_dir = Path(os.environ.get("SITING_DATA_DIR", REPO.parent / "shared" / "data" / "london"))
    scenario = load_scenario(REPO / "scenarios" / "london-2017-final.yaml", data_dir=data_dir)
    lsoas, wards = load_lsoas(data_dir), load_wards(data_dir)
    # Ward origins: the population-weighted centre of each ward's LSOA centroids.
    centre = lsoas.assign(x=lsoas.geometry.x * lsoas.population, y=lsoas.geometry.y * lsoas.population)
    centre = centre.groupby("ward_code")[["x", "y", "population"]].sum()
    ward_xy = (centre[["x", "y"]].to_numpy() / centre[["population"]].to_numpy())
    origins = np.vstack([np.column_stack([lsoas.geometry.x, lsoas.geometry.y]), ward_xy])
    assert len(wards) == len(ward_xy) == 630
    targets = _targets(scenario_counters(scenario))
    start_s, end_s = scenario.transit.window_seconds
    window = Window(start_s, end_s, 60)
    rows: list[dict[str, Any]] = []

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)

        def build() -> TransitNetwork:
            return scenario_network(scenario, data_dir, cache)

        measure("network build (GTFS + connections), cold", build, rows)
        network = measure("network load from cache, warm", build, rows)

        def profile_all() -> dict[str, np.ndarray]:
            out = {}
            for measure_name, mask in (("24h", targets.always_open),
                                       ("any", np.ones(len(targets), bool))):
                profiles = profile_search(network, targets.select(mask),
                                          max_access_minutes=scenario.walking.max_access_minutes)
                out[measure_name] = profiles.served(origins, window)[0]
            return out

        measure("numba compile + first search (not counted)", profile_all, rows)
        served = measure(f"profile search, {len(origins):,} origins x {len(window.departures)} "
                         "departures x 2 measures", profile_all, rows)

        rng = np.random.default_rng(0)
        sample = np.sort(rng.choice(len(origins), size=args.sample, replace=False))

        def baseline() -> dict[str, np.ndarray]:
            out = {}
            for measure_name, mask in (("24h", targets.always_open),
                                       ("any", np.ones(len(targets), bool))):
                out[measure_name] = brute_force(network, targets.select(mask), origins[sample],
                                                window, scenario.walking.max_access_minutes)
            return out

        measure("numba compile, baseline (not counted)", lambda: brute_force(
            network, targets, origins[:1], Window(start_s, start_s + 60, 60),
            scenario.walking.max_access_minutes), rows)
        reference = measure(f"per-origin baseline, {args.sample} origins", baseline, rows)

    mismatches = sum(int((served[m][sample] != reference[m]).sum()) for m in served)
    profile_s = rows[3]["wall_s"]
    baseline_all = rows[5]["wall_s"] * len(origins) / args.sample
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    print(f"\nnetwork: {network.n_stops:,} stops, {network.n_connections:,} connections")
    print(f"baseline extrapolated to {len(origins):,} origins: {baseline_all:,.1f} s")
    print(f"speed-up of the profile search over the per-origin baseline: {baseline_all / profile_s:,.0f}x")
    print(f"baseline vs profile search on the sample: {mismatches} mismatching served times")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
