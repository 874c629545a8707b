"""Report stage: turn an Analysis into tables, summary.json and a planner's report, byte-identical.

Every output reads only the Analysis (and constraint results from `siting.check`). Minutes are
over a threshold when above it or unreachable (`siting.check.is_over`); shares and population
over thresholds are counted per LSOA (the smallest area with a population), wards are flagged
on their population-weighted minutes.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._atomic import OutputSet
from siting._crs import WGS84
from siting._format import md_code, md_text, minutes_pair, percent
from siting.analysis import MEASURES, Analysis
from siting.check import ConstraintResult, counter_boroughs, is_over, population_share
from siting.communities import named_community_figures

__all__ = [
    "GEO_OUTPUT_FILES",
    "OUTPUT_FILES",
    "SHARE_MINUTES",
    "SUMMARY_DIGITS",
    "borough_table",
    "hub_table",
    "lsoa_table",
    "render_markdown",
    "summary",
    "ward_table",
    "weighted_median",
    "write_outputs",
]

SHARE_MINUTES = (30, 45, 60)
"""Minutes for which summary() reports the share of people within reach."""

OUTPUT_FILES = ("wards.csv", "lsoas.csv", "hubs.csv", "boroughs.csv", "summary.json", "report.md")
"""The files write_outputs() puts in the output folder, in this order."""

GEO_OUTPUT_FILES = tuple(f"{layer}.{ext}" for layer in ("wards", "lsoas", "hubs")
                         for ext in ("parquet", "gpkg"))
"""GeoParquet and GeoPackage copies of the ward, LSOA and hub tables (EPSG:27700), written after
OUTPUT_FILES (siting.geofiles)."""

_MAX_LISTED = 50
"""Most wards or boroughs named per broken constraint in report.md (all are in summary.json)."""

_FOLD_AFTER = 12
"""Assumption groups with more entries than this are folded in report.md."""

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
    for t in _thresholds(analysis):
        flagged = wards[is_over(ward_minutes, t)].sort_values("ward_code", kind="stable")
        over[str(t)] = {
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
            values = np.asarray(out[col].to_numpy(dtype=object, na_value=None), dtype=float)
            texts = np.char.mod(f"%.{digits}f", values).astype(object)  # as f"{v:.{digits}f}"
            texts[np.isnan(values)] = ""
            out[col] = texts
    return out.to_csv(index=False, lineterminator="\n")


def _minute_columns(frame: pd.DataFrame) -> dict[str, int]:
    return {c: 2 for c in frame.columns if c.startswith(("minutes_", "median_minutes_"))
            or c == "hub_walk_minutes"
            or (c.startswith("journey_") and (c.endswith("_min") or (
                c.endswith("_changes") and frame[c].dtype.kind == "f")))}


# ---------------------------------------------------------------------------------------------
# report.md


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str) -> list[str]:
    """Markdown table lines; `align` has one letter per column, 'l' or 'r'. Cells are written
    as given: text from scenarios or data must come through md_text/md_code first."""
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return lines


def _fmt_minutes(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else "n/a"


def _describe(value: Any) -> str:
    if value is None or value in ([], {}, ""):
        return "(none)"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_describe(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_describe(v) for v in value)
    return str(value)


def _bullets(mapping: Mapping[str, Any], depth: int = 0) -> list[str]:
    """Nested Markdown bullets, keys sorted; nested mappings become nested lists."""
    lines = []
    for key in sorted(mapping, key=str):
        value = _round(mapping[key], 4)
        pad = "  " * depth
        if isinstance(value, Mapping) and value:
            lines.append(f"{pad}- **{md_text(key)}**:")
            lines += _bullets(value, depth + 1)
        else:
            lines.append(f"{pad}- **{md_text(key)}**: {md_text(_describe(value))}")
    return lines


def _assumptions(assumptions: Mapping[str, Any]) -> list[str]:
    """Assumption bullets; a group with many entries is folded into a <details> block."""
    if not assumptions:
        return ["- (none recorded)"]
    short = {k: v for k, v in assumptions.items()
             if not (isinstance(v, Mapping) and len(v) > _FOLD_AFTER)}
    lines = _bullets(short)
    for key in sorted(set(assumptions) - set(short), key=str):
        lines += ["", f"<details><summary>{md_text(key)} ({len(assumptions[key])} settings)</summary>",
                  "",
                  *_bullets(assumptions[key]), "", "</details>"]
    return lines


def _travel_model(assumptions: Mapping[str, Any]) -> list[str]:
    """The feed's dates and hours, the share of wards it serves, and the waiting, changing and
    walking settings, stated in sentences (the same settings apply to every feed)."""
    model = assumptions.get("travel_model")
    if not model:
        return ["- (not recorded)"]
    transit = assumptions.get("transit", {})
    service = assumptions.get("feed_service", {})
    area = assumptions.get("study_area", {})
    lines = []
    if service.get("calendar"):
        cal = service["calendar"]
        lines.append(f"- **Feed**: {md_text(service['feed'])}; its calendar runs {cal['first_date']} to "
                     f"{cal['last_date']} (busiest date {service['busiest_date']}). On the "
                     f"service date {service['service_date']}, {service['trips_on_service_date']:,} "
                     f"trips run and trips depart {service['service_hours']} (first and last "
                     "departure from a trip's first stop).")
    else:
        lines.append(f"- **Feed**: {md_text(service.get('feed', 'none'))}: a walk-only study, asked for "
                     "by the scenario (`transit.feed: none`).")
    lines.append(f"- **Departure window**: {transit.get('departure_window')}, every "
                 f"{transit.get('step_minutes')} min; figures are percentiles over the window's "
                 "departure minutes" + (f" and {model['draws']} seeded draws (seed {model['seed']}) "
                                        "of frequency-based trips' phases"
                                        if model.get("draws") else "") + ".")
    beyond = _beyond(transit.get("departure_window"), service)
    if beyond:
        lines.append(f"- **Window outside service**: the window {beyond}; those minutes can only "
                     "use trips already under way, or walk.")
    if "wards_served" in area:
        lines.append(f"- **Study area served**: {area['wards_served']} of {area['wards']} wards "
                     f"({100 * area['share_wards_served']:.1f}%) and "
                     f"{100 * area['share_population_served']:.1f}% of people live within the "
                     f"access limit of a stop served in the window ({area['access_radius_m']:.0f} m "
                     "crow-fly from an LSOA's population-weighted centroid).")
    types = service.get("route_types") or []
    reliability = model["reliability_minutes"]
    used = sorted({_mode_of(t, reliability) for t in types} - {None}) or sorted(reliability)
    allowances = ", ".join(f"{m} {reliability[m]:g}" for m in used)
    lines.append(f"- **Reliability allowance** (minutes at the stop before a vehicle departs): "
                 f"{allowances}. Source: {model['reliability_source']}.")
    lines.append(f"- **Change of vehicle**: {model['change_minutes']:g} min, plus any walk between "
                 f"stops of up to {model['transfer_max_walk_minutes']:g} min ({model['change_source']}).")
    lines.append(f"- **Walking**: {model['walk_speed_kmh']:g} km/h on crow-fly distance times "
                 f"{model['walk_circuity']:g} ({model['walk_circuity_source']}); at most "
                 f"{model['access_limit_minutes']:g} min to the first stop and from the last. "
                 f"Source: {model['walking_source']}.")
    lines.append("- These settings apply in the same way to a user's GTFS feed and to the "
                 "modelled London network.")
    return lines


def _beyond(window: str | None, service: Mapping[str, Any]) -> str | None:
    from siting.network.service import window_beyond_service
    from siting.scenario import parse_window

    if not window:
        return None
    return window_beyond_service(service.get("first_departure_s"), service.get("last_departure_s"),
                                 parse_window(window))


def _mode_of(route_type: int, reliability: Mapping[str, float]) -> str | None:
    from siting.scenario import route_type_mode

    return str(route_type) if str(route_type) in reliability else route_type_mode(int(route_type))


def _gaps(modes: Mapping[str, Any]) -> list[str]:
    """Bullets for what the network lacks (modes['missing']: a list of {mode, why}, a dict, text)."""
    missing = modes.get("missing")
    if not missing:
        return ["- None recorded."]
    if isinstance(missing, Mapping):
        return [f"- **{md_text(k)}**: {md_text(_describe(v))}" for k, v in sorted(missing.items())]
    if isinstance(missing, (list, tuple)):
        return [f"- **{md_text(v['mode'])}**: {md_text(v.get('why', ''))}".rstrip(": ")
                if isinstance(v, Mapping) and "mode" in v else f"- {md_text(_describe(v))}"
                for v in missing]
    return [f"- {md_text(missing)}"]


def _modelled(modes: Mapping[str, Any]) -> list[str]:
    """The modes the network has: a table when modes['modes'] describes each, then other facts."""
    lines: list[str] = []
    per_mode = modes.get("modes")
    if isinstance(per_mode, Mapping) and all(isinstance(v, Mapping) for v in per_mode.values()):
        rows = [[md_text(mode), "yes" if info.get("modelled", True) else "no",
                 *(md_text(_describe(v)) for v in (info.get("how"), info.get("routes"),
                                                   info.get("stops"),
                                                   _round(info.get("median_headway_min"), 1)))]
                for mode, info in sorted(per_mode.items())]
        lines += _md_table(["mode", "modelled", "how", "routes", "stops", "median headway (min)"],
                           rows, "lllrrr")
    others = {k: v for k, v in modes.items() if k not in ("missing", "modes")
              and not (k == "modes" and isinstance(per_mode, Mapping))}
    if isinstance(per_mode, Mapping) and not lines:
        others["modes"] = per_mode
    if others:
        lines += ["", *_bullets(others)] if lines else _bullets(others)
    return lines


def _wards_over(facts: Mapping[str, Any], thresholds: Sequence[int],
                measure_names: Mapping[str, str]) -> list[str]:
    """Per measure, every ward over the lowest threshold, with the highest threshold it is over;
    minutes printed so that a time over a threshold never reads as it (45.04, not 45.0)."""
    if not thresholds:
        return []
    low = thresholds[0]
    lines: list[str] = []
    for m in MEASURES:
        listed = facts["measures"][m]["over"][str(low)]["ward_list"]
        lines += ["", f"## Wards over {low} minutes ({measure_names[m]})", ""]
        if not listed:
            lines.append("None.")
            continue
        lines += ["Ward minutes: population-weighted mean of its LSOAs' median minutes.", ""]
        ordered = sorted(listed, key=lambda w: (w["borough"], w["ward_name"], w["ward_code"]))
        rows = []
        for w in ordered:
            over = [t for t in thresholds if w["minutes"] is None or w["minutes"] > t]
            rows.append([md_text(w["borough"]), md_text(w["ward_name"]), md_text(w["ward_code"]),
                         minutes_pair(w["minutes"], thresholds), f"over {max(over or [low])}"])
        lines += _md_table(["borough", "ward", "code", "minutes", "band"], rows, "lllrl")
    return lines


def _uncovered_section(analysis: Analysis) -> list[str]:
    """The wards no candidate hub site reaches within the walk limit, each with its nearest
    candidate and the limit that would cover it (from the hub model)."""
    rows = analysis.hub_figures.get("uncovered_wards") or []
    if not analysis.scenario.hubs.enabled or not rows:
        return []
    limit = analysis.scenario.hubs.walk_limit_minutes
    borough = dict(zip(analysis.wards["ward_code"], analysis.wards["borough"], strict=True))
    lines = ["", f"## Wards with no DWO hub within a {limit:g}-minute walk", "",
             f"No candidate site lies within a {limit:g}-minute walk of these wards, so the plan "
             "leaves them without a hub. Each needs a site the candidate data lacks (e.g. a partner "
             "site), or a longer walk.", ""]
    table = [[md_text(borough.get(r["ward_code"], "")), md_text(r["ward_name"]),
              md_text(r["ward_code"]),
              md_text(f"{r['nearest_name']} ({r['nearest_site_id']})")
              if r.get("nearest_site_id") else "none",
              minutes_pair(r.get("nearest_minutes"), limit),
              minutes_pair(r.get("limit_needed"), limit)] for r in rows]
    return lines + _md_table(["borough", "ward", "code", "nearest candidate", "walk (min)",
                              "limit that would cover it (min)"], table, "llllrr")


def _named_section(facts: Mapping[str, Any]) -> list[str]:
    """The communities the strategy names as over an hour away, beside the model's minutes."""
    named = facts.get("named_communities") or []
    if not named:
        return []
    first = named[0]
    lines = ["", "## Communities the strategy names", "",
             f"The {md_text(first['source'])} says these communities are "
             f"{md_text(first['claim'])}. The model's figures for the ward each is matched to "
             "(siting/facts/named_communities.csv gives the source and the match):", ""]
    percentiles = sorted({p for c in named for p in c["24h"]["percentiles"]}, key=int)
    rows = []
    for c in named:
        m = c["24h"]
        rows.append([md_text(c["community"]), md_text(f"{c['ward_name']} ({c['ward_code']})"),
                     md_text(c["borough"]), minutes_pair(m["minutes"], 60),
                     *(minutes_pair(m["percentiles"].get(p), 60) for p in percentiles),
                     minutes_pair(m["slowest_lsoa_minutes"], 60),
                     md_text(m["nearest_counter_name"]),
                     "yes" if c["model_over_60_minutes"] else "no"])
    lines += _md_table(["community", "ward", "borough", "minutes (p50)",
                        *(f"p{p} minutes" for p in percentiles), "slowest LSOA",
                        "nearest 24/7 counter", "over an hour in the model"], rows,
                       "lll" + "r" * (2 + len(percentiles)) + "ll")
    lines += ["", "Minutes are to the nearest 24/7 counter: the ward's population-weighted mean of "
              "its LSOAs' figures over the departure window. docs/named-communities.md gives which "
              "assumptions, windows and counter sets would put them over an hour."]
    return lines


def _name(name: str) -> str:
    """A constraint name: as code when it is plain (letters, digits, - _ . : /), else escaped."""
    return md_code(name) if re.fullmatch(r"[\w.:/-]+", name) else md_text(name)


def _constraint_section(results: Sequence[ConstraintResult] | None) -> list[str]:
    """The constraint table, each recorded finding with its reason, and what breaks each."""
    if results is None:
        return ["Not checked (run `siting check`)."]
    if not results:
        return ["The scenario sets no constraints."]
    met = sum(r.passed for r in results)
    recorded = sum(not r.passed and r.expect == "unmet" for r in results)
    lines = [f"{met} of {len(results)} constraints met"
             + (f"; {recorded} unmet as recorded (expected findings)" if recorded else "") + ".",
             ""]
    words = {"PASS": "pass", "FAIL": "**FAIL**", "UNMET (expected)": "unmet (expected)",
             "MET (review)": "**met (review)**"}
    lines += _md_table(["result", "constraint", "what it asks", "required", "actual"],
                       [[words[r.status], _name(r.name), md_text(r.sentence),
                         md_text(r.required), md_text(r.actual)] for r in results], "lllll")
    for r in results:
        notes = []
        if r.reading:
            notes.append(f"Reading: {md_text(r.reading)}")
        if r.expect == "unmet":
            notes.append(f"Recorded as unmet because: {md_text(r.because)}"
                         + (" It now holds: a modelling change to review." if r.passed else ""))
        if r.breaking:
            shown = "; ".join(md_text(b) for b in r.breaking[:_MAX_LISTED])
            more = (f" and {len(r.breaking) - _MAX_LISTED} more"
                    if len(r.breaking) > _MAX_LISTED else "")
            notes.append(f"Broken by {len(r.breaking)}: {shown}{more}.")
        if notes:
            lines += ["", f"{_name(r.name)}: " + " ".join(notes)]
    return lines


def render_markdown(
    analysis: Analysis, *, constraint_results: Sequence[ConstraintResult] | None = None,
    facts: Mapping[str, Any] | None = None, boroughs: pd.DataFrame | None = None,
) -> str:
    """The planner's report: headline, per-borough table, wards over each threshold, wards
    without a hub, the communities the strategy names, assumptions, known gaps of the data,
    and constraint results. Every text from a scenario or the data is escaped (md_text), so a
    viewer that renders HTML shows it and never runs it."""
    scenario = analysis.scenario
    facts = facts if facts is not None else summary(analysis)
    table = boroughs if boroughs is not None else borough_table(analysis)
    thresholds = _thresholds(analysis)
    measure_names = {"24h": "nearest 24/7 counter", "any": "nearest counter open on arrival"}
    lines = [f"# {md_text(scenario.title)}", "", f"Scenario {md_code(scenario.id)}."]
    if scenario.description:
        lines += ["", md_text(scenario.description.strip())]
    lines += ["", "## Headline", ""]
    lines.append(f"Population: {facts['population']:,} in {facts['wards']} wards "
                 f"({facts['lsoas']:,} LSOAs). Public-transport minutes from each LSOA's "
                 "population-weighted centroid.")
    lines.append("")
    share_keys = sorted(facts["measures"]["24h"]["share_within"], key=int)
    header = ["measure", *(f"within {k} min" for k in share_keys),
              *(f"people over {t} min" for t in thresholds),
              *(f"wards over {t} min" for t in thresholds)]
    rows = []
    for m in MEASURES:
        f = facts["measures"][m]
        rows.append([measure_names[m],
                     # from the exact share, by the one rounding rule (siting._format)
                     *(percent(population_share(analysis.lsoas, m, int(k))) for k in share_keys),
                     *(f"{f['over'][str(t)]['population']:,}" for t in thresholds),
                     *(str(f["over"][str(t)]["wards"]) for t in thresholds)])
    lines += _md_table(header, rows, "l" + "r" * (len(header) - 1))
    counts = facts["counters"]["counts"]
    lines += ["", f"Counters: {counts['24h']} open 24/7, {counts['daytime']} open daytime only, "
              f"{counts['closed']} closed."]
    hubs = facts["hubs"]
    if hubs["enabled"]:
        kinds = ", ".join(f"{n} {md_text(k)}" for k, n in hubs["by_kind"].items()) or "none"
        lines.append(f"DWO hubs: {hubs['count']} ({kinds}), within a "
                     f"{scenario.hubs.walk_limit_minutes:g}-minute walk of {hubs['wards_covered']} "
                     f"of the {facts['wards']} wards.")
    else:
        lines.append("DWO hubs: not sited in this scenario.")

    lines += ["", "## By borough", "",
              "Median: population-weighted median of LSOA minutes. People over: residents of LSOAs "
              "above the threshold (or with no route). Hubs: DWO hubs standing in the borough.", ""]
    header = ["borough", "population",
              *(f"median {m}" for m in MEASURES),
              *(f"over {t} {m}" for m in MEASURES for t in thresholds),
              "24/7 counters", "hubs"]
    rows = []
    for r in table.to_dict("records"):
        name = f"**{md_text(r['borough'])}**" if not r["borough_code"] else md_text(r["borough"])
        rows.append([name, f"{r['population']:,}",
                     *(_fmt_minutes(r[f"median_minutes_{m}"]) for m in MEASURES),
                     *(f"{r[f'pop_over_{t}_{m}']:,}" for m in MEASURES for t in thresholds),
                     r["counters_24h"], r["hubs"]])
    lines += _md_table(header, rows, "l" + "r" * (len(header) - 1))

    lines += _wards_over(facts, thresholds, measure_names)
    lines += _uncovered_section(analysis)
    lines += _named_section(facts)

    if analysis.validation:
        lines += ["", "## Checks against independent data", "",
                  "Spearman rank correlations over the wards (PTAI: TfL's 2015 public transport "
                  "access index; better access should mean shorter trips, so negative):", ""]
        lines += [f"- {md_text(key.replace('_', ' '))}: {value:+.3f}"
                  for key, value in sorted(analysis.validation.items())]
    if getattr(analysis, "equity", None):
        from siting.equity import render_equity

        lines += ["", *render_equity(facts.get("equity", analysis.equity), thresholds)]
    lines += ["", "## How travel times are counted", "", *_travel_model(analysis.assumptions)]
    lines += ["", "## Assumptions", "", *_assumptions(analysis.assumptions)]
    lines += ["", "## Known gaps in the data", "", "Not modelled:", "", *_gaps(analysis.modes)]
    modelled = _modelled(analysis.modes)
    if modelled:
        lines += ["", "Modelled:", "", *modelled]

    lines += ["", "## Constraints", ""]
    lines += _constraint_section(constraint_results)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Writing


def _build(analysis: Analysis, constraint_results: Sequence[ConstraintResult] | None
           ) -> dict[str, str]:
    """Output file name -> its text, in OUTPUT_FILES order."""
    facts = summary(analysis)
    if constraint_results is not None:
        facts["constraints"] = [
            {"name": r.name, "kind": r.kind, "passed": r.passed, "required": r.required,
             "actual": r.actual, "breaking": list(r.breaking), "expect": r.expect,
             "because": r.because, "ok": r.ok, "sentence": r.sentence, "reading": r.reading}
            for r in constraint_results
        ]
    boroughs = borough_table(analysis)
    lsoas, hubs = lsoa_table(analysis), hub_table(analysis)
    return {
        "wards.csv": ward_csv(analysis),
        "lsoas.csv": _csv(lsoas, _minute_columns(lsoas)),
        "hubs.csv": _csv(hubs, {"lon": 6, "lat": 6, "easting": 1, "northing": 1, "cost": 2}),
        "boroughs.csv": _csv(boroughs, _minute_columns(boroughs)),
        "summary.json": json.dumps(facts, indent=2, sort_keys=True, ensure_ascii=False,
                                   allow_nan=False) + "\n",
        "report.md": render_markdown(analysis, constraint_results=constraint_results,
                                     facts=facts, boroughs=boroughs),
    }


def ward_csv(analysis: Analysis) -> str:
    """The text of wards.csv (the map carries the same table for download)."""
    wards = ward_table(analysis)
    return _csv(wards, _minute_columns(wards))


def _geo_build(analysis: Analysis) -> dict[str, Any]:
    """GeoParquet/GeoPackage writers of the ward, LSOA and hub tables (GEO_OUTPUT_FILES)."""
    from siting.geofiles import geo_writers, with_geometry

    return geo_writers({
        "wards": with_geometry(ward_table(analysis), analysis.wards, "ward_code"),
        "lsoas": with_geometry(lsoa_table(analysis), analysis.lsoas, "lsoa_code"),
        "hubs": with_geometry(hub_table(analysis), analysis.hubs, "site_id"),
    })


def write_outputs(
    analysis: Analysis, out_dir: str | Path, *,
    constraint_results: Sequence[ConstraintResult] | None = None,
    into: OutputSet | None = None,
) -> list[Path]:
    """Write wards/lsoas/hubs/boroughs CSVs, summary.json and report.md into out_dir, atomically.

    Every file is staged first and only then moved into place (siting._atomic.OutputSet), so a
    failure or an interrupt leaves the previous outputs (or none) rather than a half-written set.
    With ``into``, the files join a larger set (e.g. with the map) that the caller commits.
    Other files in out_dir are left alone. Returns the paths in OUTPUT_FILES order.
    """
    out_dir = Path(out_dir).absolute()
    texts = _build(analysis, constraint_results)
    with contextlib.ExitStack() as stack:
        outputs = into if into is not None else stack.enter_context(OutputSet())
        for name in OUTPUT_FILES:
            outputs.write_text(out_dir / name, texts[name])
        for name, write in _geo_build(analysis).items():
            write(outputs.stage(out_dir / name))
        if into is None:
            outputs.commit()
    return [out_dir / name for name in (*OUTPUT_FILES, *GEO_OUTPUT_FILES)]

