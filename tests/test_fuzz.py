"""Fuzzing the readers: whatever the bytes, the scenario loader, the candidate CSV reader and the
GTFS reader return a result or raise a SitingError (exit 2 via the CLI), never anything else.

CI-sized: a few hundred examples per reader, derandomised, so the file runs in tens of seconds
and gives the same examples every run. Inputs are built three ways: arbitrary text or bytes,
valid files with one part mutated (a key, a cell, a member cut short), and structured values
of the wrong kinds.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siting._errors import SitingError
from siting.candidates import read_user_sites
from siting.network.gtfs import read_feed
from siting.scenario import load_scenario

FIXTURE = Path(__file__).parent / "fixtures" / "gtfs" / "transfer"
REPO = Path(__file__).resolve().parents[1]

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SCENARIO = {
    "id": "fuzz", "title": "Fuzz", "counters": {"open_24h": ["charing-cross"], "open_daytime": ["brixton"],
                                                "hours": {"brixton": "09:00-17:00"}},
    "transit": {"departure_window": "07:00-10:00", "percentiles": [50], "service_date": "2017-11-15"},
    "walking": {"speed_kmh": 4.8}, "thresholds": [45, 60],
    "hubs": {"max_hubs": 150, "costs": {"police": 1.0}, "wards": ["E05000267"]},
    "constraints": [{"kind": "no_ward_over", "name": "n", "sentence": "s", "minutes": 60}],
}


def _expect_result_or_siting_error(call: Any) -> None:
    """Run the reader: a result or a SitingError passes; any other exception fails the test."""
    with contextlib.suppress(SitingError):
        call()


def _scenario_from(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.yaml"
        path.write_bytes(data)
        _expect_result_or_siting_error(lambda: load_scenario(path))


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                    st.text(max_size=30), st.dates().map(str))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=10), inner,
                                                                        max_size=4)), max_leaves=12)


def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            out += _paths(value, (*prefix, i))
    return out


def _replace(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(tree) if isinstance(tree, dict) else list(tree)
    copy[path[0]] = _replace(copy[path[0]], path[1:], value)
    return copy


@FUZZ
@given(st.binary(max_size=400))
def test_scenario_loader_on_arbitrary_bytes(data: bytes) -> None:
    _scenario_from(data)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab:- \n\t[]{}&*!|>'\"#,%@`0.9\\")), max_size=200))
def test_scenario_loader_on_yaml_punctuation(text: str) -> None:
    _scenario_from(text.encode("utf-8"))


@FUZZ
@given(st.data())
def test_scenario_loader_on_a_valid_scenario_with_one_value_replaced(data: st.DataObject) -> None:
    paths = _paths(SCENARIO)
    path = data.draw(st.sampled_from(paths))
    tree = _replace(SCENARIO, path, data.draw(values))
    _scenario_from(yaml.safe_dump(tree, allow_unicode=True).encode("utf-8"))


@FUZZ
@given(st.data())
def test_scenario_loader_on_a_valid_file_with_bytes_spliced(data: st.DataObject) -> None:
    text = yaml.safe_dump(SCENARIO).encode("utf-8")
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 20)))
    _scenario_from(text[:start] + data.draw(st.binary(max_size=20)) + text[end:])


# ---------------------------------------------------------------------------------------------
# Candidate CSV

COSTS = {"police": 1.0, "user": 3.0}
cells = st.one_of(st.text(max_size=12), st.sampled_from(["-0.1276", "51.5072", "530000", "180000", "",
                                                         "nan", "inf", "-1", "1e308", "council", '"']))


def _sites_from(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sites.csv"
        path.write_bytes(data)
        _expect_result_or_siting_error(lambda: read_user_sites(path, COSTS))


@FUZZ
@given(st.binary(max_size=300))
def test_candidate_csv_on_arbitrary_bytes(data: bytes) -> None:
    _sites_from(data)


@FUZZ
@given(st.lists(st.sampled_from(["name", "kind", "lon", "lat", "easting", "northing", "cost", "capacity",
                                 "site_id", "Name", "other"]), min_size=0, max_size=6),
       st.lists(st.lists(cells, max_size=7), max_size=5))
def test_candidate_csv_on_random_tables(header: list[str], rows: list[list[str]]) -> None:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    _sites_from(("\n".join(lines) + "\n").encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# GTFS

FILES = {p.name: p.read_bytes() for p in sorted(FIXTURE.glob("*.txt"))}


def _feed_from(archive: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feed.zip"
        path.write_bytes(archive)
        _expect_result_or_siting_error(lambda: read_feed(path))


def _zip(files: dict[str, bytes], *, stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as out:
        for name, data in files.items():
            out.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


@FUZZ
@given(st.data())
def test_gtfs_reader_with_one_cell_replaced(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(FILES)))
    lines = FILES[name].decode().splitlines()
    row = data.draw(st.integers(0, len(lines) - 1))
    fields = lines[row].split(",")
    col = data.draw(st.integers(0, len(fields) - 1))
    fields[col] = data.draw(st.one_of(st.text(max_size=10), st.sampled_from(
        ["", "25:00:00", "99:99:99", "-1", "1e300", "nan", "20240230", "A", "t1", "\ufeff", '"'])))
    lines[row] = ",".join(fields)
    _feed_from(_zip({**FILES, name: ("\n".join(lines) + "\n").encode("utf-8")}))


@FUZZ
@given(st.data())
def test_gtfs_reader_with_a_member_cut_dropped_or_garbled(data: st.DataObject) -> None:
    files = dict(FILES)
    name = data.draw(st.sampled_from(sorted(files)))
    action = data.draw(st.sampled_from(["cut", "drop", "garble", "bytes"]))
    if action == "cut":
        files[name] = files[name][: data.draw(st.integers(0, len(files[name])))]
    elif action == "drop":
        del files[name]
    elif action == "garble":
        raw = bytearray(files[name])
        for _ in range(data.draw(st.integers(1, 4))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        files[name] = bytes(raw)
    else:
        files[name] = data.draw(st.binary(max_size=80))
    _feed_from(_zip(files))


@FUZZ
@given(st.data())
def test_gtfs_reader_on_a_damaged_zip(data: st.DataObject) -> None:
    archive = bytearray(_zip(FILES, stored=data.draw(st.booleans())))
    for _ in range(data.draw(st.integers(1, 3))):
        archive[data.draw(st.integers(0, len(archive) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(archive) // 2, len(archive)))
    _feed_from(bytes(archive[:cut]))


_TIME_TEXT = st.text(alphabet=st.sampled_from(list("0123456789:: \t\n\r\x0b\x0c\x1c\x1f\x00a+-٣")),
                     max_size=12)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.one_of(_TIME_TEXT, st.sampled_from(["7:05:09", " 24:00:00 ", "100:59:59",
                                                       "1000:00:00", "12:60:00", "12:5:00", ""])),
                min_size=1, max_size=6))
def test_gtfs_time_fast_path_agrees_with_the_expression(values: list[str]) -> None:
    """The compiled HH:MM:SS pass accepts, rejects and converts exactly what the regular
    expression does (text it cannot judge, non-ASCII or with NULs, is left to the expression)."""
    import pandas as pd

    from siting.network import gtfs
    from siting.network._gtfs_times import BAD, EMPTY, parse_ascii

    fast = parse_ascii(values)
    text = pd.Series(values, dtype=object)
    parts = text.str.extract(gtfs._TIME_RE)
    matched = parts[0].notna().to_numpy()
    if fast is None:
        assert not "".join(values).isascii() or "\x00" in "".join(values)
        return
    seconds, state = fast
    blank = (text.str.strip() == "").to_numpy()
    assert ((state == 0) == matched).all()
    assert ((state == EMPTY) == (blank & ~matched)).all()
    assert ((state == BAD) == (~blank & ~matched)).all()
    numbers = parts[matched].astype("int64").to_numpy()
    assert (seconds[matched] == numbers[:, 0] * 3600 + numbers[:, 1] * 60 + numbers[:, 2]).all()
    assert (seconds[~matched] == -1).all()
