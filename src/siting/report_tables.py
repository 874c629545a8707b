"""Report tables: summary.json's figures, the ward, LSOA, hub and borough tables, and their CSV."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._crs import WGS84
from siting.analysis import MEASURES, Analysis
from siting.check import counter_boroughs, is_over, population_share
from siting.communities import named_community_figures

__all__ = [
    "SHARE_MINUTES",
    "SUMMARY_DIGITS",
    "borough_table",
    "hub_table",
    "lsoa_table",
    "summary",
    "ward_csv",
    "ward_table",
    "weighted_median",
]

SHARE_MINUTES = (30, 45, 60)
"""Minutes for which summary() reports the share of people within reach."""

SUMMARY_DIGITS = 6
"""Decimals of summary.json's fractions (shares of the population): enough that a share just
under a constraint's threshold never rounds onto it (0.98996 stays 0.98996, not 0.99)."""

_TIMING = ("second", "time", "wall", "elapsed")
"""Solver-figure keys containing these words are timings, left out of deterministic outputs."""


# ---------------------------------------------------------------------------------------------
# Numbers


def weighted_median(values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray) -> float:
    """Population-weighted median: the smallest value with at least half the weight at or below it.

    Unreachable values (NaN) sort last; NaN when there is no weight or the median is unreachable.
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = w > 0
    v, w = np.where(np.isnan(v[keep]), np.inf, v[keep]), w[keep]
    if w.size == 0:
        return math.nan
    order = np.argsort(v, kind="stable")
    cumulative = np.cumsum(w[order])
    value = float(v[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])
    return value if math.isfinite(value) else math.nan


def _thresholds(analysis: Analysis) -> list[int]:
    return list(analysis.scenario.thresholds)


def _round(value: Any, digits: int = 4) -> Any:
    """JSON-able copy with numpy scalars unwrapped, floats rounded, NaN/inf as null."""
    if isinstance(value, Mapping):
        return {str(k): _round(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v, digits) for v in value]
    if isinstance(value, np.ndarray):
        return [_round(v, digits) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return round(value, digits) if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def _minutes(value: float) -> float | None:
    return round(float(value), 2) if math.isfinite(value) else None


def _without_timings(value: Any) -> Any:
    """A copy of (nested) solver figures without the keys that hold timings."""
    if isinstance(value, Mapping):
        return {k: _without_timings(v) for k, v in sorted(value.items())
                if not any(word in str(k).lower() for word in _TIMING)}
    return value


# ---------------------------------------------------------------------------------------------
# summary.json


def _measure_summary(analysis: Analysis, measure: str) -> dict[str, Any]:
    lsoas, wards = analysis.lsoas, analysis.wards
    population = lsoas["population"].to_numpy(dtype=float)
    lsoa_minutes = lsoas[f"minutes_{measure}"]
    ward_minutes = wards[f"minutes_{measure}"]
    shares = {str(n): population_share(lsoas, measure, n)
              for n in sorted({*SHARE_MINUTES, *_thresholds(analysis)})}
    over: dict[str, Any] = {}
    spread = analysis.draw_spread.get(measure, {})
    for t in _thresholds(analysis):
        flagged = wards[is_over(ward_minutes, t)].sort_values("ward_code", kind="stable")
        draws = {"draws": spread[str(t)]} if str(t) in spread else {}
        over[str(t)] = {
            **draws,
            "population": int(population[is_over(lsoa_minutes, t)].sum()),
            "wards": len(flagged),
            "population_of_wards": int(flagged["population"].sum()),
            "ward_list": [
                {"ward_code": code, "ward_name": name, "borough": borough, "minutes": _minutes(m)}
                for code, name, borough, m in zip(flagged["ward_code"], flagged["ward_name"],
                                                  flagged["borough"], flagged[f"minutes_{measure}"],
                                                  strict=True)
            ],
        }
    reachable = lsoa_minutes.notna().to_numpy()
    return {
        "share_within": shares,
        "over": over,
        "population_over": {t: v["population"] for t, v in over.items()},
        "median_minutes": _minutes(weighted_median(lsoa_minutes, population)),
        "unreachable_population": int(population[~reachable].sum()),
    }


def _wards_covered(analysis: Analysis) -> int:
    """Wards whose assigned hub is within the scenario's walk limit."""
    assignment = analysis.hub_assignment
    if assignment.empty:
        return 0
    within = ~is_over(assignment["minutes"], analysis.scenario.hubs.walk_limit_minutes)
    return int(assignment.loc[within, "ward_code"].nunique())


def summary(analysis: Analysis) -> dict[str, Any]:
    """The headline figures of an analysis as a JSON-able dict with no timings (deterministic)."""
    scenario = analysis.scenario
    hubs = analysis.hubs
    counters = analysis.counters
    by_status = {s: sorted(counters.loc[counters["status"] == s, "counter_id"])
                 for s in ("24h", "daytime", "closed")}
    return _round({
        "scenario": {"id": scenario.id, "title": scenario.title},
        "named_communities": named_community_figures(analysis),
        "population": int(analysis.lsoas["population"].sum()),
        "wards": len(analysis.wards),
        "lsoas": len(analysis.lsoas),
        "thresholds": _thresholds(analysis),
        "measures": {m: _measure_summary(analysis, m) for m in MEASURES},
        "assumptions": analysis.assumptions,
        "modes": analysis.modes,
        "validation": analysis.validation,
        "hubs": {
            "enabled": scenario.hubs.enabled,
            "count": len(hubs),
            "by_kind": {str(k): int(v) for k, v in sorted(hubs["kind"].value_counts().items())}
            if len(hubs) else {},
            "wards_covered": _wards_covered(analysis),
            "solver": _without_timings(analysis.hub_figures),
        },
        "counters": {
            "counts": {s: len(ids) for s, ids in by_status.items()},
            "open_24h": by_status["24h"],
            "open_daytime": by_status["daytime"],
        },
        "equity": getattr(analysis, "equity", {}),
    }, SUMMARY_DIGITS)


# ---------------------------------------------------------------------------------------------
# Tables


def _flags(frame: pd.DataFrame, thresholds: Sequence[int]) -> dict[str, np.ndarray]:
    return {f"over_{t}_{m}": is_over(frame[f"minutes_{m}"], t) for m in MEASURES for t in thresholds}


def ward_table(analysis: Analysis) -> pd.DataFrame:
    """One row per ward: minutes and nearest counter per measure, threshold flags, its hub."""
    w = analysis.wards.sort_values("ward_code", kind="stable")
    columns: dict[str, Any] = {
        "ward_code": w["ward_code"].to_numpy(),
        "ward_name": w["ward_name"].to_numpy(),
        "borough": w["borough"].to_numpy(),
        "population": w["population"].to_numpy(dtype=np.int64),
    }
    for m in MEASURES:
        columns[f"minutes_{m}"] = w[f"minutes_{m}"].to_numpy(dtype=float)
        columns[f"nearest_{m}_counter"] = w[f"nearest_{m}_counter"].to_numpy()
    columns.update(_flags(w, _thresholds(analysis)))
    for col in ("hub_site_id", "hub_name"):
        columns[col] = w[col].to_numpy() if col in w else np.full(len(w), None)
    columns["hub_walk_minutes"] = (w["hub_walk_minutes"].to_numpy(dtype=float)
                                   if "hub_walk_minutes" in w else np.full(len(w), np.nan))
    columns.update(_journey_columns(w))
    return pd.DataFrame(columns)


def _journey_columns(frame: pd.DataFrame) -> dict[str, Any]:
    """The median-journey breakdown columns (siting.journeys), in measure order, when present."""
    return {c: frame[c].to_numpy() for m in MEASURES for c in frame.columns
            if c.startswith(f"journey_{m}_")}


def lsoa_table(analysis: Analysis) -> pd.DataFrame:
    """One row per LSOA: its ward and borough, minutes per measure (and percentile), flags."""
    lsoas = analysis.lsoas.sort_values("lsoa_code", kind="stable")
    names = dict(zip(analysis.boroughs["borough_code"], analysis.boroughs["borough"], strict=True))
    columns: dict[str, Any] = {
        "lsoa_code": lsoas["lsoa_code"].to_numpy(),
        "lsoa_name": lsoas["lsoa_name"].to_numpy(),
        "ward_code": lsoas["ward_code"].to_numpy(),
        "borough": lsoas["borough_code"].map(names).to_numpy(),
        "population": lsoas["population"].to_numpy(dtype=np.int64),
    }
    for m in MEASURES:
        columns[f"minutes_{m}"] = lsoas[f"minutes_{m}"].to_numpy(dtype=float)
        columns[f"nearest_{m}_counter"] = lsoas[f"nearest_{m}_counter"].to_numpy()
        extra = sorted((c for c in lsoas.columns if c.startswith(f"minutes_{m}_p")),
                       key=lambda c: int(c.rsplit("_p", 1)[1]))
        for col in extra:
            columns[col] = lsoas[col].to_numpy(dtype=float)
    columns.update(_flags(lsoas, _thresholds(analysis)))
    columns.update(_journey_columns(lsoas))
    return pd.DataFrame(columns)


def hub_table(analysis: Analysis) -> pd.DataFrame:
    """One row per open hub: id, name, kind, WGS84 lon/lat, BNG easting/northing, cost, load."""
    hubs = analysis.hubs.sort_values("site_id", kind="stable")
    columns = ["site_id", "name", "kind", "lon", "lat", "easting", "northing", "cost",
               "wards_served", "officers"]
    if hubs.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    lonlat = hubs.geometry.to_crs(WGS84)
    return pd.DataFrame({
        "site_id": hubs["site_id"].to_numpy(),
        "name": hubs["name"].to_numpy(),
        "kind": hubs["kind"].to_numpy(),
        "lon": lonlat.x.round(6).to_numpy(),
        "lat": lonlat.y.round(6).to_numpy(),
        "easting": hubs.geometry.x.round(1).to_numpy(),
        "northing": hubs.geometry.y.round(1).to_numpy(),
        "cost": hubs["cost"].to_numpy(dtype=float),
        "wards_served": hubs["wards_served"].to_numpy(dtype=np.int64),
        "officers": hubs["officers"].to_numpy(),
    })[columns]


def _hub_boroughs(analysis: Analysis) -> pd.Series:
    """Borough code of each hub (the borough it stands in, else the nearest one)."""
    hubs = analysis.hubs
    if hubs.empty:
        return pd.Series(dtype=object)
    points = gpd.GeoDataFrame({"site_id": hubs["site_id"].to_numpy()},
                              geometry=hubs.geometry.to_numpy(), crs=hubs.crs)
    joined = gpd.sjoin_nearest(points, analysis.boroughs[["borough_code", "geometry"]], how="left")
    joined = joined.sort_values(["site_id", "borough_code"], kind="stable")
    return joined.drop_duplicates("site_id").set_index("site_id")["borough_code"]


def borough_table(analysis: Analysis) -> pd.DataFrame:
    """One row per borough: people, weighted median minutes and people over each threshold,
    counters by status and hubs standing in it; ends with a London row."""
    lsoas = analysis.lsoas
    population = lsoas["population"].to_numpy(dtype=float)
    minutes = {m: lsoas[f"minutes_{m}"].to_numpy(dtype=float) for m in MEASURES}
    # each borough's LSOA positions in one pass (in table order, as a mask per borough gave)
    where = lsoas.groupby("borough_code", sort=False).indices
    thresholds = _thresholds(analysis)
    boroughs = analysis.boroughs.sort_values("borough", kind="stable")
    hub_boroughs = _hub_boroughs(analysis).value_counts()
    status = analysis.counters["status"].to_numpy()
    counter_codes = counter_boroughs(analysis.counters).to_numpy()
    wards_per = analysis.wards.groupby("borough_code")["ward_code"].count()

    def row(code: str | None, name: str, rows: np.ndarray | slice) -> dict[str, Any]:
        pop = population[rows]
        out: dict[str, Any] = {"borough_code": code or "", "borough": name,
                               "population": int(pop.sum()),
                               "wards": int(wards_per.get(code, 0)) if code else int(wards_per.sum())}
        for m in MEASURES:
            out[f"median_minutes_{m}"] = weighted_median(minutes[m][rows], pop)
        for m in MEASURES:
            for t in thresholds:
                out[f"pop_over_{t}_{m}"] = int(pop[is_over(minutes[m][rows], t)].sum())
        sel = status if code is None else status[counter_codes == code]
        out["counters_24h"] = int((sel == "24h").sum())
        out["counters_daytime"] = int((sel == "daytime").sum())
        out["hubs"] = int(hub_boroughs.sum()) if code is None else int(hub_boroughs.get(code, 0))
        return out

    none = np.zeros(0, dtype=np.int64)
    rows = [row(code, name, where.get(code, none))
            for code, name in zip(boroughs["borough_code"], boroughs["borough"], strict=True)]
    rows.append(row(None, "London", slice(None)))
    return pd.DataFrame(rows)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""Cell starts a spreadsheet reads as a formula (OWASP CSV injection)."""

_NAME_COLUMNS = ("ward_name", "borough", "lsoa_name", "name", "hub_name")
"""Text columns that come from the data, where a name could be a formula."""


def _csv(frame: pd.DataFrame, float_digits: Mapping[str, int]) -> str:
    """CSV text with fixed float formats per column, empty cells for NaN, '\\n' line ends.

    A name that a spreadsheet would run as a formula ('=HYPERLINK(...)') gets a leading "'",
    the usual guard, so opening the CSV shows the text."""
    out = frame.copy()
    for col in _NAME_COLUMNS:
        if col in out:
            out[col] = [f"'{v}" if isinstance(v, str) and v.startswith(_FORMULA_START) else v
                        for v in out[col]]
    for col, digits in float_digits.items():
        if col in out:
            values = np.asarray(out[col].to_numpy(dtype=object, na_value=None), dtype=float)  # type: ignore[type-var, call-overload]
            texts = np.char.mod(f"%.{digits}f", values).astype(object)  # as f"{v:.{digits}f}"
            texts[np.isnan(values)] = ""
            out[col] = texts
    return out.to_csv(index=False, lineterminator="\n")


def _minute_columns(frame: pd.DataFrame) -> dict[str, int]:
    return {c: 2 for c in frame.columns if c.startswith(("minutes_", "median_minutes_"))
            or c == "hub_walk_minutes"
            or (c.startswith("journey_") and (c.endswith("_min") or (
                c.endswith("_changes") and frame[c].dtype.kind == "f")))}


def ward_csv(analysis: Analysis) -> str:
    """The text of wards.csv (the map carries the same table for download)."""
    wards = ward_table(analysis)
    return _csv(wards, _minute_columns(wards))
