"""Scenario constraints: the promises a scenario makes, as the models `siting check` tests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = [
    "CONSTRAINT_KINDS",
    "Constraint",
    "CounterPerBorough",
    "Expect",
    "Expectation",
    "HubsCoverAllWards",
    "MaxHubs",
    "Measure",
    "NoWardOver",
    "PopulationOver",
    "Share",
    "ShareOver",
    "ShareWithin",
]

Measure = Literal["24h", "any"]


# The base of every scenario model: here, below siting.scenario, which imports it.
class _Strict(BaseModel):
    """Base model: unknown keys are errors and objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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

