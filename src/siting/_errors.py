"""One error hierarchy for siting: every user mistake becomes a SitingError with a fix."""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = [
    "ECHO_LIMIT",
    "MESSAGE_LIMIT",
    "DataError",
    "FeedError",
    "InfeasibleError",
    "NoConnectionsError",
    "NoServiceOnDateError",
    "OutputError",
    "ScenarioError",
    "ServiceError",
    "SitingError",
    "StudyAreaNotServedError",
    "WindowOutsideServiceError",
    "clip",
    "shown",
]

ECHO_LIMIT = 80
"""Most characters of a user's value repeated in an error message (longer ones end in '…')."""

_REPR = reprlib.Repr()
_REPR.maxstring = ECHO_LIMIT + 2
_REPR.maxother = ECHO_LIMIT
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = _REPR.maxarray = 6
_REPR.maxlevel = 3


def shown(value: Any, limit: int = ECHO_LIMIT) -> str:
    """The repr of a user's value for an error message, capped at `limit` characters.

    reprlib stops after a few items per level, so even an alias bomb (one object shared a
    billion times) is described in constant time instead of being expanded into the message.
    """
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


MESSAGE_LIMIT = 3000
"""Longest error message: a safety net for echoes not capped where they are made."""


class SitingError(Exception):
    """Base class: a problem the user can fix; the CLI prints it and exits with code 2."""

    exit_code = 2

    def __str__(self) -> str:
        text = super().__str__()
        if len(text) <= MESSAGE_LIMIT:
            return text
        # Keep the start (file, field) and the end (the fix); drop an echoed value's middle.
        head, tail = MESSAGE_LIMIT * 2 // 3, MESSAGE_LIMIT // 3 - 40
        return f"{text[:head]} … ({len(text) - head - tail:,} characters left out) … {text[-tail:]}"


class ScenarioError(ValueError, SitingError):
    """A scenario file is malformed or names something that does not exist."""


class DataError(ValueError, SitingError):
    """An input data file is missing, lacks a column, or has a bad CRS or geometry."""


class FeedError(ValueError, SitingError):
    """A GTFS feed is missing a file or column, or has inconsistent rows."""


class OutputError(OSError, SitingError):
    """An output cannot be written: the target is a file or unwritable, or a write failed."""

    exit_code = 2


class InfeasibleError(SitingError):
    """A model has no solution under the scenario's constraints; the message says why."""


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """Text on one line, cut to `limit` characters with an ellipsis (for echoed names and errors)."""
    text = " ".join(str(text).split())  # one paragraph: no newlines from the echoed text
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
