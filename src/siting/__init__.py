"""siting: public-transport access to police front counters and DWO hub siting.

Public API (imported on first use, so ``import siting`` stays fast)::

    import siting
    scenario = siting.load_scenario("scenarios/london-2017-final.yaml")
    network = siting.transit_network(scenario)              # built once, cached on disk
    times = siting.travel_times(network, counters, origins,  # GeoDataFrames, any CRS
                                departure_window="07:00-10:00", percentiles=[50, 80])
    result = siting.analyse(scenario)                        # the Analysis of `siting run`
    hubs = siting.HubSiting.from_geodataframes(wards, sites, walk).solve()
    plan = siting.CounterChoice(scenario, objective="over45").solve()
    grid = siting.scenario_grid(scenario, data_dir, cell_m=100)   # all of London at 100 m

Names:

- load_scenario, Scenario: read and validate a scenario YAML file.
- TransitNetwork, transit_network: the public-transport network, reused across queries.
- travel_times: minutes per percentile and the nearest target, for every origin.
- analyse, Analysis: one scenario run (travel times, journeys, hubs, equity).
- HubSiting: the DWO hub model (from_geodataframes / from_cost_matrix, then solve()).
- CounterChoice, CounterAlternatives: the counter optimisers (solve()).
- scenario_grid, Grid: travel times on a grid of cells or a file of origins; Grid.isochrones().
- journey_breakdown: minutes walking, waiting, riding and changing on the median journey.
- scenario_counters: the registry counters with a scenario's status and hours.
- SitingError: the base class of every error a user can fix.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY: dict[str, tuple[str, ...]] = {
    "Analysis": ("siting.analysis",),
    "CounterAlternatives": ("siting.api",),
    "CounterChoice": ("siting.api",),
    "Grid": ("siting.grid",),
    "HubSiting": ("siting.hubs",),
    "Scenario": ("siting.scenario",),
    "SitingError": ("siting._errors",),
    "TransitNetwork": ("siting.network.transit",),
    "analyse": ("siting.api",),
    "journey_breakdown": ("siting.journeys",),
    "load_scenario": ("siting.scenario",),
    "scenario_counters": ("siting.data",),
    "scenario_grid": ("siting.grid",),
    "transit_network": ("siting.api",),
    "travel_times": ("siting.api",),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    modules = _LAZY.get(name)
    if modules is None:
        raise AttributeError(f"module 'siting' has no attribute {name!r}")
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'siting' has no attribute {name!r} (none of {modules} found)")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
