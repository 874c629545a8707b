"""The London maps in headless Chromium with the network blocked: no script errors, every ward
drawn in each layer, legend and layer list present, tooltips on hover, hostile names shown as
text. Screenshots go to test-artifacts/ (look at them)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser.driver import MapPage, chromium_path, launch, open_map, visible_point
from browser.standin import HOSTILE, analysis_or_standin, with_hostile_names
from siting.analysis import Analysis
from siting.maps import write_compare_map, write_map

pytestmark = [pytest.mark.browser, pytest.mark.london]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
WARDS = "path.siting-ward-24h"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium; fails (not skips) under CI=true when it cannot start."""
    path = chromium_path()
    problem = None
    if path is None:
        problem = ("Chromium not found (/usr/bin/chromium, or $SITING_CHROMIUM): run "
                   "scripts/install-browser.sh (Debian's chromium package) for the map tests.")
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is missing: pip install -e .[test]"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    with launch(path) as chromium:  # type: ignore[arg-type]
        yield chromium


@pytest.fixture(scope="module")
def final_analysis(request: pytest.FixtureRequest, london_dir: Path) -> Analysis:
    return analysis_or_standin(request, "london_final", london_dir, "london-2017-final.yaml")


@pytest.fixture(scope="module")
def baseline_analysis(request: pytest.FixtureRequest, london_dir: Path) -> Analysis:
    return analysis_or_standin(request, "london_baseline", london_dir, "london-2016-baseline.yaml")


@pytest.fixture(scope="module")
def maps_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("maps")


def _opened(browser: Any, path: Path) -> MapPage:
    opened = open_map(browser, path, ready_selector=WARDS)
    opened.page.wait_for_timeout(300)  # let the last tile errors and layout settle
    print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB, drawn in {opened.load_seconds:.2f} s")
    return opened


def _check_clean(opened: MapPage) -> None:
    assert opened.errors == []
    assert opened.dialogs == []
    assert all("tile.openstreetmap.org" in url for url in opened.blocked), opened.blocked


def _choose_layer(page: Any, text: str) -> None:
    page.locator(".leaflet-control-layers-base label", has_text=text).locator("input").check()
    page.wait_for_timeout(300)  # a closed tooltip fades out for 200 ms before it leaves the page


def _hover_tooltip(page: Any, selector: str) -> str:
    point = visible_point(page, selector)
    assert point is not None, f"no visible {selector}"
    page.mouse.move(*point)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.first.wait_for(state="visible", timeout=5_000)
    texts = tooltip.all_inner_texts()
    assert len(texts) == 1, texts
    return texts[0]


def _screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def _zoom_to_ward(page: Any, code: str) -> None:
    page.evaluate(
        """(code) => {
            const map = window[document.querySelector('.folium-map').id];
            map.eachLayer((layer) => {
                if (layer.feature && layer.feature.properties.c === code && layer.getBounds) {
                    map.fitBounds(layer.getBounds(), {animate: false});
                }
            });
        }""",
        code,
    )
    page.wait_for_timeout(200)


def _open_popup_containing(page: Any, text: str) -> str:
    """Centre the map on the marker whose popup holds `text`, click it, return the popup text."""
    found = page.evaluate(
        """(needle) => {
            const map = window[document.querySelector('.folium-map').id];
            map.closePopup();
            let target = null;
            map.eachLayer((layer) => {
                const popup = layer.getPopup && layer.getPopup();
                if (!target && popup && layer.getLatLng && String(popup.getContent()).includes(needle)) {
                    target = layer;
                }
            });
            if (!target) return false;
            document.querySelectorAll('[data-test=target]').forEach((el) => el.removeAttribute('data-test'));
            map.setView(target.getLatLng(), 14, {animate: false});
            target.getElement().setAttribute('data-test', 'target');
            return true;
        }""",
        text,
    )
    assert found, f"no marker with {text!r} in its popup"
    page.wait_for_timeout(300)  # a closed popup fades out before it leaves the page
    page.locator("[data-test=target]").click(force=True)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible", timeout=5_000)
    return popup.inner_text()


def test_final_map_offline(browser: Any, final_analysis: Analysis, maps_dir: Path) -> None:
    path = write_map(final_analysis, maps_dir / "london-final.html", csv_href="wards.csv")
    opened = _opened(browser, path)
    page = opened.page
    try:
        n_wards = len(final_analysis.wards)
        assert page.locator(WARDS).count() == n_wards
        assert page.locator(".siting-legend").is_visible()
        assert page.locator(".leaflet-control-layers").is_visible()
        assert page.locator(".siting-info h1").inner_text() == final_analysis.scenario.title
        assert page.locator(".leaflet-marker-pane .siting-counter-24h").count() == int(
            (final_analysis.counters["status"] == "24h").sum())
        # tiles are blocked, so the offline note shows
        assert page.locator(".siting-tile-note").is_visible()
        assert "needs an internet connection" in page.locator(".siting-tile-note").inner_text()
        _screenshot(page, "map-london-final.png")

        tip = _hover_tooltip(page, WARDS)
        assert "Nearest 24/7 counter:" in tip
        assert "Population" in tip
        _screenshot(page, "map-london-final-tooltip.png")

        _choose_layer(page, "open on arrival")
        assert page.locator("path.siting-ward-any").count() == n_wards
        assert page.locator(WARDS).count() == 0
        page.mouse.move(1, 400)
        assert "Nearest counter open on arrival:" in _hover_tooltip(page, "path.siting-ward-any")
        _screenshot(page, "map-london-final-any.png")
        _check_clean(opened)
    finally:
        opened.close()


def test_compare_map_offline(browser: Any, baseline_analysis: Analysis, final_analysis: Analysis,
                             maps_dir: Path) -> None:
    path = write_compare_map(baseline_analysis, final_analysis, maps_dir / "compare.html")
    opened = _opened(browser, path)
    page = opened.page
    try:
        assert page.locator(WARDS).count() == len(final_analysis.wards)
        assert "Change in travel-time band" in page.locator(".siting-legend").inner_text()
        assert page.locator(".leaflet-control-layers").is_visible()
        assert "→" in _hover_tooltip(page, WARDS)
        _choose_layer(page, "open on arrival")
        assert page.locator("path.siting-ward-any").count() == len(final_analysis.wards)
        _screenshot(page, "map-london-compare.png")
        _check_clean(opened)
    finally:
        opened.close()


def test_hostile_names_show_as_text(browser: Any, final_analysis: Analysis, maps_dir: Path) -> None:
    hostile = with_hostile_names(final_analysis)
    path = write_map(hostile, maps_dir / "hostile.html")
    opened = _opened(browser, path)
    page = opened.page
    try:
        assert page.title() == HOSTILE["title"]
        assert page.locator(".siting-info h1").inner_text() == HOSTILE["title"]
        assert HOSTILE["description"] in page.locator(".siting-info").inner_text()
        code = hostile.wards["ward_code"].iloc[0]
        _zoom_to_ward(page, code)
        tip = _hover_tooltip(page, f'path.siting-ward-24h[data-ward="{code}"]')
        assert HOSTILE["ward"] in tip
        assert HOSTILE["borough"] in tip
        assert HOSTILE["counter"] in _open_popup_containing(page, "onerror=alert(3)")
        assert HOSTILE["hub"] in _open_popup_containing(page, "${alert(4)}")
        assert page.locator('img[src="x"]').count() == 0
        assert page.locator("[onmouseover], [onerror]").count() == 0  # no injected handlers
        page.wait_for_timeout(300)  # let the popup fade in for the screenshot
        _screenshot(page, "map-hostile-names.png")
        _check_clean(opened)
    finally:
        opened.close()


def test_resident_finds_their_ward(browser: Any, final_analysis: Analysis, maps_dir: Path) -> None:
    """Type a ward name: the map zooms to it, outlines it and opens its card; the
    neighbourhood (LSOA) layer appears once zoomed in."""
    # Uxbridge (closed in the final strategy) stands in for a site an optimiser plan adds.
    path = write_map(final_analysis, maps_dir / "search.html", csv_text="ward_code\nE05000330\n",
                     new_sites=["uxbridge"])
    opened = _opened(browser, path)
    page = opened.page
    try:
        ward = final_analysis.wards.set_index("ward_code").loc["E05000330"]  # Harefield
        zoom_js = "window[document.querySelector('.folium-map').id].getZoom()"
        before = page.evaluate(zoom_js)
        assert page.locator("path.siting-lsoa").count() == 0  # London-wide view: wards only
        page.fill("#siting-search-input", str(ward["ward_name"]))
        page.press("#siting-search-input", "Enter")
        card = page.locator(".siting-card")
        card.wait_for(state="visible", timeout=5_000)
        text = card.inner_text()
        assert f"{ward['ward_name']}, {ward['borough']}" in text
        assert f"{ward['minutes_24h']:.1f} min" in text
        assert "Nearest DWO hub:" in text
        assert page.evaluate(zoom_js) > before
        assert page.locator('path.siting-chosen[data-ward="E05000330"]').count() == 1
        assert page.locator("path.siting-lsoa").count() > 0
        # a name that is nowhere says so, and the card closes
        page.fill("#siting-search-input", "Atlantis")
        page.press("#siting-search-input", "Enter")
        assert "No ward or neighbourhood" in page.locator(".siting-search").inner_text()
        assert not card.is_visible()
        assert page.locator("a.siting-csv[download]").count() == 1
        assert page.locator(".leaflet-marker-pane .siting-counter-new").count() == 1
        assert page.locator(".leaflet-control-layers", has_text="New sites proposed by the plan (1)").count() == 1
        _screenshot(page, "map-london-search.png")
        _check_clean(opened)
    finally:
        opened.close()
