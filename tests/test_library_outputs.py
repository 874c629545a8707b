"""Library outputs: summary.json schema, GeoParquet/GeoPackage copies, map layers of grids and journeys."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import geopandas as gpd
import jsonschema
import numpy as np
import pytest
from shapely.geometry import box

from siting._crs import BNG
from siting._schema import summary_schema, validate_summary
from siting.analysis import Analysis
from siting.grid import Grid
from siting.isochrones import isochrones
from siting.maps import BAND_COLOURS, build_map, render_html
from siting.report import GEO_OUTPUT_FILES, OUTPUT_FILES, summary, write_outputs
from siting.travel import Targets, Window
from test_maps import tiny_analysis


def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(summary_schema())


def _tiny_grid() -> Grid:
    # Ten 100 m cells east-west over the tiny wards: 5, 15, ..., 95 minutes (24h), one
    # unreachable for 'any'.
    x = 530_050.0 + 100 * np.arange(10)
    y = np.full(10, 180_450.0)
    minutes = 5.0 + 10 * np.arange(10)
    cells = gpd.GeoDataFrame({"cell_id": [f"c{i}" for i in range(10)], "x": x, "y": y,
                              "minutes_24h": minutes,
                              "minutes_any": np.r_[minutes[:9], np.nan]},
                             geometry=[box(a - 50, b - 50, a + 50, b + 50) for a, b in zip(x, y, strict=True)],
                             crs=BNG)
    return Grid(scenario_id="tiny-map", cell_m=100.0, cells=cells,
                targets=Targets.from_arrays(["c-24"], np.array([[530_500.0, 180_500.0]])),
                window=Window(25_200, 36_000), percentiles=(50.0,))


def test_map_draws_grid_image_isochrones_and_journeys() -> None:
    analysis = tiny_analysis()
    wards = analysis.wards.assign(journey_24h_walk_min=12.2, journey_24h_wait_min=6.0,
                                  journey_24h_ride_min=18.4, journey_24h_change_min=2.0,
                                  journey_24h_changes=1.0, journey_24h_first_route="263 <b>")
    analysis = dataclasses.replace(analysis, wards=wards)
    grid = _tiny_grid()
    iso = isochrones(grid.cells, cell_m=100)
    page = render_html(build_map(analysis, grid=grid, isochrones=iso))
    assert page.count("L.imageOverlay(") == 2
    assert "data:image/png;base64," in page
    assert "Isochrones 15, 30, 45, 60 min: nearest counter" in page
    # The tooltip text, escaped (the route name holds markup).
    assert "12 min walk, 6 wait, 18 on the 263 \\u0026lt;b\\u0026gt;, 1 change" in page
    assert page == render_html(build_map(analysis, grid=grid, isochrones=iso))


def test_grid_png_colours_cells_by_band() -> None:
    import base64
    import io

    from PIL import Image

    from siting.maps import band_index
    from siting.overlays import grid_png

    grid = _tiny_grid()
    uri, bounds = grid_png(grid.cells, "minutes_24h", cell_m=100, colours=BAND_COLOURS,
                           bands=band_index(grid.cells["minutes_24h"]))
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    assert bounds[0][0] < bounds[1][0]
    assert bounds[0][1] < bounds[1][1]
    # The westmost pixel column is the 5-minute cell: band 0, the first colour; the eastmost
    # the 95-minute cell: 'over 75 min' (band 5).
    middle = image.shape[0] // 2
    first = tuple(int(c) for c in image[middle, 0, :3])
    last = tuple(int(c) for c in image[middle, -1, :3])
    assert first == tuple(int(BAND_COLOURS[0][i:i + 2], 16) for i in (1, 3, 5))
    assert last == tuple(int(BAND_COLOURS[5][i:i + 2], 16) for i in (1, 3, 5))


@pytest.mark.london
def test_london_summary_follows_the_schema(london_final: Analysis) -> None:
    facts = json.loads(json.dumps(summary(london_final)))
    validate_summary(facts)
    assert facts["equity"]["wards_matched"] == 571
    broken = copy.deepcopy(facts)
    broken["measures"]["24h"]["over"]["45"]["population"] = -1
    with pytest.raises(jsonschema.ValidationError):
        validate_summary(broken)
    missing = {k: v for k, v in facts.items() if k != "measures"}
    with pytest.raises(jsonschema.ValidationError, match="measures"):
        validate_summary(missing)


@pytest.mark.london
def test_london_geo_outputs_repeatable_and_complete(london_final: Analysis, tmp_path: Path) -> None:
    first = write_outputs(london_final, tmp_path / "a")
    second = write_outputs(london_final, tmp_path / "b")
    assert [p.name for p in first] == [*OUTPUT_FILES, *GEO_OUTPUT_FILES]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    wards = gpd.read_file(tmp_path / "a" / "wards.gpkg")
    assert len(wards) == 630
    assert wards.crs.to_epsg() == 27700
    lsoas = gpd.read_parquet(tmp_path / "a" / "lsoas.parquet")
    assert len(lsoas) == 4835
    parts = lsoas[[f"journey_24h_{p}_min" for p in ("walk", "wait", "ride", "change")]]
    assert (parts.fillna(0) >= 0).all().all()
    rides = lsoas["journey_24h_ride_min"] > 0
    assert (lsoas.loc[rides, "journey_24h_first_route"] != "").all()
    report = (tmp_path / "a" / "report.md").read_text(encoding="utf-8")
    assert "## Equity" in report
    assert "571 of 630 wards match a 2015 profile" in report
