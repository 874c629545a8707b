"""A scenario's transit network: its GTFS (user feed or the modelled London one), built once, cached."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from siting._cache import discard, remove_stale_temporaries, usable, write_manifest
from siting.network.london import (
    LondonAssumptions,
    build_london_gtfs,
    describe_modes,
    london_inputs,
)
from siting.network.transit import CACHE_VERSION, TransitNetwork
from siting.network.walk import DEFAULT_CIRCUITY, WalkModel
from siting.scenario import Scenario

__all__ = ["ScenarioFeed", "change_seconds", "scenario_feed", "scenario_network", "scenario_walk"]


@dataclasses.dataclass(frozen=True)
class ScenarioFeed:
    """The GTFS a scenario routes on, what it models, and the London assumptions used (if any)."""

    path: Path
    modes: dict[str, Any]
    assumptions: dict[str, Any]
    boarding_allowance_s: dict[int, int] = dataclasses.field(default_factory=dict)
    """TfL PTAL reliability allowance per GTFS route_type (seconds before departure)."""
    change_seconds: int = 0
    """Default time to change vehicle (the London model's interchange time)."""


def _fingerprint(*parts: object) -> str:
    """A short stable hash of the inputs of a cached artefact."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _file_stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (path.name, stat.st_size, int(stat.st_mtime))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


def scenario_walk(scenario: Scenario) -> WalkModel:
    """The scenario's crow-fly walking model (its speed; its circuity or the calibrated one)."""
    return WalkModel(speed_kmh=scenario.walking.speed_kmh,
                     circuity=scenario.walking.circuity or DEFAULT_CIRCUITY)


def scenario_feed(scenario: Scenario, data_dir: Path, cache_dir: Path) -> ScenarioFeed:
    """The scenario's GTFS: a user feed, or the modelled London feed built once into cache_dir."""
    transit = scenario.transit
    if transit.feed != "london-modelled":
        modes = {"feed": transit.feed, "modelled": False,
                 "note": "a GTFS timetable supplied by the user; the modes are the feed's own"}
        return ScenarioFeed(Path(data_dir) / transit.feed, modes, {})
    source = str(scenario.source) if scenario.source else "scenario"
    assumptions = LondonAssumptions().with_overrides(dict(transit.assumptions), source=source)
    inputs = sorted(_file_stamp(p) for p in london_inputs(Path(data_dir)))
    key = _fingerprint(CACHE_VERSION, assumptions, transit.service_date, inputs)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / f"london-gtfs-{key}"
    remove_stale_temporaries(cache_dir, "london-gtfs-*.tmp-p*")
    ok, why = usable(out)
    if not ok:
        if out.exists():
            discard(out, why)
        # Build beside the final folder, hash it (manifest last) and rename, so a crash never
        # leaves a half-built feed and a later edit of a file is caught on load.
        tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-p{os.getpid()}-", dir=cache_dir))
        try:
            build_london_gtfs(Path(data_dir), tmp, assumptions, service_date=transit.service_date)
            write_manifest(tmp)
            if out.exists():
                shutil.rmtree(out)
            tmp.rename(out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    modes = {**describe_modes(out), "feed": f"london-modelled (inputs {key})"}
    # GTFS route types of the modelled feed: tram 0, tube/DLR 1, rail 2, bus 3, river 4.
    allowance = {t: round(assumptions.reliability_min(t) * 60) for t in (0, 1, 2, 3, 4)}
    return ScenarioFeed(out, modes, _jsonable(dataclasses.asdict(assumptions)), allowance,
                        int(assumptions.interchange_s))


def change_seconds(scenario: Scenario, feed: ScenarioFeed) -> int:
    """Seconds to change vehicle: the scenario's setting, else the feed's default."""
    minutes = scenario.transit.min_change_minutes
    return feed.change_seconds if minutes is None else round(minutes * 60)


def scenario_network(scenario: Scenario, data_dir: Path, cache_dir: Path,
                     feed: ScenarioFeed | None = None) -> TransitNetwork:
    """The transit network `siting run` routes the scenario on (built once, cached on disk)."""
    feed = feed or scenario_feed(scenario, data_dir, cache_dir)
    start_s, end_s = scenario.transit.window_seconds
    return TransitNetwork.load_or_build(
        feed.path, scenario.transit.service_date, start_s,
        end_s + scenario.transit.max_trip_minutes * 60, scenario_walk(scenario),
        transfer_max_minutes=scenario.transit.transfer_max_minutes,
        min_change_seconds=change_seconds(scenario, feed),
        boarding_allowance_s=feed.boarding_allowance_s,
        cache_dir=Path(cache_dir),
    )
