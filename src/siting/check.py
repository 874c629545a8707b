"""Check stage: evaluate a scenario's constraints against its Analysis, for `siting check` in CI.

Every minute threshold is applied the same way here, in the report and in the comparison
(`is_over`): a place is over N minutes when its time is more than N or unreachable (NaN).
A constraint states a promise; the model either keeps it or not (`passed`). A scenario may record
a broken promise as a finding (`expect: unmet` with `because:`): then `check` prints the reason
and exits 0, and exits 1 if the promise starts to hold, since that is a modelling change to
review. Figures are printed by the one rounding rule of `siting._format`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from siting._errors import ScenarioError
from siting._format import minutes_pair, percent_pair, plain
from siting.analysis import Analysis
from siting.scenario import (
    Constraint,
    CounterPerBorough,
    HubsCoverAllWards,
    MaxHubs,
    NoWardOver,
    PopulationOver,
    Scenario,
    ShareOver,
    ShareWithin,
)

log = logging.getLogger("siting")

__all__ = [
    "CITY_OF_LONDON",
    "ConstraintResult",
    "check_scenarios",
    "counter_boroughs",
    "evaluate",
    "format_table",
    "is_over",
    "population_share",
    "to_json",
    "uncovered_warning",
    "warn_uncovered",
]

CITY_OF_LONDON = "E09000001"
"""Borough code of the City of London, policed by its own force and outside the Met."""

_EPS = 1e-9
"""Tolerance on minute comparisons, so 20.0000000001 walk minutes still counts as 20."""


@dataclass(frozen=True)
class ConstraintResult:
    """One constraint's outcome: what it requires, what the scenario achieves, who breaks it."""

    name: str
    kind: str
    sentence: str
    required: str
    actual: str
    passed: bool
    """Whether the model finds the promise kept."""
    breaking: tuple[str, ...] = ()
    """Wards ('E05000405 Chessington South, Kingston upon Thames') or boroughs
    ('E09000002 Barking and Dagenham') that break it, sorted by code; empty when it passes."""
    expect: str = "met"
    """'met', or 'unmet' when the scenario records the promise as a known finding."""
    because: str | None = None
    """Why the scenario expects the promise unmet (its `because:`)."""
    reading: str | None = None
    """How the constraint reads its threshold from the quoted words."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "breaking", tuple(sorted(self.breaking)))

    @property
    def ok(self) -> bool:
        """True when the outcome is the expected one (a met promise, or a recorded finding)."""
        return self.passed == (self.expect == "met")

    @property
    def status(self) -> str:
        """PASS, FAIL, 'UNMET (expected)' or 'MET (review)': the word `siting check` prints."""
        if self.expect == "met":
            return "PASS" if self.passed else "FAIL"
        return "MET (review)" if self.passed else "UNMET (expected)"


def is_over(minutes: pd.Series | np.ndarray, limit: float) -> np.ndarray:
    """True where minutes exceed `limit` or are unreachable (NaN): the one threshold rule."""
    values = np.asarray(minutes, dtype=float)
    return ~(values <= limit + _EPS)


def counter_boroughs(counters: pd.DataFrame) -> pd.Series:
    """Borough code of each counter: `borough_code`, or the registry's `borough_gss`."""
    return counters["borough_code"] if "borough_code" in counters else counters["borough_gss"]


def _ward_label(code: str, name: str, borough: str) -> str:
    return f"{code} {name}, {borough}"


def _ward_labels(wards: pd.DataFrame) -> pd.Series:
    return pd.Series(
        [_ward_label(c, n, b) for c, n, b in zip(wards["ward_code"], wards["ward_name"],
                                                  wards["borough"], strict=True)],
        index=wards.index,
        dtype=object,
    )


def _wards(count: int) -> str:
    return f"{count} ward" if count == 1 else f"{count} wards"


def _people(count: float) -> str:
    return f"{round(count):,} people"


def _resolve_exceptions(analysis: Analysis, constraint: NoWardOver | HubsCoverAllWards) -> set[str]:
    """Ward codes named in a constraint's exceptions (codes, names, or 'Name, Borough')."""
    wards = analysis.wards
    codes = set(wards["ward_code"])
    by_name: dict[str, list[str]] = {}
    for code, name, borough in zip(wards["ward_code"], wards["ward_name"], wards["borough"],
                                   strict=True):
        by_name.setdefault(name.casefold(), []).append(code)
        by_name.setdefault(f"{name}, {borough}".casefold(), []).append(code)
    resolved: set[str] = set()
    where = _where(analysis, constraint)
    for index, text in enumerate(constraint.exceptions):
        if text in codes:
            resolved.add(text)
            continue
        found = by_name.get(text.strip().casefold(), [])
        if len(found) == 1:
            resolved.add(found[0])
        elif len(found) > 1:
            options = ", ".join(
                f"{c} ({wards.loc[wards['ward_code'] == c, 'borough'].iloc[0]})" for c in sorted(found)
            )
            raise ScenarioError(
                f"{where}exceptions[{index}]: ward name {text!r} is ambiguous: it names {options}. "
                f"Write the ward code, or 'Name, Borough' (e.g. '{text}, "
                f"{wards.loc[wards['ward_code'] == sorted(found)[0], 'borough'].iloc[0]}')."
            )
        else:
            raise ScenarioError(
                f"{where}exceptions[{index}]: {text!r} is not a ward code or ward name of the "
                "ward layer. Use a 2014 ward code (E05...) or name as listed in the wards.csv "
                "output of `siting run`."
            )
    return resolved


def _where(analysis: Analysis, constraint: Constraint) -> str:
    source = analysis.scenario.source
    prefix = f"{source}: " if source is not None else f"scenario {analysis.scenario.id}: "
    return f"{prefix}constraint {constraint.name!r} ({constraint.kind}): field "


def population_share(lsoas: pd.DataFrame, measure: str, minutes: float, *, over: bool = False
                     ) -> float:
    """Share of the population within `minutes` (or, with over=True, over them) on `measure`:
    the one figure the report's headline, summary.json and the constraints all print."""
    population = lsoas["population"].to_numpy(dtype=float)
    total = population.sum()
    if total <= 0:
        return 0.0
    flagged = is_over(lsoas[f"minutes_{measure}"], minutes)
    return float(population[flagged if over else ~flagged].sum() / total)


def _result(analysis: Analysis, c: Constraint, **fields: object) -> ConstraintResult:
    expect, because = analysis.scenario.expected(c)
    return ConstraintResult(name=c.name, kind=c.kind, sentence=c.sentence, reading=c.reading,
                            expect=expect, because=because, **fields)  # type: ignore[arg-type]


def _share_within(analysis: Analysis, c: ShareWithin) -> ConstraintResult:
    share = population_share(analysis.lsoas, c.measure, c.minutes)
    strict = c.more_than is not None
    limit = float(c.more_than if strict else c.at_least)  # type: ignore[arg-type]
    passed = share > limit + _EPS if strict else share + _EPS >= limit
    shown, needed = percent_pair(share, limit)
    return _result(
        analysis, c,
        required=f"{'>' if strict else '>='} {needed} of people within {c.minutes:g} min "
        f"({c.measure})",
        actual=f"{shown} within {c.minutes:g} min",
        passed=passed,
        breaking=() if passed else _wards_with_people_over(analysis, c.measure, c.minutes),
    )


def _share_over(analysis: Analysis, c: ShareOver) -> ConstraintResult:
    share = population_share(analysis.lsoas, c.measure, c.minutes, over=True)
    passed = share <= c.at_most + _EPS
    shown, allowed = percent_pair(share, c.at_most)
    return _result(
        analysis, c,
        required=f"<= {allowed} of people over {c.minutes:g} min ({c.measure})",
        actual=f"{shown} over {c.minutes:g} min",
        passed=passed,
        breaking=() if passed else _wards_with_people_over(analysis, c.measure, c.minutes),
    )


def _population_over(analysis: Analysis, c: PopulationOver) -> ConstraintResult:
    lsoas = analysis.lsoas
    over = is_over(lsoas[f"minutes_{c.measure}"], c.minutes)
    people = int(lsoas["population"].to_numpy()[over].sum())
    passed = people <= c.at_most
    return _result(
        analysis, c,
        required=f"<= {_people(c.at_most)} over {c.minutes:g} min ({c.measure})",
        actual=f"{_people(people)} over {c.minutes:g} min",
        passed=passed,
        breaking=() if passed else _wards_with_people_over(analysis, c.measure, c.minutes),
    )


def _wards_with_people_over(analysis: Analysis, measure: str, minutes: float) -> tuple[str, ...]:
    """Wards holding any LSOA over the limit: where the people who break the constraint live."""
    lsoas = analysis.lsoas
    over_codes = set(lsoas.loc[is_over(lsoas[f"minutes_{measure}"], minutes), "ward_code"])
    wards = analysis.wards
    return tuple(_ward_labels(wards[wards["ward_code"].isin(over_codes)]))


def _over_labels(wards: pd.DataFrame, measure: str, minutes: float) -> tuple[str, ...]:
    """Ward labels with their minutes, printed so that a time over the limit never reads as it."""
    return tuple(f"{label} ({minutes_pair(m, minutes)} min)" for label, m in
                 zip(_ward_labels(wards), wards[f"minutes_{measure}"], strict=True))


def _no_ward_over(analysis: Analysis, c: NoWardOver) -> ConstraintResult:
    wards = analysis.wards
    allowed = _resolve_exceptions(analysis, c)
    over = is_over(wards[f"minutes_{c.measure}"], c.minutes)
    breaking = wards[over & ~wards["ward_code"].isin(allowed).to_numpy()]
    excused = int(over.sum()) - len(breaking)
    extra = f" (+{excused} excepted)" if excused else ""
    return _result(
        analysis, c,
        required=f"no ward over {c.minutes:g} min ({c.measure})"
        + (f", {len(allowed)} excepted" if allowed else ""),
        actual=f"{_wards(len(breaking))} over {c.minutes:g} min{extra}",
        passed=breaking.empty,
        breaking=_over_labels(breaking, c.measure, c.minutes),
    )


def _hubs_cover(analysis: Analysis, c: HubsCoverAllWards) -> ConstraintResult:
    hubs = analysis.scenario.hubs
    limit = c.minutes if c.minutes is not None else hubs.walk_limit_minutes
    required = f"every ward has a hub within {limit:g} min walk"
    allowed = _resolve_exceptions(analysis, c)
    if allowed:
        required += f", {len(allowed)} excepted"
    if not hubs.enabled:
        return _result(
            analysis, c, required=required,
            actual="hub siting is disabled in this scenario (hubs.enabled: false)", passed=False,
        )
    wards = analysis.wards
    if hubs.wards is not None:
        wards = wards[wards["ward_code"].isin(hubs.wards)]
    assignment = analysis.hub_assignment
    ok = assignment.loc[~is_over(assignment["minutes"], limit), "ward_code"]
    without = wards[~wards["ward_code"].isin(set(ok))]
    breaking = without[~without["ward_code"].isin(allowed)]
    excused = len(without) - len(breaking)
    extra = f" ({excused} of them excepted)" if excused else ""
    return _result(
        analysis, c, required=required,
        actual=f"{len(without)} of {len(wards)} wards without a hub within {limit:g} min{extra}",
        passed=breaking.empty,
        breaking=tuple(_ward_labels(breaking)),
    )


def _max_hubs(analysis: Analysis, c: MaxHubs) -> ConstraintResult:
    count = len(analysis.hubs)
    return _result(
        analysis, c,
        required=f"<= {c.at_most} hubs", actual=f"{count} hubs", passed=count <= c.at_most,
    )


def _counter_per_borough(analysis: Analysis, c: CounterPerBorough) -> ConstraintResult:
    boroughs = analysis.boroughs
    met = boroughs[boroughs["borough_code"] != CITY_OF_LONDON]
    counters = analysis.counters
    with_24h = set(counter_boroughs(counters)[(counters["status"] == "24h").to_numpy()])
    lacking = met[~met["borough_code"].isin(with_24h)]
    return _result(
        analysis, c,
        required=f"a 24/7 counter in each of the {len(met)} Met boroughs",
        actual=f"{len(met) - len(lacking)} of {len(met)} boroughs have one",
        passed=lacking.empty,
        breaking=tuple(f"{code} {name}" for code, name in
                       zip(lacking["borough_code"], lacking["borough"], strict=True)),
    )


_EVALUATORS = {
    "share_within": _share_within,
    "share_over": _share_over,
    "population_over": _population_over,
    "no_ward_over": _no_ward_over,
    "hubs_cover_all_wards": _hubs_cover,
    "max_hubs": _max_hubs,
    "counter_per_borough": _counter_per_borough,
}


def evaluate(analysis: Analysis) -> list[ConstraintResult]:
    """Each of the scenario's constraints, in file order, evaluated against the analysis."""
    return [_EVALUATORS[c.kind](analysis, c) for c in analysis.scenario.constraints]


def _shorten(items: Sequence[str], limit: int) -> str:
    shown = "; ".join(items[:limit])
    return shown + (f"; and {len(items) - limit} more" if len(items) > limit else "")


def format_table(results: Sequence[ConstraintResult], *, max_breaking: int = 10) -> str:
    """A fixed-width plain-text table of results, then, for each constraint not met (or met
    against its recorded expectation), its sentence, why, and the wards or boroughs breaking it."""
    if not results:
        return "no constraints\n"
    header = ("result", "constraint", "required", "actual")
    rows = [(r.status, plain(r.name), plain(r.required), plain(r.actual)) for r in results]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Iterable[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(header), line("-" * w for w in widths), *(line(row) for row in rows)]
    for r in results:
        if r.passed and r.expect == "met":
            continue
        out.append("")
        out.append(f"{plain(r.name)}: {plain(r.sentence)}")
        if r.reading:
            out.append(f"  reading: {plain(r.reading)}")
        if r.expect == "unmet" and not r.passed:
            out.append(f"  unmet, as recorded because: {plain(r.because)}")
        elif r.expect == "unmet":
            out.append(f"  recorded as unmet because: {plain(r.because)}")
            out.append("  but it now holds: a modelling change to review. If the change is right, "
                       "remove `expect: unmet` and `because:` from the constraint.")
        if r.breaking:
            out.append(f"  breaking ({len(r.breaking)}): "
                       f"{_shorten([plain(b) for b in r.breaking], max_breaking)}")
    out.append("")
    out.append(_tally(results))
    return "\n".join(out) + "\n"


def _tally(results: Sequence[ConstraintResult]) -> str:
    """'5 of 7 constraints met; 2 unmet as recorded (expected findings)' and any surprises."""
    met = sum(r.passed for r in results)
    text = f"{met} of {len(results)} constraints met"
    recorded = sum(not r.passed and r.expect == "unmet" for r in results)
    failed = sum(not r.passed and r.expect == "met" for r in results)
    review = sum(r.passed and r.expect == "unmet" for r in results)
    if recorded:
        text += f"; {recorded} unmet as recorded (expected findings)"
    if failed:
        text += f"; {failed} unmet unexpectedly (FAIL)"
    if review:
        text += f"; {review} recorded as unmet now met (review)"
    return text


def _as_dict(result: ConstraintResult) -> dict[str, object]:
    data = asdict(result)
    data["breaking"] = list(result.breaking)
    data["ok"] = result.ok
    data["status"] = result.status
    return data


def to_json(results: Sequence[ConstraintResult]) -> str:
    """Results as a JSON list (sorted keys, indent 2), for CI logs and scripts."""
    return json.dumps([_as_dict(r) for r in results], indent=2, sort_keys=True) + "\n"


def _recorded_wards(scenario: Scenario) -> tuple[set[str], bool]:
    """Ward codes or names a scenario's hub constraints list as exceptions, and whether one of
    them is recorded as an expected finding (expect: unmet), which covers every ward."""
    names: set[str] = set()
    finding = False
    for c in scenario.constraints:
        if isinstance(c, HubsCoverAllWards):
            names.update(text.strip().casefold() for text in c.exceptions)
            finding = finding or scenario.expected(c)[0] == "unmet"
    return names, finding


def uncovered_warning(analysis: Analysis) -> str | None:
    """The warning about wards no candidate hub site reaches within the walk limit, naming each
    one's nearest candidate; None when there are none, or when the scenario records them
    (as exceptions of its hub constraint, or that constraint as an expected finding)."""
    rows = analysis.hub_figures.get("uncovered_wards") or []
    names, finding = _recorded_wards(analysis.scenario)
    if finding:
        return None
    borough = dict(zip(analysis.wards["ward_code"], analysis.wards["borough"], strict=True))
    shown = [row for row in rows if not {
        str(row["ward_code"]).casefold(), str(row["ward_name"]).casefold(),
        f"{row['ward_name']}, {borough.get(row['ward_code'], '')}".casefold()} & names]
    if not shown:
        return None
    limit = analysis.scenario.hubs.walk_limit_minutes
    lines = [f"{len(shown)} {'ward has' if len(shown) == 1 else 'wards have'} no candidate hub "
             f"site within a {limit:g}-minute walk; hubs are planned for the other wards:"]
    for row in shown:
        near = (f"nearest candidate {plain(row['nearest_name'])} ({plain(row['nearest_site_id'])}) "
                f"is {minutes_pair(row['nearest_minutes'], limit)} min away"
                if row.get("nearest_site_id") else "no candidate at all")
        lines.append(f"  - {plain(row['ward_name'])} ({row['ward_code']}): {near}")
    lines.append("Fix: add a candidate site near them (hubs.candidate_csv), or record them in the "
                 "scenario's hubs_cover_all_wards constraint (exceptions, or expect: unmet with "
                 "because:).")
    return "\n".join(lines)


_WARNED: set[str] = set()
"""Uncovered-ward warnings already given by this process (one command)."""


def warn_uncovered(analysis: Analysis) -> bool:
    """Log `uncovered_warning` at WARNING once per process (a command may analyse the same
    wards more than once, as `compare` does); True when it was logged now."""
    text = uncovered_warning(analysis)
    if text is None or text in _WARNED:
        return False
    _WARNED.add(text)
    log.warning("%s", text)
    return True


def check_scenarios(
    paths: Sequence[str | Path], data_dir: Path, cache_dir: Path, *, as_json: bool = False,
) -> tuple[int, str]:
    """Check every scenario's constraints: (0 if every outcome is the expected one else 1, the
    tables or JSON to print).

    A constraint recorded `expect: unmet` (with `because:`) is a known finding: unmet, it
    exits 0 and prints its reason; met, it exits 1, since a promise the model used to find
    broken now holding is a modelling change that needs review. All scenario files are
    validated before any analysis runs; a bad file raises ScenarioError (and a data problem
    DataError), which the CLI reports with exit code 2.
    """
    from siting.reuse import analyse_or_reuse
    from siting.scenario import load_scenario

    scenarios = [load_scenario(path, data_dir=data_dir) for path in paths]
    reports = []
    for path, scenario in zip(paths, scenarios, strict=True):
        analysis, reused = analyse_or_reuse(scenario, data_dir, cache_dir=cache_dir)
        warn_uncovered(analysis)
        reports.append((str(path), scenario, evaluate(analysis), reused))
    all_ok = all(r.ok for _, _, results, _ in reports for r in results)
    if as_json:
        text = json.dumps(
            {
                "ok": all_ok,
                "passed": all(r.passed for _, _, results, _ in reports for r in results),
                "scenarios": [
                    {
                        "id": scenario.id,
                        "source": source,
                        "ok": all(r.ok for r in results),
                        "passed": all(r.passed for r in results),
                        "results": [_as_dict(r) for r in results],
                        "reused": reused,
                    }
                    for source, scenario, results, reused in reports
                ],
            },
            indent=2,
            sort_keys=True,
        ) + "\n"
    else:
        blocks = [
            f"{scenario.id} ({source}{'; reused the stored analysis' if reused else ''})\n"
            f"{format_table(results)}"
            for source, scenario, results, reused in reports
        ]
        text = "\n".join(blocks)
    return (0 if all_ok else 1), text.rstrip("\n")
