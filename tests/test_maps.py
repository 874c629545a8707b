"""Maps: bands worked out by hand, escaping of every input text, offline and byte-identical HTML,
the London map's size, the comparison map and the index page."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import geopandas as gpd
import geopandas.testing
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from browser.standin import HOSTILE, analysis_or_standin, with_hostile_names
from siting._crs import BNG
from siting._errors import DataError
from siting.analysis import Analysis
from siting.maps import (
    BAND_COLOURS,
    BAND_LABELS,
    band_index,
    build_map,
    render_html,
    write_compare_map,
    write_index,
    write_map,
)
from siting.network.walk import DEFAULT_CIRCUITY, WalkModel
from siting.scenario import Scenario

REPO = Path(__file__).resolve().parents[1]
nan = float("nan")

# ---------------------------------------------------------------------------------------------
# A tiny hand-built case: four 1 km square wards in a row, three counters, one hub

TINY_MINUTES = {
    # ward_code: (ward_name, population, minutes_24h, minutes_any)
    "E05900001": ("Near", 1000, 10.0, 10.0),
    "E05900002": ("Middle", 2000, 46.0, 30.0),
    "E05900003": ("Far", 3000, 61.0, 50.0),
    "E05900004": ("Cut off", 4000, nan, 80.0),
}
# by hand: bands (0-15 -> 0, 45-60 -> 3, 60-75 -> 4, missing -> 6; 15-30 -> 1, 75+ -> 5) and
# outline levels (thresholds exceeded of 45 and 60; missing minutes exceed both)
TINY_BANDS = {"24h": [0, 3, 4, 6], "any": [0, 1, 3, 5]}
TINY_LEVELS = {"24h": [0, 1, 2, 2], "any": [0, 0, 1, 2]}


def tiny_analysis(*, names: dict[str, str] | None = None, minutes_24h: list[float] | None = None,
                  statuses: dict[str, str] | None = None, scenario_id: str = "tiny-map") -> Analysis:
    """Four wards west to east at 530,000 E; counters 24/7, daytime and closed; one fire hub."""
    names = names or {}
    scenario = Scenario.model_validate({
        "id": scenario_id, "title": names.get("title", "Tiny town"),
        "description": names.get("description", "Four wards in a row."),
        "counters": {"open_24h": ["c-24"], "open_daytime": ["c-day"]}})
    codes = list(TINY_MINUTES)
    rows = []
    for i, code in enumerate(codes):
        name, pop, m24, many = TINY_MINUTES[code]
        if minutes_24h is not None:
            m24 = minutes_24h[i]
        rows.append({"ward_code": code, "ward_name": names.get(code, name), "borough": "Alpha",
                     "borough_code": "E09900001", "population": pop, "minutes_24h": m24,
                     "nearest_24h_counter": "c-24", "minutes_any": many,
                     "nearest_any_counter": "c-day" if i else "c-24",
                     "hub_site_id": "fire:1" if i < 2 else "",
                     "hub_name": names.get("hub", "Alpha Fire Station") if i < 2 else "",
                     "hub_walk_minutes": [0.0, 12.5][i] if i < 2 else nan})
    wards = gpd.GeoDataFrame(rows, geometry=[box(530_000 + 1000 * i, 180_000, 531_000 + 1000 * i, 181_000)
                                             for i in range(4)], crs=BNG)
    for m in ("24h", "any"):
        for t in (45, 60):
            wards[f"over_{t}_{m}"] = wards[f"minutes_{m}"].isna() | (wards[f"minutes_{m}"] > t)
            wards[f"pop_over_{t}_{m}"] = np.where(wards[f"over_{t}_{m}"], wards["population"], 0)
    statuses = {"c-24": "24h", "c-day": "daytime", "c-old": "closed"} | (statuses or {})
    counters = gpd.GeoDataFrame(
        {"counter_id": ["c-24", "c-day", "c-old"],
         "name": [names.get("counter", "Alpha 24"), "Alpha Day", "Old Alpha"],
         "borough": "Alpha", "status": [statuses[c] for c in ("c-24", "c-day", "c-old")],
         "open_s": [0, 8 * 3600, nan], "close_s": [48 * 3600, 20 * 3600, nan],
         "daily_crime_reports_may2017": [4.1, nan, 0.3],
         "position": ["matched", "approximate", "matched"]},
        geometry=[Point(530_500, 180_500), Point(532_500, 180_500), Point(533_500, 180_500)], crs=BNG)
    hubs = gpd.GeoDataFrame({"site_id": ["fire:1"], "name": [names.get("hub", "Alpha Fire Station")],
                             "kind": ["fire"], "cost": [3.0], "wards_served": [2], "officers": [4]},
                            geometry=[Point(530_400, 180_600)], crs=BNG)
    assignment = pd.DataFrame({"ward_code": codes[:2], "site_id": ["fire:1", "fire:1"],
                               "minutes": [0.0, 12.5]})
    boroughs = gpd.GeoDataFrame({"borough_code": ["E09900001"], "borough": ["Alpha"]},
                                geometry=[box(530_000, 180_000, 534_000, 181_000)], crs=BNG)
    lsoas = gpd.GeoDataFrame({"lsoa_code": ["L1"], "ward_code": [codes[0]]},
                             geometry=[Point(530_500, 180_500)], crs=BNG)
    return Analysis(scenario=scenario, wards=wards, lsoas=lsoas, counters=counters, hubs=hubs,
                    hub_assignment=assignment, boroughs=boroughs,
                    assumptions={"walking": {"speed_kmh": 4.8, "circuity_used": DEFAULT_CIRCUITY},
                                 "transit": {"departure_window": "07:00-10:00"}},
                    modes={"modelled": {"bus": "frequency-based"}, "missing": ["river"]})


def ward_data(page: str) -> dict:
    """The ward GeoJSON embedded in a map page."""
    match = re.search(r"var ward_data_\d+ = (\{.*?\});\n", page)
    assert match, "no ward data in the page"
    return json.loads(match.group(1))


def in_js(text: str) -> str:
    """How an HTML snippet appears inside the page's script data (JSON, no < > &)."""
    encoded = json.dumps(text, ensure_ascii=False)[1:-1]
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        encoded = encoded.replace(char, code)
    return encoded


def in_script(text: str) -> str:
    """How an input text appears inside the page's script data (HTML-escaped, then JSON)."""
    return in_js(html.escape(text))


# ---------------------------------------------------------------------------------------------
# Bands and styling


def test_band_index_by_hand() -> None:
    minutes = [0.0, 15.0, 15.01, 45.0, 45.1, 75.0, 75.1, 200.0, nan, None, np.inf]
    assert band_index(minutes).tolist() == [0, 0, 1, 2, 3, 4, 5, 5, 6, 6, 6]
    assert band_index(pd.Series([30.0, nan])).tolist() == [1, 6]
    assert len(BAND_LABELS) == len(BAND_COLOURS) == 7


def test_tiny_map_bands_outlines_and_tooltips() -> None:
    page = render_html(build_map(tiny_analysis(), csv_href="../out/tiny-map/wards.csv"))
    data = ward_data(page)
    props = [f["properties"] for f in data["features"]]
    assert [p["c"] for p in props] == list(TINY_MINUTES)
    assert [p["b"][0] for p in props] == TINY_BANDS["24h"]
    assert [p["b"][1] for p in props] == TINY_BANDS["any"]
    assert [p["o"][0] for p in props] == TINY_LEVELS["24h"]
    assert [p["o"][1] for p in props] == TINY_LEVELS["any"]
    middle = props[1]["t"]
    assert "<b>Middle</b>" in middle
    assert "Population (2011 census): 2,000" in middle
    assert "Nearest 24/7 counter: <b>46.0 min</b> (Alpha 24)" in middle
    assert "Nearest counter open on arrival: <b>30.0 min</b> (Alpha Day)" in middle
    assert "DWO hub: Alpha Fire Station, 12.5 min walk" in middle
    assert "no counter reached" in props[3]["t"]
    assert "DWO hub: none within a 20-minute walk" in props[3]["t"]
    # coordinates are WGS84 rounded to 5 decimal places
    ring = data["features"][0]["geometry"]["coordinates"][0]
    assert all(len(repr(v).split(".")[1]) <= 5 for xy in ring for v in xy)
    assert all(-0.2 < xy[0] < 0.0 and 51.4 < xy[1] < 51.6 for xy in ring)
    # both measures are drawn from the same data, as a choice of two base layers
    assert page.count("SitingMap.wards(ward_data_") == 2
    assert '"Travel time to the nearest 24/7 counter" : wards_24h_' in page
    assert '"Travel time to the nearest counter open on arrival" : wards_any_' in page
    assert in_js('href="../out/tiny-map/wards.csv" download') in page
    # legend, and people over each threshold worked out by hand (of 10,000):
    # 24/7 over 45 = Middle + Far + Cut off = 9,000; over 60 = Far + Cut off = 7,000;
    # open on arrival over 45 = Far + Cut off = 7,000; over 60 = Cut off = 4,000
    assert in_js("over 75 min") in page
    assert in_js("ward average over 60 min") in page
    for cells in ("9,000 (90.0%)</td><td class=\"num\">7,000 (70.0%)",
                  "7,000 (70.0%)</td><td class=\"num\">4,000 (40.0%)"):
        assert in_js(cells) in page


def test_counters_hubs_and_reach() -> None:
    page = render_html(build_map(tiny_analysis()))
    for layer in ("24/7 front counters (1)", "Daytime-only front counters (1)",
                  "Front counters closed (1)", "DWO hubs and the wards they serve (1)",
                  "DWO hubs: 20-minute walking reach", "Borough boundaries"):
        assert f'"{layer}" : ' in page, layer
    for text in ("<b>In this scenario:</b> open 24 hours",
                 "<b>In this scenario:</b> open in the daytime only, 08:00–20:00",
                 "<b>In this scenario:</b> closed",
                 "<b>Daily crime reports, May 2017:</b> 4.1",
                 "<b>Daily crime reports, May 2017:</b> not published",
                 "<p>Location: approximate</p>",
                 "<b>Serves 2 wards</b>; officers: 4",
                 "<li>Near (Alpha): 0.0 min walk</li><li>Middle (Alpha): 12.5 min walk</li>"):
        assert in_js(text) in page, text
    # each status has its own CSS-drawn icon (no icon font, no image)
    for cls in ("siting-counter-24h", "siting-counter-daytime", "siting-counter-closed", "siting-hub"):
        assert in_js(f'<div class="{cls}') in page or in_js(f'<div class="siting-counter {cls}') in page
    radius = WalkModel(speed_kmh=4.8, circuity=DEFAULT_CIRCUITY).reach_m(20.0)
    match = re.search(r"SitingMap\.circles\(\[\[[-0-9.,]+\]\], ([0-9.]+),", page)
    assert match
    assert float(match.group(1)) == pytest.approx(radius, abs=0.05)


def test_no_hubs_planned() -> None:
    analysis = tiny_analysis()
    empty = analysis.hubs.iloc[0:0]
    page = render_html(build_map(
        Analysis(**{**analysis.__dict__, "hubs": empty,
                    "hub_assignment": analysis.hub_assignment.iloc[0:0]})))
    assert "SitingMap.hubs(" not in page
    assert "SitingMap.circles(" not in page
    assert "DWO hubs: not planned in this scenario" in ward_data(page)["features"][0]["properties"]["t"]


def test_every_input_text_is_escaped() -> None:
    names = {"E05900001": HOSTILE["ward"], "counter": HOSTILE["counter"], "hub": HOSTILE["hub"],
             "title": HOSTILE["title"], "description": HOSTILE["description"]}
    analysis = tiny_analysis(names=names)
    wards = analysis.wards.copy()
    wards.loc[0, "borough"] = HOSTILE["borough"]
    page = render_html(build_map(Analysis(**{**analysis.__dict__, "wards": wards})))
    for key in ("ward", "borough", "counter", "title", "description"):
        assert HOSTILE[key] not in page, key
        assert in_script(HOSTILE[key]) in page, key
    # text outside scripts: the <title> and meta description are HTML-escaped
    assert f"<title>{html.escape(HOSTILE['title'])}</title>" in page
    assert f'content="{html.escape(HOSTILE["description"])}"' in page
    # the hub name holds Jinja and JS template syntax: kept as JSON text, never evaluated
    assert in_script(HOSTILE["hub"]) in page
    assert page.count("</script>") == page.count("<script>")
    tip = ward_data(page)["features"][0]["properties"]["t"]
    assert tip.startswith(f"<b>{html.escape(HOSTILE['ward'])}</b><br>{html.escape(HOSTILE['borough'])}")


def test_csv_link_must_be_a_file_link() -> None:
    with pytest.raises(DataError, match="csv_href 'javascript:alert\\(1\\)' is not a file link"):
        build_map(tiny_analysis(), csv_href="javascript:alert(1)")


def test_missing_column_is_a_clear_error() -> None:
    analysis = tiny_analysis()
    wards = analysis.wards.drop(columns="minutes_any")
    with pytest.raises(DataError, match="wards table lacks column\\(s\\) minutes_any"):
        build_map(Analysis(**{**analysis.__dict__, "wards": wards}))


def test_offline_assets_inlined() -> None:
    page = render_html(build_map(tiny_analysis()))
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrap", "fontawesome", "font-awesome",
                "awesome-markers", "url(images/"):
        assert cdn not in page, cdn
    assert "Leaflet 1.9.4" in page
    assert "BSD 2-Clause License" in page
    assert "url(data:image/png;base64," in page
    assert "SitingMap.tileNote(" in page
    assert "needs an internet connection" in page


def test_same_analysis_same_bytes(tmp_path: Path) -> None:
    analysis = tiny_analysis()
    before = analysis.wards.copy()
    first = write_map(analysis, tmp_path / "a" / "tiny.html").read_bytes()
    second = write_map(analysis, tmp_path / "b" / "tiny.html").read_bytes()
    assert first == second
    assert render_html(build_map(analysis)).encode("utf-8") == first
    assert not re.search(r"[0-9a-f]{32}", first.decode("utf-8"))  # no random folium ids left
    geopandas.testing.assert_geodataframe_equal(analysis.wards, before)  # the caller's frame untouched


# ---------------------------------------------------------------------------------------------
# Comparison map and index page


def test_compare_map_by_hand(tmp_path: Path) -> None:
    base = tiny_analysis()
    other = tiny_analysis(minutes_24h=[40.0, 46.0, 30.0, 20.0], statuses={"c-old": "daytime"},
                          scenario_id="tiny-other")
    page = write_compare_map(base, other, tmp_path / "compare.html").read_text(encoding="utf-8")
    props = [f["properties"] for f in ward_data(page)["features"]]
    # 24/7 bands 0,3,4,6 -> 2,3,1,1: worse by 2, same, better by 3, better by 5
    assert [p["b"][0] for p in props] == [0, 2, 4, 4]
    assert [p["b"][1] for p in props] == [2, 2, 2, 2]
    assert [p["o"][0] for p in props] == [1, 0, 1, 1]
    assert "10.0 min → <b>40.0 min</b> (worse by 2 or more bands)" in props[0]["t"]
    assert "no counter reached → <b>20.0 min</b> (better by 2 or more bands)" in props[3]["t"]
    assert '"Daytime-only front counters (2; 1 changed)" : ' in page
    assert in_js("<p><b>In tiny-map:</b> closed</p><p><b>In tiny-other:</b> open in the daytime "
                 "only</p>") in page
    assert in_js('<td class="num">1 wards<br>1,000 people</td><td class="num">2 wards<br>'
                 '7,000 people</td>') in page


def test_compare_needs_common_wards() -> None:
    base = tiny_analysis()
    other = tiny_analysis(scenario_id="elsewhere")
    wards = other.wards.assign(ward_code=other.wards["ward_code"].str.replace("E059", "E058"))
    with pytest.raises(DataError, match="'tiny-map' and 'elsewhere' share no ward codes"):
        write_compare_map(base, Analysis(**{**other.__dict__, "wards": wards}), Path("unused.html"))


def test_index_lists_maps_with_titles(tmp_path: Path) -> None:
    maps_dir = tmp_path / "maps"
    one = write_map(tiny_analysis(), maps_dir / "tiny-map.html")
    two = write_map(tiny_analysis(names={"title": HOSTILE["title"]}, scenario_id="odd"),
                    maps_dir / "odd name.html")
    page = write_index([one, two], maps_dir / "index.html").read_text(encoding="utf-8")
    assert '<a href="tiny-map.html">Tiny town</a>' in page
    assert f'<a href="odd%20name.html">{html.escape(HOSTILE["title"])}</a>' in page
    assert HOSTILE["title"] not in page
    assert "<p>Four wards in a row.</p>" in page
    elsewhere = write_index([one], tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert '<a href="../maps/tiny-map.html">' in elsewhere
    with pytest.raises(DataError, match="missing.html: map not found"):
        write_index([maps_dir / "missing.html"], maps_dir / "index.html")


# ---------------------------------------------------------------------------------------------
# Real London


@pytest.fixture(scope="module")
def final_analysis(request: pytest.FixtureRequest, london_dir: Path) -> Analysis:
    return analysis_or_standin(request, "london_final", london_dir, "london-2017-final.yaml")


@pytest.fixture(scope="module")
def baseline_analysis(request: pytest.FixtureRequest, london_dir: Path) -> Analysis:
    return analysis_or_standin(request, "london_baseline", london_dir, "london-2016-baseline.yaml")


@pytest.mark.london
def test_london_map_small_complete_and_repeatable(final_analysis: Analysis, tmp_path: Path) -> None:
    wards_before = final_analysis.wards.geometry.copy()
    path = write_map(final_analysis, tmp_path / "final.html", csv_href="../out/x/wards.csv")
    size = path.stat().st_size
    print(f"London map: {size / 1e6:.2f} MB, {len(final_analysis.wards)} wards")
    assert size < 10_000_000
    page = path.read_text(encoding="utf-8")
    features = ward_data(page)["features"]
    assert [f["properties"]["c"] for f in features] == sorted(final_analysis.wards["ward_code"])
    again = write_map(final_analysis, tmp_path / "again.html", csv_href="../out/x/wards.csv")
    assert again.read_bytes() == path.read_bytes()
    # display simplification never reaches the analysis
    assert final_analysis.wards.geometry.geom_equals_exact(wards_before, tolerance=0).all()
    assert sum(len(json.dumps(f["geometry"])) for f in features) < 3_000_000


@pytest.mark.london
def test_london_hostile_names_escaped(final_analysis: Analysis) -> None:
    page = render_html(build_map(with_hostile_names(final_analysis)))
    for key, text in HOSTILE.items():
        if "<" in text:
            assert text not in page, key
        assert in_script(text) in page, key


@pytest.mark.london
def test_london_compare_map(baseline_analysis: Analysis, final_analysis: Analysis, tmp_path: Path) -> None:
    path = write_compare_map(baseline_analysis, final_analysis, tmp_path / "compare.html")
    assert path.stat().st_size < 10_000_000
    features = ward_data(path.read_text(encoding="utf-8"))["features"]
    assert len(features) == len(final_analysis.wards)


def test_display_simplification_never_drops_a_small_shape():
    """A shape smaller than the tolerance, which plain Douglas-Peucker empties, is kept (its
    topology-preserving simplification is used instead); the others are simplified plainly."""
    import shapely

    from siting.maps import _simplified

    shapes = gpd.GeoSeries([shapely.box(0, 0, 1000, 1000),
                            shapely.Polygon([(0, 0), (5, 0), (5, 5), (2.5, 2.6), (0, 5)])],
                           crs=27700, index=[3, 7])
    assert shapes.simplify(20.0, preserve_topology=False).is_empty.tolist() == [False, True]
    out = _simplified(shapes, 20.0)
    assert out.crs == "EPSG:4326"
    assert out.index.tolist() == [3, 7]
    assert not out.is_empty.any()
    assert out.is_valid.all()
    # the square keeps its 4 corners (+ closing point); the small shape keeps the smallest
    # valid ring the topology-preserving simplifier allows, a triangle (3 + closing point)
    assert shapely.get_num_coordinates(out.to_numpy()).tolist() == [5, 4]
