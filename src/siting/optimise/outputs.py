"""The optimisers' files: Markdown reports, CSV tables and an SVG curve, written atomically."""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from siting.optimise.alternatives import AlternativesPlan
    from siting.optimise.counters import CounterPlan

__all__ = ["write_outputs"]


def _md_table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str) -> list[str]:
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return lines


def _people(value: Any) -> str:
    return f"{int(value):,}" if value is not None and not pd.isna(value) else "n/a"


def _signed(value: Any) -> str:
    return f"{int(value):+,}" if value is not None and not pd.isna(value) else "n/a"


def _stage(figures: Mapping[str, Any] | None, unit: str) -> str:
    if not figures:
        return "not run"
    value = figures["objective"]
    shown = f"{value:,.0f} {unit}" if unit == "people" else f"{value:.2f} {unit}"
    bound = figures["best_bound"]
    bound_shown = f"{bound:,.0f}" if unit == "people" else f"{bound:.2f}"
    return (f"{figures['status']}, objective {shown}, best bound {bound_shown}, "
            f"gap {figures['gap']:.2%}")


# ---------------------------------------------------------------------------------------------
# Outputs


def _csv(frame: pd.DataFrame) -> str:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype.kind == "f":
            out[col] = ["" if pd.isna(v) else f"{v:.4f}" for v in out[col]]
    return out.to_csv(index=False, lineterminator="\n")


def _svg_curve(table: pd.DataFrame, threshold: int) -> str:
    """A small deterministic SVG line chart of people gained against k (from k = 0)."""
    width, height, left, pad = 500, 300, 80, 40
    ks = np.r_[0, table["k"].to_numpy(dtype=int)]
    gained = np.r_[0.0, table["people_gained"].to_numpy(dtype=float)]
    top = max(float(gained.max()), 1.0)
    span = max(int(ks.max()), 1)

    def px(kv: float, g: float) -> tuple[float, float]:
        return (left + kv / span * (width - left - pad),
                height - pad - g / top * (height - 2 * pad))

    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (px(kv, g) for kv, g in
                                                       zip(ks, gained, strict=True)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<line x1="{left}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="black"/>',
        f'<line x1="{left}" y1="{pad}" x2="{left}" y2="{height - pad}" stroke="black"/>',
        f'<text x="{(left + width - pad) / 2:.0f}" y="{height - 6}" text-anchor="middle">'
        'extra sites (k)</text>',
        f'<text x="14" y="{height / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {height / 2:.0f})">people brought within {threshold} min'
        '</text>',
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{points}"/>',
    ]
    for kv, g in zip(ks, gained, strict=True):
        x, y = px(kv, g)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f77b4"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - pad + 14}" text-anchor="middle">{kv}</text>')
    for frac in (0.0, 0.5, 1.0):
        _, y = px(0, top * frac)
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{html.escape(f"{top * frac:,.0f}")}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _outputs(plan: CounterPlan | AlternativesPlan) -> dict[str, str]:
    # imported here: the plans import this module's Markdown helpers
    from siting.optimise.alternatives import AlternativesPlan
    from siting.optimise.counters import CounterPlan

    if isinstance(plan, CounterPlan):
        stem = f"optimise-counters-{plan.objective}"
        return {f"{stem}.md": plan.to_markdown(), f"{stem}.csv": _csv(plan.table),
                f"{stem}-totals.csv": _csv(plan.totals),
                "optimise-counters-swaps.csv": _csv(plan.swaps)}
    if isinstance(plan, AlternativesPlan):
        stem = f"optimise-alternatives-{plan.threshold}min"
        return {f"{stem}.md": plan.to_markdown(), f"{stem}.csv": _csv(plan.table),
                f"{stem}-candidates.csv": _csv(plan.candidates),
                f"{stem}.svg": _svg_curve(plan.table, plan.threshold)}
    raise TypeError(f"write_outputs: expected a CounterPlan or AlternativesPlan, got "
                    f"{type(plan).__name__}")


def _umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_outputs(plan: CounterPlan | AlternativesPlan, out_dir: Path | str) -> list[Path]:
    """Write a plan's markdown, CSV tables (and the alternatives' SVG curve) into out_dir.

    Files: optimise-counters-<objective>.md/.csv/-totals.csv and optimise-counters-swaps.csv,
    or optimise-alternatives-<T>min.md/.csv/-candidates.csv/.svg. Each is written to a
    temporary file and moved into place; solve times are left out, so the same inputs give
    byte-identical files. Returns the written paths, sorted.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(_outputs(plan).items()):
        handle, temp = tempfile.mkstemp(prefix=f".{name}.", dir=out_dir)
        try:
            # mkstemp makes the file 0600; give it the mode an ordinary file gets (as `siting run`)
            os.fchmod(handle, 0o666 & ~_umask())
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            os.replace(temp, out_dir / name)
        finally:
            if os.path.exists(temp):
                os.remove(temp)
        written.append(out_dir / name)
    return written
