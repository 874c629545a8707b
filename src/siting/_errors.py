"""One error hierarchy for siting: every user mistake becomes a SitingError with a fix."""

from __future__ import annotations

__all__ = [
    "DataError",
    "FeedError",
    "InfeasibleError",
    "ScenarioError",
    "SitingError",
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
