"""A median journey's breakdown in words, for the map's cards and tooltips.

Kept apart from `siting.journeys` (the forward scan that computes the breakdown), so showing a
stored Analysis does not load the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["describe"]


def describe(row: Mapping[str, Any]) -> str:
    """A journey in words, e.g. '12 min walk, 6 wait, 18 on the 263, 1 change'."""
    walk = row.get("walk_min")
    if walk is None or not np.isfinite(float(walk)):
        return "no route"
    parts = [f"{float(walk):.0f} min walk"]
    route = str(row.get("first_route") or "")
    if float(row.get("ride_min", 0)) > 0 or route:
        parts.append(f"{float(row['wait_min']):.0f} wait")
        ride = f"{float(row['ride_min']):.0f}"
        parts.append(f"{ride} on the {route}" if route else f"{ride} riding")
        changes = round(float(row.get("changes", 0)))
        parts.append(f"{changes} change{'s' if changes != 1 else ''}")
    elif float(row.get("wait_min", 0)) >= 0.5:
        parts.append(f"{float(row['wait_min']):.0f} wait")
    return ", ".join(parts)
