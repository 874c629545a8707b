"""The analyst's API: GeoDataFrames in any CRS in, GeoDataFrames out, one network reused.

`siting/__init__.py` re-exports these names lazily (``import siting`` stays fast). The style
follows r5py (a network object built once and reused by many `travel_times` queries on
GeoDataFrames) and spopt (model classes with ``solve()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._crs import BNG
from siting._errors import DataError, ScenarioError
from siting.scenario import Scenario, load_scenario, parse_window

if TYPE_CHECKING:
    from siting.analysis import Analysis
    from siting.network.transit import TransitNetwork

__all__ = [
    "CounterAlternatives",
    "CounterChoice",
    "analyse",
    "transit_network",
    "travel_times",
]

DEFAULT_CACHE = Path(".cache/siting")


def _data_dir(data_dir: Path | str | None) -> Path:
    from siting.data import resolve_data_dir

    return resolve_data_dir(None if data_dir is None else str(data_dir))


def _scenario(scenario: Scenario | Path | str, data_dir: Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario, data_dir=data_dir)


def transit_network(scenario: Scenario | Path | str, data_dir: Path | str | None = None, *,
                    cache_dir: Path | str = DEFAULT_CACHE) -> TransitNetwork:
    """The scenario's public-transport network: built once, then loaded from ``cache_dir``.

    Reuse it for many `travel_times` queries; it covers the scenario's departure window plus
    its longest trip. ``data_dir`` defaults to $SITING_DATA_DIR (else ./data).
    """
    from siting.network.scenario_network import scenario_network

    root = _data_dir(data_dir)
    return scenario_network(_scenario(scenario, root), root, Path(cache_dir))


def analyse(scenario: Scenario | Path | str, data_dir: Path | str | None = None, *,
            cache_dir: Path | str = DEFAULT_CACHE, progress: bool = False) -> Analysis:
    """Run a scenario (a Scenario or a YAML path): travel times, journeys, hubs, equity."""
    from siting.analysis import analyse as _analyse

    root = _data_dir(data_dir)
    return _analyse(_scenario(scenario, root), root, cache_dir=Path(cache_dir), progress=progress)


def _window(departure_window: str | tuple[int, int], step_minutes: int) -> Any:
    from siting.travel import Window

    if isinstance(departure_window, str):
        try:
            start, end = parse_window(departure_window)
        except ValueError as exc:
            raise ScenarioError(f"travel_times: departure_window {departure_window!r}: {exc}. "
                                "Give 'HH:MM-HH:MM', e.g. '07:00-10:00'.") from None
    else:
        start, end = (int(v) for v in departure_window)
    return Window(start_s=start, end_s=end, step_s=int(step_minutes) * 60)


def _hours(targets: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """Opening or closing seconds from a column of 'HH:MM' text or seconds (NaN = 24/7)."""
    from siting.scenario import parse_clock

    if column not in targets.columns:
        return np.full(len(targets), np.nan)
    out = []
    for value in targets[column]:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(np.nan)
        elif isinstance(value, str):
            try:
                out.append(float(parse_clock(value)))
            except ValueError as exc:
                raise DataError(f"travel_times: targets column {column!r}: {exc}. Give 'HH:MM' "
                                "or seconds since midnight (empty = open 24/7).") from None
        else:
            out.append(float(value))
    return np.asarray(out, dtype=float)


def travel_times(
    network: TransitNetwork,
    targets: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    *,
    departure_window: str | tuple[int, int] = "07:00-10:00",
    percentiles: Sequence[float] = (50,),
    step_minutes: int = 1,
    max_access_minutes: float = 12.0,
    target_id: str | None = None,
    origin_id: str | None = None,
    chunk: int = 8192,
) -> gpd.GeoDataFrame:
    """Door-to-door public-transport minutes from every origin to its nearest target.

    Parameters
    ----------
    network
        A `TransitNetwork` (see `transit_network`), reused across queries.
    targets
        Points in any CRS (reprojected to EPSG:27700). Ids from ``target_id`` (default a
        ``counter_id`` or ``id`` column, else the row number). Optional ``opens``/``closes``
        columns ('HH:MM' or seconds; empty = 24/7): a target serves an arrival before it opens
        at its opening time and none after it closes.
    origins
        Points or polygons (their representative point) in any CRS; ids from ``origin_id``
        (default an ``origin_id`` or ``id`` column, else the row number).
    departure_window
        'HH:MM-HH:MM' (or seconds since midnight) of the departures, every ``step_minutes``.
    percentiles
        Percentiles of the minutes over the departures (unreachable departures count as
        infinitely long, so a percentile that falls on them is NaN).

    Returns
    -------
    GeoDataFrame
        One row per origin, in input order: origin_id, ``minutes_p<P>`` per percentile,
        nearest_target (the target reached at most departures, ties to the lowest id) and the
        origin's geometry in its own CRS.
    """
    from siting.grid import origin_points, travel_time_surface
    from siting.travel import Targets, profile_search

    for frame, what in ((targets, "targets"), (origins, "origins")):
        if not isinstance(frame, gpd.GeoDataFrame):
            raise DataError(f"travel_times: {what} must be a GeoDataFrame, got "
                            f"{type(frame).__name__}. Build one with geopandas.GeoDataFrame(..., "
                            "geometry=..., crs=...).")
    points = origin_points(origins, source="travel_times origins", id_column=origin_id)
    if targets.crs is None:
        raise DataError("travel_times targets: the layer has no coordinate reference system. "
                        "Set it with set_crs() (e.g. EPSG:4326) before calling travel_times.")
    if len(targets) == 0 or not (targets.geometry.geom_type == "Point").all():
        raise DataError("travel_times targets: give at least one target, all as points.")
    column = target_id or next((c for c in ("counter_id", "id") if c in targets.columns), None)
    if column is not None and column not in targets.columns:
        raise DataError(f"travel_times targets: no column {column!r}.")
    target_bng = targets.to_crs(BNG)
    ids = (target_bng[column].astype(str).to_numpy() if column
           else np.arange(len(target_bng)).astype(str))
    order = np.argsort(ids, kind="stable")  # ties in the nearest target go to the lowest id
    chosen = Targets.from_arrays(
        ids[order], np.column_stack([target_bng.geometry.x, target_bng.geometry.y])[order],
        _hours(target_bng, "opens")[order], _hours(target_bng, "closes")[order])
    window = _window(departure_window, step_minutes)
    profiles = profile_search(network, chosen, max_access_minutes=max_access_minutes)
    xy = np.column_stack([points.geometry.x, points.geometry.y])
    wanted = [float(p) for p in percentiles]
    surface = travel_time_surface({"q": profiles}, xy, window, percentiles=wanted, chunk=chunk)
    columns: dict[str, Any] = {"origin_id": points["origin_id"].to_numpy()}
    for p in sorted(set(wanted)):
        source = "minutes_q" if p == 50.0 else f"minutes_q_p{p:g}"
        columns[f"minutes_p{p:g}"] = surface[source].to_numpy()
    columns["nearest_target"] = surface["nearest_q_counter"].to_numpy()
    return gpd.GeoDataFrame(pd.DataFrame(columns), geometry=origins.geometry.to_numpy(),
                            crs=origins.crs)


class CounterChoice:
    """One 24/7 counter per borough, chosen with CP-SAT to minimise people over a threshold.

    A thin class over `siting.optimise.optimise_counters` (spopt style: build, then solve()).
    """

    def __init__(self, scenario: Scenario | Path | str, data_dir: Path | str | None = None, *,
                 objective: str = "over45", cache_dir: Path | str = DEFAULT_CACHE,
                 **options: Any) -> None:
        self.data_dir = _data_dir(data_dir)
        self.scenario = _scenario(scenario, self.data_dir)
        self.objective = objective
        self.cache_dir = Path(cache_dir)
        self.options = options

    def solve(self) -> Any:
        """The optimal plan (a CounterPlan: per-borough table, totals, the draft's swaps)."""
        from siting.optimise import optimise_counters

        return optimise_counters(self.scenario, self.data_dir, cache_dir=self.cache_dir,
                                 objective=self.objective, **self.options)  # type: ignore[arg-type]


class CounterAlternatives:
    """The k extra sites that bring most people within ``threshold`` minutes (max cover).

    A thin class over `siting.optimise.optimise_alternatives`.
    """

    def __init__(self, scenario: Scenario | Path | str, data_dir: Path | str | None = None, *,
                 k: int = 10, threshold: int = 45, cache_dir: Path | str = DEFAULT_CACHE,
                 **options: Any) -> None:
        self.data_dir = _data_dir(data_dir)
        self.scenario = _scenario(scenario, self.data_dir)
        self.k = k
        self.threshold = threshold
        self.cache_dir = Path(cache_dir)
        self.options = options

    def solve(self) -> Any:
        """The plans for 1..k extra sites (an AlternativesPlan)."""
        from siting.optimise import optimise_alternatives

        return optimise_alternatives(self.scenario, self.data_dir, cache_dir=self.cache_dir,
                                     k=self.k, threshold=self.threshold, **self.options)
