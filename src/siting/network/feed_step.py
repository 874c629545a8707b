"""Start building a scenario's feed in a forked child, from a module light enough to import
before anything heavy: `siting run` starts it as soon as the scenario is read, so the feed is
built while the command imports the rest of siting and loads the data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from siting._beside import Forked

if TYPE_CHECKING:
    from siting.scenario import Scenario

__all__ = ["start_feed"]


def start_feed(scenario: Scenario, data_dir: Path, cache_dir: Path) -> Forked:
    """The step making the scenario's `ScenarioFeed` (`scenario_network.scenario_feed`).

    The modelled London feed is pandas work on one core: a forked child builds it. A user's
    GTFS feed or a walk-only study needs nothing built; that step runs in the caller at
    `Forked.result`.
    """
    transit = scenario.transit
    modelled = transit.feed == "london-modelled" and not transit.walk_only
    return (Forked if modelled else Forked.inline)(_scenario_feed, scenario, Path(data_dir),
                                                   Path(cache_dir), describe=not modelled)


def _scenario_feed(scenario: Scenario, data_dir: Path, cache_dir: Path, *, describe: bool) -> Any:
    from siting.network.scenario_network import scenario_feed  # imported in the child

    return scenario_feed(scenario, data_dir, cache_dir, describe=describe)
