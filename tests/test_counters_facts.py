"""The front-counter registry (siting/facts/counters.csv): shape, positions and scenario derivations."""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from importlib import resources
from pathlib import Path

import geopandas as gpd
import pytest

from siting._crs import BNG, WGS84

COLUMNS = [
    "counter_id", "borough", "borough_gss", "name", "source_name", "lon", "lat", "position",
    "position_note", "daily_crime_reports_may2017", "volunteer_staffed", "building_disposed_final",
    "daytime_open",
    "daytime_close", "hours_note",
]  # fmt: skip
ANNEX_BOROUGH = {
    "Barking & Dagenham": "Barking and Dagenham",
    "Hammersmith & Fulham": "Hammersmith and Fulham",
    "Kensington & Chelsea": "Kensington and Chelsea",
    "Kingston": "Kingston upon Thames",
    "Richmond": "Richmond upon Thames",
}
# The draft's five swaps (new 24/7 site -> the 24/7 site before the strategy), strategy README.
SWAPS = {
    "barking-learning-centre": "dagenham",
    "marlowe-house": "bexleyheath",
    "hayes": "uxbridge",
    "kensington": "notting-hill",
    "mitcham": "wimbledon",
}
FINAL_DAYTIME = {"church-street", "grenfell", "pinner", "ruislip"}
POI = Path("osm") / "poi"


def _registry() -> list[dict[str, str]]:
    text = resources.files("siting").joinpath("facts/counters.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def registry() -> list[dict[str, str]]:
    """The registry rows, as strings."""
    return _registry()


@pytest.fixture(scope="module")
def annex(london_dir: Path, registry: list[dict[str, str]]) -> list[dict[str, str]]:
    """Annex 3 rows (shared/strategy, beside data/london) with the registry's counter_id added."""
    path = london_dir.parents[1] / "strategy" / "front_counters_annex3.csv"
    if not path.is_file():
        message = f"strategy annex not found at {path}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    ids = {(row["borough"], row["name"]): row["counter_id"] for row in registry}
    rows = _read_csv(path)
    for row in rows:
        row["ward_borough"] = ANNEX_BOROUGH.get(row["borough"], row["borough"])
        row["counter_id"] = ids.get((row["ward_borough"], row["counter"]), "")
    return rows


def _one_per_borough(annex: list[dict[str, str]], ids: set[str]) -> Counter[str]:
    borough = {row["counter_id"]: row["ward_borough"] for row in annex}
    return Counter(borough[cid] for cid in ids)


def _baseline_24h(annex: list[dict[str, str]]) -> set[str]:
    """Before the strategy: the draft's retained counter, or the site a swap moved away from."""
    return {
        SWAPS.get(r["counter_id"], r["counter_id"])
        for r in annex
        if r["closure_draft_sep2017"] == "No"
    }


# --- the registry on its own ---------------------------------------------------------------


def test_columns_and_row_count(registry: list[dict[str, str]]) -> None:
    assert list(registry[0]) == COLUMNS
    assert len(registry) == 77


def test_ids_unique_and_slugs(registry: list[dict[str, str]]) -> None:
    ids = [row["counter_id"] for row in registry]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", cid) for cid in ids)
    assert {"charing-cross", "wood-green", "barking-learning-centre", "windmill-road-custody",
            "bromley", "church-street", "grenfell", "harrow"} <= set(ids)  # fmt: skip


def test_rows_sorted_by_borough_then_id(registry: list[dict[str, str]]) -> None:
    keys = [(row["borough"], row["counter_id"]) for row in registry]
    assert keys == sorted(keys)


def test_value_formats(registry: list[dict[str, str]]) -> None:
    for row in registry:
        assert row["position"] in {"matched", "revised", "approximate"}, row["counter_id"]
        assert row["volunteer_staffed"] in {"0", "1"}, row["counter_id"]
        assert re.fullmatch(r"E090000\d\d", row["borough_gss"]), row["counter_id"]
        assert re.fullmatch(r"-?\d+\.\d{6}", row["lon"]), row["counter_id"]
        assert re.fullmatch(r"\d+\.\d{6}", row["lat"]), row["counter_id"]
        assert -0.52 < float(row["lon"]) < 0.34, row["counter_id"]
        assert 51.28 < float(row["lat"]) < 51.70, row["counter_id"]
        if row["daily_crime_reports_may2017"]:
            assert float(row["daily_crime_reports_may2017"]) >= 0
        opens, closes = row["daytime_open"], row["daytime_close"]
        assert re.fullmatch(r"[012]\d:[0-5]\d", opens), row["counter_id"]
        assert re.fullmatch(r"[012]\d:[0-5]\d", closes), row["counter_id"]
        assert opens < closes, row["counter_id"]
        assert row["hours_note"], row["counter_id"]


def test_volunteer_counters_keep_short_hours(registry: list[dict[str, str]]) -> None:
    hours = {(r["volunteer_staffed"], r["daytime_open"], r["daytime_close"]) for r in registry}
    assert hours == {("0", "08:00", "20:00"), ("1", "10:00", "14:00")}
    volunteers = {r["counter_id"] for r in registry if r["volunteer_staffed"] == "1"}
    assert volunteers == {
        "west-wickham",
        "new-malden",
        "teddington",
        "worcester-park",
        "pinner",
        "ruislip",
    }


def test_approximate_positions_are_explained(registry: list[dict[str, str]]) -> None:
    approximate = {r["counter_id"]: r for r in registry if r["position"] == "approximate"}
    assert set(approximate) == {"harrow", "windmill-road-custody", "grenfell", "church-street"}
    for cid, row in approximate.items():
        assert row["source_name"] == "", cid
        assert row["position_note"].startswith("approximate:"), cid
    for row in registry:
        if row["position"] != "approximate":
            assert row["source_name"], row["counter_id"]


def test_known_name_matches(registry: list[dict[str, str]]) -> None:
    source = {r["counter_id"]: r["source_name"] for r in registry}
    assert source["barking-learning-centre"] == "BARKING LEARNING ANNEX"
    assert source["wood-green"] == "FISHMONGERS ARMS 287 HIGH ROAD (GROUND FLOOR)"
    assert source["new-malden"] == "C I TOWER GROUND FLOOR PART"
    assert source["uxbridge"] == "HILLINGDON (UXBRIDGE) POLICE STATION"
    assert source["hayes"] == "HAYES POLICE STATION DAYTIME"
    # Harrow's counter is Harrow Police Station (South Harrow), not Kirkland House.
    assert source["harrow"] == ""


# --- against the shared London data -----------------------------------------------------------


def test_points_within_500m_of_their_borough(
    london_dir: Path, registry: list[dict[str, str]]
) -> None:
    boroughs = gpd.read_file(london_dir / "boundaries" / "london_boroughs_2014_from_wards.geojson")
    gss = dict(zip(boroughs["Borough"], boroughs["LB_GSS_Code"], strict=True))
    shapes = boroughs.to_crs(BNG).set_index("Borough").geometry
    points = gpd.GeoSeries(
        gpd.points_from_xy(
            [float(r["lon"]) for r in registry], [float(r["lat"]) for r in registry]
        ),
        crs=WGS84,
    ).to_crs(BNG)
    far = {}
    for row, point in zip(registry, points, strict=True):
        assert gss[row["borough"]] == row["borough_gss"], row["counter_id"]
        distance = shapes[row["borough"]].distance(point)
        if distance > 500:
            far[row["counter_id"]] = round(distance)
    assert far == {}
    assert len(set(gss) - {"City of London"} - {r["borough"] for r in registry}) == 0


def test_coordinates_equal_the_mopac_lists(
    london_dir: Path, registry: list[dict[str, str]]
) -> None:
    original = {
        r["name"]: r
        for r in _read_csv(london_dir / POI / "mopac_police_front_counters_2017_original.csv")
    }
    revised = {
        r["name"]: r
        for r in _read_csv(
            london_dir / POI / "mopac_police_front_counters_2017_nemoray_revised.csv"
        )
    }
    for row in registry:
        if row["position"] == "approximate":
            continue
        source = (original if row["position"] == "matched" else revised)[row["source_name"]]
        got = (float(row["lon"]), float(row["lat"]))
        assert got == pytest.approx(
            (float(source["longitude"]), float(source["latitude"])), abs=6e-7
        )


# --- against annex 3 of the strategy ------------------------------------------------------


def test_every_annex_row_is_in_the_registry(
    annex: list[dict[str, str]], registry: list[dict[str, str]]
) -> None:
    assert len(annex) == 77
    assert all(row["counter_id"] for row in annex), [
        r["counter"] for r in annex if not r["counter_id"]
    ]
    by_id = {row["counter_id"]: row for row in registry}
    for row in annex:
        mine = by_id[row["counter_id"]]
        assert mine["volunteer_staffed"] == row["volunteer_staffed"], row["counter"]
        reports = row["daily_crime_reports_may2017"]
        if re.fullmatch(r"\d+(\.\d+)?", reports):
            assert float(mine["daily_crime_reports_may2017"]) == float(reports), row["counter"]
        else:
            assert mine["daily_crime_reports_may2017"] == "", row["counter"]


def test_baseline_has_one_24h_counter_per_borough(annex: list[dict[str, str]]) -> None:
    open_2017 = {r["counter_id"] for r in annex if r["closure_draft_sep2017"] != "(not listed)"}
    open_24h = _baseline_24h(annex)
    counts = _one_per_borough(annex, open_24h)
    assert len(counts) == 32
    assert set(counts.values()) == {1}
    assert open_24h <= open_2017
    assert (len(open_2017), len(open_2017 - open_24h)) == (73, 41)
    assert {
        "dagenham",
        "bexleyheath",
        "uxbridge",
        "notting-hill",
        "wimbledon",
        "charing-cross",
    } <= open_24h
    assert not {"paddington-green", "hayes", "kensington", "mitcham"} & open_24h


def test_draft_has_one_24h_counter_per_borough(annex: list[dict[str, str]]) -> None:
    open_24h = {r["counter_id"] for r in annex if r["closure_draft_sep2017"] == "No"}
    counts = _one_per_borough(annex, open_24h)
    assert len(counts) == 32
    assert set(counts.values()) == {1}
    assert set(SWAPS) <= open_24h


def test_final_has_one_24h_counter_per_borough(annex: list[dict[str, str]]) -> None:
    open_24h = {r["counter_id"] for r in annex if r["closure_final_nov2017"] == "No"}
    counts = _one_per_borough(annex, open_24h)
    assert len(counts) == 32
    assert set(counts.values()) == {1}
    # Two swaps reversed (Dagenham, Bexleyheath stay), three kept (Hayes, Kensington, Mitcham).
    assert {"dagenham", "bexleyheath", "hayes", "kensington", "mitcham"} <= open_24h
    assert not FINAL_DAYTIME & open_24h
    not_in_draft = {r["counter_id"] for r in annex if r["closure_draft_sep2017"] == "(not listed)"}
    assert not_in_draft == FINAL_DAYTIME


def test_baseline_rule_on_a_hand_built_annex() -> None:
    rows = [
        {"counter_id": "mitcham", "ward_borough": "Merton", "closure_draft_sep2017": "No"},
        {"counter_id": "wimbledon", "ward_borough": "Merton", "closure_draft_sep2017": "Yes"},
        {"counter_id": "brixton", "ward_borough": "Lambeth", "closure_draft_sep2017": "No"},
        {"counter_id": "streatham", "ward_borough": "Lambeth", "closure_draft_sep2017": "Yes"},
    ]
    # Merton's draft swap (Wimbledon -> Mitcham) is undone; Lambeth had no swap.
    assert _baseline_24h(rows) == {"wimbledon", "brixton"}
    assert _one_per_borough(rows, _baseline_24h(rows)) == Counter({"Merton": 1, "Lambeth": 1})
