"""Walking model: crow-fly distance times a calibrated circuity factor, at a stated speed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

__all__ = ["DEFAULT_CIRCUITY", "WalkModel"]

DEFAULT_CIRCUITY = 1.283
"""Network / crow-fly distance ratio for walking in London (see calibrate_circuity)."""


@dataclass(frozen=True)
class WalkModel:
    """Crow-fly walking: minutes = distance_m * circuity / speed; coordinates in EPSG:27700."""

    speed_kmh: float = 4.8
    circuity: float = DEFAULT_CIRCUITY

    @property
    def metres_per_minute(self) -> float:
        """Walking speed along the street network, in metres per minute."""
        return self.speed_kmh * 1000.0 / 60.0

    def minutes(self, distance_m: np.ndarray | float) -> np.ndarray | float:
        """Walk minutes for crow-fly distances in metres."""
        return np.asarray(distance_m, dtype=float) * self.circuity / self.metres_per_minute

    def reach_m(self, max_minutes: float) -> float:
        """Crow-fly radius (metres) that can be walked within max_minutes."""
        return max_minutes * self.metres_per_minute / self.circuity

    def pairs_within(
        self,
        xy_from: np.ndarray,
        xy_to: np.ndarray,
        max_minutes: float,
    ) -> pd.DataFrame:
        """Sparse long table (i_from, i_to, metres, minutes) of pairs walkable within max_minutes.

        Uses a KD-tree so the cost grows with the number of close pairs, not with the product.
        """
        xy_from = np.asarray(xy_from, dtype=float).reshape(-1, 2)
        xy_to = np.asarray(xy_to, dtype=float).reshape(-1, 2)
        if len(xy_from) == 0 or len(xy_to) == 0:
            return pd.DataFrame(
                {"i_from": np.array([], dtype=np.int64), "i_to": np.array([], dtype=np.int64),
                 "metres": np.array([], dtype=float), "minutes": np.array([], dtype=float)}
            )
        # query_ball_point keeps zero-distance pairs, which a sparse distance matrix drops.
        hits = cKDTree(xy_to).query_ball_point(xy_from, self.reach_m(max_minutes))
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        i_from = np.repeat(np.arange(len(xy_from), dtype=np.int64), counts)
        i_to = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=int(counts.sum()))
        metres = np.hypot(*(xy_from[i_from] - xy_to[i_to]).T) if len(i_from) else np.array([])
        table = pd.DataFrame({"i_from": i_from, "i_to": i_to, "metres": metres})
        table["minutes"] = self.minutes(table["metres"].to_numpy())
        return table.sort_values(["i_from", "i_to"], kind="stable").reset_index(drop=True)
