"""Tests for siting.fetch: mirror downloads from a local HTTP server, checksums, offline errors,
and the derive functions rebuilding curated files from their inputs. No test touches the internet."""

from __future__ import annotations

import functools
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from rich.console import Console

from siting import fetch, fetch_derive
from siting._errors import DataError
from siting.fetch import FetchReport, check_content, fetch_all, load_sources, sha256_file

SMALL = ["tube_lines", "tube_connections", "fire_stations", "police_counters_2017"]
"""A few small files (one of them derived upstream, so the mirror path is exercised for both)."""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _serve(root: Path) -> Iterator[str]:
    """Serve `root` over HTTP on 127.0.0.1 (a free port) in a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def mirror(london_dir: Path) -> Iterator[str]:
    with _serve(london_dir) as url:
        yield url


def _source(name: str) -> fetch.Source:
    return next(src for src in load_sources() if src.name == name)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------- the list


def test_sources_yaml_matches_the_curated_files(london_dir: Path) -> None:
    sources = load_sources()
    paths = {src.path for src in sources}
    for required in (
        "boundaries/london_wards_2014_citymerged.geojson",
        "boundaries/london_wards_2014_population.csv",
        "boundaries/london_lsoa_2011_pwc_population.csv",
        "boundaries/london_boroughs_2014_from_wards.geojson",
        "boundaries/tfl_ward2014_avptai2015.csv",
        "transit/tube_network/london.stations.csv",
        "transit/bus_sequences/bus-sequences_2016.csv",
        "transit/uk_test_feeds/newport-20230613_gtfs.zip",
        "osm/rail/osm_geofabrik_20190919_railways.parquet",
        "osm/poi/lfb_fire_station_assets_osgb.csv",
        "osm/poi/os_openmap_local_library_buildings_london_bbox.parquet",
        "osm/poi/mopac_police_front_counters_2017_original.csv",
        "osm/network/woodgreen_bowespark_highways_overpass.osm",
    ):
        assert required in paths
    for src in sources:
        path = london_dir / src.path
        assert path.stat().st_size == src.bytes, src.path
        assert sha256_file(path) == src.sha256, src.path
        assert src.licence, src.name
        assert src.publisher, src.name
        assert src.attribution, src.name
        if src.derive is None:
            assert src.url.startswith("https://raw.githubusercontent.com/"), src.name
            assert len(src.url.split("/")[5]) == 40, f"{src.name}: URL not pinned to a commit"
        else:
            assert src.check, src.name
            check_content(path, src)  # the curated file passes its own content check


# ------------------------------------------------------------------------- mirror downloads


def test_mirror_fetch_verifies_checksums_then_skips(
    tmp_path: Path, london_dir: Path, mirror: str
) -> None:
    report = fetch_all(tmp_path, mirror=mirror, only=SMALL, progress=False)
    assert [r.name for r in report.records] == [
        "tube_lines",
        "tube_connections",
        "fire_stations",
        "police_counters_2017",
    ]
    assert len(report.downloaded) == 4
    assert set(report.verified.values()) == {"sha256"}
    for record in report.records:
        assert (tmp_path / record.path).read_bytes() == (london_dir / record.path).read_bytes()
    assert len(_files(tmp_path)) == 4  # no temp files left behind

    again = fetch_all(tmp_path, mirror=mirror, only=SMALL, progress=False)
    assert again.skipped == report.downloaded
    assert again.downloaded == []
    assert "4 already present" in str(again)

    forced = fetch_all(tmp_path, mirror=mirror, only=["tube_lines"], force=True, progress=False)
    assert forced.downloaded == ["transit/tube_network/london.lines.csv"]


def test_mirror_fetch_by_folder_and_replaces_a_corrupt_file(tmp_path: Path, mirror: str) -> None:
    lines = tmp_path / "transit/tube_network/london.lines.csv"
    lines.parent.mkdir(parents=True)
    lines.write_text("not the tube lines\n")
    report = fetch_all(tmp_path, mirror=mirror, only=["transit/tube_network/"], progress=False)
    assert report.downloaded == [
        "transit/tube_network/london.stations.csv",
        "transit/tube_network/london.lines.csv",
        "transit/tube_network/london.connections.csv",
    ]
    assert sha256_file(lines) == _source("tube_lines").sha256


def test_tampered_mirror_file_raises_and_writes_nothing(tmp_path: Path, london_dir: Path) -> None:
    served = tmp_path / "served"
    relative = _source("tube_lines").path
    (served / relative).parent.mkdir(parents=True)
    data = bytearray((london_dir / relative).read_bytes())
    data[10] ^= 0x01
    (served / relative).write_bytes(bytes(data))
    dest = tmp_path / "data"
    with _serve(served) as url, pytest.raises(DataError, match=r"sha256 mismatch") as info:
        fetch_all(dest, mirror=url, only=["tube_lines"], progress=False)
    message = str(info.value)
    assert _source("tube_lines").sha256 in message
    assert f"{url}/{relative}" in message
    assert _files(dest) == []


def test_unreachable_mirror_explains_what_to_do_offline(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(DataError, match=r"offline") as info:
        fetch_all(tmp_path, mirror=url, only=["tube_lines"], progress=False, timeout=5)
    message = str(info.value)
    assert f"{url}/transit/tube_network/london.lines.csv" in message
    assert str(tmp_path / "transit/tube_network/london.lines.csv") in message
    assert "SITING_DATA_DIR" in message
    assert "data/transit/README.md" in message
    assert "\n" not in message
    assert _files(tmp_path) == []


def test_missing_file_on_mirror_is_an_http_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with _serve(tmp_path / "empty") as url, pytest.raises(DataError, match=r"HTTP 404"):
        fetch_all(tmp_path / "data", mirror=url, only=["fire_stations"], progress=False)


def test_file_url_mirror_works(tmp_path: Path, london_dir: Path) -> None:
    data = tmp_path / "data"
    report = fetch_all(data, mirror=london_dir.as_uri(), only=["tube_lines"], progress=False)
    assert report.downloaded == ["transit/tube_network/london.lines.csv"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"mirror has no transit/tube_network/london.lines.csv"):
        fetch_all(
            tmp_path / "other",
            mirror=(tmp_path / "empty").as_uri(),
            only=["tube_lines"],
            progress=False,
        )


def test_unknown_only_name_lists_valid_names(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"Unknown data set 'wardz'.*Valid names: .*tube_lines"):
        fetch_all(tmp_path, only=["wardz"], progress=False)


def test_progress_bar_and_report_table(tmp_path: Path, mirror: str) -> None:
    report = fetch_all(tmp_path, mirror=mirror, only=["tube_lines"], progress=True)
    text = str(report)
    assert text.splitlines()[0].split() == ["file", "action", "verified", "size"]
    assert "transit/tube_network/london.lines.csv  downloaded  sha256" in text
    console = Console(record=True, width=120)
    console.print(report)
    assert "london.lines.csv" in console.export_text()
    assert isinstance(report, FetchReport)
    assert report.bytes_fetched == _source("tube_lines").bytes


# ------------------------------------------------------------ derivations, without internet


def _copy(london_dir: Path, dest: Path, *names: str) -> None:
    for name in names:
        path = _source(name).path
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(london_dir / path, dest / path)


def test_ward_population_is_rebuilt_byte_identical(tmp_path: Path, london_dir: Path) -> None:
    _copy(
        london_dir,
        tmp_path,
        "wards_2014_citymerged",
        "lsoa_2011_gen20",
        "lsoa_2011_pwc_population",
        "ward_profiles_2015",
    )
    report = fetch_all(tmp_path, only=["wards_2014_population", "lsoa_2011_pwc"], progress=False)
    by_name = {r.name: r for r in report.records}
    assert by_name["wards_2014_population"].action == "derived"
    assert by_name["wards_2014_population"].verified == "sha256"
    assert by_name["lsoa_2011_pwc"].verified == "sha256"
    assert by_name["lsoa_2011_pwc_population"].action == "skipped"  # dependency, present
    for name in ("wards_2014_population", "lsoa_2011_pwc"):
        assert sha256_file(tmp_path / _source(name).path) == _source(name).sha256


def test_boroughs_rebuilt_from_wards_pass_content_check(tmp_path: Path, london_dir: Path) -> None:
    _copy(london_dir, tmp_path, "wards_2014_citymerged")
    report = fetch_all(tmp_path, only=["boroughs_2014"], progress=False)
    (record,) = [r for r in report.records if r.name == "boroughs_2014"]
    # Dissolving the published (6-decimal) wards cannot give the curators' exact bytes.
    assert (record.action, record.verified) == ("derived", "content")
    assert "verified by content checks" in str(report)
    boroughs = gpd.read_file(tmp_path / record.path)
    curated = gpd.read_file(london_dir / record.path)
    assert boroughs["LB_GSS_Code"].tolist() == curated["LB_GSS_Code"].tolist()
    assert boroughs["Hectares"].tolist() == curated["Hectares"].tolist()
    again = fetch_all(tmp_path, only=["boroughs_2014"], progress=False)
    assert {r.name: (r.action, r.verified) for r in again.records} == {
        "wards_2014_citymerged": ("skipped", "sha256"),
        "boroughs_2014": ("skipped", "content"),
    }


def test_content_check_failure_names_the_problem(tmp_path: Path, london_dir: Path) -> None:
    src = _source("ptai_2015_wards")
    short = tmp_path / "tfl_ward2014_avptai2015.csv"
    short.write_text("".join((london_dir / src.path).read_text().splitlines(keepends=True)[:11]))
    with pytest.raises(DataError, match=r"fails its content check: 10 rows, expected 630"):
        check_content(short, src)


def test_normalize_text_fixes_line_ends_and_encoding(tmp_path: Path) -> None:
    raw = tmp_path / "in.csv"
    raw.write_bytes("a,b\r1,£2\r3,4".encode("cp1252"))
    out = tmp_path / "out.csv"
    fetch.normalize_text({"in.csv": raw}, out, {"encoding": "cp1252"})
    assert out.read_bytes() == "a,b\n1,£2\n3,4\n".encode()


def test_vector_to_geojson_reprojects_and_repairs(tmp_path: Path, london_dir: Path) -> None:
    wards = gpd.read_file(london_dir / _source("wards_2014_citymerged").path).head(3)
    wards = wards[["Name", "GSS_Code", "Hectares", "geometry"]]  # shapefile: names <= 10 chars
    bowtie = shapely.Polygon(
        [(530000, 180000), (530100, 180100), (530100, 180000), (530000, 180100)]
    )
    bng = pd.concat(
        [
            wards.to_crs("EPSG:27700"),
            gpd.GeoDataFrame({"Name": ["bowtie"]}, geometry=[bowtie], crs=27700),
        ],
        ignore_index=True,
    )
    bng.to_file(tmp_path / "w.shp")
    out = tmp_path / "w.geojson"
    fetch.vector_to_geojson(
        {"w.shp": tmp_path / "w.shp"}, out, {"source_crs": "EPSG:27700", "make_valid": True}
    )
    result = gpd.read_file(out)
    assert result.crs.to_epsg() == 4326
    assert result.is_valid.all()
    assert set(result.geom_type) <= {"Polygon", "MultiPolygon"}
    assert result.loc[3, "geometry"].area > 0  # the bow tie became two triangles, not nothing
    assert result["GSS_Code"].head(3).tolist() == wards["GSS_Code"].tolist()
    ours = result.geometry.head(3).to_crs("EPSG:27700")
    gap = ours.hausdorff_distance(wards.geometry.to_crs("EPSG:27700"), align=False)
    assert gap.max() < 0.25  # metres: 6-decimal rounding (about 0.1 m) on both sides


def test_shapefile_and_wkt_conversions_match_curated_bytes(
    tmp_path: Path, london_dir: Path
) -> None:
    places = _source("osm_places")
    gpd.read_parquet(london_dir / places.path).to_file(tmp_path / "places.shp")
    out = tmp_path / "places.parquet"
    fetch.shapefile_to_geoparquet(
        {"places.shp": tmp_path / "places.shp"}, out, places.derive.params | {"main": "places.shp"}
    )
    assert sha256_file(out) == places.sha256

    libraries = _source("os_library_buildings")
    curated = gpd.read_parquet(london_dir / libraries.path)
    table = pd.DataFrame(
        {"WKT": shapely.to_wkt(curated.geometry.to_numpy(), rounding_precision=-1)}
    )
    table = table.join(curated.drop(columns=["geometry", "centroid_lon", "centroid_lat"]))
    far_away = table.iloc[[0]].assign(
        WKT="POLYGON ((346289 731042, 346268 731047, 346262 731021, 346289 731042))"
    )
    pd.concat([far_away, table]).to_csv(tmp_path / "os_library_buildings.csv", index=False)
    out = tmp_path / "libraries.parquet"
    fetch.wkt_csv_to_geoparquet(
        {"os_library_buildings.csv": tmp_path / "os_library_buildings.csv"},
        out,
        libraries.derive.params,
    )
    assert sha256_file(out) == libraries.sha256  # the Scottish polygon was dropped by the box


def test_lsoa_pwc_population_on_a_hand_built_sample(tmp_path: Path, london_dir: Path) -> None:
    curated = pd.read_csv(london_dir / _source("lsoa_2011_pwc_population").path)
    sample = curated.iloc[[0, 4, 10, 11, 2000]].reset_index(drop=True)
    # Centroids file: one non-London LSOA first, then the sample in reverse (rows keep this order).
    centroids = pd.concat(
        [
            pd.DataFrame(
                {
                    "X": [-1.49],
                    "Y": [54.97],
                    "objectid": [1],
                    "lsoa11cd": ["E01008657"],
                    "lsoa11nm": ["South Tyneside 009F"],
                }
            ),
            sample.iloc[::-1].pipe(
                lambda t: pd.DataFrame(
                    {
                        "X": t["lon"],
                        "Y": t["lat"],
                        "objectid": range(2, 7),
                        "lsoa11cd": t["LSOA11CD"],
                        "lsoa11nm": t["LSOA11NM"],
                    }
                )
            ),
        ]
    )
    centroids.to_csv(tmp_path / "centroids.csv", index=False)
    lsoa = gpd.GeoDataFrame(
        sample[["LSOA11CD", "LSOA11NM", "LAD11CD", "LAD11NM"]],
        geometry=gpd.points_from_xy(sample["lon"], sample["lat"]),
        crs=4326,
    )
    lsoa.to_file(tmp_path / "lsoa.geojson")
    census_columns = _source("lsoa_2011_pwc_population").derive.params["census_columns"]
    good = sample["pop_census2011"] // 2
    fair = sample["pop_census2011"] // 3
    atlas = pd.DataFrame(
        {
            "Lower Super Output Area": sample["LSOA11CD"],
            census_columns[0]: good,
            census_columns[1]: fair,
            census_columns[2]: sample["pop_census2011"] - good - fair,
        }
    )
    atlas.to_csv(tmp_path / "atlas.csv", index=False)
    sample[["LSOA11CD"]].assign(**{"Persons_All-Ages": sample["pop_mid2019"]}).to_csv(
        tmp_path / "mid.csv", index=False
    )
    out = tmp_path / "out.csv"
    fetch.lsoa_pwc_population(
        {
            "centroids.csv": tmp_path / "centroids.csv",
            "lsoa.geojson": tmp_path / "lsoa.geojson",
            "lsoa_atlas.csv": tmp_path / "atlas.csv",
            "mid2019.csv": tmp_path / "mid.csv",
            "wards.geojson": london_dir / _source("wards_2014_citymerged").path,
        },
        out,
        _source("lsoa_2011_pwc_population").derive.params,
    )
    result = pd.read_csv(out)
    expected = sample.iloc[::-1].reset_index(drop=True)
    assert list(result.columns) == list(curated.columns)
    exact = [
        "LSOA11CD",
        "LSOA11NM",
        "LAD11CD",
        "ward14_code",
        "ward14_name",
        "pop_census2011",
        "pop_mid2019",
        "lon",
        "lat",
    ]
    pd.testing.assert_frame_equal(result[exact], expected[exact])
    # E/N come from the 6-decimal lon/lat here, not ONS's full precision: within 0.15 m.
    assert (result[["E", "N"]] - expected[["E", "N"]]).abs().to_numpy().max() <= 0.15


def test_osmium_missing_says_how_to_get_the_pbf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch_derive.shutil, "which", lambda _: None)
    with pytest.raises(DataError, match=r"osmium-tool.*--mirror URL"):
        fetch.osmium_cat({"a.osm": tmp_path / "a.osm"}, tmp_path / "a.osm.pbf", {})
