"""Uncertainty sweeps: sample the scenario's assumptions, evaluate each sample as a Dask task.

A sample is one set of values for the assumptions named in the scenario's `uncertainty:` block
(Latin hypercube or scrambled Sobol points through each distribution's inverse CDF). Each
sample is one task: build the scenario's network with those values (the London feed is reused
when only walking or allowances change), compute both travel-time measures, and return the
per-LSOA and per-ward minutes. Dask (`dask.distributed`) does the scheduling, retries and
progress; an embedded `LocalCluster` by default, or an existing cluster named by `--scheduler` /
``DASK_SCHEDULER_ADDRESS``. Results are gathered and sorted by sample index, and every task is a
pure function of its values, so the same seed gives the same outputs on any number of workers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting._errors import ScenarioError
from siting.scenario import Distribution, Scenario, Uncertainty

__all__ = [
    "FEED_PARAMETERS",
    "LONDON_ONLY",
    "PARAMETERS",
    "FeedEvaluator",
    "SampleResult",
    "ScenarioEvaluator",
    "apply_params",
    "base_values",
    "dask_client",
    "draw_samples",
    "gather",
    "result_of",
    "run_tasks",
    "submit_tasks",
    "varying",
]

PARAMETERS = (
    "bus_headway_multiplier", "rail_headway_multiplier", "bus_speed_inner_kmh",
    "bus_speed_outer_kmh", "bus_reliability_min", "rail_reliability_min", "interchange_minutes",
    "walk_speed_kmh", "circuity", "max_access_minutes",
)
"""The assumptions an `uncertainty:` block can vary, in its field order."""

LONDON_ONLY = frozenset({"bus_headway_multiplier", "rail_headway_multiplier",
                         "bus_speed_inner_kmh", "bus_speed_outer_kmh"})
"""Assumptions of the modelled London feed: a user GTFS has its own timetable."""

FEED_PARAMETERS = LONDON_ONLY | {"interchange_minutes"}
"""Assumptions that change the London GTFS itself (transfers.txt holds the interchange time)."""

_WALK_PARAMETERS = frozenset({"walk_speed_kmh", "circuity"})
_ALLOWANCE_PARAMETERS = frozenset({"bus_reliability_min", "rail_reliability_min"})

_DIGITS = 6
"""Sampled values are rounded to this many decimals (readable JSON, stable cache keys)."""


# ---------------------------------------------------------------------------------------------
# Sampling


def varying(uncertainty: Uncertainty) -> list[str]:
    """Names of the assumptions the block varies (distributions that are not a single value)."""
    return [name for name in PARAMETERS
            if (d := getattr(uncertainty, name)) is not None and not d.fixed]


def _ppf(dist: Distribution, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of a uniform or triangular distribution at probabilities u in [0, 1)."""
    lo, hi = dist.low, dist.high
    if dist.fixed:
        return np.full(len(u), lo)
    if dist.kind == "uniform":
        return lo + u * (hi - lo)
    mode = float(dist.mode if dist.mode is not None else lo)
    cut = (mode - lo) / (hi - lo)
    left = lo + np.sqrt(u * (hi - lo) * (mode - lo))
    right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - mode))
    return np.where(u < cut, left, right)


def draw_samples(uncertainty: Uncertainty, samples: int | None = None) -> pd.DataFrame:
    """The sample design: sample_index and one column per assumption in the block.

    Latin hypercube (scipy.stats.qmc.LatinHypercube) or scrambled Sobol points over the
    varying assumptions, seeded by ``uncertainty.seed``; fixed distributions give a constant
    column; assumptions set to null are absent (held at the scenario's value).
    """
    from scipy.stats import qmc

    n = int(samples or uncertainty.samples)
    if n < 1:
        raise ScenarioError(f"sweep: --samples {n} must be at least 1.")
    names = varying(uncertainty)
    if names:
        if uncertainty.method == "sobol":
            engine = qmc.Sobol(d=len(names), scramble=True, seed=uncertainty.seed)
            m = int(np.ceil(np.log2(n)))
            u = engine.random_base2(m)[:n]
        else:
            u = qmc.LatinHypercube(d=len(names), seed=uncertainty.seed).random(n)
    else:
        u = np.zeros((n, 0))
    frame = pd.DataFrame({"sample_index": np.arange(n, dtype=np.int64)})
    for name in PARAMETERS:
        dist = getattr(uncertainty, name)
        if dist is None:
            continue
        values = _ppf(dist, u[:, names.index(name)]) if name in names else np.full(n, dist.low)
        frame[name] = np.round(values.astype(float), _DIGITS)
    return frame


# ---------------------------------------------------------------------------------------------
# Applying a sample to a scenario


def base_values(scenario: Scenario) -> dict[str, float]:
    """The scenario's own (deterministic) value of every assumption the sweep can vary."""
    walking, transit = scenario.walking, scenario.transit
    from siting.network.walk import DEFAULT_CIRCUITY

    values: dict[str, float] = {
        "walk_speed_kmh": walking.speed_kmh,
        "circuity": walking.circuity or DEFAULT_CIRCUITY,
        "max_access_minutes": walking.max_access_minutes,
        "bus_headway_multiplier": 1.0,
        "rail_headway_multiplier": 1.0,
    }
    values.update(bus_reliability_min=transit.reliability_minutes["bus"],
                  rail_reliability_min=transit.reliability_minutes["rail"],
                  interchange_minutes=transit.min_change_minutes)
    if transit.feed == "london-modelled":
        london = _london(scenario)
        values.update(bus_speed_inner_kmh=london.bus_speed_inner_kmh,
                      bus_speed_outer_kmh=london.bus_speed_outer_kmh)
    return {k: float(v) for k, v in values.items()}


def _london(scenario: Scenario) -> Any:
    """The modelled network's assumptions as the scenario resolves them."""
    from siting.network.scenario_network import london_assumptions

    return london_assumptions(scenario)


def check_applicable(scenario: Scenario) -> None:
    """Headway and bus-speed distributions need the modelled London feed; say so otherwise."""
    if scenario.transit.feed == "london-modelled":
        return
    bad = [n for n in varying(scenario.uncertainty) if n in LONDON_ONLY]
    if bad:
        raise ScenarioError(
            f"{scenario.source}: field `uncertainty.{bad[0]}` varies an assumption of the modelled "
            f"London network, but transit.feed is {scenario.transit.feed!r} (a timetable of its "
            f"own). Set uncertainty.{bad[0]} to null (and {', '.join(bad[1:]) or 'no other'}), "
            "or use transit.feed: london-modelled."
        )


def apply_params(scenario: Scenario, params: dict[str, float]) -> Scenario:
    """The scenario with one sample's values (hubs off: a sample needs travel times only)."""
    london: dict[str, Any] = dict(scenario.transit.assumptions)
    transit: dict[str, Any] = {}
    if scenario.transit.feed == "london-modelled":
        base = _london(scenario)
        bus = params.get("bus_headway_multiplier", 1.0)
        rail = params.get("rail_headway_multiplier", 1.0)
        if bus != 1.0:
            london["bus_headway_min"] = round(base.bus_headway_min * bus, _DIGITS)
            london["bus_headway_by_route"] = {k: round(v * bus, _DIGITS)
                                              for k, v in base.bus_headway_by_route.items()}
        if rail != 1.0:
            london["tube_headway_min"] = {k: round(v * rail, _DIGITS)
                                          for k, v in base.tube_headway_min.items()}
            london["rail_headway_min"] = round(base.rail_headway_min * rail, _DIGITS)
            london["tram_headway_min"] = round(base.tram_headway_min * rail, _DIGITS)
        for name in ("bus_speed_inner_kmh", "bus_speed_outer_kmh"):
            if name in params:
                london[name] = params[name]
    # Allowances and the change time are scenario settings for every feed (the London feed
    # takes its interchange time from the change time).
    reliability = dict(scenario.transit.reliability_minutes)
    for mode in reliability:
        name = "bus_reliability_min" if mode in ("bus", "trolleybus") else "rail_reliability_min"
        if name in params:
            reliability[mode] = params[name]
    transit["reliability_minutes"] = reliability
    if "interchange_minutes" in params:
        transit["min_change_minutes"] = params["interchange_minutes"]
    walking: dict[str, Any] = {}
    for name, field in (("walk_speed_kmh", "speed_kmh"), ("circuity", "circuity"),
                        ("max_access_minutes", "max_access_minutes")):
        if name in params:
            walking[field] = params[name]
    return scenario.model_copy(update={
        "transit": scenario.transit.model_copy(update={"assumptions": london, **transit}),
        "walking": scenario.walking.model_copy(update=walking),
        "hubs": scenario.hubs.model_copy(update={"enabled": False}),
    })


# ---------------------------------------------------------------------------------------------
# Evaluators: one sample -> minutes per origin and per ward, both measures


@dataclasses.dataclass(frozen=True)
class SampleResult:
    """One sample's travel times: per origin (LSOA) and per ward, both measures, in order."""

    index: int
    origin_minutes: dict[str, np.ndarray]
    ward_minutes: dict[str, np.ndarray]
    seconds: float = 0.0
    """Wall time of the task (for benchmarks; never written to the sweep outputs)."""


def result_of(analysis: Any, index: int, start: float) -> SampleResult:
    """A SampleResult from an `Analysis` (LSOAs and wards sorted by code)."""
    lsoas = analysis.lsoas.sort_values("lsoa_code", kind="stable")
    wards = analysis.wards.sort_values("ward_code", kind="stable")
    return SampleResult(
        index=index,
        origin_minutes={m: lsoas[f"minutes_{m}"].to_numpy(dtype=float) for m in ("24h", "any")},
        ward_minutes={m: wards[f"minutes_{m}"].to_numpy(dtype=float) for m in ("24h", "any")},
        seconds=time.perf_counter() - start,
    )


@dataclasses.dataclass(frozen=True)
class ScenarioEvaluator:
    """Evaluates samples of a London scenario through `siting.analysis.analyse` (hubs off)."""

    scenario: Scenario
    data_dir: Path
    cache_dir: Path
    network_varies: bool = True
    feed_varies: bool = True

    @classmethod
    def for_scenario(cls, scenario: Scenario, data_dir: Path, cache_dir: Path,
                     names: Sequence[str]) -> ScenarioEvaluator:
        """An evaluator that knows which parts of the network the varied assumptions touch."""
        network = set(names) & (FEED_PARAMETERS | _WALK_PARAMETERS | _ALLOWANCE_PARAMETERS)
        return cls(scenario, Path(data_dir), Path(cache_dir),
                   network_varies=bool(network or "interchange_minutes" in names),
                   feed_varies=bool(set(names) & FEED_PARAMETERS))

    def __call__(self, index: int, params: dict[str, float]) -> SampleResult:
        """Run one sample; a network differing from the scenario's lives in a temporary cache."""
        from siting.analysis import analyse

        start = time.perf_counter()
        variant = apply_params(self.scenario, params)
        with self._cache(variant) as cache:
            analysis = analyse(variant, self.data_dir, cache_dir=cache, journeys=False)
        return result_of(analysis, index, start)

    @contextlib.contextmanager
    def _cache(self, variant: Scenario) -> Iterator[Path]:
        """The shared cache when the network is the scenario's; else a temporary one.

        A temporary cache reuses the scenario's London feed (a link) when only walking,
        allowances or the access limit vary, so only the network is rebuilt.
        """
        if not self.network_varies:
            yield self.cache_dir
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="sweep-", dir=self.cache_dir))
        try:
            if not self.feed_varies and self.scenario.transit.feed == "london-modelled":
                from siting.network.scenario_network import scenario_feed

                feed = scenario_feed(self.scenario, self.data_dir, self.cache_dir)
                name = _feed_folder_name(variant, self.data_dir)
                if name:
                    (tmp / name).symlink_to(feed.path.resolve(), target_is_directory=True)
            yield tmp
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _feed_folder_name(variant: Scenario, data_dir: Path) -> str | None:
    """The cache folder name scenario_feed gives the variant's London feed (None if unknown).

    Reliability allowances are part of the feed's cache key but not of its files, so a sample
    that changes only them can use the scenario's feed under this name. If the key scheme
    changes, this returns a name scenario_feed never looks for and the feed is simply rebuilt.
    """
    try:
        from siting.network.london import london_inputs
        from siting.network.scenario_network import (  # private: a cache shortcut only
            _file_stamp,
            _fingerprint,
        )
        from siting.network.transit import CACHE_VERSION
    except ImportError:
        return None
    inputs = sorted(_file_stamp(p) for p in london_inputs(Path(data_dir)))
    key = _fingerprint(CACHE_VERSION, _london(variant), variant.transit.service_date, inputs)
    return f"london-gtfs-{key}"


def _ward_means(minutes: np.ndarray, population: np.ndarray, ward_index: np.ndarray,
                n_wards: int) -> np.ndarray:
    """Population-weighted mean minutes per ward over its reachable origins (NaN if none)."""
    ok = np.isfinite(minutes)
    weights = np.where(ok, np.maximum(population, 0), 0.0)
    total = np.bincount(ward_index, weights=weights, minlength=n_wards)
    summed = np.bincount(ward_index, weights=np.where(ok, minutes, 0.0) * weights,
                         minlength=n_wards)
    count = np.bincount(ward_index, weights=ok.astype(float), minlength=n_wards)
    plain = np.bincount(ward_index, weights=np.where(ok, minutes, 0.0), minlength=n_wards)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, summed / np.where(total > 0, total, 1),
                       np.where(count > 0, plain / np.where(count > 0, count, 1), np.nan))
    return out


@dataclasses.dataclass(frozen=True)
class FeedEvaluator:
    """Evaluates samples on any GTFS feed for given origins and targets (no London data).

    ``origins``: origin_id, x, y (EPSG:27700), population, ward_code, sorted by origin_id.
    ``targets``: counter_id, x, y, open_s, close_s (NaN hours = open 24/7).
    ``base``: the deterministic value of every assumption (see `PARAMETERS`; headway
    multipliers and bus speeds do not apply to a timetable).
    """

    feed_path: Path
    service_date: date
    window: tuple[int, int]
    step_minutes: int
    origins: pd.DataFrame
    targets: pd.DataFrame
    base: dict[str, float]
    max_trip_minutes: int = 120
    transfer_max_minutes: float = 5.0

    def __call__(self, index: int, params: dict[str, float]) -> SampleResult:
        """Build this sample's network from the feed and run both measures."""
        from siting.network.gtfs import read_feed
        from siting.network.transit import TransitNetwork
        from siting.network.walk import WalkModel
        from siting.travel import Targets, Window, profile_search, summarise

        start = time.perf_counter()
        bad = sorted(set(params) & LONDON_ONLY)
        if bad:
            raise ScenarioError(f"sweep: {', '.join(bad)} apply to the modelled London network "
                                f"only, not to the timetable {self.feed_path}; leave them out.")
        v = {**self.base, **params}
        feed = read_feed(self.feed_path)
        route_types = sorted({int(t) for t in feed.routes["route_type"]})
        allowance = {t: round(60 * (v["bus_reliability_min"] if _is_bus(t)
                                    else v["rail_reliability_min"])) for t in route_types}
        start_s, end_s = self.window
        network = TransitNetwork.build(
            feed, self.service_date, start_s, end_s + self.max_trip_minutes * 60,
            WalkModel(speed_kmh=v["walk_speed_kmh"], circuity=v["circuity"]),
            transfer_max_minutes=self.transfer_max_minutes,
            min_change_seconds=round(v["interchange_minutes"] * 60),
            boarding_allowance_s=allowance, cache_key=f"sweep-{index}")
        t = self.targets.sort_values("counter_id", kind="stable")
        targets = Targets.from_arrays(t["counter_id"].to_numpy(), t[["x", "y"]].to_numpy(float),
                                      t["open_s"].to_numpy(float), t["close_s"].to_numpy(float))
        window = Window(start_s=start_s, end_s=end_s, step_s=self.step_minutes * 60)
        o = self.origins
        xy = o[["x", "y"]].to_numpy(float)
        codes, ward_index = np.unique(o["ward_code"].to_numpy(str), return_inverse=True)
        population = o["population"].to_numpy(float)
        origin_minutes, ward_minutes = {}, {}
        for measure, selection in (("24h", targets.always_open),
                                   ("any", np.ones(len(targets), bool))):
            if not selection.any():
                minutes = np.full(len(o), np.nan)
            else:
                profiles = profile_search(network, targets.select(selection),
                                          max_access_minutes=v["max_access_minutes"])
                table = summarise(profiles.evaluate(xy, o["origin_id"].to_numpy(), window))
                minutes = (table.set_index("origin_id")["minutes_p50"]
                           .reindex(o["origin_id"].astype(str)).to_numpy(float))
            origin_minutes[measure] = minutes
            ward_minutes[measure] = _ward_means(minutes, population, ward_index, len(codes))
        return SampleResult(index, origin_minutes, ward_minutes, time.perf_counter() - start)


def _is_bus(route_type: int) -> bool:
    """GTFS bus route types: 3, and the extended 700-799 (and 200-299 coach) families."""
    return route_type == 3 or 700 <= route_type < 800 or 200 <= route_type < 300


# ---------------------------------------------------------------------------------------------
# Dask


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, *, workers: int | None = None,
                processes: bool = True) -> Iterator[Any]:
    """A dask.distributed Client: on ``scheduler`` (or DASK_SCHEDULER_ADDRESS), else on an
    embedded LocalCluster of ``workers`` single-threaded workers (default: one per core)."""
    import logging

    from distributed import Client, LocalCluster

    if not logging.getLogger("siting").isEnabledFor(logging.INFO):
        logging.getLogger("distributed").setLevel(logging.WARNING)  # no per-worker chatter
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        try:
            client = Client(address, timeout="20s")
        except OSError as exc:
            raise ScenarioError(
                f"sweep: cannot reach the Dask scheduler {address!r} ({exc}). Start it with "
                "`dask scheduler` (and `dask worker ADDRESS` on each machine), or omit "
                "--scheduler and unset DASK_SCHEDULER_ADDRESS to use a local cluster."
            ) from None
        with client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    # One thread per worker: the travel kernels are numba code; a worker per core avoids the GIL.
    extra = {"env": {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}} if processes else {}
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                      dashboard_address=":0", **extra) as cluster, Client(cluster) as client:
        yield client


def _call(func: Callable[..., Any], index: int, item: Any) -> Any:
    return func(index, item)


def submit_tasks(client: Any, func: Callable[[int, Any], Any], items: Sequence[Any], *,
                 retries: int = 2, label: str = "sweep") -> list[Any]:
    """Submit func(i, items[i]) for every item as Dask tasks; the futures, in item order.

    ``func`` is scattered once to every worker; Dask retries a task that fails on a lost worker
    ``retries`` times.
    """
    if not items:
        return []
    [shared] = client.scatter([func], broadcast=True, hash=False)
    return [client.submit(_call, shared, i, item, key=f"{label}-{i:06d}", retries=retries,
                          pure=False) for i, item in enumerate(items)]


def run_tasks(client: Any, func: Callable[[int, Any], Any], items: Sequence[Any], *,
              progress: bool = False, retries: int = 2, label: str = "sweep") -> list[Any]:
    """Run func(i, items[i]) for every item as Dask tasks; results in item order.

    `distributed.progress` draws the progress bar when ``progress`` is on.
    """
    futures = submit_tasks(client, func, items, retries=retries, label=label)
    return gather(client, futures, progress=progress)


def gather(client: Any, futures: Sequence[Any], *, progress: bool = False) -> list[Any]:
    """Wait for futures (with Dask's progress bar when asked, on a terminal); results in order.

    The bar redraws ten times a second, so in a pipe, a log or CI it is left out.
    """
    from distributed import progress as dask_progress

    if progress and futures and sys.stderr.isatty() and not os.environ.get("CI"):
        dask_progress(list(futures))
    return list(client.gather(list(futures)))
