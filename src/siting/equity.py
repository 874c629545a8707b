"""Equity: who is far from a counter, by deprivation, household income and car ownership.

The ward measures come from the GLA Ward Profiles 2015 (`boundaries/gla_ward_profiles_2015.csv`,
OGL): the ID2010 rank of average score within London (1 = most deprived), the median household
income estimate 2012/13 and cars per household (Census 2011). Wards are grouped into fifths
(quintiles by ward count among the wards with a profile) of each measure, and for each group the
report gives the people whose LSOA is over 45 and over 60 minutes from the nearest 24/7 counter
and from the nearest counter open on arrival (the same per-LSOA counts as the headline).

How the wards are matched: the profiles are keyed by 2010-era ward codes (`New code`). 571 of the
630 wards of the 2014 layer carry the same code and match. The other 59 are every ward of
Hackney (21), Tower Hamlets (20) and Kensington and Chelsea (18), whose wards were redrawn in
2014 with new codes, so no 2015 profile row describes them (the profiles' 54 old codes in those
boroughs describe different areas). They are not imputed: they form their own group,
"no 2015 profile (ward redrawn in 2014)", shown in every table so that the groups add up to
London. The City of London (E09000001 in both files) is one of the 571.

LSOA-level measures: the data directory holds no LSOA-level deprivation, income or car
ownership (its LSOA files carry codes, names, centroids and population only), so the LSOA
tables are by population alone; the equity figures are ward-level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting._errors import DataError
from siting.scenario import MEASURES

__all__ = ["EQUITY_MEASURES", "PROFILES_FILE", "render_equity", "ward_equity"]

PROFILES_FILE = "boundaries/gla_ward_profiles_2015.csv"
"""The GLA Ward Profiles 2015, relative to the data directory."""

EQUITY_MEASURES = {
    "deprivation": ("(ID2010) - Rank of average score (within London) - 2010",
                    "ID2010 rank of average score within London (1 = most deprived)",
                    ("most deprived", "least deprived")),
    "income": ("Median Household income estimate (2012/13)",
               "median household income estimate 2012/13 (£)", ("lowest", "highest")),
    "cars": ("Cars per household - 2011", "cars per household, Census 2011",
             ("fewest", "most")),
}
"""name -> (profile column, description, words for the (lowest, highest) fifth)."""

UNMATCHED = "no 2015 profile (ward redrawn in 2014)"


def _profiles(data_dir: Path) -> pd.DataFrame | None:
    path = Path(data_dir) / PROFILES_FILE
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    needed = ["New code", *(c for c, *_ in EQUITY_MEASURES.values())]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}. Use the GLA Ward "
                        "Profiles file as published (see the data directory's SOURCES.md).")
    return frame.drop_duplicates("New code").set_index("New code")


def _groups(values: pd.Series, words: tuple[str, str]) -> pd.Series:
    """Quintile label of each ward (by ward count, ties kept together by ranking first)."""
    ok = values.notna()
    labels = pd.Series(UNMATCHED, index=values.index, dtype=object)
    if ok.sum() >= 5:
        ranks = values[ok].rank(method="first")
        fifth = pd.qcut(ranks, 5, labels=False).astype(int)
        names = np.array([f"1 ({words[0]})", "2", "3", "4", f"5 ({words[1]})"], dtype=object)
        labels.loc[ok] = names[fifth.to_numpy()]
    return labels


def ward_equity(data_dir: Path, wards: pd.DataFrame, thresholds: Sequence[int]) -> dict[str, Any]:
    """People over each threshold by fifths of deprivation, income and cars (JSON-able).

    ``wards`` needs ward_code, population and pop_over_T_m for each threshold T and measure m
    (an Analysis' wards). Empty dict with a reason when the profiles file is absent.
    """
    profiles = _profiles(data_dir)
    if profiles is None:
        return {"available": False,
                "why": f"{PROFILES_FILE} is not in the data directory (run `siting data fetch`)."}
    codes = wards["ward_code"].astype(str)
    matched = codes.isin(profiles.index)
    unmatched = wards.loc[~matched]
    out: dict[str, Any] = {
        "available": True,
        "source": "GLA Ward Profiles and Atlas 2015 (London Datastore, OGL): " + PROFILES_FILE,
        "wards_matched": int(matched.sum()),
        "wards_unmatched": int((~matched).sum()),
        "unmatched_by_borough": {str(k): int(v) for k, v in
                                 unmatched.groupby("borough").size().sort_index().items()}
        if "borough" in unmatched.columns else {},
        "unmatched_handling": f"kept as their own group, '{UNMATCHED}' (not imputed): the "
                              "profiles use pre-2014 ward codes where wards were redrawn in 2014.",
        "lsoa_measures": "none: the data directory's LSOA files hold population only",
        "groups": "fifths of the matched wards by ward count",
        "by": {},
    }
    population = wards["population"].fillna(0).astype(float)
    for name, (column, description, words) in EQUITY_MEASURES.items():
        values = pd.Series(pd.to_numeric(codes.map(profiles[column]), errors="coerce").to_numpy(),
                           index=wards.index)
        group = _groups(values, words)
        rows = []
        order = [*sorted(set(group) - {UNMATCHED}), UNMATCHED]
        for label in order:
            inside = (group == label).to_numpy()
            if not inside.any():
                continue
            pop = float(population[inside].sum())
            row: dict[str, Any] = {
                "group": label, "wards": int(inside.sum()), "population": int(pop),
                "range": None if label == UNMATCHED else
                [float(values[inside].min()), float(values[inside].max())],
            }
            for m in MEASURES:
                for t in thresholds:
                    over = float(wards.loc[inside, f"pop_over_{t}_{m}"].fillna(0).sum())
                    row[f"pop_over_{t}_{m}"] = int(over)
                    row[f"share_over_{t}_{m}"] = round(over / pop, 4) if pop else None
            rows.append(row)
        out["by"][name] = {"measure": description, "groups": rows}
    return out


def render_equity(equity: Mapping[str, Any], thresholds: Sequence[int]) -> list[str]:
    """The report.md section: one table per measure, then how wards were matched."""
    lines = ["## Equity", ""]
    if not equity or not equity.get("available"):
        return [*lines, f"Not computed: {equity.get('why', 'no ward profiles') if equity else 'no ward profiles'}"]
    lines += ["People in LSOAs over each threshold from the nearest 24/7 counter (24h) and the "
              "nearest counter open on arrival (any), by fifths of London's wards "
              f"({equity['source']}).", ""]
    for _name, block in equity["by"].items():
        lines += [f"### By {block['measure']}", ""]
        header = ["fifth", "wards", "population",
                  *(f"over {t} min ({m})" for m in MEASURES for t in thresholds)]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("| --- | " + " | ".join("---:" for _ in header[1:]) + " |")
        for g in block["groups"]:
            cells = [g["group"], str(g["wards"]), f"{g['population']:,}"]
            for m in MEASURES:
                for t in thresholds:
                    share = g[f"share_over_{t}_{m}"]
                    pct = "" if share is None else f" ({100 * share:.1f}%)"
                    cells.append(f"{g[f'pop_over_{t}_{m}']:,}{pct}")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    boroughs = ", ".join(f"{k} ({v})" for k, v in equity["unmatched_by_borough"].items())
    lines.append(f"{equity['wards_matched']} of {equity['wards_matched'] + equity['wards_unmatched']} "
                 f"wards match a 2015 profile. The other {equity['wards_unmatched']} "
                 f"({boroughs or 'none'}) were redrawn in 2014 and have no profile row under their "
                 f"new codes; they are {equity['unmatched_handling'].split(': ')[0]}. "
                 f"LSOA-level measures: {equity['lsoa_measures']}.")
    return lines
