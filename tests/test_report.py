"""Report outputs: summary figures worked out by hand on a tiny case, real-London tables, and
byte-identical, atomic writing.

Also holds the Analysis builders the check and compare tests share: `tiny_analysis` (3 wards,
2 boroughs, minutes typed in) and `standin_analysis` (the real London layers with crow-fly
stand-in minutes, until the transit analysis fixtures are used).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial import cKDTree
from shapely.geometry import Point, box

from siting._crs import BNG
from siting._format import md_text
from siting.analysis import MEASURES, Analysis
from siting.check import ConstraintResult, evaluate
from siting.data import load_boroughs, load_lsoas, load_wards, scenario_counters
from siting.report import (
    GEO_OUTPUT_FILES,
    OUTPUT_FILES,
    borough_table,
    hub_table,
    lsoa_table,
    render_markdown,
    summary,
    ward_table,
    weighted_median,
    write_outputs,
)
from siting.scenario import Scenario, load_scenario

REPO = Path(__file__).resolve().parents[1]
nan = float("nan")

# ---------------------------------------------------------------------------------------------
# Builders shared with test_check.py and test_compare.py

TINY_LSOAS = {
    # lsoa_code: (ward_code, population, minutes_24h, minutes_any)
    "L1": ("E05000001", 1000, 20.0, 15.0),
    "L2": ("E05000001", 3000, 50.0, 30.0),
    "L3": ("E05000002", 2000, 40.0, 40.0),
    "L4": ("E05000003", 1500, 70.0, 50.0),
    "L5": ("E05000003", 500, nan, 62.0),
}
TINY_WARDS = {
    # ward_code: (ward_name, borough, borough_code, square's west edge)
    "E05000001": ("North", "Alpha", "E09000002", 530_000),
    "E05000002": ("South", "Alpha", "E09000002", 531_000),
    "E05000003": ("North", "Beta", "E09000003", 532_000),
}
TINY_COUNTERS = {
    # counter_id: (borough, borough_code, status, easting)
    "alpha-24": ("Alpha", "E09000002", "24h", 530_200),
    "alpha-day": ("Alpha", "E09000002", "daytime", 531_500),
    "beta-day": ("Beta", "E09000003", "daytime", 532_500),
    "beta-old": ("Beta", "E09000003", "closed", 532_800),
}


def tiny_scenario(constraints: list[dict[str, Any]] | None = None, **changes: Any) -> Scenario:
    """A scenario over the tiny case (counter ids are not checked against the registry here)."""
    counters = {"open_24h": [c for c, v in TINY_COUNTERS.items() if v[2] == "24h"],
                "open_daytime": [c for c, v in TINY_COUNTERS.items() if v[2] == "daytime"]}
    return Scenario.model_validate({"id": "tiny", "title": "Tiny town", "counters": counters,
                                    "constraints": constraints or [], **changes})


def _ward_minutes(lsoas: pd.DataFrame, measure: str) -> pd.Series:
    """Population-weighted mean over the reachable LSOAs of each ward (NaN if none)."""
    col = f"minutes_{measure}"
    ok = lsoas[lsoas[col].notna()]
    weighted = (ok[col] * ok["population"]).groupby(ok["ward_code"]).sum()
    return (weighted / ok.groupby("ward_code")["population"].sum()).reindex(
        sorted(set(lsoas["ward_code"])))


def tiny_analysis(
    minutes: dict[str, tuple[float, float]] | None = None,
    statuses: dict[str, str] | None = None,
    scenario: Scenario | None = None,
    assignment: list[tuple[str, str, float]] | None = None,
) -> Analysis:
    """The tiny hand-built case: 3 wards (two named North) in boroughs Alpha and Beta, 5 LSOAs,
    the City of London with no wards, hubs police-1 (Alpha) and library-1 (Beta).

    `minutes` overrides LSOA (24h, any) minutes; `statuses` overrides counter statuses.
    """
    scenario = scenario or tiny_scenario()
    rows = []
    for code, (ward, pop, m24, many) in TINY_LSOAS.items():
        m24, many = (minutes or {}).get(code, (m24, many))
        rows.append({"lsoa_code": code, "lsoa_name": f"Tiny {code}", "ward_code": ward,
                     "borough_code": TINY_WARDS[ward][2], "population": pop,
                     "minutes_24h": m24, "nearest_24h_counter": "alpha-24",
                     "minutes_any": many, "nearest_any_counter": "alpha-day"})
    lsoas = gpd.GeoDataFrame(rows, geometry=[Point(TINY_WARDS[r["ward_code"]][3] + 500, 180_500)
                                             for r in rows], crs=BNG)
    wards = gpd.GeoDataFrame(
        {"ward_code": list(TINY_WARDS), "ward_name": [v[0] for v in TINY_WARDS.values()],
         "borough": [v[1] for v in TINY_WARDS.values()],
         "borough_code": [v[2] for v in TINY_WARDS.values()],
         "population": lsoas.groupby("ward_code")["population"].sum().to_numpy()},
        geometry=[box(v[3], 180_000, v[3] + 1000, 181_000) for v in TINY_WARDS.values()], crs=BNG)
    for m in MEASURES:
        wards[f"minutes_{m}"] = _ward_minutes(lsoas, m).to_numpy()
        wards[f"nearest_{m}_counter"] = "alpha-24" if m == "24h" else "alpha-day"
    assignment = assignment if assignment is not None else [
        ("E05000001", "police-1", 8.0), ("E05000002", "police-1", 25.0),
        ("E05000003", "library-1", 12.0)]
    hub_assignment = pd.DataFrame(assignment, columns=["ward_code", "site_id", "minutes"])
    hubs = gpd.GeoDataFrame(
        {"site_id": ["library-1", "police-1"], "name": ["Beta Library", "Alpha police station"],
         "kind": ["library", "police"], "cost": [3.0, 1.0],
         "wards_served": [int((hub_assignment["site_id"] == s).sum()) for s in ("library-1", "police-1")],
         "officers": [3, 6]},
        geometry=[Point(532_500, 180_500), Point(530_500, 180_500)], crs=BNG)
    names = dict(zip(hubs["site_id"], hubs["name"], strict=True))
    by_ward = hub_assignment.set_index("ward_code")
    wards["hub_site_id"] = [by_ward["site_id"].get(w) for w in wards["ward_code"]]
    wards["hub_name"] = [names.get(s) for s in wards["hub_site_id"]]
    wards["hub_walk_minutes"] = [by_ward["minutes"].get(w, nan) for w in wards["ward_code"]]
    boroughs = gpd.GeoDataFrame(
        {"borough_code": ["E09000001", "E09000002", "E09000003"],
         "borough": ["City of London", "Alpha", "Beta"]},
        geometry=[box(528_000, 180_000, 529_000, 181_000), box(530_000, 180_000, 532_000, 181_000),
                  box(532_000, 180_000, 533_000, 181_000)], crs=BNG)
    statuses = {c: v[2] for c, v in TINY_COUNTERS.items()} | (statuses or {})
    counters = gpd.GeoDataFrame(
        {"counter_id": list(TINY_COUNTERS), "name": [c.title() for c in TINY_COUNTERS],
         "borough": [v[0] for v in TINY_COUNTERS.values()],
         "borough_code": [v[1] for v in TINY_COUNTERS.values()],
         "status": [statuses[c] for c in TINY_COUNTERS]},
        geometry=[Point(v[3], 180_500) for v in TINY_COUNTERS.values()], crs=BNG)
    return Analysis(
        scenario=scenario, wards=wards, lsoas=lsoas, counters=counters, hubs=hubs,
        hub_assignment=hub_assignment, boroughs=boroughs,
        assumptions={"walking": {"speed_kmh": 4.8}, "transit": {"departure_window": "07:00-10:00"}},
        modes={"modelled": {"tube": "timetabled", "bus": "frequency-based"},
               "missing": {"river": "no open timetable"}},
        hub_figures={"status": "OPTIMAL", "objective": 4.0, "solve_seconds": 0.123,
                     "wall_time": 1.5, "by_kind": {"police": 1, "library": 1, "seconds": 2.0}},
        timings={"travel": 9.9},
    )


@functools.cache
def _layers(data_dir: Path, population: str) -> tuple[gpd.GeoDataFrame, ...]:
    from siting.scenario import DataFiles

    files = DataFiles(population=population)  # type: ignore[arg-type]
    return load_wards(data_dir, files), load_lsoas(data_dir, files), load_boroughs(data_dir, files)


def standin_analysis(scenario: Scenario, data_dir: Path) -> Analysis:
    """The real London layers and counters with stand-in minutes: 10 + crow-fly metres / 150
    to the nearest open counter (9 km/h door to door), and each open counter's police station
    as a hub for the wards whose centre is within 20 minutes' walk (1.3 circuity, 80 m/min)."""
    wards, lsoas, boroughs = _layers(data_dir, scenario.data.population)
    counters = scenario_counters(scenario)  # as analyse() has it: the registry's borough_gss
    lsoas = lsoas.copy()
    xy = np.column_stack([lsoas.geometry.x, lsoas.geometry.y])
    for measure, statuses in (("24h", ["24h"]), ("any", ["24h", "daytime"])):
        open_ = counters[counters["status"].isin(statuses)]
        dist, idx = cKDTree(np.column_stack([open_.geometry.x, open_.geometry.y])).query(xy)
        lsoas[f"minutes_{measure}"] = 10.0 + dist / 150.0
        lsoas[f"nearest_{measure}_counter"] = open_["counter_id"].to_numpy()[idx]
    wards = wards.merge(lsoas.groupby("ward_code")["population"].sum().rename("population"),
                        left_on="ward_code", right_index=True)
    for measure in MEASURES:
        wards[f"minutes_{measure}"] = _ward_minutes(lsoas, measure).reindex(wards["ward_code"]).to_numpy()
        top = (lsoas.groupby(["ward_code", f"nearest_{measure}_counter"])["population"].sum()
               .reset_index().sort_values(["ward_code", "population"], ascending=[True, False],
                                          kind="stable").drop_duplicates("ward_code"))
        wards[f"nearest_{measure}_counter"] = wards["ward_code"].map(
            top.set_index("ward_code")[f"nearest_{measure}_counter"])
    sites = counters[counters["status"] != "closed"]
    centre = wards.geometry.representative_point()
    dist, idx = cKDTree(np.column_stack([sites.geometry.x, sites.geometry.y])).query(
        np.column_stack([centre.x, centre.y]))
    walk = dist * 1.3 / 80.0
    site_ids = ("police:" + sites["counter_id"]).to_numpy()
    covered = walk <= 20.0
    assignment = pd.DataFrame({"ward_code": wards["ward_code"].to_numpy()[covered],
                               "site_id": site_ids[idx[covered]], "minutes": walk[covered]})
    served = assignment["site_id"].value_counts()
    used = np.isin(site_ids, assignment["site_id"])
    hubs = gpd.GeoDataFrame(
        {"site_id": site_ids[used], "name": (sites["name"] + " police station").to_numpy()[used],
         "kind": "police", "cost": 1.0,
         "wards_served": [int(served[s]) for s in site_ids[used]],
         "officers": [3 * int(served[s]) for s in site_ids[used]]},
        geometry=sites.geometry.to_numpy()[used], crs=BNG).sort_values("site_id").reset_index(drop=True)
    by_ward = assignment.set_index("ward_code")
    names = dict(zip(hubs["site_id"], hubs["name"], strict=True))
    wards["hub_site_id"] = wards["ward_code"].map(by_ward["site_id"])
    wards["hub_name"] = wards["hub_site_id"].map(names)
    wards["hub_walk_minutes"] = wards["ward_code"].map(by_ward["minutes"])
    return Analysis(
        scenario=scenario, wards=wards.sort_values("ward_code").reset_index(drop=True),
        lsoas=lsoas, counters=counters, hubs=hubs, hub_assignment=assignment, boroughs=boroughs,
        assumptions={"stand_in": "crow-fly minutes"}, modes={"missing": ["all: crow-fly stand-in"]},
        hub_figures={"status": "STAND-IN", "solve_seconds": 0.0},
    )


def real_scenario(name: str) -> Scenario:
    return load_scenario(REPO / "scenarios" / f"{name}.yaml")


# ---------------------------------------------------------------------------------------------
# Tiny case: figures worked out by hand


def test_weighted_median_by_hand() -> None:
    # weights 1000, 2000, 3000 at 20, 40, 50: half (3000) is reached at 40
    assert weighted_median([50, 20, 40], [3000, 1000, 2000]) == 40
    assert weighted_median([70, nan], [1500, 500]) == 70
    assert np.isnan(weighted_median([70, nan], [500, 1500]))  # most people have no route
    assert np.isnan(weighted_median([], []))
    assert weighted_median([10, 99], [1, 0]) == 10  # zero weight ignored


def test_summary_tiny_by_hand() -> None:
    facts = summary(tiny_analysis())
    assert facts["population"] == 8000
    m24 = facts["measures"]["24h"]
    # within 30: L1 (1000); 45: + L3 (2000); 60: + L2 (3000). L5 has no route.
    assert m24["share_within"] == {"30": 0.125, "45": 0.375, "60": 0.75}
    assert m24["over"]["45"]["population"] == 5000  # L2, L4, L5
    assert m24["over"]["60"]["population"] == 2000  # L4, L5
    assert m24["population_over"] == {"45": 5000, "60": 2000}
    assert m24["unreachable_population"] == 500
    # ward minutes: North/Alpha 42.5, South 40, North/Beta 70 (mean over reachable LSOAs)
    assert m24["over"]["45"]["wards"] == 1
    assert m24["over"]["45"]["ward_list"] == [
        {"ward_code": "E05000003", "ward_name": "North", "borough": "Beta", "minutes": 70.0}]
    assert m24["median_minutes"] == 50.0
    many = facts["measures"]["any"]
    assert many["share_within"] == {"30": 0.5, "45": 0.75, "60": 0.9375}
    assert many["over"]["45"]["population"] == 2000
    assert many["over"]["60"]["population"] == 500
    assert many["over"]["45"]["ward_list"][0]["minutes"] == 53.0  # (1500*50 + 500*62) / 2000
    assert many["over"]["60"]["wards"] == 0
    assert facts["hubs"]["by_kind"] == {"library": 1, "police": 1}
    assert facts["hubs"]["solver"] == {"by_kind": {"library": 1, "police": 1}, "objective": 4.0,
                                       "status": "OPTIMAL"}  # no timings
    assert facts["hubs"]["wards_covered"] == 2  # South/Alpha's hub is 25 minutes away
    assert facts["counters"]["counts"] == {"24h": 1, "daytime": 2, "closed": 1}
    assert facts["modes"]["missing"] == {"river": "no open timetable"}
    json.dumps(facts, allow_nan=False)


def test_borough_table_tiny_by_hand() -> None:
    table = borough_table(tiny_analysis()).set_index("borough")
    assert list(table.index) == ["Alpha", "Beta", "City of London", "London"]
    alpha, beta, city, london = (table.loc[b] for b in table.index)
    assert alpha["population"] == 6000
    assert beta["population"] == 2000
    assert (alpha["median_minutes_24h"], alpha["median_minutes_any"]) == (40, 30)
    assert (beta["median_minutes_24h"], beta["median_minutes_any"]) == (70, 50)
    assert london["median_minutes_24h"] == 50
    assert np.isnan(city["median_minutes_24h"])
    assert city["population"] == 0
    assert (alpha["pop_over_45_24h"], alpha["pop_over_60_24h"]) == (3000, 0)
    assert (beta["pop_over_45_24h"], beta["pop_over_60_24h"]) == (2000, 2000)
    assert (beta["pop_over_45_any"], beta["pop_over_60_any"]) == (2000, 500)
    assert (alpha["hubs"], beta["hubs"], london["hubs"]) == (1, 1, 2)
    assert (alpha["counters_24h"], beta["counters_24h"], beta["counters_daytime"]) == (1, 0, 1)
    assert london["wards"] == 3


def test_ward_and_lsoa_tables_columns() -> None:
    analysis = tiny_analysis()
    wards = ward_table(analysis)
    assert list(wards.columns) == [
        "ward_code", "ward_name", "borough", "population", "minutes_24h", "nearest_24h_counter",
        "minutes_any", "nearest_any_counter", "over_45_24h", "over_60_24h", "over_45_any",
        "over_60_any", "hub_site_id", "hub_name", "hub_walk_minutes"]
    assert wards["over_60_24h"].tolist() == [False, False, True]
    assert wards["over_45_any"].tolist() == [False, False, True]
    lsoas = lsoa_table(analysis)
    assert list(lsoas.columns[:5]) == ["lsoa_code", "lsoa_name", "ward_code", "borough", "population"]
    assert lsoas["over_60_24h"].tolist() == [False, False, False, True, True]  # L5: no route
    assert lsoas["borough"].tolist() == ["Alpha", "Alpha", "Alpha", "Beta", "Beta"]
    # the caller's frames are untouched
    assert "over_45_24h" not in analysis.wards
    assert "over_45_24h" not in analysis.lsoas


def test_hub_table_coordinates() -> None:
    hubs = hub_table(tiny_analysis())
    assert list(hubs.columns) == ["site_id", "name", "kind", "lon", "lat", "easting", "northing",
                                  "cost", "wards_served", "officers"]
    police = hubs.set_index("site_id").loc["police-1"]
    assert (police["easting"], police["northing"]) == (530_500, 180_500)
    # Trafalgar Square is about BNG (530000, 180400) = (-0.128, 51.508); 500 m east of it
    # is 0.007 degrees of longitude further east at this latitude
    assert police["lon"] == pytest.approx(-0.121, abs=0.002)
    assert police["lat"] == pytest.approx(51.509, abs=0.002)


def test_write_outputs_tiny(tmp_path: Path) -> None:
    analysis = tiny_analysis(scenario=tiny_scenario([
        {"kind": "counter_per_borough", "name": "one-24h", "sentence": "Every borough has one."}]))
    results = evaluate(analysis)
    written = write_outputs(analysis, tmp_path / "out", constraint_results=results)
    assert [p.name for p in written] == [*OUTPUT_FILES, *GEO_OUTPUT_FILES]
    wards_csv = (tmp_path / "out" / "wards.csv").read_text()
    assert wards_csv.splitlines()[3] == (
        "E05000003,North,Beta,2000,70.00,alpha-24,53.00,alpha-day,True,True,True,False,"
        "library-1,Beta Library,12.00")
    lsoas_csv = (tmp_path / "out" / "lsoas.csv").read_text()
    assert ",,alpha-24," in lsoas_csv.splitlines()[5]  # L5: no route is an empty cell
    facts = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert facts["constraints"][0]["breaking"] == ["E09000003 Beta"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert report.startswith("# Tiny town\n")
    for text in ("| Alpha | 6,000 | 40.0 | 30.0 |", "## Known gaps in the data",
                 "- **river**: no open timetable", "  - **tube**: timetabled", "| **FAIL** | `one-24h` |",
                 "`one-24h`: Broken by 1: E09000003 Beta.",
                 "| Beta | North | E05000003 | 70.0 |"):
        assert text in report
    assert "0.123" not in (tmp_path / "out" / "summary.json").read_text()  # no timings


def test_write_outputs_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_outputs(tiny_analysis(), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "notes.txt").write_text("mine")

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr("siting.report.render_markdown", broken)
    changed = tiny_analysis(minutes={"L1": (99.0, 99.0)})
    with pytest.raises(RuntimeError, match="disk full"):
        write_outputs(changed, out)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.name != "notes.txt"}
    assert after == before  # the previous outputs, whole
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folder left
    with pytest.raises(RuntimeError, match="disk full"):
        write_outputs(changed, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()


def test_hubs_disabled_and_empty(tmp_path: Path) -> None:
    analysis = tiny_analysis(scenario=tiny_scenario(hubs={"enabled": False}), assignment=[])
    empty = Analysis(**{**analysis.__dict__, "hubs": analysis.hubs.iloc[0:0]})
    write_outputs(empty, tmp_path)
    assert (tmp_path / "hubs.csv").read_text() == (
        "site_id,name,kind,lon,lat,easting,northing,cost,wards_served,officers\n")
    assert "DWO hubs: not sited in this scenario." in (tmp_path / "report.md").read_text()


# ---------------------------------------------------------------------------------------------
# Real London layers


def test_summary_real_london(london_final: Analysis) -> None:
    facts = summary(london_final)
    assert facts["population"] == 8_173_941
    assert (facts["wards"], facts["lsoas"]) == (630, 4835)
    assert facts["counters"]["counts"] == {"24h": 32, "daytime": 4, "closed": 41}
    lsoas, wards = london_final.lsoas, london_final.wards
    for m in MEASURES:
        for t in (30, 45, 60):
            within = lsoas.loc[lsoas[f"minutes_{m}"] <= t, "population"].sum() / 8_173_941
            assert facts["measures"][m]["share_within"][str(t)] == round(within, 6)
        shares = facts["measures"][m]["share_within"]
        assert shares["30"] <= shares["45"] <= shares["60"]
        for t in (45, 60):
            over = facts["measures"][m]["over"][str(t)]
            # the analysis' own flags and people-over counts agree with the report's
            assert over["population"] == wards[f"pop_over_{t}_{m}"].sum()
            assert [w["ward_code"] for w in over["ward_list"]] == sorted(
                wards.loc[wards[f"over_{t}_{m}"], "ward_code"])
            # the draws' spread: 16 draws in 8 pairs take 16 half-samples (Hadamard order 16);
            # it is zero exactly when no LSOA's flag depends on the half-sample
            draws = over["draws"]
            assert (draws["draws"], draws["half_samples"]) == (16, 16)
            assert draws["half_sample_min"] <= draws["half_sample_max"]
            assert 0 <= draws["population_that_flips"] <= 8_173_941
            assert (draws["sd"] == 0) == (draws["lsoas_that_flip"] == 0)
            assert len(draws["flipping"]) == draws["lsoas_that_flip"]
            flipping = lsoas["lsoa_code"].isin(draws["flipping"])
            assert lsoas.loc[flipping, "population"].sum() == draws["population_that_flips"]
            if draws["lsoas_that_flip"] == 0:
                assert draws["half_sample_min"] == draws["half_sample_max"] == over["population"]
    # more counters open on arrival can only bring people closer
    assert facts["measures"]["any"]["share_within"]["45"] >= facts["measures"]["24h"]["share_within"]["45"]


def test_borough_table_real_london(london_final: Analysis) -> None:
    table = borough_table(london_final)
    assert len(table) == 34  # 32 boroughs, the City and London
    london = table.iloc[-1]
    assert london["population"] == 8_173_941
    assert table.iloc[:-1]["population"].sum() == 8_173_941
    assert table.iloc[:-1]["pop_over_45_24h"].sum() == london["pop_over_45_24h"]
    assert london["counters_24h"] == 32
    assert london["hubs"] == len(london_final.hubs)
    assert table.iloc[:-1]["hubs"].sum() == len(london_final.hubs)
    met = table[(table["borough_code"] != "") & (table["borough_code"] != "E09000001")]
    assert (met["counters_24h"] == 1).all()  # one 24/7 counter per borough in the final strategy


def test_outputs_byte_identical_real_london(london_final: Analysis, tmp_path: Path) -> None:
    write_outputs(london_final, tmp_path / "a", constraint_results=evaluate(london_final))
    write_outputs(london_final, tmp_path / "b", constraint_results=evaluate(london_final))
    for name in OUTPUT_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    wards = pd.read_csv(tmp_path / "a" / "wards.csv")
    assert len(wards) == 630
    assert wards["ward_code"].is_monotonic_increasing
    assert wards["population"].sum() == 8_173_941
    assert wards["minutes_24h"].notna().all()
    hubs = pd.read_csv(tmp_path / "a" / "hubs.csv")
    assert len(hubs) == len(london_final.hubs)
    assert hubs["lon"].between(-0.52, 0.34).all()
    assert hubs["lat"].between(51.28, 51.70).all()
    report = (tmp_path / "a" / "report.md").read_text()
    assert "| **London** | 8,173,941 |" in report
    assert "## Known gaps in the data" in report
    assert "timings" not in (tmp_path / "a" / "summary.json").read_text()
    # the headline's draw spread, as summary.json gives it
    spread = london_final.draw_spread["24h"]["45"]
    assert (f"Estimated from 16 balanced half-samples of this run's 16 draws, that moves the "
            f"people over 45 minutes by about ±{spread['sd']:,} (24/7)") in report
    if spread["lsoas_that_flip"]:  # the wards of the LSOAs that change side are named
        wards = london_final.wards.set_index("ward_code")
        ward = london_final.lsoas.set_index("lsoa_code").at[spread["flipping"][0], "ward_code"]
        assert f"{wards.at[ward, 'ward_name']} ({wards.at[ward, 'borough']})" in report


def test_independent_analyses_write_identical_bytes(london_dir: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):  # two separate builds of the stand-in on the real layers
        analysis = standin_analysis(real_scenario("london-2017-final"), london_dir)
        write_outputs(analysis, tmp_path / name, constraint_results=evaluate(analysis))
    for name in OUTPUT_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_constraint_results_render_in_report() -> None:
    result = ConstraintResult(name="n", kind="max_hubs", sentence="At most 1 hub.",
                              required="<= 1 hubs", actual="2 hubs", passed=False)
    analysis = tiny_analysis()

    text = render_markdown(analysis, constraint_results=[result])
    assert "| **FAIL** | `n` | At most 1 hub. | <= 1 hubs | 2 hubs |" in text
    assert "0 of 1 constraints met." in text
    assert "Not checked" in render_markdown(analysis)
    assert "sets no constraints" in render_markdown(analysis, constraint_results=[])


def test_report_renders_network_modes_and_folds_long_assumptions() -> None:
    base = tiny_analysis()
    modes = {"feed": "london-modelled", "peak_hour": "08:15-09:15",
             "modes": {"bus": {"modelled": True, "how": "route sequences", "routes": 545,
                               "stops": 19877, "median_headway_min": 10.0,
                               "notes": {"runs": [1, 2]}}},
             "missing": [{"mode": "night buses", "why": "night routes are dropped"}, "cable car"]}
    assumptions = {"network": {f"setting_{i:02d}": i for i in range(13)}, "thresholds": [45, 60],
                   "empty": []}
    text = render_markdown(Analysis(**{**base.__dict__, "modes": modes, "assumptions": assumptions}))
    assert "- **night buses**: night routes are dropped\n- cable car\n" in text
    assert "| bus | yes | route sequences | 545 | 19877 | 10.0 |" in text
    assert "runs" not in text  # per-mode notes stay in summary.json
    assert "- **feed**: london-modelled" in text
    assert "<details><summary>network (13 settings)</summary>" in text
    assert "- **thresholds**: 45, 60\n" in text
    assert "- **empty**: (none)\n" in text


# ---------------------------------------------------------------------------------------------
# One rounding rule, wards over every threshold, uncovered wards, named communities


def test_headline_share_is_the_exact_share_rounded_once() -> None:
    analysis = tiny_analysis()
    text = render_markdown(analysis)
    # 24h: within 30 1000/8000 = 12.5%, 45 3000/8000 = 37.5%, 60 6000/8000 = 75.0%
    assert "| nearest 24/7 counter | 12.5% | 37.5% | 75.0% | 5,000 | 2,000 | 1 | 1 |" in text
    facts = summary(analysis)
    assert facts["measures"]["24h"]["share_within"]["45"] == 0.375
    # summary.json keeps six decimals, so 1/7 of the people is 0.142857 (not 0.1429) and a
    # share of 0.98996 stays under a threshold of 0.99
    from siting.report import SUMMARY_DIGITS, _round

    assert _round({"share": 1 / 7, "close": 0.98996}, SUMMARY_DIGITS) == {
        "share": 0.142857, "close": 0.98996}


def test_report_lists_wards_over_every_threshold() -> None:
    text = render_markdown(tiny_analysis())
    # 24h: only North/Beta (70) is over 45, and it is over 60 too
    assert "## Wards over 45 minutes (nearest 24/7 counter)" in text
    assert "| Beta | North | E05000003 | 70.0 | over 60 |" in text
    # on arrival: North/Beta at (1500*50 + 500*62)/2000 = 53 is over 45, not 60
    assert "## Wards over 45 minutes (nearest counter open on arrival)" in text
    assert "| Beta | North | E05000003 | 53.0 | over 45 |" in text
    # a ward just over a threshold is printed with the digits that show it
    close = render_markdown(tiny_analysis(minutes={"L4": (60.04, 50.0), "L5": (60.04, 62.0)}))
    assert "| Beta | North | E05000003 | 60.04 | over 60 |" in close


def test_report_names_each_uncovered_wards_nearest_candidate() -> None:
    base = tiny_analysis(assignment=[("E05000001", "police-1", 8.0), ("E05000003", "library-1", 12.0)])
    rows = [{"ward_code": "E05000002", "ward_name": "South", "nearest_site_id": "fire:9",
             "nearest_name": "Far Fire Station", "nearest_minutes": 24.13, "limit_needed": 24.2}]
    analysis = Analysis(**{**base.__dict__, "hub_figures": {**base.hub_figures,
                                                            "uncovered_wards": rows}})
    text = render_markdown(analysis)
    assert "## Wards with no DWO hub within a 20-minute walk" in text
    assert "| Alpha | South | E05000002 | Far Fire Station (fire:9) | 24.1 | 24.2 |" in text
    assert "## Wards with no DWO hub" not in render_markdown(tiny_analysis())


def test_constraint_rows_show_findings_and_reasons() -> None:
    analysis = tiny_analysis(scenario=tiny_scenario([
        {"kind": "hubs_cover_all_wards", "name": "walk", "sentence": "A hub within 20 min.",
         "expect": "unmet", "because": "South has no site near it."},
        {"kind": "share_within", "name": "share", "sentence": "Over 3/8 within 45 min.",
         "minutes": 45, "more_than": "3/8", "reading": "Strictly more than three eighths."}]))
    results = evaluate(analysis)
    text = render_markdown(analysis, constraint_results=results)
    assert "0 of 2 constraints met; 1 unmet as recorded (expected findings)." in text
    assert ("| unmet (expected) | `walk` | A hub within 20 min. | every ward has a hub within "
            "20 min walk | 1 of 3 wards without a hub within 20 min |") in text
    assert ("`walk`: Recorded as unmet because: South has no site near it. Broken by 1: "
            "E05000002 South, Alpha.") in text
    assert "| **FAIL** | `share` |" in text
    assert ("`share`: Reading: Strictly more than three eighths. Broken by 2: E05000001 North, "
            "Alpha; E05000003 North, Beta.") in text  # '; ' between wards named 'Ward, Borough'
    facts = summary(analysis)
    assert "constraints" not in facts
    written = json.loads(_build_summary(analysis, results))
    assert [(c["name"], c["expect"], c["ok"]) for c in written["constraints"]] == [
        ("walk", "unmet", True), ("share", "met", False)]
    assert written["constraints"][0]["because"] == "South has no site near it."


def _build_summary(analysis: Analysis, results: list[ConstraintResult]) -> str:
    from siting.report import _build

    return _build(analysis, results)["summary.json"]


def test_named_communities_are_in_the_ward_layer(london_dir: Path) -> None:
    """The list typed from the strategy names real wards of the boroughs it says."""
    from siting.communities import named_communities

    wards = _layers(london_dir, "census2011")[0].set_index("ward_code")
    rows = named_communities()
    assert [r["community"] for r in rows] == ["Barnet town centre", "Enfield Chase", "Cockfosters",
                                              "Southgate"]
    for row in rows:
        assert wards.loc[row["ward_code"], "ward_name"] == row["ward_name"]
        assert wards.loc[row["ward_code"], "borough"] == row["borough"]
        assert "2017" in row["source"]


def test_named_communities_in_summary_and_report(london_dir: Path) -> None:
    analysis = standin_analysis(real_scenario("london-2017-final"), london_dir)
    facts = summary(analysis)
    named = facts["named_communities"]
    assert [c["ward_code"] for c in named] == ["E05000056", "E05000195", "E05000196", "E05000208"]
    wards = analysis.wards.set_index("ward_code")
    for c in named:
        assert c["24h"]["minutes"] == round(float(wards.loc[c["ward_code"], "minutes_24h"]), 2)
        assert c["24h"]["nearest_counter"] == wards.loc[c["ward_code"], "nearest_24h_counter"]
        assert c["model_over_60_minutes"] == (c["24h"]["minutes"] > 60)
    text = render_markdown(analysis, facts=facts)
    assert "## Communities the strategy names" in text
    assert "| Barnet town centre | High Barnet (E05000056) | Barnet |" in text
    # the tiny town has none of those wards: no section
    assert "Communities the strategy names" not in render_markdown(tiny_analysis())
    assert summary(tiny_analysis())["named_communities"] == []


# ---------------------------------------------------------------------------------------------
# Escaping: a viewer that renders HTML shows hostile names, never runs them

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)> | [x](javascript:alert(3)) `*_"
ALLOWED_TAGS = ("<details>", "</details>", "<summary>", "</summary>")


def _hostile_analysis() -> Analysis:
    scenario = tiny_scenario(
        [{"kind": "no_ward_over", "name": f"name {HOSTILE}", "sentence": f"sentence {HOSTILE}",
          "minutes": 45, "reading": f"reading {HOSTILE}", "expect": "unmet",
          "because": f"because {HOSTILE}"}],
        title=f"Title {HOSTILE}", description=f"Description\n# {HOSTILE}")
    base = tiny_analysis(scenario=scenario)
    wards = base.wards.copy()
    wards["ward_name"] = [f"Ward {HOSTILE}", "South", "North"]
    wards["borough"] = [f"Borough {HOSTILE}", f"Borough {HOSTILE}", "Beta"]
    boroughs = base.boroughs.copy()
    boroughs["borough"] = ["City of London", f"Borough {HOSTILE}", "Beta"]
    return Analysis(**{**base.__dict__, "wards": wards, "boroughs": boroughs,
                       "assumptions": {f"key {HOSTILE}": f"value {HOSTILE}",
                                       "many": {f"k{i} {HOSTILE}": HOSTILE for i in range(13)}},
                       "modes": {"missing": {f"mode {HOSTILE}": f"why {HOSTILE}"},
                                 "modes": {f"bus {HOSTILE}": {"how": HOSTILE, "routes": 1}}},
                       "hub_figures": {**base.hub_figures, "uncovered_wards": [
                           {"ward_code": "E05000002", "ward_name": "South",
                            "nearest_site_id": f"site {HOSTILE}", "nearest_name": HOSTILE,
                            "nearest_minutes": 24.1, "limit_needed": 24.1}]}})


def _table_rows_keep_their_columns(text: str) -> None:
    """Every row of each Markdown table has its header's number of unescaped pipes."""
    pipes = 0
    for line in text.splitlines():
        if not line.startswith("|"):
            pipes = 0
            continue
        count = len(re.findall(r"(?<!\\)\|", line))
        if pipes == 0:
            pipes = count
        assert count == pipes, line


def test_report_escapes_hostile_text() -> None:
    analysis = _hostile_analysis()
    text = render_markdown(analysis, constraint_results=evaluate(analysis))
    markup = text
    for tag in ALLOWED_TAGS:
        markup = markup.replace(tag, "")
    assert re.search(r"<[A-Za-z/!?]", markup) is None  # no tag, comment or autolink can open
    assert re.search(r"(?<!\\)\]\(javascript:", text) is None  # no link can form
    assert "&lt;script>alert(1)&lt;/script>" in text
    assert "# Title &lt;script>" in text
    assert "\n# &lt;script" not in text  # the description's line break starts no heading
    _table_rows_keep_their_columns(text)


def test_hostile_names_survive_in_data_files(tmp_path: Path) -> None:
    """CSV and JSON carry names as data (quoted, JSON-escaped), exactly as given."""
    analysis = _hostile_analysis()
    write_outputs(analysis, tmp_path, constraint_results=evaluate(analysis))
    wards = pd.read_csv(tmp_path / "wards.csv")
    assert wards.loc[0, "ward_name"] == f"Ward {HOSTILE}"
    facts = json.loads((tmp_path / "summary.json").read_text())
    assert facts["scenario"]["title"] == f"Title {HOSTILE}"


@given(st.text())
def test_md_text_never_opens_markup(text: str) -> None:
    """Whatever a name holds, escaped it opens no tag, link, code span or table cell, and
    starts no new line."""
    out = md_text(text)
    assert re.search(r"<[A-Za-z/!?]", out) is None
    assert "\n" not in out
    assert "\r" not in out
    # every Markdown special character is escaped (an odd run of backslashes before it),
    # except '_' between two letters or digits, which cannot open emphasis
    for match in re.finditer(r"(\\*)([|`\[\]*_])", out):
        start, end = match.start(2), match.end(2)
        intraword = (match.group(2) == "_" and not match.group(1) and start > 0 and end < len(out)
                     and out[start - 1].isalnum() and out[end].isalnum())
        assert intraword or len(match.group(1)) % 2 == 1, (text, out)


def test_csv_names_never_run_as_formulas(tmp_path: Path) -> None:
    base = tiny_analysis()
    wards = base.wards.copy()
    wards["ward_name"] = ["=HYPERLINK(\"http://x\")", "+1", "North"]
    write_outputs(Analysis(**{**base.__dict__, "wards": wards}), tmp_path)
    table = pd.read_csv(tmp_path / "wards.csv")
    assert table["ward_name"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+1", "North"]
    assert table["minutes_24h"].tolist() == [42.5, 40.0, 70.0]  # numbers untouched


def _csv_cell_by_cell(frame: pd.DataFrame, float_digits: dict[str, int]) -> str:
    """The CSV of `report._csv` for number columns, one Python format per cell (its spec)."""
    import math

    out = frame.copy()
    for col, digits in float_digits.items():
        out[col] = [("" if v is None or (isinstance(v, float) and math.isnan(v))
                     else f"{float(v):.{digits}f}") for v in out[col]]
    return out.to_csv(index=False, lineterminator="\n")


@given(st.lists(st.one_of(st.none(), st.floats(width=64), st.integers(-10**6, 10**6)),
                min_size=1, max_size=30), st.integers(0, 6))
def test_csv_formats_each_number_cell_as_python_does(values: list[Any], digits: int) -> None:
    """The number columns are formatted a column at a time: the same text as a Python format
    of each cell, empty for None or NaN, infinities and -0.0 included."""
    from siting.report import _csv

    as_objects = pd.DataFrame({"minutes_x": pd.Series(values, dtype=object), "name": "a"})
    assert (_csv(as_objects, {"minutes_x": digits})
            == _csv_cell_by_cell(as_objects, {"minutes_x": digits}))
    as_floats = pd.DataFrame({"minutes_x": [np.nan if v is None else float(v) for v in values]})
    assert (_csv(as_floats, {"minutes_x": digits})
            == _csv_cell_by_cell(as_floats, {"minutes_x": digits}))
