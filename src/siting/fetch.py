"""Download the open London data into the data directory, verified by sha256 (`siting data fetch`).

The sources are listed once, in `siting/facts/sources.yaml`: one entry per file of the data
directory, with the pinned upstream URL, the sha256 and size of the file as the data curators
published it, its publisher, licence and attribution. Files the curators converted (MapInfo TAB or
shapefile to GeoJSON/GeoParquet, CSV clean-ups, population joins) carry a `derive:` recipe naming
one of the functions in `DERIVERS` and its pinned inputs. A derived file is accepted when its
sha256 matches the curated file; if the libraries on this machine write different bytes, it is
accepted when it passes the entry's `check:` (row count, columns, CRS, totals) instead, and the
report says so. `mirror=` fetches every file, derived or not, from `{mirror}/{path}` and demands
the curated sha256.
"""

from __future__ import annotations

import hashlib
import http.client
import math
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from siting._crs import BNG, WGS84
from siting._errors import DataError

if TYPE_CHECKING:
    import geopandas as gpd
    from rich.progress import Progress, TaskID
    from rich.table import Table

__all__ = [
    "DERIVERS",
    "TIMEOUT_S",
    "Derivation",
    "DeriveInput",
    "FetchRecord",
    "FetchReport",
    "Source",
    "check_content",
    "fetch_all",
    "load_sources",
    "sha256_file",
]

TIMEOUT_S = 60.0
"""Seconds to wait for a server to connect or send the next chunk before giving up."""

_CHUNK = 1 << 16
_USER_AGENT = "siting-data-fetch/0.1 (python urllib)"
_README = {
    "boundaries": "data/boundaries/README.md",
    "transit": "data/transit/README.md",
    "osm": "data/boundaries/README.md",
}
_GEOJSON_OPTIONS = {"COORDINATE_PRECISION": 6, "RFC7946": "YES", "WRITE_NAME": "NO"}

Action = Literal["downloaded", "derived", "skipped"]
Verified = Literal["sha256", "content"]


# --------------------------------------------------------------------------------------------
# The source list
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeriveInput:
    """One input of a derivation: a pinned upstream download, or another entry's file."""

    file: str
    url: str | None = None
    entry: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Derivation:
    """How the curators made a file: a function from `DERIVERS`, its inputs and parameters."""

    function: str
    description: str
    inputs: tuple[DeriveInput, ...]
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """One file of the data directory and where it comes from (an entry of sources.yaml)."""

    name: str
    path: str
    url: str
    sha256: str
    bytes: int
    publisher: str
    licence: str
    attribution: str
    official: str | None = None
    derive: Derivation | None = None
    check: Mapping[str, Any] | None = None

    @property
    def readme(self) -> str:
        """The repository README that lists this file's folder and sources."""
        return _README.get(self.path.split("/", 1)[0], "data/boundaries/README.md")


def _sources_error(message: str) -> DataError:
    return DataError(f"siting/facts/sources.yaml is broken: {message}. Restore it from git.")


def _parse_source(raw: Mapping[str, Any]) -> Source:
    required = ("name", "path", "url", "sha256", "bytes", "publisher", "licence", "attribution")
    missing = [key for key in required if key not in raw]
    if missing:
        raise _sources_error(f"entry {raw.get('name', raw)!r} lacks {', '.join(missing)}")
    derive = None
    if (spec := raw.get("derive")) is not None:
        inputs = tuple(
            DeriveInput(
                file=str(item["file"]),
                url=item.get("url"),
                entry=item.get("entry"),
                sha256=item.get("sha256"),
            )
            for item in spec["inputs"]
        )
        derive = Derivation(
            function=str(spec["function"]),
            description=" ".join(str(spec.get("description", "")).split()),
            inputs=inputs,
            params=dict(spec.get("params") or {}),
        )
    return Source(
        name=str(raw["name"]),
        path=str(raw["path"]),
        url=str(raw["url"]),
        sha256=str(raw["sha256"]).lower(),
        bytes=int(raw["bytes"]),
        publisher=" ".join(str(raw["publisher"]).split()),
        licence=" ".join(str(raw["licence"]).split()),
        attribution=" ".join(str(raw["attribution"]).split()),
        official=raw.get("official"),
        derive=derive,
        check=raw.get("check"),
    )


def _validate_sources(sources: Sequence[Source]) -> None:
    seen: set[str] = set()
    paths: set[str] = set()
    for src in sources:
        if src.name in seen or src.path in paths:
            raise _sources_error(f"duplicate entry {src.name!r} / {src.path!r}")
        if len(src.sha256) != 64 or any(c not in "0123456789abcdef" for c in src.sha256):
            raise _sources_error(f"entry {src.name!r} has a malformed sha256 {src.sha256!r}")
        if src.derive is not None:
            if src.derive.function not in DERIVERS:
                raise _sources_error(
                    f"entry {src.name!r} names an unknown derive function {src.derive.function!r}"
                )
            for item in src.derive.inputs:
                if (item.url is None) == (item.entry is None):
                    raise _sources_error(
                        f"input {item.file!r} of {src.name!r} needs exactly one of url/entry"
                    )
                if item.entry is not None and item.entry not in seen:
                    raise _sources_error(
                        f"input {item.file!r} of {src.name!r} needs entry {item.entry!r}, "
                        "which must be listed before it"
                    )
        seen.add(src.name)
        paths.add(src.path)


@cache
def load_sources() -> tuple[Source, ...]:
    """The packaged source list (siting/facts/sources.yaml), validated, in file order."""
    text = resources.files("siting").joinpath("facts/sources.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("sources"), list):
        raise _sources_error("it must be a mapping with a 'sources:' list")
    sources = tuple(_parse_source(item) for item in raw["sources"])
    _validate_sources(sources)
    return sources


def _select(
    sources: Sequence[Source], only: Sequence[str] | None, *, with_dependencies: bool
) -> list[Source]:
    """The entries named by `only` (entry names, paths or folders), plus what they derive from."""
    if not only:
        return list(sources)
    by_name = {src.name: src for src in sources}
    chosen: set[str] = set()
    for selector in only:
        key = selector.strip().strip("/")
        hits = [
            src.name
            for src in sources
            if key and (src.name == key or src.path == key or src.path.startswith(key + "/"))
        ]
        if not hits:
            folders = {src.path.rsplit("/", 1)[0] for src in sources}
            folders |= {folder.split("/")[0] for folder in folders}
            raise DataError(
                f"Unknown data set {selector!r} in --only. Valid names: "
                f"{', '.join(src.name for src in sources)}. A folder also works "
                f"({', '.join(sorted(folders))}), as does a file's path relative to the data "
                "directory."
            )
        chosen.update(hits)
    if with_dependencies:
        stack = list(chosen)
        while stack:
            src = by_name[stack.pop()]
            for item in src.derive.inputs if src.derive else ():
                if item.entry is not None and item.entry not in chosen:
                    chosen.add(item.entry)
                    stack.append(item.entry)
    return [src for src in sources if src.name in chosen]


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchRecord:
    """What happened to one file: downloaded, derived or skipped, and how it was verified."""

    name: str
    path: str
    action: Action
    verified: Verified
    bytes: int
    origin: str


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value, unit = n / 1024, "kB"
    for bigger in ("MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


@dataclass
class FetchReport:
    """The outcome of `fetch_all`: one record per file, printable as a short table."""

    data_dir: Path
    mirror: str | None = None
    records: list[FetchRecord] = field(default_factory=list)

    @property
    def downloaded(self) -> list[str]:
        """Paths written by this run (downloaded as-is or derived from upstream inputs)."""
        return [r.path for r in self.records if r.action != "skipped"]

    @property
    def derived(self) -> list[str]:
        """Paths rebuilt from upstream inputs by a derive function."""
        return [r.path for r in self.records if r.action == "derived"]

    @property
    def skipped(self) -> list[str]:
        """Paths already present and valid, left untouched."""
        return [r.path for r in self.records if r.action == "skipped"]

    @property
    def verified(self) -> dict[str, Verified]:
        """Path -> how it was verified: 'sha256' (byte-identical) or 'content' (checks only)."""
        return {r.path: r.verified for r in self.records}

    @property
    def bytes_fetched(self) -> int:
        """Total size of the files written by this run."""
        return sum(r.bytes for r in self.records if r.action != "skipped")

    def summary(self) -> str:
        """One line: counts, size written, and where."""
        n_content = sum(r.verified == "content" for r in self.records)
        parts = [
            f"{len(self.records)} files: {len(self.downloaded)} fetched "
            f"({_size(self.bytes_fetched)}), {len(self.skipped)} already present",
        ]
        if n_content:
            parts.append(
                f"{n_content} verified by content checks (rebuilt from upstream, not "
                "byte-identical to the curated copy)"
            )
        return "; ".join(parts) + f"; data directory {self.data_dir}"

    def __str__(self) -> str:
        width = max([len("file"), *(len(r.path) for r in self.records)])
        lines = [f"{'file':<{width}}  {'action':<10}  {'verified':<8}  size"]
        lines += [
            f"{r.path:<{width}}  {r.action:<10}  {r.verified:<8}  {_size(r.bytes)}"
            for r in self.records
        ]
        lines.append(self.summary())
        return "\n".join(lines)

    def to_table(self) -> Table:
        """The report as a rich Table (what `rich.print(report)` shows)."""
        from rich.table import Table

        table = Table(title="siting data fetch", caption=self.summary())
        for column in ("file", "action", "verified", "size"):
            table.add_column(column, justify="right" if column == "size" else "left")
        for r in self.records:
            table.add_row(r.path, r.action, r.verified, _size(r.bytes))
        return table

    def __rich__(self) -> Table:
        return self.to_table()


# --------------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _Bar:
    """A rich progress bar on stderr, or nothing when disabled."""

    def __init__(self, enabled: bool) -> None:
        self._progress: Progress | None = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )

    def __enter__(self) -> _Bar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, label: str, total: int | None) -> TaskID | None:
        if self._progress is None:
            return None
        return self._progress.add_task(label, total=total)

    def advance(self, task: TaskID | None, n: int) -> None:
        if self._progress is not None and task is not None:
            self._progress.advance(task, n)

    def done(self, task: TaskID | None) -> None:
        if self._progress is not None and task is not None:
            state = self._progress.tasks[self._progress.task_ids.index(task)]
            self._progress.update(task, total=state.completed)


def _mirror_url(mirror: str, path: str) -> str:
    return f"{mirror.rstrip('/')}/{urllib.parse.quote(path)}"


def _offline_message(src: Source, url: str, dest: Path, reason: object) -> str:
    host = urllib.parse.urlsplit(url).netloc or url
    return (
        f"Cannot download {src.path} ({src.name}): {host} could not be reached for {url} "
        f"({reason}). This machine seems to be offline, or a firewall or proxy blocks the "
        "server. To fix it, do one of: run `siting data fetch` on a machine with internet "
        f"access and copy the file to {dest}; point SITING_DATA_DIR at an existing copy of the "
        "data folder (for example a shared data/london directory); or pass `--mirror URL` for a "
        f"mirror of that folder (file:// URLs work). Sources and licences: {src.readme}."
    )


def _http_message(
    src: Source, url: str, dest: Path, code: int, reason: str, *, mirror: bool
) -> str:
    where = (
        f"check that the mirror holds {src.path} (it must copy the data folder's layout)"
        if mirror
        else "the pinned upstream file may have moved or been deleted"
    )
    return (
        f"The server answered HTTP {code} {reason} for {url} while fetching {src.path} "
        f"({src.name}): {where}. To fix it, copy {src.path} from a machine that has the data to "
        f"{dest}, point SITING_DATA_DIR at a copy of the data folder, or pass `--mirror URL`; "
        f"see {src.readme}."
    )


def _open(url: str, src: Source, dest: Path, timeout: float, *, mirror: bool) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DataError(
            _http_message(src, url, dest, exc.code, str(exc.reason), mirror=mirror)
        ) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, FileNotFoundError):
            raise DataError(
                f"The mirror has no {src.path} ({src.name}): {url} does not exist. Check the "
                f"--mirror folder (it must copy the data folder's layout), or copy the file to "
                f"{dest} by hand; see {src.readme}."
            ) from exc
        raise DataError(_offline_message(src, url, dest, exc.reason)) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DataError(_offline_message(src, url, dest, exc)) from exc


def _download(
    url: str,
    target: Path,
    *,
    src: Source,
    dest: Path,
    expected: str | None,
    bar: _Bar,
    timeout: float,
    total: int | None = None,
    mirror: bool = False,
) -> str:
    """Stream `url` to a temp file beside `target`; rename only once the sha256 matches.

    `dest` is the data-directory file the user needs (named in error messages); it differs from
    `target` when an input of a derivation is being downloaded.
    """
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, _open(url, src, dest, timeout, mirror=mirror) as resp:
            length = resp.headers.get("Content-Length")
            task = bar.start(target.name, int(length) if length and length.isdigit() else total)
            while True:
                try:
                    chunk = resp.read(_CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise DataError(_offline_message(src, url, dest, exc)) from exc
                if not chunk:
                    break
                digest.update(chunk)
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise DataError(
                        f"Cannot write {tmp} while fetching {src.path}: {exc}. Check the free "
                        f"space and permissions of {target.parent}, or choose another --data-dir."
                    ) from exc
                bar.advance(task, len(chunk))
            bar.done(task)
        actual = digest.hexdigest()
        if expected is not None and actual != expected:
            raise DataError(
                f"sha256 mismatch for {src.path} ({src.name}): expected {expected}, got {actual} "
                f"from {url}. The download was discarded and nothing was written to {dest}. "
                + (
                    "The mirror's copy is not the curated file: refresh the mirror from a "
                    "verified copy of the data folder. "
                    if mirror
                    else "The upstream file has changed since it was pinned (or the download "
                    "was corrupted): try again, or fetch from a verified copy with `--mirror "
                    "URL`. "
                )
                + f"You can also point SITING_DATA_DIR at a verified copy of the data; see "
                f"{src.readme}."
            )
        os.replace(tmp, target)
        return actual
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# Content checks
# --------------------------------------------------------------------------------------------


def _read_table(path: Path) -> Any:
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path, low_memory=False)
    if suffix == ".parquet":
        import geopandas as gpd

        return gpd.read_parquet(path)
    import pyogrio

    return pyogrio.read_dataframe(path)


def check_content(path: Path, src: Source) -> None:
    """Raise DataError unless `path` passes the entry's content checks (rows, columns, CRS, sums)."""
    check = dict(src.check or {})
    if not check:
        raise DataError(
            f"{src.path} ({src.name}) differs from the curated file and sources.yaml gives no "
            f"content check to accept it; fetch it with `--mirror URL` or copy it; see "
            f"{src.readme}."
        )
    problems: list[str] = []
    if (magic := check.pop("magic", None)) is not None:
        with path.open("rb") as fh:
            if str(magic).encode() not in fh.read(64):
                problems.append(f"the first 64 bytes do not contain {magic!r}")
    if check:
        try:
            table = _read_table(path)
        except Exception as exc:
            problems.append(f"it cannot be read ({exc})")
        else:
            problems += _table_problems(table, check)
    if problems:
        raise DataError(
            f"{src.path} ({src.name}) fails its content check: {'; '.join(problems)}. It was "
            "rebuilt from the pinned upstream inputs, which may have changed, or the "
            f"conversion differs on this machine. Nothing was written to the data directory. To "
            "fix it, fetch the curated file with `--mirror URL` or copy it from a machine that "
            f"has the data, or point SITING_DATA_DIR at a copy; see {src.readme}."
        )


def _table_problems(table: Any, check: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    columns = [c for c in table.columns if c != getattr(table, "_geometry_column_name", None)]
    if "rows" in check and len(table) != int(check["rows"]):
        problems.append(f"{len(table)} rows, expected {check['rows']}")
    if "columns" in check and columns != list(check["columns"]):
        problems.append(f"columns {columns}, expected {list(check['columns'])}")
    if "n_columns" in check and len(columns) != int(check["n_columns"]):
        problems.append(f"{len(columns)} columns, expected {check['n_columns']}")
    if missing := [c for c in check.get("columns_include", ()) if c not in columns]:
        problems.append(f"missing columns {missing}")
    if "crs" in check:
        crs = getattr(table, "crs", None)
        if crs is None or crs.to_string() != check["crs"]:
            problems.append(f"CRS {crs and crs.to_string()}, expected {check['crs']}")
    if "geometry_types" in check and hasattr(table, "geom_type"):
        found = sorted(set(table.geom_type.dropna()))
        if extra := [t for t in found if t not in check["geometry_types"]]:
            problems.append(f"geometry types {extra}, expected only {check['geometry_types']}")
    for column in check.get("unique", ()):
        if column in table.columns and table[column].duplicated().any():
            problems.append(f"duplicate values in {column!r}")
    for column, expected in (check.get("sums") or {}).items():
        if column not in table.columns:
            problems.append(f"no column {column!r} to total")
            continue
        total = float(table[column].sum())
        if not math.isclose(total, float(expected), rel_tol=1e-9, abs_tol=1e-6):
            problems.append(f"{column} totals {total:g}, expected {expected}")
    return problems


# --------------------------------------------------------------------------------------------
# Derive functions: each rebuilds one curated file from its pinned inputs
# --------------------------------------------------------------------------------------------

DeriveFn = Callable[[Mapping[str, Path], Path, Mapping[str, Any]], None]


def _write_geojson(frame: gpd.GeoDataFrame, out: Path) -> None:
    import pyogrio

    pyogrio.write_dataframe(frame, out, driver="GeoJSON", layer_options=_GEOJSON_OPTIONS)


def _main_input(inputs: Mapping[str, Path], params: Mapping[str, Any]) -> Path:
    return inputs[params["main"]] if "main" in params else next(iter(inputs.values()))


def normalize_text(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Re-encode a text file as UTF-8 with LF line ends and a final newline (the curators' CSV fix).

    params: `encoding` of the input (default utf-8).
    """
    raw = _main_input(inputs, params).read_bytes()
    text = raw.decode(params.get("encoding", "utf-8"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text and not text.endswith("\n"):
        text += "\n"
    out.write_bytes(text.encode("utf-8"))


def _polygonal_make_valid(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Repair invalid polygons with shapely.make_valid, keeping only their polygonal part."""
    import shapely

    geoms = frame.geometry.to_numpy()
    bad = ~shapely.is_valid(geoms)
    if not bad.any():
        return frame
    fixed = geoms.copy()
    for i in bad.nonzero()[0]:
        repaired = shapely.make_valid(geoms[i])
        if repaired.geom_type == "GeometryCollection":
            parts = [g for g in repaired.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
            repaired = shapely.union_all(parts)
        fixed[i] = repaired
    return frame.set_geometry(fixed, crs=frame.crs)


def vector_to_geojson(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Convert a MapInfo TAB or shapefile set to GeoJSON in EPSG:4326 at 6 decimals.

    params: `main` (the .tab/.shp among the inputs), `source_crs` (assigned, overriding what the
    file says; the curators gave EPSG:27700 explicitly), `make_valid` (repair invalid polygons in
    the source CRS, keeping the polygonal part).
    """
    import pyogrio

    frame = pyogrio.read_dataframe(_main_input(inputs, params))
    if params.get("source_crs"):
        frame = frame.set_crs(params["source_crs"], allow_override=True)
    if params.get("make_valid"):
        frame = _polygonal_make_valid(frame)
    _write_geojson(frame.to_crs(WGS84), out)


def dissolve_boroughs(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Dissolve the 2014 wards (City merged) into 33 borough outlines in EPSG:27700.

    Inputs: the wards GeoJSON (keyed `wards.geojson`). Hectares and Non_Inland_Area are summed
    (rounded to 3 decimals, as in the source), n_wards_citymerged counts wards.
    """
    import pyogrio

    wards = pyogrio.read_dataframe(inputs["wards.geojson"]).to_crs(BNG)
    boroughs = (
        wards.dissolve(
            by=["LB_GSS_Code", "Borough"],
            aggfunc={"Hectares": "sum", "Non_Inland_Area": "sum", "GSS_Code": "count"},
        )
        .reset_index()
        .rename(columns={"GSS_Code": "n_wards_citymerged"})
    )
    boroughs = boroughs.assign(
        Hectares=boroughs["Hectares"].round(3), Non_Inland_Area=boroughs["Non_Inland_Area"].round(3)
    )[["LB_GSS_Code", "Borough", "Hectares", "Non_Inland_Area", "n_wards_citymerged", "geometry"]]
    _write_geojson(boroughs.to_crs(WGS84), out)


def lsoa_pwc_population(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Build the London LSOA population-weighted-centroid table with Census 2011 and mid-2019 people.

    Inputs (keys): `centroids.csv` (ONS PWC, columns X, Y in WGS84, lsoa11cd), `lsoa.geojson`
    (London LSOA codes, names and boroughs), `lsoa_atlas.csv` (GLA LSOA Atlas extract; the Census
    2011 population is the sum of `params['census_columns']`, the KS301 health categories),
    `mid2019.csv` (ONS SAPE, `Persons_All-Ages`), `wards.geojson` (2014 wards, City merged; each
    centroid gets the ward that contains it, the nearest ward if none does). Rows follow the
    centroid file's order.
    """
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    from pyproj import Transformer

    lsoa = pyogrio.read_dataframe(inputs["lsoa.geojson"], read_geometry=False)
    lsoa = lsoa[["LSOA11CD", "LSOA11NM", "LAD11CD", "LAD11NM"]]
    cent = pd.read_csv(inputs["centroids.csv"])
    cent = cent.loc[cent["lsoa11cd"].isin(lsoa["LSOA11CD"]), ["lsoa11cd", "X", "Y"]]
    if missing := sorted(set(lsoa["LSOA11CD"]) - set(cent["lsoa11cd"])):
        raise DataError(
            f"The LSOA centroid file has no centroid for {len(missing)} London LSOAs "
            f"(e.g. {missing[:3]}); the pinned upstream file has changed. Fetch "
            "boundaries/london_lsoa_2011_pwc_population.csv with `--mirror URL` instead."
        )
    table = cent.rename(columns={"lsoa11cd": "LSOA11CD"}).merge(lsoa, on="LSOA11CD", how="left")
    east, north = Transformer.from_crs(WGS84, BNG, always_xy=True).transform(
        table["X"].to_numpy(), table["Y"].to_numpy()
    )
    points = gpd.GeoDataFrame(index=table.index, geometry=gpd.points_from_xy(east, north), crs=BNG)
    wards = pyogrio.read_dataframe(inputs["wards.geojson"], columns=["GSS_Code", "Name"]).to_crs(
        BNG
    )
    inside = gpd.sjoin(points, wards, predicate="within", how="left")
    inside = inside[~inside.index.duplicated(keep="first")]
    if inside["GSS_Code"].isna().any():
        outside = points.loc[inside["GSS_Code"].isna()]
        nearest = gpd.sjoin_nearest(outside, wards, how="left")
        nearest = nearest[~nearest.index.duplicated(keep="first")]
        inside.loc[nearest.index, ["GSS_Code", "Name"]] = nearest[["GSS_Code", "Name"]]

    atlas = pd.read_csv(inputs["lsoa_atlas.csv"], encoding_errors="replace")
    census = atlas.set_index(params.get("atlas_key", "Lower Super Output Area"))[
        list(params["census_columns"])
    ].sum(axis=1)
    mid2019 = pd.read_csv(inputs["mid2019.csv"]).set_index("LSOA11CD")["Persons_All-Ages"]
    result = pd.DataFrame(
        {
            "LSOA11CD": table["LSOA11CD"],
            "LSOA11NM": table["LSOA11NM"],
            "LAD11CD": table["LAD11CD"],
            "LAD11NM": table["LAD11NM"],
            "ward14_code": inside["GSS_Code"],
            "ward14_name": inside["Name"],
            "pop_census2011": table["LSOA11CD"].map(census),
            "pop_mid2019": table["LSOA11CD"].map(mid2019),
            "lon": table["X"].round(6),
            "lat": table["Y"].round(6),
            "E": pd.Series(east, index=table.index).round(1),
            "N": pd.Series(north, index=table.index).round(1),
        }
    )
    for column in ("pop_census2011", "pop_mid2019"):
        if result[column].isna().any():
            codes = result.loc[result[column].isna(), "LSOA11CD"].head(3).tolist()
            raise DataError(
                f"No {column} for London LSOAs such as {codes} in the pinned population inputs; "
                "the upstream files have changed. Fetch "
                "boundaries/london_lsoa_2011_pwc_population.csv with `--mirror URL` instead."
            )
        result[column] = result[column].astype("int64")
    result.to_csv(out, index=False)


def points_geojson(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Write a CSV with lon/lat columns as a GeoJSON of points (all columns kept as properties).

    params: `lon`, `lat` column names (default lon, lat).
    """
    import geopandas as gpd
    import pandas as pd

    table = pd.read_csv(_main_input(inputs, params))
    lon, lat = params.get("lon", "lon"), params.get("lat", "lat")
    points = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table[lon], table[lat]), crs=WGS84)
    _write_geojson(points, out)


def ward_population(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Population per 2014 ward: LSOA best fit (Census 2011, mid-2019) plus GLA's 2015 figure.

    Inputs (keys): `wards.geojson` (2014 wards, City merged), `lsoa_population.csv` (the LSOA
    centroid table with ward14_code), `ward_profiles.csv` (GLA Ward Profiles; `New code` ->
    `Population - 2015`, the first row per code). Rows sorted by borough, then ward name.
    """
    import pandas as pd
    import pyogrio

    wards = pyogrio.read_dataframe(inputs["wards.geojson"], read_geometry=False)
    lsoa = pd.read_csv(inputs["lsoa_population.csv"])
    profiles = pd.read_csv(inputs["ward_profiles.csv"]).drop_duplicates("New code")
    per_ward = lsoa.groupby("ward14_code").agg(
        n_lsoa=("LSOA11CD", "size"),
        pop_census2011_lsoa_bestfit=("pop_census2011", "sum"),
        pop_mid2019_lsoa_bestfit=("pop_mid2019", "sum"),
    )
    gla_2015 = profiles.set_index("New code")["Population - 2015"]
    table = wards[["GSS_Code", "Name", "LB_GSS_Code", "Borough", "Hectares"]].merge(
        per_ward, left_on="GSS_Code", right_index=True, how="left"
    )
    table = table.assign(
        pop_2015_gla_ward_profiles=table["GSS_Code"].map(gla_2015).round().astype("Int64")
    ).sort_values(["Borough", "Name"], kind="stable")
    table.to_csv(out, index=False)


def shapefile_to_geoparquet(
    inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]
) -> None:
    """Read a shapefile set (.shp/.shx/.dbf/.prj/.cpg) and write it as GeoParquet (zstd), unchanged.

    params: `main` (the .shp), optional `source_crs` to assign.
    """
    import pyogrio

    frame = pyogrio.read_dataframe(_main_input(inputs, params))
    if params.get("source_crs"):
        frame = frame.set_crs(params["source_crs"], allow_override=True)
    frame.to_parquet(out, compression="zstd", index=False)


def wkt_csv_to_geoparquet(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Parse a CSV of WKT polygons, keep those whose centroid is in a box, add WGS84 centroids.

    params: `crs` of the WKT, `wkt_column`, `bbox` [xmin, ymin, xmax, ymax] in that CRS (applied
    to the polygon centroid), `decimals` for the centroid lon/lat columns. Writes GeoParquet (zstd).
    """
    import geopandas as gpd
    import pandas as pd

    wkt = params.get("wkt_column", "WKT")
    table = pd.read_csv(_main_input(inputs, params))
    frame = gpd.GeoDataFrame(
        table.drop(columns=[wkt]), geometry=gpd.GeoSeries.from_wkt(table[wkt]), crs=params["crs"]
    )
    centroids = frame.geometry.centroid
    xmin, ymin, xmax, ymax = params["bbox"]
    keep = centroids.x.between(xmin, xmax) & centroids.y.between(ymin, ymax)
    frame = frame.loc[keep].reset_index(drop=True)
    lonlat = centroids.loc[keep].to_crs(WGS84).reset_index(drop=True)
    decimals = int(params.get("decimals", 6))
    frame = frame.assign(
        centroid_lon=lonlat.x.round(decimals).to_numpy(),
        centroid_lat=lonlat.y.round(decimals).to_numpy(),
    )
    frame.to_parquet(out, compression="zstd", index=False)


def osmium_cat(inputs: Mapping[str, Path], out: Path, params: Mapping[str, Any]) -> None:
    """Convert an .osm XML file to .osm.pbf with `osmium cat` (osmium-tool), data unchanged."""
    exe = shutil.which("osmium")
    if exe is None:
        raise DataError(
            f"{out.name} is made from the .osm file with osmium-tool (`osmium cat IN -o OUT`), "
            "which is not installed. Install osmium-tool (e.g. `apt install osmium-tool`), or "
            "fetch the curated file with `--mirror URL`; the project can also read the .osm file."
        )
    source = _main_input(inputs, params)
    result = subprocess.run(
        [exe, "cat", str(source), "-o", str(out), "--overwrite"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DataError(
            f"`osmium cat {source.name}` failed ({result.stderr.strip()}); fetch {out.name} with "
            "`--mirror URL` instead."
        )


DERIVERS: dict[str, DeriveFn] = {
    "normalize_text": normalize_text,
    "vector_to_geojson": vector_to_geojson,
    "dissolve_boroughs": dissolve_boroughs,
    "lsoa_pwc_population": lsoa_pwc_population,
    "points_geojson": points_geojson,
    "ward_population": ward_population,
    "shapefile_to_geoparquet": shapefile_to_geoparquet,
    "wkt_csv_to_geoparquet": wkt_csv_to_geoparquet,
    "osmium_cat": osmium_cat,
}
"""Derive functions by the name sources.yaml uses: f(inputs by file name, output path, params)."""


# --------------------------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------------------------


@contextmanager
def _workdir(dest: Path) -> Iterator[Path]:
    """A scratch folder beside `dest` (same file system, so the final rename is atomic)."""
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as tmp:
        yield Path(tmp)


def _derive(
    src: Source, data_dir: Path, *, by_name: Mapping[str, Source], bar: _Bar, timeout: float
) -> Verified:
    assert src.derive is not None
    dest = data_dir / src.path
    with _workdir(dest) as work:
        files: dict[str, Path] = {}
        for item in src.derive.inputs:
            if item.entry is not None:
                path = data_dir / by_name[item.entry].path
                if not path.is_file():
                    raise DataError(
                        f"{src.path} is derived from {by_name[item.entry].path}, which is missing "
                        f"from {data_dir}; fetch it first (`siting data fetch --only "
                        f"{item.entry}`)."
                    )
                files[item.file] = path
            else:
                assert item.url is not None
                files[item.file] = work / item.file
                _download(
                    item.url,
                    work / item.file,
                    src=src,
                    dest=dest,
                    expected=item.sha256,
                    bar=bar,
                    timeout=timeout,
                )
        built = work / dest.name
        DERIVERS[src.derive.function](files, built, src.derive.params)
        verified: Verified = "sha256"
        if sha256_file(built) != src.sha256:
            check_content(built, src)
            verified = "content"
        os.replace(built, dest)
    return verified


def _present(src: Source, dest: Path) -> Verified | None:
    """How an existing file is valid ('sha256', or 'content' for a derived file), else None."""
    if not dest.is_file():
        return None
    if sha256_file(dest) == src.sha256:
        return "sha256"
    if src.derive is not None and src.check:
        try:
            check_content(dest, src)
        except DataError:
            return None
        return "content"
    return None


def fetch_all(
    data_dir: Path,
    *,
    mirror: str | None = None,
    only: list[str] | None = None,
    force: bool = False,
    progress: bool = True,
    timeout: float = TIMEOUT_S,
) -> FetchReport:
    """Download (or rebuild) every data file into `data_dir`, verifying each one.

    Parameters
    ----------
    data_dir
        The data directory (boundaries/, transit/, osm/ are created inside it).
    mirror
        Base URL of a copy of the data folder (http(s):// or file://); files are fetched from
        ``{mirror}/{path}`` and must match the curated sha256. Default: the pinned upstream URLs.
    only
        Entry names, paths or folders (e.g. ``["tube_lines", "transit/bus_sequences"]``); files
        they are derived from are fetched too when no mirror is given. Default: everything.
    force
        Fetch again even when a file is present and valid.
    progress
        Show a rich progress bar on stderr.
    timeout
        Seconds before a silent server counts as unreachable.

    Raises
    ------
    DataError
        Unknown `only` name; a server that cannot be reached (offline); an HTTP error; a sha256
        mismatch (nothing is written); a derived file failing its content check.
    """
    data_dir = Path(data_dir)
    sources = load_sources()
    by_name = {src.name: src for src in sources}
    selected = _select(sources, only, with_dependencies=mirror is None)
    report = FetchReport(data_dir=data_dir, mirror=mirror)
    with _Bar(progress) as bar:
        for src in selected:
            dest = data_dir / src.path
            if not force and (state := _present(src, dest)) is not None:
                report.records.append(
                    FetchRecord(
                        src.name, src.path, "skipped", state, dest.stat().st_size, str(dest)
                    )
                )
                continue
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DataError(
                    f"Cannot create {dest.parent} for {src.path}: {exc}. Choose a writable "
                    "--data-dir."
                ) from exc
            action: Action = "downloaded"
            if mirror is not None or src.derive is None:
                # A mirror serves the curated file itself; otherwise the upstream file is it.
                origin = _mirror_url(mirror, src.path) if mirror is not None else src.url
                _download(
                    origin,
                    dest,
                    src=src,
                    dest=dest,
                    expected=src.sha256,
                    bar=bar,
                    timeout=timeout,
                    total=src.bytes,
                    mirror=mirror is not None,
                )
                verified: Verified = "sha256"
            else:
                origin = f"derived ({src.derive.function})"
                verified = _derive(src, data_dir, by_name=by_name, bar=bar, timeout=timeout)
                action = "derived"
            report.records.append(
                FetchRecord(src.name, src.path, action, verified, dest.stat().st_size, origin)
            )
    return report
