"""Write the malformed-input corpus (tests/corpus/*) and its manifest; run it after editing a case.

Each case is a small file a careless or hostile user could hand to `siting`, with the part of
the message it must produce. `tests/test_corpus.py` runs every case through the CLI: exit 2, the
message, no traceback, nothing written. Output is deterministic (zip timestamps fixed), so
re-running the script leaves git clean.

    python tests/corpus/make_corpus.py
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "fixtures" / "gtfs" / "transfer"
BASE = "extends: ../../../scenarios/london-2017-final.yaml\n"
ROWS: list[tuple[str, str, str]] = []
"""(path relative to the corpus, kind, expected message substring)."""


def case(path: str, kind: str, expect: str, content: bytes | str | None) -> None:
    target = HERE / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if content is not None:
        target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    ROWS.append((path, kind, expect))


def scenario(name: str, expect: str, body: str, *, extends: bool = True) -> None:
    case(f"scenarios/{name}.yaml", "scenario", expect, (BASE if extends else "") + body)


def bomb(key: str) -> str:
    """The 'billion laughs': nine levels of nine aliases (9**9 strings once expanded)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + f"\nid: bomb\n{key}: *i\ncounters:\n  open_24h: [charing-cross]\n"


def scenarios() -> None:
    scenario("alias_bomb", "once aliases are expanded", bomb("description"), extends=False)
    scenario("alias_bomb_in_title", "once aliases are expanded", bomb("title"), extends=False)
    scenario("too_many_aliases", "more than 100 aliases",
             "x: &x 1\nid: a\ntitle: t\ny: [" + ",".join(["*x"] * 101) + "]\n", extends=False)
    scenario("duplicate_top_key", "key 'id' appears twice in one mapping (lines 2 and 3)",
             "id: a\nid: b\n")
    scenario("duplicate_nested_key", "key 'open_24h' appears twice",
             "id: a\ncounters:\n  open_24h: [charing-cross]\n  open_24h: [brixton]\n")
    scenario("deep_nesting", "nested more than 64 deep", "id: a\ndescription: " + "[" * 70 + "]" * 70 + "\n")
    scenario("very_deep_nesting", "nested", "id: a\ndescription: " + "[" * 3000 + "]" * 3000 + "\n")
    case("scenarios/latin1.yaml", "scenario", "not a UTF-8 text file",
         BASE.encode() + "id: a\ntitle: Caf\xe9 counters\n".encode("latin-1"))
    case("scenarios/utf16.yaml", "scenario", "not a UTF-8 text file",
         (BASE + "id: a\n").encode("utf-16"))
    scenario("nul_byte", "not valid YAML", "id: a\ntitle: \0\n")
    scenario("python_tag", "not valid YAML", "id: !!python/object/apply:os.system ['true']\n")
    scenario("top_level_list", "a scenario must be a YAML mapping", "- id: a\n- title: b\n", extends=False)
    scenario("empty", "a scenario must be a YAML mapping", "", extends=False)
    scenario("unknown_key", "unknown key 'titel'. Did you mean 'title'", "titel: x\n")
    scenario("missing_counters", "field `counters` is required but missing", "id: a\ntitle: t\n", extends=False)
    scenario("unknown_counter", "unknown counter id 'charing-crosss'",
             "counters:\n  open_24h: [charing-crosss]\n")
    scenario("long_id_echo", "(got 'xxxxxxxx", "id: " + "x" * 5000 + "Y\n")
    scenario("max_hubs_int64", "field `hubs.max_hubs`: Input should be less than or equal to 100000",
             "hubs:\n  max_hubs: 1000000000000000000\n")
    scenario("max_hubs_1e30", "field `hubs.max_hubs`", "hubs:\n  max_hubs: 1.0e+30\n")
    scenario("capacity_huge", "field `hubs.capacity_wards`: Input should be less than or equal to 100000",
             "hubs:\n  capacity_wards: 99999999999\n")
    scenario("window_backwards", "ends before it starts", "transit:\n  departure_window: '10:00-07:00'\n")
    scenario("window_bad_clock", "is not a clock time", "transit:\n  departure_window: '25:61-26:00'\n")
    scenario("extends_missing", "no_such_file.yaml: scenario file not found",
             "extends: no_such_file.yaml\nid: a\n", extends=False)
    scenario("extends_cycle_a", "makes a cycle", "extends: extends_cycle_b.yaml\nid: a\n", extends=False)
    (HERE / "scenarios" / "extends_cycle_b.yaml").write_text("extends: extends_cycle_a.yaml\nid: b\n")
    scenario("extends_not_a_name", "field `extends` must be a file name", "extends: [1, 2]\nid: a\n",
             extends=False)
    scenario("constraint_kind_typo", "constraint kind 'share_wthin' is not known",
             "constraints:\n  - kind: share_wthin\n    name: x\n    sentence: y\n")
    scenario("percentile_100", "field `transit.percentiles[0]`", "transit:\n  percentiles: [100]\n")
    scenario("negative_threshold", "field `thresholds[0]`", "thresholds: [-45]\n")
    scenario("zero_walk_speed", "field `walking.speed_kmh`", "walking:\n  speed_kmh: 0\n")
    scenario("impossible_date", "'2017-02-30' is not a real date", "transit:\n  service_date: 2017-02-30\n")
    scenario("tab_indent", "not valid YAML", "counters:\n\topen_24h: [brixton]\n")
    scenario("unclosed_quote", "not valid YAML", "title: 'no end\n")
    scenario("counter_twice", "is listed twice", "counters:\n  open_24h: [brixton]\n  closed: [brixton]\n")
    scenario("hours_not_daytime", "hours are given for 'brixton'",
             "counters:\n  open_24h: [charing-cross]\n  hours: {brixton: '09:00-17:00'}\n")
    scenario("uppercase_id", "field `id`", "id: Not-Lower\n")
    scenario("title_is_a_mapping", "field `title`", "title: {a: 1}\n")
    scenario("extra_unknown_constraint_key", "unknown key 'minutess'",
             "constraints:\n  - kind: no_ward_over\n    name: x\n    sentence: y\n    minutes: 60\n"
             "    minutess: 45\n")


def candidates() -> None:
    def csv_case(name: str, expect: str, content: bytes | str) -> None:
        case(f"candidates/{name}.csv", "candidates", expect, content)

    good = "name,kind,lon,lat\nTown Hall,council,-0.1276,51.5072\n"
    csv_case("empty", "the candidate CSV is empty (no header row)", "")
    csv_case("header_only", "has a header but no sites", "name,kind,lon,lat\n")
    csv_case("latin1", "the candidate CSV is not UTF-8 text",
             "name,kind,lon,lat\nCaf\xe9,council,-0.1,51.5\n".encode("latin-1"))
    csv_case("no_kind_column", "missing column(s) kind", "name,lon,lat\nA,-0.1,51.5\n")
    csv_case("no_coordinates", "missing column(s) lon and lat (WGS84) or easting and northing",
             "name,kind\nA,council\n")
    csv_case("text_lon", "column 'lon': 'west' is not a number", "name,kind,lon,lat\nA,council,west,51.5\n")
    csv_case("swapped_lon_lat", "is not in Great Britain. Are lon and lat swapped",
             "name,kind,lon,lat\nA,council,51.5,-0.1\n")
    csv_case("negative_cost", "column 'cost': '-2' is negative", good.replace("lat\n", "lat,cost\n")
             .replace("51.5072\n", "51.5072,-2\n"))
    csv_case("text_cost", "column 'cost': 'cheap' is not a number",
             "name,kind,lon,lat,cost\nA,council,-0.1,51.5,cheap\n")
    csv_case("duplicate_site", "the same site id 'user:a'",
             "name,kind,lon,lat\nA,council,-0.1,51.5\nA,council,-0.2,51.5\n")
    csv_case("empty_name", "column 'name': empty", "name,kind,lon,lat\n ,council,-0.1,51.5\n")
    csv_case("ragged_row", "the candidate CSV is not readable CSV",
             "name,kind,lon,lat\nA,council,-0.1,51.5,extra,more\nB,council,-0.1,51.5\n")
    csv_case("unterminated_quote", "the candidate CSV is not readable CSV",
             'name,kind,lon,lat\n"A,council,-0.1,51.5\nB,council,-0.2,51.5\n')
    csv_case("case_duplicate_header", "appear more than once in the header",
             "name,Name,kind,lon,lat\nA,B,council,-0.1,51.5\n")
    csv_case("infinite_lat", "column 'lat': 'inf' is not a number", "name,kind,lon,lat\nA,council,-0.1,inf\n")
    csv_case("negative_capacity", "column 'capacity': '-3' is negative",
             "name,kind,lon,lat,capacity\nA,council,-0.1,51.5,-3\n")
    csv_case("long_value_echo", "'" + "9" * 20,
             "name,kind,lon,lat\nA,council,-0.1," + "9" * 3000 + "x\n")
    csv_case("no_kind_value", "column 'kind': empty", "name,kind,lon,lat\nA,,-0.1,51.5\n")
    csv_case("missing_easting", "column 'easting'", "name,kind,easting,northing\nA,council,,180000\n")


def _fixture() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(FIXTURE.glob("*.txt"))}


def _zip(files: dict[str, bytes | None], *, stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            if data is None:  # a folder entry
                info.external_attr = 0o40755 << 16
                archive.writestr(info, b"")
            else:
                info.compress_type = method
                archive.writestr(info, data)
    return buffer.getvalue()


def _edit(name: str, old: bytes, new: bytes) -> dict[str, bytes | None]:
    files: dict[str, bytes | None] = dict(_fixture())
    data = files[name]
    if data is None or old not in data:
        raise ValueError(f"{name} has no {old!r} to replace")
    files[name] = data.replace(old, new, 1)
    return files


def gtfs() -> None:
    def zip_case(name: str, expect: str, content: bytes) -> None:
        case(f"gtfs/{name}.zip", "gtfs", expect, content)

    good = _zip(dict(_fixture()), stored=True)
    # A corrupt member: flip a byte inside stop_times.txt's stored data (its CRC no longer matches).
    damaged = bytearray(good)
    at = damaged.index(b"t1,08:00:00")
    damaged[at + 3] ^= 0x01
    zip_case("corrupt_member", "stop_times.txt: the zip member is damaged", bytes(damaged))
    zip_case("truncated_zip", "is a file but not a readable zip", good[: len(good) // 2])
    zip_case("not_a_zip", "is a file but not a readable zip", b"PK\x03\x04 this is not really a zip")
    zip_case("latin1_stops", "stops.txt: line 3: byte 0xe9 is not UTF-8 text",
             _zip(_edit("stops.txt", b"Stop B ", "Stop B caf\xe9 ".encode("latin-1"))))
    zip_case("member_is_folder", "stops.txt: the zip member 'stops.txt/' is a folder",
             _zip({**{k: v for k, v in _fixture().items() if k != "stops.txt"}, "stops.txt/": None}))
    zip_case("missing_stop_times", "stop_times.txt: required file is missing",
             _zip({k: v for k, v in _fixture().items() if k != "stop_times.txt"}))
    zip_case("missing_stop_lat", "stops.txt: required column 'stop_lat' is missing",
             _zip(_edit("stops.txt", b"stop_lat,", b"stop_latitude,")))
    zip_case("bad_time", "stop_times.txt: line 2: field 'arrival_time' has bad time \"8 o'clock\"",
             _zip(_edit("stop_times.txt", b"t1,08:00:00,", b"t1,8 o'clock,")))
    zip_case("unknown_stop", "stop_times.txt: line 2: stop_id 'Z' is not in stops.txt",
             _zip(_edit("stop_times.txt", b"08:00:00,A,1", b"08:00:00,Z,1")))
    zip_case("ragged_trips", "trips.txt: not readable CSV",
             _zip(_edit("trips.txt", b"R1,ALL,t1\n", b"R1,ALL,t1,x,y,z\n")))
    zip_case("bad_calendar_date", "calendar.txt: line 2: field 'start_date' has bad date '20240231'",
             _zip(_edit("calendar.txt", b"20240101", b"20240231")))
    zip_case("time_goes_back", "goes back in time",
             _zip(_edit("stop_times.txt", b"t1,08:10:00,08:10:00", b"t1,07:10:00,07:10:00")))
    zip_case("huge_stop_sequence", "field 'stop_sequence' has bad value '1e300'",
             _zip(_edit("stop_times.txt", b"08:00:00,A,1", b"08:00:00,A,1e300")))
    zip_case("nul_in_routes", "routes.txt: line 2: a NUL byte",
             _zip(_edit("routes.txt", b"R1,AG", b"R1\x00,AG")))
    zip_case("empty_zip", "stops.txt: required file is missing", _zip({}))
    zip_case("duplicate_trip", "trip_id 't1' appears twice",
             _zip(_edit("trips.txt", b"R1,ALL,t1b", b"R1,ALL,t1")))
    zip_case("no_calendar", "calendar.txt: required file is missing",
             _zip({k: v for k, v in _fixture().items() if k != "calendar.txt"}))
    # A folder feed whose stops.txt is a folder (kept in git by a file inside it).
    folder = HERE / "gtfs" / "folder_stops_is_dir"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in _fixture().items():
        if name != "stops.txt":
            (folder / name).write_bytes(data)
    (folder / "stops.txt").mkdir()
    (folder / "stops.txt" / "README").write_text("stops.txt is a folder on purpose (corpus case)\n")
    case("gtfs/folder_stops_is_dir", "gtfs", "stops.txt: is a folder, not a file", None)


def data_files() -> None:
    def data_case(field: str, name: str, expect: str, content: bytes | str) -> None:
        case(f"data/{name}", f"data:{field}", expect, content)

    feature = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
               '{"GSS_Code":"E05000001","Name":"A","Borough":"B","LB_GSS_Code":"E09000001"},'
               '"geometry":{"type":"Point","coordinates":[-0.1,51.5]}}]}')
    data_case("wards", "wards_truncated.geojson", "not a readable vector layer", feature[:70])
    data_case("wards", "wards_garbage.geojson", "not a readable vector layer", "this is not json at all {]")
    data_case("wards", "wards_latin1.geojson", "the ward boundaries file is not UTF-8 text",
              feature.replace('"A"', '"Caf\xe9"').encode("latin-1"))
    data_case("wards", "wards_empty.geojson", "the ward boundaries file is empty", "")
    data_case("wards", "wards_no_features.geojson", "holds no features",
              '{"type":"FeatureCollection","features":[]}')
    data_case("wards", "wards_missing_columns.geojson", "missing column(s) Name, Borough",
              feature.replace('"Name":"A","Borough":"B",', ""))
    data_case("boroughs", "boroughs_garbage.geojson", "borough boundaries file is not a readable",
              "\x89PNG\r\n\x1a\n not a layer")
    header = "LSOA11CD,LSOA11NM,LAD11CD,LAD11NM,ward14_code,ward14_name,pop_census2011,pop_mid2019,lon,lat,E,N\n"
    row = "E01000056,B 018C,E09000002,B,E05000033,G,1584,1675,0.136606,51.534387,548289.3,183883.6\n"
    data_case("lsoas", "lsoas_empty.csv", "the LSOA centroid table is empty (no header row)", "")
    data_case("lsoas", "lsoas_header_only.csv", "the LSOA centroid table has a header but no rows", header)
    data_case("lsoas", "lsoas_text_easting.csv", "column 'E': 'five hundred' is not a number",
              header + row.replace("548289.3", "five hundred"))
    data_case("lsoas", "lsoas_text_population.csv", "column 'pop_census2011': '1,584' is not a number",
              header + row.replace(",1584,", ',"1,584",'))
    data_case("lsoas", "lsoas_latin1.csv", "the LSOA centroid table is not UTF-8 text",
              (header + row.replace("B 018C", "B\xe9 018C")).encode("latin-1"))
    data_case("ptai", "ptai_text.csv", "column 'AvPTAI2015': 'high' is not a number",
              "Ward Code,Ward Name,AvPTAI2015,PTAL\nE05000405,Chessington South,high,1a\n")
    data_case("ptai", "ptai_truncated.csv", "the PTAI table is not readable CSV",
              'Ward Code,Ward Name,AvPTAI2015,PTAL\nE05000405,"Chessington South,1.7')
    data_case("ptai", "ptai_empty.csv", "the PTAI table is empty", "")
    ROWS.append(("../../etc/passwd", "data:wards", "points outside the data directory"))
    ROWS.append(("/etc/hostname", "data:lsoas", "points outside the data directory"))
    ROWS.append(("../../../etc/ssl", "feed", "points outside the data directory"))


def main() -> None:
    for folder in ("scenarios", "candidates", "gtfs", "data"):
        shutil.rmtree(HERE / folder, ignore_errors=True)
    scenarios()
    candidates()
    gtfs()
    data_files()
    with (HERE / "manifest.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["path", "kind", "expect"])
        writer.writerows(ROWS)
    print(f"{len(ROWS)} cases written to {HERE / 'manifest.csv'}")


if __name__ == "__main__":
    main()
