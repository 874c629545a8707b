"""The resident's map tools: "find your area" search data and cards, the zoomed-in
neighbourhood (LSOA) layer and its compact outline encoding, the embedded ward table, and the
optimiser's new sites in a layer of their own. Hand-built cases with answers worked out by hand."""

from __future__ import annotations

import base64
import dataclasses
import json
import re

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import Point, box

from siting._crs import BNG, WGS84
from siting.maps import _polyline, build_map, render_html
from test_maps import tiny_analysis


def _decode(text: str) -> list[tuple[float, float]]:
    """Google's polyline algorithm, decoded independently of siting (lat, lon pairs)."""
    points, index, lat, lon = [], 0, 0, 0
    while index < len(text):
        delta = []
        for _ in range(2):
            shift = result = 0
            while True:
                byte = ord(text[index]) - 63
                index += 1
                result |= (byte & 0x1F) << shift
                shift += 5
                if byte < 0x20:
                    break
            delta.append(~(result >> 1) if result & 1 else result >> 1)
        lat += delta[0]
        lon += delta[1]
        points.append((lat / 1e5, lon / 1e5))
    return points


def _call_args(page: str, function: str) -> list:
    """The JSON arguments of the page's SitingMap.<function>(map, ...) call."""
    match = re.search(rf"SitingMap\.{function}\(map_\d+, (.*)\);\n", page)
    assert match, f"no SitingMap.{function} call in the page"
    return json.loads(f"[{match.group(1)}]")


def test_polyline_matches_googles_worked_example() -> None:
    # Google's documented example: (38.5, -120.2), (40.7, -120.95), (43.252, -126.453) encode
    # to "_p~iF~ps|U_ulLnnqC_mqNvxq`@" (input is lon, lat).
    lonlat = np.array([[-120.2, 38.5], [-120.95, 40.7], [-126.453, 43.252]])
    assert _polyline(lonlat) == "_p~iF~ps|U_ulLnnqC_mqNvxq`@"
    assert _decode(_polyline(lonlat)) == [(38.5, -120.2), (40.7, -120.95), (43.252, -126.453)]


def test_search_lists_every_ward_with_its_bounds_and_card() -> None:
    analysis = tiny_analysis()
    places, cards, options = _call_args(render_html(build_map(analysis)), "search")
    assert [p[0] for p in places] == ["Near, Alpha", "Middle, Alpha", "Far, Alpha", "Cut off, Alpha"]
    # Ward 2 ("Middle") is the square 531,000-532,000 E x 180,000-181,000 N: its WGS84 box is the
    # box of those four corners projected.
    to_wgs = Transformer.from_crs(BNG, WGS84, always_xy=True)
    lon, lat = to_wgs.transform([531_000, 532_000, 531_000, 532_000], [180_000, 180_000, 181_000, 181_000])
    south, west, north, east = places[1][2]
    assert (south, west, north, east) == pytest.approx((min(lat), min(lon), max(lat), max(lon)), abs=2e-5)
    assert places[1][3:] == [1, -1, "E05900002"]
    # Cards: minutes (24h, any), counter index (24h, any), journey text (none yet), hub, walk.
    # Counters sort by id: c-24 (0), c-day (1), c-old (2); the one hub is fire:1 (index 0).
    assert cards["wards"][1] == [46.0, 30.0, 0, 1, "", "", 0, 12.5]
    assert cards["wards"][3] == [None, 80.0, 0, 1, "", "", -1, None]  # cut off, no hub
    assert options["counters"] == ["Alpha 24", "Alpha Day", "Old Alpha"]
    assert options["hubs"] == ["Alpha Fire Station"]


def test_search_lists_neighbourhoods_and_their_ward_hub() -> None:
    base = tiny_analysis()
    lsoas = gpd.GeoDataFrame(
        {"lsoa_code": ["L1", "L2"], "lsoa_name": ["Alpha 001A", "Alpha 002A"],
         "ward_code": ["E05900001", "E05900003"], "minutes_24h": [9.0, 62.5],
         "minutes_any": [9.0, 50.0], "nearest_24h_counter": ["c-24", "c-24"],
         "nearest_any_counter": ["c-24", "c-day"]},
        geometry=[Point(530_500, 180_500), Point(532_500, 180_500)], crs=BNG)
    analysis = dataclasses.replace(base, lsoas=lsoas)
    places, cards, _ = _call_args(render_html(build_map(analysis)), "search")
    labels = [p[0] for p in places]
    assert labels[4:] == ["Alpha 001A (neighbourhood in Near)", "Alpha 002A (neighbourhood in Far)"]
    # L1 lies in ward Near, served by fire:1 at 0.0 min; L2 in Far, which has no hub.
    assert cards["lsoas"] == [[9.0, 9.0, 0, 0, "", "", 0, 0.0], [62.5, 50.0, 0, 1, "", "", -1, None]]


def test_lsoa_layer_bands_and_outlines() -> None:
    base = tiny_analysis()
    lsoas = gpd.GeoDataFrame(
        {"lsoa_code": ["L1", "L2"], "lsoa_name": ["A", "B"], "ward_code": ["E05900001"] * 2,
         "minutes_24h": [14.0, 61.0], "minutes_any": [16.0, np.nan]},
        geometry=[Point(530_250, 180_500), Point(530_750, 180_500)], crs=BNG)
    areas = gpd.GeoDataFrame({"lsoa_code": ["L2", "L1"]},
                             geometry=[box(530_500, 180_000, 531_000, 181_000),
                                       box(530_000, 180_000, 530_500, 181_000)], crs=BNG)
    analysis = dataclasses.replace(base, lsoas=lsoas, lsoa_areas=areas)
    page = render_html(build_map(analysis))
    assert "Neighbourhoods (LSOAs), from zoom level 13" in page
    items, opts = _call_args(page, "lsoas")
    # sorted by code: L1 (14 min -> band 0; 16 min -> band 1), L2 (61 -> band 4; missing -> 6)
    assert [it[1] for it in items] == [[0, 1], [4, 6]]
    assert opts["minZoom"] == 13
    ring = _decode(items[0][0][0][0])
    to_wgs = Transformer.from_crs(BNG, WGS84, always_xy=True)
    # L1 is the square 530,000-530,500 E x 180,000-181,000 N: its corners, projected
    lon, lat = to_wgs.transform([530_000, 530_500, 530_500, 530_000], [180_000, 180_000, 181_000, 181_000])
    expected = np.array(sorted(zip(lat, lon, strict=True)))
    assert np.abs(np.array(sorted(ring[:4])) - expected).max() < 1e-5
    assert ring[0] == ring[-1]  # a closed square
    assert len(ring) == 5


def test_ward_table_embedded_as_a_download() -> None:
    text = "ward_code,minutes_24h\nE05900001,10.0\n"
    page = render_html(build_map(tiny_analysis(), csv_text=text))
    match = re.search(r'href=\\"data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)\\" '
                      r'download=\\"tiny-map-wards.csv\\"', page)
    assert match, "no embedded CSV download"
    assert base64.b64decode(match.group(1)).decode("utf-8") == text
    assert "../out/" not in page


def test_new_sites_have_their_own_layer_and_icon() -> None:
    page = render_html(build_map(tiny_analysis(), new_sites=["c-day"]))
    assert "New sites proposed by the plan (1)" in page
    assert "Daytime-only front counters (0)" in page  # c-day moved out of its status layer
    assert "siting-counter-new" in page
    plain = render_html(build_map(tiny_analysis()))
    assert "New sites proposed by the plan" not in plain
    assert "Daytime-only front counters (1)" in plain


def test_compare_map_lists_every_setting_that_differs() -> None:
    from siting.maps import build_compare_map

    base = tiny_analysis()
    evening = base.scenario.model_copy(update={
        "id": "tiny-evening",
        "transit": base.scenario.transit.model_copy(update={"departure_window": "19:00-22:00"})})
    other = dataclasses.replace(tiny_analysis(scenario_id="tiny-evening"), scenario=evening)
    page = render_html(build_compare_map(base, other))
    assert "Settings that differ besides the counters" in page
    # the row is in the (JSON-encoded) info panel: setting, base value, compared value in bold
    assert ("transit.departure_window\\u003c/code\\u003e\\u003c/td\\u003e\\u003ctd\\u003e"
            "07:00-10:00\\u003c/td\\u003e\\u003ctd\\u003e\\u003cb\\u003e19:00-22:00") in page
    same = render_html(build_compare_map(base, tiny_analysis(scenario_id="tiny-other")))
    assert "The two scenarios differ only in their counters." in same


def test_postcode_districts_are_searchable() -> None:
    import pandas as pd

    # AB1's addresses lie in ward 2 ("Middle", 531,000-532,000 E); ZZ9's outside every ward.
    districts = pd.DataFrame({"district": ["AB1", "ZZ9"], "n": [3, 1],
                              "x": [531_500.0, 600_000.0], "y": [180_500.0, 180_500.0],
                              "x_min": [531_200.0, 600_000.0], "y_min": [180_200.0, 180_500.0],
                              "x_max": [531_800.0, 600_000.0], "y_max": [180_800.0, 180_500.0]})
    analysis = dataclasses.replace(tiny_analysis(), postcode_districts=districts)
    places, _, _ = _call_args(render_html(build_map(analysis)), "search")
    found = [p for p in places if p[1] == "district"]
    assert [p[0] for p in found] == ["AB1 (postcode district, around Middle)"]
    assert found[0][3:] == [1, -1, "E05900002"]  # the card is ward 2's
    # the box of its addresses padded by 500 m: 530,700-532,300 E x 179,700-181,300 N
    to_wgs = Transformer.from_crs(BNG, WGS84, always_xy=True)
    lon, lat = to_wgs.transform([530_700, 532_300, 530_700, 532_300], [179_700, 179_700, 181_300, 181_300])
    assert found[0][2][0] == pytest.approx(min(lat), abs=2e-4)
    assert found[0][2][3] == pytest.approx(max(lon), abs=2e-4)


def test_postcode_districts_from_addresses(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from siting.data import load_postcode_districts
    from siting.scenario import DataFiles

    (tmp_path / "schools.csv").write_text(
        "URN,POSTCODE,EASTING,NORTHING\n"
        "1,ub1 1lr,521000,180000\n"
        "1,UB1 1LR,521000,180000\n"      # the same school listed twice: counted once
        "2,UB1 2AA,521400,180600\n"
        "3,N22 6UH,531000,190000\n"
        "4,not a postcode,1,1\n"         # no outward code: left out
        "5,E1 6AN,,\n",                  # no coordinates: left out
        encoding="utf-8")
    table = load_postcode_districts(tmp_path, DataFiles(postcodes="schools.csv"))
    assert table["district"].tolist() == ["N22", "UB1"]
    ub1 = table.set_index("district").loc["UB1"]
    # two schools: median (521200, 180300), box 521000-521400 x 180000-180600
    assert (ub1["n"], ub1["x"], ub1["y"]) == (2, 521_200.0, 180_300.0)
    assert (ub1["x_min"], ub1["x_max"], ub1["y_min"], ub1["y_max"]) == (521_000, 521_400, 180_000, 180_600)
    assert load_postcode_districts(tmp_path, DataFiles(postcodes=None)) is None


def test_card_tells_the_journey_as_text() -> None:
    # Ward 2's median journey to the 24/7 counter: 12 min walk, 6 wait, 18 on the 263, 1 change
    # (siting.journeys.describe's words); a hostile route name stays text (the card uses
    # textContent), so it is passed through unescaped, never as markup.
    base = tiny_analysis()
    wards = base.wards.copy()
    for m in ("24h", "any"):
        wards[f"journey_{m}_walk_min"] = [np.nan, 12.0, np.nan, np.nan]
        wards[f"journey_{m}_wait_min"] = [np.nan, 6.0, np.nan, np.nan]
        wards[f"journey_{m}_ride_min"] = [np.nan, 18.0, np.nan, np.nan]
        wards[f"journey_{m}_change_min"] = [np.nan, 2.0, np.nan, np.nan]
        wards[f"journey_{m}_changes"] = [np.nan, 1.0, np.nan, np.nan]
        wards[f"journey_{m}_first_route"] = ["", "263", "", ""]
    wards["journey_any_first_route"] = ["", "<b>263</b>", "", ""]
    analysis = dataclasses.replace(base, wards=wards)
    _, cards, _ = _call_args(render_html(build_map(analysis)), "search")
    middle = cards["wards"][1]
    assert middle[4:6] == ["12 min walk, 6 wait, 18 on the 263, 1 change",
                           "12 min walk, 6 wait, 18 on the <b>263</b>, 1 change"]
    assert cards["wards"][0][4:6] == ["", ""]


def test_search_made_apart_gives_the_same_page() -> None:
    """`siting run` makes the search data in a child of its own and fills the page's slot."""
    from siting.map_page import filled, search_slot
    from siting.maps import map_html, search_arguments

    analysis = tiny_analysis()
    whole = map_html(analysis)
    assert "SitingMap.search(" in whole
    slot = search_slot()
    assert slot != search_slot()
    apart = filled(map_html(analysis, search=slot), slot, search_arguments(analysis))
    assert apart == whole
    with pytest.raises(RuntimeError, match="0 times"):
        filled(whole, slot, "x")
