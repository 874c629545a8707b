"""Sweep results: headline bands, per-ward and per-LSOA chances, sensitivity, and the files.

Everything here is a pure function of the sample design and the per-sample travel times (in
sample-index order), so outputs are byte-identical for the same seed on any number of workers.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting.sweep import PARAMETERS, SampleResult

__all__ = [
    "BAND",
    "MEASURES",
    "SHARE_MINUTES",
    "SweepSummary",
    "counter_section",
    "headline_table",
    "sensitivity",
    "splice_report",
    "summarise_sweep",
    "write_counter_sweep",
    "write_sweep",
]

MEASURES = ("24h", "any")
SHARE_MINUTES = (30, 45, 60)
BAND = (10, 50, 90)
"""Percentiles reported over the samples: the 10-90% band and the median."""

_MARK_START = "<!-- siting sweep: start -->"
_MARK_END = "<!-- siting sweep: end -->"


def _over(minutes: np.ndarray, t: float) -> np.ndarray:
    """Over the threshold: unreachable (NaN) counts as over, as in the run's flags."""
    return np.isnan(minutes) | (minutes > t)


def headline_table(results: Sequence[SampleResult], population: np.ndarray,
                   thresholds: Sequence[int]) -> pd.DataFrame:
    """Per sample: people over each threshold and the share within 30/45/60 min, both measures."""
    population = np.asarray(population, dtype=float)
    total = population.sum()
    rows = []
    for r in results:
        row: dict[str, Any] = {"sample_index": r.index}
        for m in MEASURES:
            minutes = r.origin_minutes[m]
            for t in thresholds:
                row[f"people_over_{t}_{m}"] = int(population[_over(minutes, t)].sum())
            for t in sorted({*SHARE_MINUTES, *thresholds}):
                inside = population[~_over(minutes, t)].sum()
                row[f"share_within_{t}_{m}"] = float(inside / total) if total else 0.0
        rows.append(row)
    return pd.DataFrame(rows).sort_values("sample_index", kind="stable").reset_index(drop=True)


def _band(values: np.ndarray) -> dict[str, float]:
    p10, p50, p90 = np.percentile(np.asarray(values, dtype=float), BAND)
    return {"p10": float(p10), "median": float(p50), "p90": float(p90)}


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks); 0 when either side is constant."""
    from scipy.stats import rankdata

    rx, ry = rankdata(x), rankdata(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def sensitivity(design: pd.DataFrame, headline: pd.DataFrame, names: Sequence[str],
                figures: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """For each headline figure, the varied assumptions ranked by |Spearman rho| (largest first).

    Spearman's rho over a Latin hypercube is the standard screening measure (Saltelli et al.,
    *Global Sensitivity Analysis: The Primer*, 2008, ch. 1): it measures how monotonically the
    figure moves with each assumption while the others vary too.
    """
    joined = design.merge(headline, on="sample_index")
    out: dict[str, list[dict[str, Any]]] = {}
    for figure in figures:
        rows = [{"assumption": n, "spearman_rho": _spearman(joined[n].to_numpy(float),
                                                             joined[figure].to_numpy(float))}
                for n in names]
        rows.sort(key=lambda r: (-abs(r["spearman_rho"]), r["assumption"]))
        for rank, row in enumerate(rows, 1):
            row["rank"] = rank
        out[figure] = rows
    return out


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep found: bands, chances per ward and LSOA, sensitivity (JSON-able parts)."""

    facts: dict[str, Any]
    design: pd.DataFrame
    headline: pd.DataFrame
    wards: pd.DataFrame
    lsoas: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)


def _chances(minutes: np.ndarray, thresholds: Sequence[int], measure: str) -> dict[str, np.ndarray]:
    """minutes: samples x areas. Chance of being over each threshold, and the minutes band."""
    out: dict[str, np.ndarray] = {}
    for t in thresholds:
        out[f"p_over_{t}_{measure}"] = _over(minutes, t).mean(axis=0)
    filled = np.where(np.isnan(minutes), np.inf, minutes)
    for p, label in zip(BAND, ("p10", "median", "p90"), strict=True):
        q = np.percentile(filled, p, axis=0, method="lower")
        out[f"minutes_{measure}_{label}"] = np.where(np.isfinite(q), q, np.nan)
    return out


def summarise_sweep(
    *,
    scenario_id: str,
    design: pd.DataFrame,
    names: Sequence[str],
    results: Sequence[SampleResult],
    origins: pd.DataFrame,
    wards: pd.DataFrame,
    thresholds: Sequence[int],
    deterministic: SampleResult | None = None,
    distributions: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> SweepSummary:
    """Bands, chances and sensitivity from the samples (results in sample-index order).

    ``origins``: origin_id (LSOA code), population, ward_code, in the results' order;
    ``wards``: ward_code (+ ward_name, borough, population), in the results' ward order.
    """
    results = sorted(results, key=lambda r: r.index)
    population = origins["population"].to_numpy(dtype=float)
    headline = headline_table(results, population, thresholds)
    figures = [c for c in headline.columns if c != "sample_index"]
    bands = {f: _band(headline[f].to_numpy()) for f in figures}
    if deterministic is not None:
        base = headline_table([deterministic], population, thresholds).iloc[0]
        for f in figures:
            bands[f]["deterministic"] = float(base[f])
    main = [f"people_over_{t}_{m}" for m in MEASURES for t in thresholds]
    ranked = sensitivity(design, headline, names, main) if names else {}
    ward_frame = wards.reset_index(drop=True).copy()
    lsoa_frame = origins.reset_index(drop=True).copy()
    for m in MEASURES:
        ward_stack = np.vstack([r.ward_minutes[m] for r in results])
        lsoa_stack = np.vstack([r.origin_minutes[m] for r in results])
        for column, values in _chances(ward_stack, thresholds, m).items():
            ward_frame[column] = values
        for column, values in _chances(lsoa_stack, thresholds, m).items():
            lsoa_frame[column] = values
        if deterministic is not None:
            ward_frame[f"minutes_{m}_deterministic"] = deterministic.ward_minutes[m]
            lsoa_frame[f"minutes_{m}_deterministic"] = deterministic.origin_minutes[m]
    first = f"p_over_{thresholds[0]}_24h" if thresholds else None
    at_risk = []
    if first:
        flagged = ward_frame[ward_frame[first] > 0].sort_values(
            [first, "ward_code"], ascending=[False, True], kind="stable")
        at_risk = [{"ward_code": str(r["ward_code"]), "ward_name": str(r.get("ward_name", "")),
                    "chance": float(r[first])} for _, r in flagged.iterrows()]
    facts: dict[str, Any] = {
        "scenario": scenario_id,
        "samples": len(results),
        "method": (extra or {}).get("method", "latin hypercube (scipy.stats.qmc)"),
        "varied": list(names),
        "distributions": dict(distributions or {}),
        "band_percentiles": list(BAND),
        "headline": bands,
        "sensitivity": ranked,
        f"wards_with_a_chance_over_{thresholds[0]}_24h" if thresholds else "wards": at_risk,
        "population": int(population.sum()),
        **{k: v for k, v in (extra or {}).items() if k not in ("method", "report_blocks")},
    }
    return SweepSummary(facts=facts, design=design, headline=headline, wards=ward_frame,
                        lsoas=lsoa_frame, extra=dict(extra or {}))


# ---------------------------------------------------------------------------------------------
# Files


def _clean(value: Any) -> Any:
    """JSON-able with floats rounded to 6 significant digits and NaN as null."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return None
        return float(f"{v:.6g}")
    return value


def _csv(frame: pd.DataFrame) -> str:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype.kind == "f":
            out[column] = out[column].map(lambda v: "" if pd.isna(v) else f"{v:.6g}")
    return out.to_csv(index=False, lineterminator="\n")


def _fmt(value: float, share: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{100 * value:.1f}%" if share else f"{round(value):,}"


def _label(figure: str) -> str:
    """'people_over_45_24h' -> 'people over 45 min (24/7 counter)'."""
    words, measure = figure.rsplit("_", 1)
    where = "24/7 counter" if measure == "24h" else "counter open on arrival"
    return f"{words.replace('_', ' ')} min ({where})"


def render_section(summary: SweepSummary) -> str:
    """The report.md section: headline bands, sensitivity ranking, wards most at risk."""
    f = summary.facts
    lines = [_MARK_START, "", "## How sure is the headline? (`siting sweep`)", "",
             f"{f['samples']} samples (seed {f.get('seed', '-')}; {f['method']}) of the "
             "modelling assumptions "
             f"({', '.join(f['varied']) or 'none varied'}); each sample is a full network build "
             "and travel-time run. Bands are the 10th-90th percentiles over the samples; "
             "sources of every distribution are in docs/sweep.md.", "",
             "| figure | deterministic | median | 10–90% band |", "|---|---:|---:|---:|"]
    for name, band in f["headline"].items():
        share = name.startswith("share_")
        label = _label(name)
        det = band.get("deterministic")
        lines.append(f"| {label} | {_fmt(det, share) if det is not None else '—'} | "
                     f"{_fmt(band['median'], share)} | {_fmt(band['p10'], share)} – "
                     f"{_fmt(band['p90'], share)} |")
    for figure, ranked in f["sensitivity"].items():
        lines += ["", f"**What moves the {_label(figure)} most** (Spearman rank "
                  "correlation over the samples; + means the figure rises with the assumption):",
                  "", "| rank | assumption | rho |", "|---:|---|---:|"]
        lines += [f"| {r['rank']} | {r['assumption']} | {r['spearman_rho']:+.2f} |"
                  for r in ranked]
        n = int(f["samples"])
        if n > 2:
            noise = 1.96 / math.sqrt(n - 1)
            lines += ["", f"With {n} samples, |rho| below {noise:.2f} (1.96/√(n−1)) cannot be told "
                      "apart from no effect at the 95% level; more samples sharpen the ranking."]
        break  # the first figure (people over the first threshold, 24/7) in the report
    risk_key = next((k for k in f if k.startswith("wards_with_a_chance_over_")), None)
    if risk_key:
        risky = f[risk_key]
        lines += ["", f"Wards with a chance of being over {risk_key.split('_')[5]} minutes from a "
                  f"24/7 counter: {len(risky)}."]
        if risky:
            lines += ["", "| ward | chance |", "|---|---:|"]
            lines += [f"| {r['ward_name'] or r['ward_code']} ({r['ward_code']}) | "
                      f"{100 * r['chance']:.0f}% |" for r in risky[:25]]
            if len(risky) > 25:
                lines.append(f"| … {len(risky) - 25} more in wards_sweep.csv | |")
    for block in summary.extra.get("report_blocks", []):
        lines += ["", block]
    lines += ["", _MARK_END, ""]
    return "\n".join(lines)


def splice_report(report: Path, section: str,
                  marks: tuple[str, str] = (_MARK_START, _MARK_END)) -> None:
    """Put a sweep section into report.md (replacing an earlier one), or start the file."""
    text = report.read_text(encoding="utf-8") if report.is_file() else ""
    first, last = marks
    if first in text and last in text:
        head, rest = text.split(first, 1)
        tail = rest.split(last, 1)[1].lstrip("\n")
        text = head + section + tail
    else:
        text = (text.rstrip("\n") + "\n\n" if text else "") + section
    _write_atomic(report, text)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_sweep(summary: SweepSummary, out_dir: Path, *, report: bool = True) -> list[Path]:
    """Write sweep.json, wards_sweep.csv, lsoas_sweep.csv, samples_sweep.csv, sweep.md and the
    report.md section into out_dir (each file atomically)."""
    out_dir = Path(out_dir)
    design = summary.design[["sample_index", *[c for c in PARAMETERS if c in summary.design]]]
    samples = design.merge(summary.headline, on="sample_index")
    files = {
        "sweep.json": json.dumps(_clean(summary.facts), indent=2,
                                 sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n",
        "wards_sweep.csv": _csv(summary.wards),
        "lsoas_sweep.csv": _csv(summary.lsoas),
        "samples_sweep.csv": _csv(samples),
        "sweep.md": render_section(summary),
    }
    written = []
    for name, text in files.items():
        _write_atomic(out_dir / name, text)
        written.append(out_dir / name)
    if report:
        splice_report(out_dir / "report.md", files["sweep.md"])
        written.append(out_dir / "report.md")
    return written


def counter_section(table: pd.DataFrame, *, action: str, threshold: int = 45) -> str:
    """The report.md section ranking counters by people pushed over / brought within."""
    start, end = _MARK_START.replace("sweep", f"{action}-each"), _MARK_END.replace(
        "sweep", f"{action}-each")
    change = f"change_over_{threshold}_24h"
    if action == "close":
        title = "Which 24/7 counter matters most? (`siting sweep --close-each`)"
        text = (f"Each open 24/7 counter closed in turn: people pushed over {threshold} minutes "
                "from a 24/7 counter (a negative figure would mean fewer).")
        head = f"| rank | counter | borough | people pushed over {threshold} min |"
    else:
        title = "Which closed counter would help most? (`siting sweep --open-each`)"
        text = (f"Each counter the scenario does not open, reopened 24/7 in turn: people brought "
                f"within {threshold} minutes of a 24/7 counter.")
        head = f"| rank | counter | borough | people brought within {threshold} min |"
    lines = [start, "", f"## {title}", "", text, "", head, "|---:|---|---|---:|"]
    sign = 1 if action == "close" else -1
    lines += [f"| {r['rank']} | {r['name']} ({r['counter_id']}) | {r['borough']} | "
              f"{sign * int(r[change]):,} |" for _, r in table.iterrows()]
    return "\n".join([*lines, "", end, ""])


def write_counter_sweep(table: pd.DataFrame, out_dir: Path, *, action: str) -> Path:
    """Write counters_close_each.csv / counters_open_each.csv (ranked) and its report.md section."""
    path = Path(out_dir) / f"counters_{action}_each.csv"
    _write_atomic(path, _csv(table))
    splice_report(Path(out_dir) / "report.md", counter_section(table, action=action),
                  marks=(_MARK_START.replace("sweep", f"{action}-each"),
                         _MARK_END.replace("sweep", f"{action}-each")))
    return path
