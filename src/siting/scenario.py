"""Scenario stage: read a scenario YAML file into validated, frozen objects with clear errors.

This module is the stage's public face and holds the scenario models and `load_scenario`; two
concerns live beside it: `scenario_constraints` (the constraint models `siting check` tests) and
`scenario_input` (reading the YAML with its limits and `extends`, and the bad-input messages).
"""

# ruff: noqa: RUF012 (the list and dict defaults below are pydantic fields, copied for each
# object; ruff sees a pydantic model only when its base class is defined in the same file, and
# _Strict is defined in siting.scenario_constraints, below this module)

from __future__ import annotations

import difflib
import math
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from siting._errors import ScenarioError
from siting.scenario_constraints import (
    CONSTRAINT_KINDS,
    Constraint,
    Expect,
    Expectation,
    Measure,
    Share,
    _Strict,
)
from siting.scenario_constraints import CounterPerBorough as CounterPerBorough
from siting.scenario_constraints import HubsCoverAllWards as HubsCoverAllWards
from siting.scenario_constraints import MaxHubs as MaxHubs
from siting.scenario_constraints import NoWardOver as NoWardOver
from siting.scenario_constraints import PopulationOver as PopulationOver
from siting.scenario_constraints import ShareOver as ShareOver
from siting.scenario_constraints import ShareWithin as ShareWithin
from siting.scenario_input import (
    DATA_FIX,
    _check_counters,
    _check_files,
    _explain,
    _paragraph,
    _read_yaml,
    _suggest,
    counter_ids,
)
from siting.scenario_input import YAML_MAX_ALIASES as YAML_MAX_ALIASES
from siting.scenario_input import YAML_MAX_BYTES as YAML_MAX_BYTES
from siting.scenario_input import YAML_MAX_DEPTH as YAML_MAX_DEPTH
from siting.scenario_input import YAML_MAX_NODES as YAML_MAX_NODES

__all__ = [
    "CONSTRAINT_KINDS",
    "CandidateKind",
    "Constraint",
    "Counters",
    "DataFiles",
    "Distribution",
    "Expect",
    "Expectation",
    "Hubs",
    "Measure",
    "Outputs",
    "Scenario",
    "Share",
    "Transit",
    "Uncertainty",
    "Walking",
    "counter_ids",
    "load_scenario",
    "parse_clock",
    "parse_window",
    "route_type_mode",
]

CandidateKind = Literal["police", "fire", "library", "hospital", "school", "worship"]

_CLOCK = re.compile(r"^([0-9]{1,2}):([0-5][0-9])$")


def parse_clock(text: str) -> int:
    """Seconds after midnight for an 'HH:MM' clock time (up to 48:00 for overnight services)."""
    match = _CLOCK.match(text.strip())
    if not match or int(match.group(1)) > 48:
        raise ValueError(f"{text!r} is not a clock time like '07:00'")
    return int(match.group(1)) * 3600 + int(match.group(2)) * 60


def parse_window(text: str) -> tuple[int, int]:
    """(start, end) seconds for a window written 'HH:MM-HH:MM'; end must be after start."""
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not a time window like '07:00-10:00'")
    start, end = parse_clock(parts[0]), parse_clock(parts[1])
    if end <= start:
        raise ValueError(f"window {text!r} ends before it starts")
    return start, end


class DataFiles(_Strict):
    """Input data files, relative to the data directory (SITING_DATA_DIR)."""

    wards: str = "boundaries/london_wards_2014_citymerged.geojson"
    lsoas: str = "boundaries/london_lsoa_2011_pwc_population.csv"
    boroughs: str = "boundaries/london_boroughs_2014_from_wards.geojson"
    ptai: str = "boundaries/tfl_ward2014_avptai2015.csv"
    lsoa_areas: str | None = "boundaries/london_lsoa_2011_gen20.geojson"
    """LSOA outlines drawn on the map when zoomed in (None: the map shows wards only)."""
    postcodes: str | None = "osm/poi/london_schools_atlas_all_schools_xy_2016.csv"
    """Addresses with postcodes and coordinates (the GLA schools atlas) that place postcode
    districts for the map's search box (None: search wards and neighbourhoods only)."""
    population: Literal["census2011", "mid2019"] = "census2011"


class Counters(_Strict):
    """Which registry counters are open 24/7, open daytime only, or closed in this scenario."""

    open_24h: list[str] = Field(min_length=1)
    open_daytime: list[str] = []
    closed: list[str] = []
    hours: dict[str, str] = {}
    """Daytime opening hours overriding the registry's, e.g. {'pinner': '10:00-14:00'}."""

    @field_validator("hours")
    @classmethod
    def _hours_are_windows(cls, value: dict[str, str]) -> dict[str, str]:
        for text in value.values():
            parse_window(text)
        return value

    @model_validator(mode="after")
    def _each_counter_once(self) -> Counters:
        seen: dict[str, str] = {}
        for status in ("open_24h", "open_daytime", "closed"):
            for cid in getattr(self, status):
                if cid in seen:
                    raise ValueError(
                        f"counter {cid!r} is listed twice (in {seen[cid]} and {status}); "
                        "list each counter under one status only"
                    )
                seen[cid] = status
        return self

    def status(self, counter_id: str) -> Literal["24h", "daytime", "closed"]:
        """This scenario's status of a registry counter (unlisted counters are closed)."""
        if counter_id in self.open_24h:
            return "24h"
        if counter_id in self.open_daytime:
            return "daytime"
        return "closed"


MEASURES = ("24h", "any")
"""Travel-time measures: to the nearest 24/7 counter, or to the nearest counter open then."""

DEFAULT_DRAWS = 16
"""Default Monte Carlo phase draws (transit.draws), chosen by measurement: docs/travel-model.md."""

PTAL_METHOD = ("TfL, Assessing transport connectivity in London (PTAL method), 2015: "
               "https://content.tfl.gov.uk/connectivity-assessment-guide.pdf")
"""The source of the reliability allowances, walking speed and access limit defaults."""

ROUTE_TYPE_MODES: dict[int, str] = {
    0: "tram", 1: "subway", 2: "rail", 3: "bus", 4: "ferry", 5: "cable_tram",
    6: "aerial_lift", 7: "funicular", 11: "trolleybus", 12: "monorail",
}
"""GTFS route_type -> mode name (the GTFS reference's basic route types)."""

_EXTENDED_MODES: tuple[tuple[int, int, str], ...] = (
    (100, 199, "rail"), (200, 299, "bus"), (400, 499, "subway"), (700, 799, "bus"),
    (800, 899, "trolleybus"), (900, 999, "tram"), (1000, 1099, "ferry"), (1200, 1299, "ferry"),
    (1300, 1399, "aerial_lift"), (1400, 1499, "funicular"),
)
"""Google's extended route types (used by UK BODS feeds, e.g. 200 coach) -> mode name:
rail 1xx, coach 2xx, urban railway 4xx, bus 7xx, trolleybus 8xx, tram 9xx, water 10xx and
ferry 12xx, aerial lift 13xx, funicular 14xx."""

DEFAULT_RELIABILITY_MINUTES: dict[str, float] = {
    "bus": 2.0, "trolleybus": 2.0, "tram": 0.75, "subway": 0.75, "rail": 0.75, "ferry": 0.75,
    "cable_tram": 0.75, "aerial_lift": 0.75, "funicular": 0.75, "monorail": 0.75,
}
"""Minutes a passenger is at the stop before a vehicle of the mode departs (PTAL's reliability
factor): bus 2.0 and LU/DLR/tram/National Rail 0.75 from the PTAL method (PTAL_METHOD).
Trolleybus takes the bus value; ferry, cable tram, aerial lift, funicular and monorail are not
PTAL modes and take the rail value (timetabled, fixed-route): an assumption."""

DEFAULT_CHANGE_MINUTES = 2.0
"""Minutes to change vehicle: OpenTripPlanner's default transferSlack, PT2M ("the extra time
needed to make a safe transfer", OTP 2 RouteRequest documentation); also the modelled London
network's former interchange time."""


def route_type_mode(route_type: int) -> str | None:
    """The mode name of a GTFS route_type (basic or extended), or None when it has none."""
    if route_type in ROUTE_TYPE_MODES:
        return ROUTE_TYPE_MODES[route_type]
    return next((mode for lo, hi, mode in _EXTENDED_MODES if lo <= route_type <= hi), None)


class Transit(_Strict):
    """Public-transport settings: which feed, which day and departure window, which percentiles,
    and how waiting and changing are counted (the same for every feed)."""

    feed: str = "london-modelled"
    """'london-modelled' (built from TfL open data), a GTFS zip/folder in the data directory, or
    'none' for a walk-only study (asked for explicitly; a feed that serves nothing is an error)."""
    service_date: date = date(2017, 11, 15)
    departure_window: str = "07:00-10:00"
    step_minutes: int = Field(default=1, ge=1, le=60)
    percentiles: list[Annotated[int, Field(ge=1, le=99)]] = [50]
    max_trip_minutes: int = Field(default=180, ge=30, le=600)
    transfer_max_minutes: float = Field(default=5.0, ge=0, le=20, allow_inf_nan=False)
    """Longest walk between two stops to change vehicle (footpaths): an assumption."""
    min_change_minutes: float = Field(default=DEFAULT_CHANGE_MINUTES, ge=0, le=15,
                                      allow_inf_nan=False)
    """Time to change vehicle, on top of any walk between stops (DEFAULT_CHANGE_MINUTES)."""
    reliability_minutes: dict[str, float] = DEFAULT_RELIABILITY_MINUTES
    """Reliability allowance per mode (keys: mode names of ROUTE_TYPE_MODES, or a GTFS
    route_type number as text for a type with no mode); given keys override the defaults
    (DEFAULT_RELIABILITY_MINUTES) one by one."""
    assumptions: dict[str, Any] = {}
    """Overrides of the modelled London network's assumptions (see docs/london-network.md)."""
    draws: int = Field(default=DEFAULT_DRAWS, ge=1, le=1000)
    """Monte Carlo draws of the phases of frequency-based (exact_times=0) services; minutes are
    percentiles over (departure minute x draw). Default chosen by bench/draws_convergence.py
    (see docs/travel-model.md)."""
    seed: int = Field(default=0, ge=0)
    """Seed of the phase draws: the same seed gives byte-identical results."""

    @field_validator("departure_window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_window(value)
        return value

    @field_validator("reliability_minutes", mode="before")
    @classmethod
    def _route_type_keys(cls, value: Any) -> Any:
        # YAML reads `{1700: 2}` with an integer key: a route_type number, kept as text
        if isinstance(value, dict):
            return {str(k) if isinstance(k, int) and not isinstance(k, bool) else k: v
                    for k, v in value.items()}
        return value

    @field_validator("reliability_minutes")
    @classmethod
    def _reliability(cls, value: dict[str, float]) -> dict[str, float]:
        modes = sorted(set(ROUTE_TYPE_MODES.values()))
        for key, minutes in value.items():
            if key not in modes and not key.isdigit():
                close = difflib.get_close_matches(key, modes, n=1, cutoff=0.5)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"{key!r} is not a mode.{hint} Use one of {', '.join(modes)}, "
                                 "or a GTFS route_type number in quotes")
            if not (isinstance(minutes, int | float) and math.isfinite(minutes)
                    and 0 <= minutes <= 30):
                raise ValueError(f"reliability_minutes.{key} = {minutes!r} must be a number of "
                                 "minutes from 0 to 30")
        return {**DEFAULT_RELIABILITY_MINUTES, **{k: float(v) for k, v in value.items()}}

    @property
    def walk_only(self) -> bool:
        """True when the scenario asks for a walk-only study (feed: none)."""
        return self.feed == "none"

    @property
    def window_seconds(self) -> tuple[int, int]:
        """Departure window as (start, end) seconds after midnight."""
        return parse_window(self.departure_window)

    def reliability_seconds(self, route_type: int) -> int | None:
        """Whole seconds of reliability allowance for a GTFS route_type; None when unknown."""
        minutes = self.reliability_minutes.get(str(route_type))
        if minutes is None:
            mode = route_type_mode(route_type)
            minutes = self.reliability_minutes.get(mode) if mode else None
        return None if minutes is None else round(minutes * 60)


class Walking(_Strict):
    """Walking settings: speed, the longest walk to or from a stop, and the street model."""

    speed_kmh: float = Field(default=4.8, gt=0, le=10, allow_inf_nan=False)
    """PTAL's walking speed, 80 m/min = 4.8 km/h (PTAL_METHOD)."""
    max_access_minutes: float = Field(default=12.0, gt=0, le=60, allow_inf_nan=False)
    """Longest walk to the first stop and from the last: PTAL's 12-minute (960 m) catchment of
    rail, tube, DLR and tram stations (PTAL_METHOD; PTAL counts bus stops to 8 minutes, 640 m)."""
    circuity: float | None = Field(default=None, ge=1.0, le=3.0, allow_inf_nan=False)
    """Network/crow-fly ratio; None uses the value calibrated on the OSM extracts
    (siting.network.walk.DEFAULT_CIRCUITY, 1.287)."""
    network: str | None = None
    """An OSM file (.osm/.osm.pbf/.graphml) in the data directory to walk on instead of crow-fly."""


MAX_SITES = 100_000
"""Upper bound of hubs.max_hubs and hubs.capacity_wards: more than the wards of England and
Wales (about 8,700), so only an absurd value (e.g. 1e30, which overflows CP-SAT) is refused."""

MAX_COST = 1_000_000.0
"""Upper bound of a hub site cost: costs are made whole (times up to 10**6) in CP-SAT's int64."""


class Hubs(_Strict):
    """Dedicated Ward Officer hub siting settings."""

    enabled: bool = True
    walk_limit_minutes: float = Field(default=20.0, gt=0, le=120, allow_inf_nan=False)
    measure_to: Literal["boundary", "centroid"] = "boundary"
    max_hubs: int | None = Field(default=None, ge=1, le=MAX_SITES)
    candidates: list[CandidateKind] = ["police", "fire", "library", "hospital"]
    candidate_csv: str | None = None
    """A CSV of extra candidate sites, relative to the scenario file."""
    costs: dict[CandidateKind | Literal["user"], float] = {
        "police": 1.0,
        "fire": 3.0,
        "library": 3.0,
        "hospital": 4.0,
        "school": 5.0,
        "worship": 5.0,
        "user": 3.0,
    }
    capacity_wards: int | None = Field(default=None, ge=1, le=MAX_SITES)
    must_open: list[str] = []
    forbidden: list[str] = []
    wards: list[str] | None = None
    """Restrict the model to these ward codes (e.g. the area of a street extract)."""
    time_limit_s: float = Field(default=60.0, gt=0, le=86_400, allow_inf_nan=False)
    """CP-SAT wall-time limit in seconds: finite, at most a day."""
    robust: float | None = Field(default=None, gt=0, le=1)
    """`siting sweep`: also find the cheapest plan covering every coverable ward in at least this
    share of the sweep's samples (e.g. 0.9); see docs/sweep.md."""

    @field_validator("forbidden")
    @classmethod
    def _open_or_forbidden(cls, value: list[str], info: ValidationInfo) -> list[str]:
        both = sorted(set(info.data.get("must_open") or []) & set(value))
        if both:
            raise ValueError(f"{', '.join(both)} is also in hubs.must_open; remove each site "
                             "from one of the two lists")
        return value

    @field_validator("costs")
    @classmethod
    def _costs(cls, value: dict[str, float]) -> dict[str, float]:
        for kind, cost in value.items():
            if not (math.isfinite(cost) and 0 <= cost <= MAX_COST):
                raise ValueError(
                    f"costs.{kind} = {cost!r} must be a finite cost from 0 to {MAX_COST:g} (a "
                    "negative cost would make opening more hubs look cheaper)")
        return value


class Distribution(_Strict):
    """One uncertain assumption: uniform(low, high) or triangular(low, mode, high).

    A plain number in the YAML is a fixed value (low = mode = high).
    """

    kind: Literal["uniform", "triangular"] = "triangular"
    low: float
    high: float
    mode: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _number_is_fixed(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"kind": "triangular", "low": value, "mode": value, "high": value}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Distribution:
        if self.kind == "triangular" and self.mode is None:
            raise ValueError("a triangular distribution needs low, mode and high; add `mode`")
        if self.kind == "uniform" and self.mode is not None:
            raise ValueError("a uniform distribution has no mode; remove `mode` or use "
                             "kind: triangular")
        middle = self.low if self.mode is None else self.mode
        if not self.low <= middle <= self.high:
            raise ValueError(f"needs low <= mode <= high, got low {self.low}, mode {self.mode}, "
                             f"high {self.high}")
        return self

    @property
    def fixed(self) -> bool:
        """True when the distribution is a single value."""
        return self.low == self.high


def _dist(kind: Literal["uniform", "triangular"], low: float, high: float,
          mode: float | None = None) -> Any:
    return Field(default_factory=lambda: Distribution(kind=kind, low=low, high=high, mode=mode))


class Uncertainty(_Strict):
    """`siting sweep`: a distribution for each uncertain assumption, the sample count and seed.

    Defaults and their sources are in docs/sweep.md. `null` holds an assumption at the
    scenario's own value. Headway multipliers and bus speeds apply to the modelled London
    network only.
    """

    samples: int = Field(default=64, ge=2, le=100_000)
    seed: int = Field(default=0, ge=0)
    method: Literal["lhs", "sobol"] = "lhs"
    bus_headway_multiplier: Distribution | None = _dist("triangular", 0.7, 1.5, 1.0)
    rail_headway_multiplier: Distribution | None = _dist("triangular", 0.75, 1.5, 1.0)
    bus_speed_inner_kmh: Distribution | None = _dist("triangular", 11.0, 15.0, 14.0)
    bus_speed_outer_kmh: Distribution | None = _dist("triangular", 15.0, 20.0, 18.0)
    bus_reliability_min: Distribution | None = _dist("uniform", 0.0, 2.0)
    rail_reliability_min: Distribution | None = _dist("uniform", 0.0, 0.75)
    interchange_minutes: Distribution | None = _dist("triangular", 1.0, 5.0, 2.0)
    walk_speed_kmh: Distribution | None = _dist("triangular", 4.0, 5.4, 4.8)
    circuity: Distribution | None = _dist("triangular", 1.195, 1.423, 1.287)
    max_access_minutes: Distribution | None = _dist("uniform", 8.0, 12.0)


class Outputs(_Strict):
    """Where `siting run` writes its tables and map (relative to the working directory)."""

    dir: str | None = None
    map: str | None = None


class Scenario(_Strict):
    """A validated scenario: counters, transit, walking, hubs, thresholds and CI constraints."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    description: str = ""
    data: DataFiles = DataFiles()
    counters: Counters
    transit: Transit = Transit()
    walking: Walking = Walking()
    thresholds: list[Annotated[int, Field(gt=0, le=600)]] = [45, 60]
    hubs: Hubs = Hubs()
    constraints: list[Constraint] = []
    expectations: dict[str, Expectation] = {}
    """Per constraint name, this scenario's expect/because, overriding the constraint's own: a
    scenario that `extends` another records its own findings without restating the constraints."""
    outputs: Outputs = Outputs()
    origins: str | None = None
    """A file of points or polygons in any CRS (relative to the scenario file) for `siting grid`."""
    uncertainty: Uncertainty = Uncertainty()
    """Distributions of the assumptions `siting sweep` varies (docs/sweep.md)."""
    source: Path | None = Field(default=None, exclude=True)
    """The file this scenario was read from (set by load_scenario)."""

    @field_validator("expectations")
    @classmethod
    def _expectations_name_constraints(cls, value: dict[str, Expectation],
                                       info: ValidationInfo) -> dict[str, Expectation]:
        names = [c.name for c in info.data.get("constraints", [])]
        for name in value:
            if name not in names:
                raise ValueError(
                    f"{name!r} is not the name of one of this scenario's constraints."
                    f"{_suggest(name, names)} Constraints: {', '.join(names) or '(none)'}"
                )
        return value

    def expected(self, constraint: Any) -> tuple[Expect, str | None]:
        """(expect, because) of one of this scenario's constraints, after `expectations`."""
        own = self.expectations.get(constraint.name)
        if own is not None:
            return own.expect, own.because
        return constraint.expect, constraint.because

    @field_validator("thresholds")
    @classmethod
    def _sorted_thresholds(cls, value: list[int]) -> list[int]:
        return sorted(set(value))

    @property
    def out_dir(self) -> Path:
        """Output folder for `siting run` (default out/<id>)."""
        return Path(self.outputs.dir or f"out/{self.id}")

    @property
    def map_path(self) -> Path:
        """Output map (default maps/<id>.html)."""
        return Path(self.outputs.map or f"maps/{self.id}.html")

    def open_counters(self) -> list[str]:
        """Counter ids open in this scenario (24/7 first, then daytime), in file order."""
        return [*self.counters.open_24h, *self.counters.open_daytime]


# ---------------------------------------------------------------------------------------------
# Loading (the YAML reading and the bad-input messages are in siting.scenario_input)


def load_scenario(path: str | Path, *, data_dir: Path | None = None) -> Scenario:
    """Read and validate a scenario YAML file; raises ScenarioError naming file, field and fix.

    Parameters
    ----------
    path
        The scenario file. `extends: other.yaml` inherits from another file (keys merged deeply).
    data_dir
        When given, the data files the scenario names must exist there.
    """
    path = Path(path)
    raw = _read_yaml(path)
    try:
        scenario = Scenario.model_validate({**raw, "source": path})
    except ValidationError as exc:
        details = [_explain(err, Scenario) for err in exc.errors()]
        raise ScenarioError(_paragraph(path, details)) from None
    problems = _check_counters(scenario)
    missing = _check_files(scenario, data_dir) if data_dir is not None else []
    if problems or missing:
        fix = DATA_FIX if any("in the data directory" in m for m in missing) else ""
        raise ScenarioError(_paragraph(path, problems + missing, fix))
    return scenario
