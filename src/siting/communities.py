"""The communities the strategy names as far from a counter, and what the model gives for them.

The final strategy (November 2017) says Barnet town centre (Barnet) and Enfield Chase,
Cockfosters and Southgate (Enfield) are over an hour from their nearest counter after its
changes. `siting/facts/named_communities.csv` types that list into the project, with its
source and the ward each community is matched to; `named_community_figures` reads an
Analysis for those wards, so report.md and summary.json set the claim beside the model.
"""

from __future__ import annotations

import csv
import math
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from siting.analysis import MEASURES, Analysis

__all__ = ["NAMED_COMMUNITIES_FILE", "named_communities", "named_community_figures"]

NAMED_COMMUNITIES_FILE = "facts/named_communities.csv"
"""The list typed from the strategy, inside the siting package."""

_COLUMNS = ("community", "borough", "ward_code", "ward_name", "claim", "source", "ward_match")


@cache
def named_communities() -> tuple[dict[str, str], ...]:
    """The named communities as typed into siting/facts/named_communities.csv, in file order."""
    text = resources.files("siting").joinpath(NAMED_COMMUNITIES_FILE).read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    for index, row in enumerate(rows):
        missing = [c for c in _COLUMNS if not (row.get(c) or "").strip()]
        if missing:  # a packaging fault, not a user's input: the file ships with the code
            raise ValueError(f"siting/{NAMED_COMMUNITIES_FILE} row {index + 2}: empty {missing}")
    return tuple({c: row[c].strip() for c in _COLUMNS} for row in rows)


def _weighted(values: pd.Series, weights: pd.Series) -> float:
    """Population-weighted mean over the reachable LSOAs (as the ward minutes are)."""
    ok = values.notna().to_numpy()
    w = weights.to_numpy(dtype=float)[ok]
    v = values.to_numpy(dtype=float)[ok]
    if not ok.any():
        return math.nan
    return float(np.average(v, weights=w)) if w.sum() > 0 else float(v.mean())


def _minutes(value: float) -> float | None:
    return round(float(value), 2) if math.isfinite(value) else None


def named_community_figures(analysis: Analysis) -> list[dict[str, Any]]:
    """Per named community whose ward is in the analysis: the model's minutes to the nearest
    24/7 counter and to a counter open on arrival (ward: population-weighted mean of its LSOAs'
    median minutes; also each extra percentile, and the slowest LSOA), the counter most of the
    ward reaches, and whether the model agrees with the strategy that it is over 60 minutes."""
    wards = analysis.wards.set_index("ward_code")
    lsoas = analysis.lsoas
    names = dict(zip(analysis.counters["counter_id"], analysis.counters["name"], strict=True))
    out = []
    for row in named_communities():
        code = row["ward_code"]
        if code not in wards.index:
            continue
        ward = wards.loc[code]
        part = lsoas[lsoas["ward_code"] == code]
        figures: dict[str, Any] = {
            "community": row["community"], "borough": row["borough"], "ward_code": code,
            "ward_name": str(ward["ward_name"]), "ward_match": row["ward_match"],
            "claim": row["claim"], "source": row["source"],
            "population": int(part["population"].sum()),
        }
        for m in MEASURES:
            counter = str(ward[f"nearest_{m}_counter"])
            figures[m] = {
                "minutes": _minutes(float(ward[f"minutes_{m}"])),
                "nearest_counter": counter,
                "nearest_counter_name": names.get(counter, counter),
                "slowest_lsoa_minutes": _minutes(float(part[f"minutes_{m}"].max()))
                if part[f"minutes_{m}"].notna().any() else None,
                "percentiles": {
                    col.rsplit("_p", 1)[1]: _minutes(_weighted(part[col], part["population"]))
                    for col in sorted((c for c in part.columns if c.startswith(f"minutes_{m}_p")),
                                      key=lambda c: int(c.rsplit("_p", 1)[1]))
                },
            }
        minutes = figures["24h"]["minutes"]
        figures["model_over_60_minutes"] = minutes is None or minutes > 60
        out.append(figures)
    return out
