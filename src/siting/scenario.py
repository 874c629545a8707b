"""Scenario stage: read a scenario YAML file into validated, frozen objects with clear errors."""

from __future__ import annotations

import csv
import difflib
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from siting._errors import ScenarioError, clip, shown

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

Measure = Literal["24h", "any"]
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


@cache
def counter_ids() -> tuple[str, ...]:
    """Counter ids of the registry typed into the project (siting/facts/counters.csv)."""
    text = resources.files("siting").joinpath("facts/counters.csv").read_text(encoding="utf-8")
    return tuple(row["counter_id"] for row in csv.DictReader(text.splitlines()))


class _Strict(BaseModel):
    """Base model: unknown keys are errors and objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
def _share(value: Any) -> Any:
    """A share of the population from YAML: 0.97, '97%' or '2/3' (as the strategy words it)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.endswith("%"):
                return float(text[:-1]) / 100.0
            if "/" in text:
                top, bottom = text.split("/", 1)
                return float(top) / float(bottom)
            return float(text)
        except (ValueError, ZeroDivisionError):
            raise ValueError(
                f"{value!r} is not a share; write it as 0.97, '97%' or '2/3'"
            ) from None
    return value


Share = Annotated[float, BeforeValidator(_share), Field(ge=0, le=1)]
"""A share of the population, 0..1; YAML may write it '97%' or '2/3'."""

Expect = Literal["met", "unmet"]


class _ConstraintBase(_Strict):
    name: str
    sentence: str
    """What the constraint asks, quoting the words it comes from."""
    reading: str | None = None
    """How the threshold is read from those words, where the words give no number themselves."""
    expect: Expect = "met"
    """'unmet' records a finding: the model says the promise is not kept (needs `because`)."""
    because: str | None = None
    """Why the promise is expected to be unmet; printed by `siting check`."""

    @model_validator(mode="after")
    def _because_when_unmet(self) -> _ConstraintBase:
        if self.expect == "unmet" and not (self.because or "").strip():
            raise ValueError(
                f"constraint {self.name!r} has expect: unmet but no `because:`; add one sentence "
                "saying why the promise is not met (siting check prints it)"
            )
        return self


class ShareWithin(_ConstraintBase):
    """At least `at_least` (or more than `more_than`) of the population reaches a counter
    within `minutes`."""

    kind: Literal["share_within"]
    measure: Measure = "24h"
    minutes: float
    at_least: Share | None = None
    more_than: Share | None = None
    """A strict bound, for words such as "over two thirds" (write '2/3')."""

    @model_validator(mode="after")
    def _one_bound(self) -> ShareWithin:
        if (self.at_least is None) == (self.more_than is None):
            raise ValueError(
                f"constraint {self.name!r} (share_within) needs exactly one of at_least "
                "(\"at least 97%\") or more_than (\"over two thirds\": more_than: 2/3)"
            )
        return self


class ShareOver(_ConstraintBase):
    """At most `at_most` of the population is more than `minutes` from a counter."""

    kind: Literal["share_over"]
    measure: Measure = "24h"
    minutes: float
    at_most: Share


class PopulationOver(_ConstraintBase):
    """At most `at_most` people are more than `minutes` from a counter."""

    kind: Literal["population_over"]
    measure: Measure = "24h"
    minutes: float
    at_most: int = Field(ge=0)


class NoWardOver(_ConstraintBase):
    """No ward (apart from named exceptions) is more than `minutes` from a counter."""

    kind: Literal["no_ward_over"]
    measure: Measure = "24h"
    minutes: float
    exceptions: list[str] = []


class HubsCoverAllWards(_ConstraintBase):
    """Every ward (apart from named exceptions) has a hub within `minutes` of walking."""

    kind: Literal["hubs_cover_all_wards"]
    minutes: float | None = Field(default=None, gt=0)
    """The walk limit the words give; None uses the scenario's hubs.walk_limit_minutes."""
    exceptions: list[str] = []


class MaxHubs(_ConstraintBase):
    """The hub plan uses at most `at_most` hubs."""

    kind: Literal["max_hubs"]
    at_most: int = Field(ge=1)


class CounterPerBorough(_ConstraintBase):
    """Every borough keeps at least one 24/7 counter."""

    kind: Literal["counter_per_borough"]


Constraint = Annotated[
    ShareWithin | ShareOver | PopulationOver | NoWardOver | HubsCoverAllWards | MaxHubs
    | CounterPerBorough,
    Field(discriminator="kind"),
]
CONSTRAINT_KINDS = (
    "share_within",
    "share_over",
    "population_over",
    "no_ward_over",
    "hubs_cover_all_wards",
    "max_hubs",
    "counter_per_borough",
)


class Expectation(_Strict):
    """A scenario's own expectation of an inherited constraint (see Scenario.expectations)."""

    expect: Expect
    because: str | None = None

    @model_validator(mode="after")
    def _because_when_unmet(self) -> Expectation:
        if self.expect == "unmet" and not (self.because or "").strip():
            raise ValueError("expect: unmet needs a `because:` sentence saying why")
        return self


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
# Loading and error reporting


def _field_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + clip(str(part), 40)
    return out or "(top level)"


def _model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The pydantic model class that owns the field at `loc` (used to suggest valid keys)."""
    model: Any = Scenario
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        if field is None:
            return model
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        nxt = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        model = nxt
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _suggest(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=3, cutoff=0.5)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def _explain(error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    # pydantic puts the discriminator tag into loc for unions; drop it from the shown path
    # (only a tag right after a list index: `hubs.max_hubs` is a field, not a tag)
    visible = tuple(p for i, p in enumerate(loc)
                    if not (p in CONSTRAINT_KINDS and i and isinstance(loc[i - 1], int)))
    path = _field_path(visible)
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        owner = _model_at(visible[:-1])
        valid = sorted(owner.model_fields) if owner else []
        valid = [v for v in valid if v != "source"]
        return (
            f"field `{path}`: unknown key {shown(key)}.{_suggest(key[:100], valid)} "
            f"Valid keys here are: {', '.join(valid)}."
        )
    if kind == "missing":
        return f"field `{path}` is required but missing; add it."
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = str((error.get("ctx") or {}).get("tag", value))
        return (
            f"field `{path}`: constraint kind {shown(tag)} is not known.{_suggest(tag[:100], CONSTRAINT_KINDS)} "
            f"Valid kinds are: {', '.join(CONSTRAINT_KINDS)}."
        )
    message = clip(str(error["msg"]).removeprefix("Value error, "), 300)
    return f"field `{path}`: {message} (got {shown(value)})."


def _check_counters(scenario: Scenario) -> list[str]:
    known = set(counter_ids())
    problems = []
    for status in ("open_24h", "open_daytime", "closed"):
        for index, cid in enumerate(getattr(scenario.counters, status)):
            if cid not in known:
                problems.append(
                    f"field `counters.{status}[{index}]`: unknown counter id {shown(cid)}."
                    f"{_suggest(cid, known)} Counter ids are listed by `siting counters` "
                    "(from siting/facts/counters.csv)."
                )
    for cid in scenario.counters.hours:
        if cid not in scenario.counters.open_daytime:
            problems.append(
                f"field `counters.hours.{clip(cid, 40)}`: hours are given for {shown(cid)}, which is not in "
                "counters.open_daytime; list it there or remove the hours."
            )
    return problems


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


YAML_MAX_BYTES = 1_000_000
"""Largest scenario file read (a real one is a few kilobytes)."""
YAML_MAX_ALIASES = 100
"""Most `*alias` references in one scenario file (anchors let files share blocks)."""
YAML_MAX_NODES = 100_000
"""Most values in a scenario once aliases are expanded: stops a 'billion laughs' alias bomb."""
YAML_MAX_DEPTH = 64
"""Deepest nesting of mappings and lists in a scenario file."""


class _ScenarioLoader(yaml.SafeLoader):
    """yaml.SafeLoader that counts aliases and rejects duplicate keys (yaml keeps the last one)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > YAML_MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise _LimitError(f"more than {YAML_MAX_ALIASES} aliases (`*name`), the limit, at line "
                             f"{mark.line + 1}; write the values out or use `extends`")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key is reported by the constructor itself
                if first is not None:
                    raise _LimitError(f"key {shown(key, 40)} appears twice in one mapping (lines {first} "
                                 f"and {key_node.start_mark.line + 1}); YAML would silently keep "
                                 "the last one. Delete one of them")
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _timestamp(loader: _ScenarioLoader, node: yaml.ScalarNode) -> Any:
    """A YAML date, or a YAML error at the value's line when the date does not exist."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{shown(node.value)} is not a real date ({exc})", node.start_mark) from None


_ScenarioLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


class _LimitError(Exception):
    """A scenario file breaks one of the reader's limits (message says which and the fix)."""


def _expanded_size(root: yaml.Node) -> int:
    """Values in the document with every alias expanded (shared nodes counted each time)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        if depth > YAML_MAX_DEPTH:
            raise _LimitError(f"values nested more than {YAML_MAX_DEPTH} deep at line "
                         f"{node.start_mark.line + 1}; a scenario is a few levels deep")
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        total = min(total, YAML_MAX_NODES + 1)
        sizes[id(node)] = total
        return total

    return size(root, 0)


def _parse_yaml(text: str) -> Any:
    """One YAML document read with the scenario limits (aliases, expanded size, depth, duplicates)."""
    loader = _ScenarioLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > YAML_MAX_NODES:
            raise _LimitError(f"more than {YAML_MAX_NODES:,} values once aliases are expanded, the "
                         "limit (an alias bomb?); write a plain scenario without nested aliases")
        try:
            return loader.construct_document(node)
        except (ValueError, TypeError, OverflowError) as exc:
            # e.g. a date that does not exist (2017-02-30) or a tagged value that is not one
            raise _LimitError(f"a value cannot be read ({clip(str(exc), 120)}); check the dates "
                              "(YYYY-MM-DD) and numbers in the file") from None
    finally:
        loader.dispose()


def _read_yaml(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    if not path.is_file():
        raise ScenarioError(
            f"{path}: scenario file not found. Check the path; the project's scenarios are in "
            "scenarios/*.yaml."
        )
    size = path.stat().st_size
    if size > YAML_MAX_BYTES:
        raise ScenarioError(
            f"{path}: the file is {size:,} bytes, more than the {YAML_MAX_BYTES:,} a scenario may "
            "have. Check you passed a scenario YAML (a real one is a few kilobytes)."
        )
    try:
        raw = _parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(
            f"{path}: not valid YAML{where}: {clip(problem, 200)}. Fix the indentation or quoting "
            "there (a scenario is a YAML mapping of keys such as id, title, counters)."
        ) from None
    except _LimitError as exc:
        raise ScenarioError(f"{path}: {exc}.") from None
    except RecursionError:
        raise ScenarioError(f"{path}: values nested too deeply to read; a scenario is a few "
                            "levels deep. Check the brackets.") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file; save it as UTF-8 YAML.") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc.strerror}).") from None
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"{path}: a scenario must be a YAML mapping (keys such as id, title, counters), "
            f"not {type(raw).__name__}."
        )
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: field `extends` must be a file name, got {shown(parent)}.")
    parent_path = (path.parent / parent).resolve()
    if parent_path in chain:
        raise ScenarioError(f"{path}: field `extends` makes a cycle through {parent_path}.")
    try:
        base = _read_yaml(parent_path, (*chain, path.resolve()))
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: field `extends` = {shown(parent)}: {exc}") from None
    return _deep_merge(base, raw)


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
        details = [_explain(err) for err in exc.errors()]
        raise ScenarioError(_paragraph(path, details)) from None
    problems = _check_counters(scenario)
    missing = _check_files(scenario, data_dir) if data_dir is not None else []
    if problems or missing:
        fix = DATA_FIX if any("in the data directory" in m for m in missing) else ""
        raise ScenarioError(_paragraph(path, problems + missing, fix))
    return scenario


def _paragraph(path: Path, details: list[str], fix: str = "") -> str:
    """One problem on one line after the file name; several, one per line; a shared fix last."""
    if len(details) == 1:
        return f"{path}: {details[0]}" + (f" {fix}" if fix else "")
    shown = details[:8]
    more = f"\n  ({len(details) - 8} more problems not shown.)" if len(details) > 8 else ""
    return (f"{path}: {len(details)} problems:\n" + "\n".join(f"  - {d}" for d in shown) + more
            + (f"\n{fix}" if fix else ""))


DATA_FIX = ("Fix: point SITING_DATA_DIR (or --data-dir) at the folder holding boundaries/, "
            "transit/ and osm/ (beside this checkout: ../shared/data/london), run `siting data "
            "fetch` to download the open data into ./data, or correct the path.")
"""Said once after the missing data files (usually the whole data directory is the wrong one)."""


def _check_files(scenario: Scenario, data_dir: Path) -> list[str]:
    problems = []
    named = {f"data.{k}": v for k, v in scenario.data.model_dump().items()
             if k != "population" and v is not None}
    if scenario.transit.feed not in ("london-modelled", "none"):
        named["transit.feed"] = scenario.transit.feed
    if scenario.walking.network:
        named["walking.network"] = scenario.walking.network
    root = Path(os.path.abspath(data_dir))
    for field, rel in named.items():
        # Judged on the text (no symlinks followed): the data owner may link folders in, but
        # a scenario must not climb out with '..' or an absolute path.
        target = Path(os.path.normpath(root / rel))
        if target != root and root not in target.parents:
            problems.append(
                f"field `{field}`: {shown(rel)} points outside the data directory {root}. Give a "
                "path relative to the data directory (no leading '/' and no '..'), or set "
                "SITING_DATA_DIR to the folder that holds the file."
            )
        elif not (data_dir / rel).exists():
            problems.append(f"field `{field}`: file {shown(rel)} not found in the data directory {data_dir}.")
    if scenario.origins and scenario.source is not None:
        origins_path = scenario.source.parent / scenario.origins
        if not origins_path.is_file():
            problems.append(
                f"field `origins`: file {origins_path} not found (paths are relative to the "
                "scenario file)."
            )
    if scenario.hubs.candidate_csv and scenario.source is not None:
        csv_path = scenario.source.parent / scenario.hubs.candidate_csv
        if not csv_path.is_file():
            problems.append(
                f"field `hubs.candidate_csv`: file {csv_path} not found (paths are relative to "
                "the scenario file)."
            )
    return problems
