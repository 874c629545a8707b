"""Report Markdown: report.md, the planner's report, rendered from an Analysis and its figures."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from siting._format import md_code, md_text, minutes_pair, percent
from siting.analysis import MEASURES, Analysis
from siting.check import ConstraintResult, population_share
from siting.report_tables import _round, _thresholds, borough_table, summary

__all__ = ["render_markdown"]

_MAX_LISTED = 50
"""Most wards or boroughs named per broken constraint in report.md (all are in summary.json)."""

_FOLD_AFTER = 12
"""Assumption groups with more entries than this are folded in report.md."""


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
    used = sorted({_mode_of(t, reliability) for t in types} - {None}) or sorted(reliability)  # type: ignore[type-var]
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


_WARDS_NAMED = 8
"""Most wards named per threshold in the report's line on the draws' spread."""


def _wards_of(analysis: Analysis, lsoa_codes: Sequence[str]) -> str:
    """", in the wards A (borough), B (borough) and N more" for these LSOAs ("" if none)."""
    lsoas = analysis.lsoas.set_index("lsoa_code")
    wards = analysis.wards.set_index("ward_code")
    codes = sorted({str(lsoas.at[code, "ward_code"]) for code in lsoa_codes
                    if code in lsoas.index} & set(wards.index.astype(str)))
    names = sorted(f"{md_text(wards.at[c, 'ward_name'])} ({md_text(wards.at[c, 'borough'])})"
                   for c in codes)
    if not names:
        return ""
    more = f" and {len(names) - _WARDS_NAMED} more" if len(names) > _WARDS_NAMED else ""
    return f", in {'the ward' if len(names) == 1 else 'the wards'} {', '.join(names[:_WARDS_NAMED])}{more}"


def _draw_spread(analysis: Analysis, facts: Mapping[str, Any],
                 thresholds: Sequence[int]) -> list[str]:
    """The headline's Monte Carlo spread: how far the phase draws move the people over."""
    over = {m: facts["measures"][m]["over"] for m in MEASURES}
    first = over["24h"][str(thresholds[0])].get("draws")
    if first is None:
        return []
    moves = " and ".join(
        f"over {t} minutes by about ±{over['24h'][str(t)]['draws']['sd']:,} (24/7) / "
        f"±{over['any'][str(t)]['draws']['sd']:,} (open on arrival)" for t in thresholds)
    flips = [(t, over["24h"][str(t)]["draws"]) for t in thresholds]
    borderline = "; ".join(
        f"{d['lsoas_that_flip']:,} LSOAs ({d['population_that_flips']:,} people) fall on the "
        f"other side of {t} minutes in some half-samples{_wards_of(analysis, d.get('flipping', []))}"
        if d["lsoas_that_flip"] else f"none at {t} minutes" for t, d in flips)
    return ["", f"**Phase draws.** Another seed gives the frequency-based services other phases. "
            f"Estimated from {first['half_samples']} balanced half-samples of this run's "
            f"{first['draws']} draws, that moves the people {moves}: one standard deviation, an "
            f"estimate (docs/travel-model.md says how it was checked). Nearest 24/7 counter: "
            f"{borderline}."]


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
    lines += _draw_spread(analysis, facts, thresholds)
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
