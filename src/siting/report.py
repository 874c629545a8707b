"""Report stage: turn an Analysis into tables, summary.json and a planner's report, byte-identical.

Every output reads only the Analysis (and constraint results from `siting.check`). Minutes are
over a threshold when above it or unreachable (`siting.check.is_over`); shares and population
over thresholds are counted per LSOA (the smallest area with a population), wards are flagged
on their population-weighted minutes.

This module is the stage's public face and writes the output set (`write_outputs`); two concerns
live beside it: `report_tables` (summary.json's figures and the ward, LSOA, hub and borough tables
with their CSV text) and `report_markdown` (report.md). It re-exports their public names.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from siting._atomic import OutputSet
from siting.analysis import Analysis
from siting.check import ConstraintResult
from siting.report_markdown import _travel_model as _travel_model
from siting.report_markdown import render_markdown
from siting.report_tables import (
    SHARE_MINUTES,
    SUMMARY_DIGITS,
    _csv,
    _minute_columns,
    borough_table,
    hub_table,
    lsoa_table,
    summary,
    ward_csv,
    ward_table,
    weighted_median,
)
from siting.report_tables import _round as _round

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

OUTPUT_FILES = ("wards.csv", "lsoas.csv", "hubs.csv", "boroughs.csv", "summary.json", "report.md")
"""The files write_outputs() puts in the output folder, in this order."""

GEO_OUTPUT_FILES = tuple(f"{layer}.{ext}" for layer in ("wards", "lsoas", "hubs")
                         for ext in ("parquet", "gpkg"))
"""GeoParquet and GeoPackage copies of the ward, LSOA and hub tables (EPSG:27700), written after
OUTPUT_FILES (siting.geofiles)."""


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

