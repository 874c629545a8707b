"""GTFS reader: load a feed (zip or folder) into checked pandas tables with integer-second times."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from siting._errors import FeedError, clip, shown
from siting.network.gtfs_calendar import (
    WEEKDAYS,
    busiest_date,
    expand_frequencies,
    frequency_runs,
    service_ids_on,
)

__all__ = [
    "Feed",
    "busiest_date",
    "expand_frequencies",
    "frequency_runs",
    "parse_times",
    "read_feed",
    "reading_once",
    "service_ids_on",
]

_REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "stops.txt": ("stop_id", "stop_lat", "stop_lon"),
    "routes.txt": ("route_id",),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
    "calendar.txt": (
        "service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
        "sunday", "start_date", "end_date",
    ),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
    "frequencies.txt": ("trip_id", "start_time", "end_time", "headway_secs"),
    "transfers.txt": ("from_stop_id", "to_stop_id", "transfer_type"),
    "agency.txt": ("agency_name",),
}
_TIME_RE = r"^\s*(\d{1,3}):([0-5]\d):([0-5]\d)\s*$"
_DATE_RE = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class Feed:
    """A checked GTFS feed: one DataFrame per file, times in seconds since service-day midnight.

    ``stop_times`` holds trip_id, stop_sequence, stop_id, arrival_s, departure_s, pickup_type,
    drop_off_type (ints; 1 = no pickup / no drop-off), sorted by trip_id then stop_sequence.
    ``frequencies`` holds trip_id, start_s, end_s, headway_secs, exact_times. Optional files
    that are absent (agency, calendar or calendar_dates, frequencies, transfers) are empty frames.
    """

    path: Path
    agency: pd.DataFrame
    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    calendar: pd.DataFrame
    calendar_dates: pd.DataFrame
    frequencies: pd.DataFrame
    transfers: pd.DataFrame


def _fail(path: Path, file: str, what: str, fix: str) -> FeedError:
    return FeedError(f"GTFS feed {path}: {file}: {what}. {fix}")


def _line(index: int) -> int:
    """File line of a 0-based data row (the header is line 1)."""
    return int(index) + 2


_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
                  OSError)
"""What reading one zip member can raise: bad CRC, truncated data, unknown compression, a password."""


class _Source:
    """Read .txt members from a zip (optionally nested one folder deep) or a folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            self._zip = None
            self.names: dict[str, str] = {
                p.name: str(p) for p in sorted(path.iterdir()) if p.suffix == ".txt"
            }
        elif path.is_file() and zipfile.is_zipfile(path):
            try:
                self._zip = zipfile.ZipFile(path)
                members = self._zip.infolist()
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise FeedError(
                    f"GTFS feed {path}: the zip file is damaged ({clip(str(exc), 120)}). "
                    "Download the feed again, or unzip it with another tool to find the bad part."
                ) from None
            self.names = {}
            self._dirs: set[str] = set()
            for info in sorted(members, key=lambda m: m.filename.rstrip("/").count("/")):
                name = info.filename
                base = name.rstrip("/").rsplit("/", 1)[-1]
                if not base.endswith(".txt") or base in self.names:
                    continue
                self.names[base] = name
                if info.is_dir():
                    self._dirs.add(base)
        elif path.is_file():
            raise FeedError(
                f"GTFS feed {path}: is a file but not a readable zip (damaged, cut short, or "
                "another format). Download the feed again, or give the folder of its .txt files."
            )
        else:
            raise FeedError(
                f"GTFS feed {path}: not found, or neither a folder nor a zip file. "
                "Pass the path of a GTFS .zip or of a folder holding stops.txt, trips.txt, ..."
            )

    def _bytes(self, file: str) -> bytes:
        member = self.names[file]
        if self._zip is None:
            if Path(member).is_dir():
                raise _fail(self.path, file, "is a folder, not a file",
                            f"Replace the folder {file} by the GTFS text file of that name.")
            try:
                return Path(member).read_bytes()
            except OSError as exc:
                raise _fail(self.path, file, f"cannot be read ({exc.strerror})",
                            "Check the file's permissions, or copy the feed again.") from None
        if file in self._dirs:
            raise _fail(self.path, file, f"the zip member {clip(member, 80)!r} is a folder, not a file",
                        f"Rebuild the zip with {file} as a text file.")
        try:
            return self._zip.read(member)
        except _MEMBER_ERRORS as exc:
            raise _fail(self.path, file, f"the zip member is damaged ({clip(str(exc), 120)})",
                        "Download the feed again; the zip's copy of this file cannot be unpacked.") from None

    def read(self, file: str) -> pd.DataFrame | None:
        if file not in self.names:
            return None
        raw = self._bytes(file)
        if not raw.strip():
            return pd.DataFrame()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise _fail(self.path, file, f"line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8 text",
                        "GTFS files must be UTF-8: re-save the file as UTF-8.") from None
        if "\0" in text:
            line = text[: text.index("\0")].count("\n") + 1
            raise _fail(self.path, file, f"line {line}: a NUL byte; this is not a text file",
                        "Replace the file by the feed's real CSV text.")
        try:
            frame = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
                skipinitialspace=False,
            )
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
        except (pd.errors.ParserError, ValueError) as exc:
            raise _fail(self.path, file, f"not readable CSV ({clip(str(exc).strip(), 120)})",
                        "Every row needs the same number of comma-separated fields as the "
                        "header; quote fields that hold commas.") from None
        if not isinstance(frame.index, pd.RangeIndex):
            # pandas turns the extra leading fields of a too-long first row into an index
            raise _fail(self.path, file, "not readable CSV (line 2 has more fields than the header)",
                        "Every row needs the same number of comma-separated fields as the "
                        "header; quote fields that hold commas.")
        frame.columns = [str(c).strip() for c in frame.columns]
        return frame

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _require_columns(path: Path, file: str, frame: pd.DataFrame) -> None:
    for column in _REQUIRED_COLUMNS[file]:
        if column not in frame.columns:
            raise _fail(
                path, file, f"required column '{column}' is missing (columns: "
                f"{', '.join(map(str, frame.columns)) or 'none'})",
                f"Add a '{column}' column as the GTFS reference requires.",
            )


def _require_values(path: Path, file: str, frame: pd.DataFrame, column: str) -> None:
    missing = frame[column].isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise _fail(
            path, file, f"line {_line(row)}: field '{column}' is empty",
            f"Every row needs a {column}.",
        )


def parse_times(
    values: pd.Series, *, path: Path, file: str, field: str, allow_empty: bool = False
) -> np.ndarray:
    """GTFS times (H:MM:SS, hours may exceed 24) to int64 seconds; empty -> -1 if allowed."""
    text = values.astype(object).where(values.notna(), "")
    text = pd.Series(text.to_numpy(dtype=object), dtype=object)
    strings = text.tolist()
    fast = None
    if all(isinstance(v, str) for v in strings):
        from siting.network._gtfs_times import BAD, EMPTY, parse_ascii

        fast = parse_ascii(strings)
    if fast is not None:
        out, state = fast
        empty = state == EMPTY
        bad_rows = np.flatnonzero((state == BAD) | (empty & ~allow_empty))
    else:
        parts = text.str.extract(_TIME_RE)
        bad = parts[0].isna().to_numpy()
        empty = (text.str.strip() == "").to_numpy()
        bad_rows = np.flatnonzero(bad & ~(empty & allow_empty))
    if len(bad_rows):
        row = int(bad_rows[0])
        raise _fail(
            path, file, f"line {_line(row)}: field '{field}' has bad time {shown(text.iloc[row])}",
            "Write times as HH:MM:SS (hours may exceed 24 for trips after midnight).",
        )
    if fast is not None:
        return out
    out = np.full(len(text), -1, dtype=np.int64)
    ok = ~bad
    numbers = parts[ok].astype(np.int64).to_numpy()
    out[ok] = numbers[:, 0] * 3600 + numbers[:, 1] * 60 + numbers[:, 2]
    return out


def _parse_ints(
    frame: pd.DataFrame, column: str, *, path: Path, file: str, default: int | None = None
) -> np.ndarray:
    values = frame[column] if column in frame.columns else pd.Series([None] * len(frame))
    numbers = pd.to_numeric(values.astype(object), errors="coerce").to_numpy(dtype=float)
    empty = values.isna().to_numpy()
    if default is not None:
        numbers = np.where(empty, default, numbers)
    with np.errstate(invalid="ignore"):
        bad = np.isnan(numbers) | (numbers != np.floor(numbers)) | (np.abs(numbers) > 2**53)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _fail(
            path, file, f"line {_line(row)}: field '{column}' has bad value "
            f"{shown(values.iloc[row])}", f"Use a whole number for {column}.",
        )
    return numbers.astype(np.int64)


def _parse_floats(frame: pd.DataFrame, column: str, *, path: Path, file: str) -> np.ndarray:
    values = frame[column]
    numbers = pd.to_numeric(values.astype(object), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers) & values.notna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _fail(
            path, file, f"line {_line(row)}: field '{column}' has bad value "
            f"{shown(values.iloc[row])}", f"Use a decimal number for {column}.",
        )
    return numbers


def _check_dates(path: Path, file: str, frame: pd.DataFrame, columns: Iterable[str]) -> None:
    for column in columns:
        for row, value in enumerate(frame[column].astype(object)):
            if not isinstance(value, str) or not _DATE_RE.match(value.strip()):
                raise _fail(
                    path, file, f"line {_line(row)}: field '{column}' has bad date {shown(value)}",
                    "Write dates as YYYYMMDD.",
                )
            try:
                dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
            except ValueError:
                raise _fail(
                    path, file, f"line {_line(row)}: field '{column}' has bad date {shown(value)}",
                    "Write dates as YYYYMMDD.",
                ) from None


def _isin(values: pd.Series, known: pd.Series) -> np.ndarray:
    """``values.isin(known)`` as a numpy mask; for Arrow strings by Arrow's hash lookup
    (pandas converts each known value to an Arrow scalar first: 0.1 s for London's stops)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values.array, pd.arrays.ArrowStringArray):
        column = pa.array(values.array)
        value_set = pa.array(known.to_numpy(dtype=object), from_pandas=True)
        if pa.types.is_string(value_set.type) or pa.types.is_large_string(value_set.type):
            found = pc.is_in(column, value_set=value_set.cast(column.type))
            return found.to_numpy(zero_copy_only=False).astype(bool)
    return values.isin(known).to_numpy()


def _check_known(
    path: Path, file: str, frame: pd.DataFrame, column: str, known: pd.Series, in_file: str
) -> None:
    unknown = ~_isin(frame[column], known)
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise _fail(
            path, file, f"line {_line(row)}: {column} {shown(frame[column].iloc[row])} is not in "
            f"{in_file}", f"Add it to {in_file} or drop the rows that use it.",
        )


def _read_stop_times(path: Path, raw: pd.DataFrame, stops: pd.DataFrame,
                     trips: pd.DataFrame) -> pd.DataFrame:
    file = "stop_times.txt"
    for column in ("trip_id", "stop_id", "stop_sequence"):
        _require_values(path, file, raw, column)
    _check_known(path, file, raw, "trip_id", trips["trip_id"], "trips.txt")
    _check_known(path, file, raw, "stop_id", stops["stop_id"], "stops.txt")
    arrival = parse_times(raw["arrival_time"], path=path, file=file, field="arrival_time",
                          allow_empty=True)
    departure = parse_times(raw["departure_time"], path=path, file=file,
                            field="departure_time", allow_empty=True)
    # A timepoint with one time missing keeps the other: GTFS allows arrival == departure.
    arrival = np.where(arrival < 0, departure, arrival)
    departure = np.where(departure < 0, arrival, departure)
    table = pd.DataFrame({
        "trip_id": raw["trip_id"].astype(object).to_numpy(),
        "stop_sequence": _parse_ints(raw, "stop_sequence", path=path, file=file),
        "stop_id": raw["stop_id"].astype(object).to_numpy(),
        "arrival_s": arrival,
        "departure_s": departure,
        "pickup_type": _parse_ints(raw, "pickup_type", path=path, file=file, default=0),
        "drop_off_type": _parse_ints(raw, "drop_off_type", path=path, file=file, default=0),
        "line": np.arange(len(raw), dtype=np.int64) + 2,
    })
    table = table.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(drop=True)
    trip = table["trip_id"].to_numpy()
    first = np.r_[True, trip[1:] != trip[:-1]]
    last = np.r_[first[1:], True]
    seq = table["stop_sequence"].to_numpy()
    duplicate = ~first & (seq == np.r_[-1, seq[:-1]])
    if duplicate.any():
        row = int(np.flatnonzero(duplicate)[0])
        raise _fail(
            path, file, f"line {table['line'].iloc[row]}: trip {shown(trip[row])} repeats "
            f"stop_sequence {seq[row]}", "Give each stop of a trip its own stop_sequence.",
        )
    has_time = table["arrival_s"].to_numpy() >= 0
    ends_missing = (first | last) & ~has_time
    if ends_missing.any():
        row = int(np.flatnonzero(ends_missing)[0])
        raise _fail(
            path, file, f"line {table['line'].iloc[row]}: trip {shown(trip[row])} has no "
            "arrival_time/departure_time at its first or last stop",
            "Give the first and last stop of every trip both times.",
        )
    if not has_time.all():
        table = _interpolate_times(table)
    arr = table["arrival_s"].to_numpy()
    dep = table["departure_s"].to_numpy()
    backwards = dep < arr
    backwards |= ~first & (arr < np.r_[0, dep[:-1]])
    if backwards.any():
        row = int(np.flatnonzero(backwards)[0])
        field = "departure_time" if dep[row] < arr[row] else "arrival_time"
        raise _fail(
            path, file, f"line {table['line'].iloc[row]}: trip {shown(trip[row])} goes back in time "
            f"at stop_sequence {seq[row]} (field '{field}': arrival {_hms(arr[row])}, "
            f"departure {_hms(dep[row])}, previous departure "
            f"{_hms(dep[row - 1]) if not first[row] else 'none'})",
            "Times must not decrease along a trip: fix the times or the stop_sequence.",
        )
    return table.drop(columns="line")


def _interpolate_times(table: pd.DataFrame) -> pd.DataFrame:
    """Fill stops without times linearly by position between the surrounding timepoints."""
    arr = table["arrival_s"].to_numpy().astype(float)
    dep = table["departure_s"].to_numpy().astype(float)
    known = arr >= 0
    position = np.arange(len(arr), dtype=float)
    prev_known = np.maximum.accumulate(np.where(known, np.arange(len(arr)), -1))
    next_known = np.flip(np.minimum.accumulate(np.flip(np.where(known, np.arange(len(arr)),
                                                                len(arr)))))
    missing = np.flatnonzero(~known)
    lo = prev_known[missing]
    hi = next_known[missing]
    frac = (position[missing] - lo) / (hi - lo)
    fill = np.floor(dep[lo] + frac * (arr[hi] - dep[lo]))
    arr[missing] = fill
    dep[missing] = fill
    return table.assign(arrival_s=arr.astype(np.int64), departure_s=dep.astype(np.int64))


def _hms(seconds: int) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def read_feed(path: Path | str) -> Feed:
    """Read and check a GTFS feed from a .zip or a folder of .txt files.

    Raises FeedError naming the feed, file, line and field for a missing file or column,
    an unknown stop_id/trip_id/route_id, a bad time or date, or times that go backwards.
    """
    path = Path(path)
    memo = _READ_ONCE.get()
    if memo is None:
        return _read_feed(path)
    key = _stamp(path)
    if key not in memo:
        memo[key] = _read_feed(path)
    return memo[key]


_READ_ONCE: contextvars.ContextVar[dict[tuple, Feed] | None] = contextvars.ContextVar(
    "siting_read_once", default=None)


@contextlib.contextmanager
def reading_once() -> Iterator[None]:
    """Within the block, `read_feed` reads each feed once (its checked tables are shared).

    Building a network reads the feed twice on a cold cache (its service summary, then its
    connections), about 1.3 s each on the modelled London feed. Callers must not modify the
    shared tables; the memo ends with the outermost block, so the tables are freed after it
    (a nested block shares its caller's memo).
    """
    if _READ_ONCE.get() is not None:
        yield
        return
    token = _READ_ONCE.set({})
    try:
        yield
    finally:
        _READ_ONCE.reset(token)


def _stamp(path: Path) -> tuple:
    """The feed's path, and each file's size and modification time (a changed file re-reads)."""
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    return (str(path.resolve()),
            *((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()))


def _read_feed(path: Path) -> Feed:
    source = _Source(path)
    try:
        tables: dict[str, pd.DataFrame | None] = {
            name: source.read(name) for name in _REQUIRED_COLUMNS
        }
    finally:
        source.close()
    for name in ("stops.txt", "routes.txt", "trips.txt", "stop_times.txt"):
        if tables[name] is None:
            raise _fail(path, name, "required file is missing",
                        f"Add {name}; a GTFS feed needs stops, routes, trips and stop_times.")
    if tables["calendar.txt"] is None and tables["calendar_dates.txt"] is None:
        raise _fail(path, "calendar.txt", "required file is missing (and there is no "
                    "calendar_dates.txt either)",
                    "Add calendar.txt or calendar_dates.txt so trips have service days.")
    for name, frame in tables.items():
        if frame is not None and (len(frame.columns) or name in (
                "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")):
            _require_columns(path, name, frame)

    def table(name: str) -> pd.DataFrame:
        frame = tables[name]
        assert frame is not None  # checked above
        return frame

    stops = table("stops.txt").copy()
    _require_values(path, "stops.txt", stops, "stop_id")
    stops["stop_lat"] = _parse_floats(stops, "stop_lat", path=path, file="stops.txt")
    stops["stop_lon"] = _parse_floats(stops, "stop_lon", path=path, file="stops.txt")
    routes = table("routes.txt")
    trips = table("trips.txt")
    for column in ("route_id", "service_id", "trip_id"):
        _require_values(path, "trips.txt", trips, column)
    _check_known(path, "trips.txt", trips, "route_id", routes["route_id"], "routes.txt")
    duplicated = trips["trip_id"].duplicated().to_numpy()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated)[0])
        raise _fail(path, "trips.txt", f"line {_line(row)}: trip_id "
                    f"{shown(trips['trip_id'].iloc[row])} appears twice", "Make trip_id unique.")
    stop_times = _read_stop_times(path, table("stop_times.txt"), stops, trips)

    calendar = _frame_or_empty(tables["calendar.txt"], _REQUIRED_COLUMNS["calendar.txt"])
    if len(calendar):
        _check_dates(path, "calendar.txt", calendar, ("start_date", "end_date"))
        calendar = calendar.copy()
        for day in WEEKDAYS:
            calendar[day] = _parse_ints(calendar, day, path=path, file="calendar.txt")
    calendar_dates = _frame_or_empty(tables["calendar_dates.txt"],
                                     _REQUIRED_COLUMNS["calendar_dates.txt"])
    if len(calendar_dates):
        _check_dates(path, "calendar_dates.txt", calendar_dates, ("date",))
        calendar_dates = calendar_dates.assign(exception_type=_parse_ints(
            calendar_dates, "exception_type", path=path, file="calendar_dates.txt"))

    raw_freq = _frame_or_empty(tables["frequencies.txt"], _REQUIRED_COLUMNS["frequencies.txt"])
    frequencies = pd.DataFrame({
        "trip_id": raw_freq["trip_id"].astype(object).to_numpy(),
        "start_s": parse_times(raw_freq["start_time"], path=path, file="frequencies.txt",
                               field="start_time"),
        "end_s": parse_times(raw_freq["end_time"], path=path, file="frequencies.txt",
                             field="end_time"),
        "headway_secs": _parse_ints(raw_freq, "headway_secs", path=path,
                                    file="frequencies.txt"),
        "exact_times": _parse_ints(raw_freq, "exact_times", path=path,
                                   file="frequencies.txt", default=0),
    })
    if len(frequencies):
        _check_known(path, "frequencies.txt", frequencies, "trip_id", trips["trip_id"],
                     "trips.txt")
        bad = (frequencies["headway_secs"] <= 0).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise _fail(path, "frequencies.txt", f"line {_line(row)}: field 'headway_secs' "
                        f"is {frequencies['headway_secs'].iloc[row]}",
                        "Use a positive headway in seconds.")
    return Feed(
        path=path,
        agency=_frame_or_empty(tables["agency.txt"], ()),
        stops=stops,
        routes=routes,
        trips=trips,
        stop_times=stop_times,
        calendar=calendar,
        calendar_dates=calendar_dates,
        frequencies=frequencies,
        transfers=_frame_or_empty(tables["transfers.txt"], ()),
    )


def _frame_or_empty(frame: pd.DataFrame | None, columns: Iterable[str]) -> pd.DataFrame:
    if frame is None or not len(frame.columns):
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    return frame
