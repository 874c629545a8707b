"""One error hierarchy for siting: every user mistake becomes a SitingError with a fix."""

from __future__ import annotations

__all__ = [
    "DataError",
    "FeedError",
    "InfeasibleError",
    "NoConnectionsError",
    "NoServiceOnDateError",
    "ScenarioError",
    "ServiceError",
    "SitingError",
    "StudyAreaNotServedError",
    "WindowOutsideServiceError",
]


class SitingError(Exception):
    """Base class: a problem the user can fix; the CLI prints it and exits with code 2."""

    exit_code = 2


class ScenarioError(ValueError, SitingError):
    """A scenario file is malformed or names something that does not exist."""


class DataError(ValueError, SitingError):
    """An input data file is missing, lacks a column, or has a bad CRS or geometry."""


class FeedError(ValueError, SitingError):
    """A GTFS feed is missing a file or column, or has inconsistent rows."""


class InfeasibleError(SitingError):
    """A model has no solution under the scenario's constraints; the message says why."""


class ServiceError(FeedError):
    """A feed cannot support the scenario's travel times (checked before computing them)."""


class NoServiceOnDateError(ServiceError):
    """The service date is outside the feed's calendar, or no trip runs on it."""


class WindowOutsideServiceError(ServiceError):
    """The departure window does not overlap the feed's service hours on the service date."""


class StudyAreaNotServedError(ServiceError):
    """No ward of the study area has a stop of the feed within the walking access limit."""


class NoConnectionsError(ServiceError):
    """The network has no vehicle departures in the departure window."""
