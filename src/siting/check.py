"""Check stage: evaluate a scenario's constraints against its Analysis, for `siting check` in CI.

Every minute threshold is applied the same way here, in the report and in the comparison
(`is_over`): a place is over N minutes when its time is more than N or unreachable (NaN).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from siting._errors import ScenarioError
from siting.analysis import Analysis
from siting.scenario import (
    Constraint,
    CounterPerBorough,
    HubsCoverAllWards,
    MaxHubs,
    NoWardOver,
    PopulationOver,
    ShareWithin,
)

__all__ = [
    "CITY_OF_LONDON",
    "ConstraintResult",
    "check_scenarios",
    "counter_boroughs",
    "evaluate",
    "format_table",
    "is_over",
    "to_json",
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
    breaking: tuple[str, ...] = ()
    """Wards ('E05000405 Chessington South, Kingston upon Thames') or boroughs
    ('E09000002 Barking and Dagenham') that break it, sorted by code; empty when it passes."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "breaking", tuple(sorted(self.breaking)))


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


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


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


def _share_within(analysis: Analysis, c: ShareWithin) -> ConstraintResult:
    lsoas = analysis.lsoas
    population = lsoas["population"].to_numpy(dtype=float)
    over = is_over(lsoas[f"minutes_{c.measure}"], c.minutes)
    total = population.sum()
    share = float(population[~over].sum() / total) if total > 0 else 0.0
    passed = share + _EPS >= c.at_least
    return ConstraintResult(
        name=c.name, kind=c.kind, sentence=c.sentence,
        required=f">= {_pct(c.at_least)} of people within {c.minutes:g} min ({c.measure})",
        actual=f"{_pct(share)} within {c.minutes:g} min",
        passed=passed,
        breaking=() if passed else _wards_with_people_over(analysis, c.measure, c.minutes),
    )


def _population_over(analysis: Analysis, c: PopulationOver) -> ConstraintResult:
    lsoas = analysis.lsoas
    over = is_over(lsoas[f"minutes_{c.measure}"], c.minutes)
    people = int(lsoas["population"].to_numpy()[over].sum())
    passed = people <= c.at_most
    return ConstraintResult(
        name=c.name, kind=c.kind, sentence=c.sentence,
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


def _no_ward_over(analysis: Analysis, c: NoWardOver) -> ConstraintResult:
    wards = analysis.wards
    allowed = _resolve_exceptions(analysis, c)
    over = is_over(wards[f"minutes_{c.measure}"], c.minutes)
    breaking = wards[over & ~wards["ward_code"].isin(allowed).to_numpy()]
    excused = int(over.sum()) - len(breaking)
    extra = f" (+{excused} excepted)" if excused else ""
    return ConstraintResult(
        name=c.name, kind=c.kind, sentence=c.sentence,
        required=f"no ward over {c.minutes:g} min ({c.measure})"
        + (f", {len(allowed)} excepted" if allowed else ""),
        actual=f"{_wards(len(breaking))} over {c.minutes:g} min{extra}",
        passed=breaking.empty,
        breaking=tuple(_ward_labels(breaking)),
    )


def _hubs_cover(analysis: Analysis, c: HubsCoverAllWards) -> ConstraintResult:
    hubs = analysis.scenario.hubs
    limit = hubs.walk_limit_minutes
    required = f"every ward has a hub within {limit:g} min walk"
    allowed = _resolve_exceptions(analysis, c)
    if allowed:
        required += f", {len(allowed)} excepted"
    if not hubs.enabled:
        return ConstraintResult(
            name=c.name, kind=c.kind, sentence=c.sentence, required=required,
            actual="hub siting is disabled in this scenario (hubs.enabled: false)", passed=False,
        )
    wards = analysis.wards
    if hubs.wards is not None:
        wards = wards[wards["ward_code"].isin(hubs.wards)]
    assignment = analysis.hub_assignment
    ok = assignment.loc[~is_over(assignment["minutes"], limit), "ward_code"]
    uncovered = wards[~wards["ward_code"].isin(set(ok)) & ~wards["ward_code"].isin(allowed)]
    return ConstraintResult(
        name=c.name, kind=c.kind, sentence=c.sentence, required=required,
        actual=f"{len(uncovered)} of {len(wards)} wards without a hub within {limit:g} min",
        passed=uncovered.empty,
        breaking=tuple(_ward_labels(uncovered)),
    )


def _max_hubs(analysis: Analysis, c: MaxHubs) -> ConstraintResult:
    count = len(analysis.hubs)
    return ConstraintResult(
        name=c.name, kind=c.kind, sentence=c.sentence,
        required=f"<= {c.at_most} hubs", actual=f"{count} hubs", passed=count <= c.at_most,
    )


def _counter_per_borough(analysis: Analysis, c: CounterPerBorough) -> ConstraintResult:
    boroughs = analysis.boroughs
    met = boroughs[boroughs["borough_code"] != CITY_OF_LONDON]
    counters = analysis.counters
    with_24h = set(counter_boroughs(counters)[(counters["status"] == "24h").to_numpy()])
    lacking = met[~met["borough_code"].isin(with_24h)]
    return ConstraintResult(
        name=c.name, kind=c.kind, sentence=c.sentence,
        required=f"a 24/7 counter in each of the {len(met)} Met boroughs",
        actual=f"{len(met) - len(lacking)} of {len(met)} boroughs have one",
        passed=lacking.empty,
        breaking=tuple(f"{code} {name}" for code, name in
                       zip(lacking["borough_code"], lacking["borough"], strict=True)),
    )


_EVALUATORS = {
    "share_within": _share_within,
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
    """A fixed-width plain-text table of results, then the wards or boroughs breaking each."""
    if not results:
        return "no constraints\n"
    header = ("result", "constraint", "required", "actual")
    rows = [("PASS" if r.passed else "FAIL", r.name, r.required, r.actual) for r in results]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Iterable[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(header), line("-" * w for w in widths), *(line(row) for row in rows)]
    for r in results:
        if r.breaking:
            out.append("")
            out.append(f"{r.name}: {r.sentence}")
            out.append(f"  breaking ({len(r.breaking)}): {_shorten(r.breaking, max_breaking)}")
    passed = sum(r.passed for r in results)
    out.append("")
    out.append(f"{passed} of {len(results)} constraints met")
    return "\n".join(out) + "\n"


def _as_dict(result: ConstraintResult) -> dict[str, object]:
    data = asdict(result)
    data["breaking"] = list(result.breaking)
    return data


def to_json(results: Sequence[ConstraintResult]) -> str:
    """Results as a JSON list (sorted keys, indent 2), for CI logs and scripts."""
    return json.dumps([_as_dict(r) for r in results], indent=2, sort_keys=True) + "\n"


def check_scenarios(
    paths: Sequence[str | Path], data_dir: Path, cache_dir: Path, *, as_json: bool = False,
) -> tuple[int, str]:
    """Check every scenario's constraints: (0 if all pass else 1, the tables or JSON to print).

    All scenario files are validated before any analysis runs; a bad file raises ScenarioError
    (and a data problem DataError), which the CLI reports with exit code 2.
    """
    from siting.reuse import analyse_or_reuse
    from siting.scenario import load_scenario

    scenarios = [load_scenario(path, data_dir=data_dir) for path in paths]
    reports = []
    for path, scenario in zip(paths, scenarios, strict=True):
        analysis, reused = analyse_or_reuse(scenario, data_dir, cache_dir=cache_dir)
        reports.append((str(path), scenario, evaluate(analysis), reused))
    all_passed = all(r.passed for _, _, results, _ in reports for r in results)
    if as_json:
        text = json.dumps(
            {
                "passed": all_passed,
                "scenarios": [
                    {
                        "id": scenario.id,
                        "source": source,
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
    return (0 if all_passed else 1), text.rstrip("\n")
