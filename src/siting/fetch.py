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

This module is the command's public face and its orchestration (what to fetch, skip or rebuild,
and the report); each concern lives in a module of its own beside it: `fetch_sources` (the
source manifest), `fetch_download` (downloads checked by sha256, and content checks) and
`fetch_derive` (the derive functions).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from siting._errors import DataError
from siting.fetch_derive import DERIVERS
from siting.fetch_derive import DeriveFn as DeriveFn
from siting.fetch_derive import dissolve_boroughs as dissolve_boroughs
from siting.fetch_derive import lsoa_pwc_population as lsoa_pwc_population
from siting.fetch_derive import normalize_text as normalize_text
from siting.fetch_derive import osmium_cat as osmium_cat
from siting.fetch_derive import points_geojson as points_geojson
from siting.fetch_derive import shapefile_to_geoparquet as shapefile_to_geoparquet
from siting.fetch_derive import vector_to_geojson as vector_to_geojson
from siting.fetch_derive import ward_population as ward_population
from siting.fetch_derive import wkt_csv_to_geoparquet as wkt_csv_to_geoparquet
from siting.fetch_download import _Bar, _download, _mirror_url, check_content, sha256_file
from siting.fetch_sources import Derivation, DeriveInput, Source, _select, load_sources

if TYPE_CHECKING:
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

Action = Literal["downloaded", "derived", "skipped"]
Verified = Literal["sha256", "content"]


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
