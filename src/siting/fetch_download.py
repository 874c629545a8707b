"""Getting a file and proving it: downloads kept only when the sha256 matches; content checks."""

from __future__ import annotations

import hashlib
import http.client
import math
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from siting._errors import DataError
from siting.fetch_sources import Source

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

_CHUNK = 1 << 16
_USER_AGENT = "siting-data-fetch/0.1 (python urllib)"


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
