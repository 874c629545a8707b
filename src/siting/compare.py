"""Compare two scenarios' analyses: counters that open, close or change hours, wards crossing
the thresholds, and the people moving over or under them per borough (sorted, byte-identical).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from siting._errors import ScenarioError
from siting._format import md_code, md_text, minutes_pair, plain
from siting.analysis import MEASURES, Analysis
from siting.check import is_over

__all__ = ["COUNTER_CHANGES", "Comparison", "compare"]

COUNTER_CHANGES = {
    ("closed", "24h"): "opens 24/7",
    ("closed", "daytime"): "opens daytime",
    ("24h", "closed"): "closes",
    ("daytime", "closed"): "closes",
    ("24h", "daytime"): "24/7 -> daytime",
    ("daytime", "24h"): "daytime -> 24/7",
}
"""Label of each (before, after) counter status change."""

NOW_OVER = "now over"
NO_LONGER_OVER = "no longer over"

_MEASURE_NAMES = {"24h": "nearest 24/7 counter", "any": "nearest counter open on arrival"}


@dataclass(frozen=True, eq=False)
class Comparison:
    """What changes from scenario `before` to scenario `after` (frames sorted, index 0..n-1).

    counters
        counter_id, name, borough, before, after, change (status changes only).
    wards
        measure, threshold, direction ('now over' / 'no longer over'), ward_code, ward_name,
        borough, population, minutes_before, minutes_after.
    boroughs
        measure, threshold, borough_code, borough, over_before, over_after, now_over,
        no_longer_over, net: people in LSOAs over the threshold; boroughs with any change,
        then a 'London' row (empty borough_code) for every measure and threshold.
    settings
        setting, before, after: every other setting that differs and can change the figures
        (departure window, feed, service date, walking, network assumptions...).
    """

    before_id: str
    after_id: str
    before_title: str
    after_title: str
    thresholds: tuple[int, ...]
    counters: pd.DataFrame
    wards: pd.DataFrame
    boroughs: pd.DataFrame
    settings: pd.DataFrame

    def to_markdown(self) -> str:
        """The comparison as a Markdown document (tables per section); every text from the
        scenarios or the data is escaped, so a viewer that renders HTML never runs it."""
        lines = [f"# {md_code(self.before_id)} to {md_code(self.after_id)}", "",
                 f"From *{md_text(self.before_title)}* to *{md_text(self.after_title)}*.", "",
                 "## Settings that differ (besides the counters)", ""]
        lines += _markdown(self._setting_rows(), _SETTING_HEADER)
        lines += ["", "## Counters", ""]
        lines += _markdown(self._counter_rows(), ("counter", "borough", "before", "after", "change"))
        lines += ["", "## People over each threshold, by borough", ""]
        lines += _markdown(self._borough_rows(), _BOROUGH_HEADER)
        for measure, threshold, rows in self._ward_sections():
            lines += ["", f"## Wards crossing {threshold} minutes ({_MEASURE_NAMES[measure]})", ""]
            lines += _markdown(rows, _WARD_HEADER)
        return "\n".join(lines) + "\n"

    def to_text(self) -> str:
        """The comparison as fixed-width plain-text tables for a terminal (control characters
        in names shown as '?', so a name cannot drive the terminal)."""
        lines = [f"{plain(self.before_id)} -> {plain(self.after_id)}", "",
                 "Settings that differ (besides the counters)"]
        lines += _fixed(self._setting_rows(), _SETTING_HEADER)
        lines += ["", "Counters"]
        lines += _fixed(self._counter_rows(), ("counter", "borough", "before", "after", "change"))
        lines += ["", "People over each threshold, by borough"]
        lines += _fixed(self._borough_rows(), _BOROUGH_HEADER)
        for measure, threshold, rows in self._ward_sections():
            lines += ["", f"Wards crossing {threshold} minutes ({_MEASURE_NAMES[measure]})"]
            lines += _fixed(rows, _WARD_HEADER)
        return "\n".join(lines) + "\n"

    def _setting_rows(self) -> list[list[str]]:
        if self.settings.empty:
            return [["(none: the scenarios differ only in their counters)", "", ""]]
        return [[r.setting, r.before, r.after] for r in self.settings.itertuples()]

    def _counter_rows(self) -> list[list[str]]:
        return [[f"{r.name} ({r.counter_id})", r.borough, r.before, r.after, r.change]
                for r in self.counters.itertuples()]

    def _borough_rows(self) -> list[list[str]]:
        return [[r.measure, str(r.threshold), r.borough, f"{r.over_before:,}", f"{r.over_after:,}",
                 f"{r.now_over:,}", f"{r.no_longer_over:,}", f"{r.net:+,}" if r.net else "0"]
                for r in self.boroughs.itertuples()]

    def _ward_sections(self) -> list[tuple[str, int, list[list[str]]]]:
        sections = []
        for measure in MEASURES:
            for threshold in self.thresholds:
                part = self.wards[(self.wards["measure"] == measure)
                                  & (self.wards["threshold"] == threshold)]
                rows = [[r.direction, r.borough, r.ward_name, r.ward_code, f"{r.population:,}",
                         _fmt(r.minutes_before, threshold), _fmt(r.minutes_after, threshold)]
                        for r in part.itertuples()]
                sections.append((measure, threshold, rows))
        return sections


_SETTING_HEADER = ("setting", "before", "after")
_BOROUGH_HEADER = ("measure", "minutes", "borough", "over before", "over after", "now over",
                   "no longer over", "net")
_WARD_HEADER = ("direction", "borough", "ward", "code", "population", "minutes before",
                "minutes after")


def _fmt(value: float, threshold: float) -> str:
    """Minutes by the one rounding rule, with the digits that keep them off the threshold."""
    return minutes_pair(value if math.isfinite(value) else None, threshold)


_NUMBER = re.compile(r"^[+-]?[0-9][0-9,]*(\.[0-9]+)?$|^no route$")


def _numeric(rows: Sequence[Sequence[str]]) -> list[bool]:
    """Which columns hold only numbers (right-aligned)."""
    return [all(_NUMBER.match(r[i]) for r in rows) for i in range(len(rows[0]))]


def _markdown(rows: Sequence[Sequence[str]], header: Sequence[str]) -> list[str]:
    if not rows:
        return ["No changes."]
    rule = ["---:" if n else "---" for n in _numeric(rows)]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    return lines + ["| " + " | ".join(md_text(cell) for cell in row) + " |" for row in rows]


def _fixed(rows: Sequence[Sequence[str]], header: Sequence[str]) -> list[str]:
    if not rows:
        return ["  no changes"]
    rows = [[plain(cell) for cell in row] for row in rows]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    right = _numeric(rows)

    def line(cells: Sequence[str]) -> str:
        return ("  " + "  ".join(c.rjust(w) if r else c.ljust(w)
                                 for c, w, r in zip(cells, widths, right, strict=True))).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _same_areas(a: Analysis, b: Analysis) -> None:
    for frame, column, field in (("wards", "ward_code", "data.wards"),
                                 ("lsoas", "lsoa_code", "data.lsoas")):
        left = set(getattr(a, frame)[column])
        right = set(getattr(b, frame)[column])
        if left != right:
            only = sorted(left ^ right)
            raise ScenarioError(
                f"cannot compare scenarios {a.scenario.id!r} and {b.scenario.id!r}: their {frame} "
                f"differ ({len(only)} codes in only one, e.g. {', '.join(only[:3])}). Compare "
                f"scenarios that use the same `{field}` file."
            )


def _counter_changes(a: Analysis, b: Analysis) -> pd.DataFrame:
    before = a.counters.set_index("counter_id")
    after = b.counters.set_index("counter_id")
    rows = []
    for cid in sorted(set(before.index) | set(after.index)):
        s_before = str(before["status"].get(cid, "closed"))
        s_after = str(after["status"].get(cid, "closed"))
        if s_before == s_after:
            continue
        info = after.loc[cid] if cid in after.index else before.loc[cid]
        rows.append({"counter_id": cid, "name": info["name"], "borough": info["borough"],
                     "before": s_before, "after": s_after,
                     "change": COUNTER_CHANGES[(s_before, s_after)]})
    columns = ["counter_id", "name", "borough", "before", "after", "change"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["borough", "counter_id"], kind="stable").reset_index(drop=True)


def _ward_crossings(a: Analysis, b: Analysis, thresholds: Sequence[int]) -> pd.DataFrame:
    wa = a.wards.set_index("ward_code").sort_index()
    wb = b.wards.set_index("ward_code").loc[wa.index]
    rows: list[dict[str, Any]] = []
    for measure in MEASURES:
        m_before = wa[f"minutes_{measure}"].to_numpy(dtype=float)
        m_after = wb[f"minutes_{measure}"].to_numpy(dtype=float)
        for threshold in thresholds:
            over_before, over_after = is_over(m_before, threshold), is_over(m_after, threshold)
            for direction, mask in ((NOW_OVER, ~over_before & over_after),
                                    (NO_LONGER_OVER, over_before & ~over_after)):
                for i in np.flatnonzero(mask):
                    rows.append({
                        "measure": measure, "threshold": threshold, "direction": direction,
                        "ward_code": wa.index[i], "ward_name": wb["ward_name"].iloc[i],
                        "borough": wb["borough"].iloc[i],
                        "population": int(wb["population"].iloc[i]),
                        "minutes_before": float(m_before[i]), "minutes_after": float(m_after[i]),
                    })
    columns = ["measure", "threshold", "direction", "ward_code", "ward_name", "borough",
               "population", "minutes_before", "minutes_after"]
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return frame
    frame["_m"] = frame["measure"].map(MEASURES.index)
    frame["_d"] = frame["direction"].map({NOW_OVER: 0, NO_LONGER_OVER: 1})
    return (frame.sort_values(["_m", "threshold", "_d", "borough", "ward_name", "ward_code"],
                              kind="stable")
            .drop(columns=["_m", "_d"]).reset_index(drop=True))


def _borough_moves(a: Analysis, b: Analysis, thresholds: Sequence[int]) -> pd.DataFrame:
    la = a.lsoas.set_index("lsoa_code").sort_index()
    lb = b.lsoas.set_index("lsoa_code").loc[la.index]
    names = dict(zip(b.boroughs["borough_code"], b.boroughs["borough"], strict=True))
    codes = lb["borough_code"].to_numpy()
    pop_a = la["population"].to_numpy(dtype=np.int64)
    pop_b = lb["population"].to_numpy(dtype=np.int64)
    rows: list[dict[str, Any]] = []
    for measure in MEASURES:
        for threshold in thresholds:
            over_a = is_over(la[f"minutes_{measure}"], threshold)
            over_b = is_over(lb[f"minutes_{measure}"], threshold)
            parts = pd.DataFrame({
                "borough_code": codes,
                "over_before": np.where(over_a, pop_a, 0),
                "over_after": np.where(over_b, pop_b, 0),
                "now_over": np.where(~over_a & over_b, pop_b, 0),
                "no_longer_over": np.where(over_a & ~over_b, pop_a, 0),
            }).groupby("borough_code", sort=True).sum()
            parts["net"] = parts["over_after"] - parts["over_before"]
            changed = parts[(parts["now_over"] != 0) | (parts["no_longer_over"] != 0)
                            | (parts["net"] != 0)]
            ordered = sorted(changed.index, key=lambda c: (names.get(c, c), c))
            for code in [*ordered, None]:
                values = parts.sum() if code is None else parts.loc[code]
                rows.append({"measure": measure, "threshold": threshold,
                             "borough_code": code or "",
                             "borough": "London" if code is None else names.get(code, code),
                             **{k: int(v) for k, v in values.items()}})
    columns = ["measure", "threshold", "borough_code", "borough", "over_before", "over_after",
               "now_over", "no_longer_over", "net"]
    return pd.DataFrame(rows, columns=columns)


def compare(a: Analysis, b: Analysis) -> Comparison:
    """What changes from analysis `a` (before) to analysis `b` (after), over both thresholds sets.

    Raises ScenarioError when the two analyses cover different wards or LSOAs.
    """
    _same_areas(a, b)
    thresholds = tuple(sorted({*a.scenario.thresholds, *b.scenario.thresholds}))
    return Comparison(
        before_id=a.scenario.id, after_id=b.scenario.id,
        before_title=a.scenario.title, after_title=b.scenario.title,
        thresholds=thresholds,
        counters=_counter_changes(a, b),
        wards=_ward_crossings(a, b, thresholds),
        boroughs=_borough_moves(a, b, thresholds),
        settings=setting_differences(a, b),
    )


_NOT_SETTINGS = ("id", "title", "description", "constraints", "expectations", "outputs", "source",
                 "uncertainty")
"""Scenario keys that name or check a scenario but do not change its computed figures."""


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key in sorted(value, key=str):
            out.update(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def setting_differences(before: Analysis, after: Analysis) -> pd.DataFrame:
    """Every setting that differs between two analyses and can change their figures.

    Covers the scenario (feed, service date, departure window, percentiles, walking, hubs,
    thresholds, data files, counter hours; not which counters open, compared counter by
    counter elsewhere) and the modelled
    network's resolved assumptions. Columns setting, before, after (text; '-' where a side lacks
    the setting), sorted by setting.
    """
    def settings(analysis: Analysis) -> dict[str, Any]:
        dumped = analysis.scenario.model_dump(mode="json", exclude=set(_NOT_SETTINGS))
        flat = _flatten(dumped, "")
        network = analysis.assumptions.get("london_network") if analysis.assumptions else None
        if network:
            flat.update(_flatten(network, "london_network"))
        return flat

    a, b = settings(before), settings(after)
    rows = []
    for key in sorted(set(a) | set(b)):
        if key.startswith("counters.open_"):
            continue  # which counters open is compared counter by counter
        left, right = a.get(key, "-"), b.get(key, "-")
        if left != right:
            rows.append({"setting": key, "before": _setting_text(left),
                         "after": _setting_text(right)})
    return pd.DataFrame(rows, columns=["setting", "before", "after"])


def _setting_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "(none)"
    if value is None:
        return "(not set)"
    return str(value)
