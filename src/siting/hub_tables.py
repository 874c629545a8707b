"""The hub model's input tables, validated: sites (cost, capacity) and wards (officers).

A bad value is a `DataError` naming the table, the row and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from siting._errors import DataError

__all__ = ["site_table", "ward_table"]


def _id_table(rows: pd.DataFrame | Sequence[str], what: str, column: str) -> pd.DataFrame:
    """A frame with a unique string id column, from a frame or a list of ids (DataError if not)."""
    frame = pd.DataFrame(rows) if isinstance(rows, pd.DataFrame) else pd.DataFrame({column: list(rows)})
    if column not in frame.columns:
        raise DataError(f"{what}: missing column '{column}'; found {', '.join(map(str, frame.columns))}.")
    frame = frame.assign(**{column: frame[column].astype(str)})
    if frame[column].duplicated().any():
        dup = frame.loc[frame[column].duplicated(), column].head(5).tolist()
        raise DataError(f"{what}: duplicate {column} {', '.join(dup)}; ids must be unique.")
    return frame


def site_table(sites: pd.DataFrame | Sequence[str]) -> pd.DataFrame:
    """site_id, cost, capacity (+ name, kind when given), validated."""
    frame = _id_table(sites, "sites", "site_id")
    cost = (pd.to_numeric(frame["cost"], errors="coerce") if "cost" in frame
            else pd.Series(1.0, index=frame.index)).to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(cost) | (cost < 0))
    if len(bad):
        i = int(bad[0])
        raise DataError(f"sites: site {frame['site_id'].iloc[i]} has cost {frame['cost'].iloc[i]}; "
                        "costs must be numbers >= 0.")
    capacity = (pd.to_numeric(frame["capacity"], errors="coerce") if "capacity" in frame
                else pd.Series(np.nan, index=frame.index)).to_numpy(dtype=float)
    if (capacity < 0).any():
        i = int(np.flatnonzero(capacity < 0)[0])
        raise DataError(f"sites: site {frame['site_id'].iloc[i]} has a negative capacity; use >= 0 "
                        "officers, or leave it empty for no limit.")
    out = frame.assign(cost=cost, capacity=capacity)
    keep = [c for c in ("site_id", "name", "kind", "cost", "capacity") if c in out.columns]
    return out[keep].sort_values("site_id", kind="stable").reset_index(drop=True)


def ward_table(wards: pd.DataFrame | Sequence[str], officers_per_ward: int) -> pd.DataFrame:
    """ward_code, officers (+ ward_name when given), validated."""
    frame = _id_table(wards, "wards", "ward_code")
    officers = (pd.to_numeric(frame["officers"], errors="coerce") if "officers" in frame
                else pd.Series(float(officers_per_ward), index=frame.index)).to_numpy(dtype=float)
    if not np.isfinite(officers).all() or (officers < 0).any() or not np.allclose(officers, np.round(officers)):
        raise DataError("wards: the officers column must hold whole numbers >= 0 "
                        "(2 DWOs + 1 PCSO = 3 per ward).")
    out = frame.assign(officers=np.round(officers).astype(np.int64))
    keep = [c for c in ("ward_code", "ward_name", "officers") if c in out.columns]
    return out[keep].sort_values("ward_code", kind="stable").reset_index(drop=True)
