"""Cache entries verified on load: a sha256 manifest written last, checked before any reuse.

An entry is one file (a network .npz, a site-times matrix) or one folder (the modelled London
GTFS). Its manifest lists every file's size and sha256 and is written only after the entry is
complete, so a crash, a full disk or a later edit (a truncated stop_times.txt, a cut .npz) leaves
an entry whose manifest is missing or does not match. `usable` then says why, and the caller
deletes the entry with a warning naming it and builds it again: a bad cache never gives numbers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

__all__ = [
    "FOLDER_MANIFEST",
    "discard",
    "manifest_path",
    "remove_stale_temporaries",
    "usable",
    "write_manifest",
]

log = logging.getLogger("siting.cache")

FOLDER_MANIFEST = "MANIFEST.sha256.json"
"""Manifest file inside a cached folder."""

_VERSION = 1

_PID = re.compile(r"\.tmp-p(\d+)-")
"""The writer's process id in a temporary name: `<name>.tmp-p<pid>-<random>`."""


def manifest_path(entry: Path) -> Path:
    """Where the manifest of a cache entry lives: inside a folder, beside a file."""
    entry = Path(entry)
    return entry / FOLDER_MANIFEST if entry.is_dir() else entry.with_name(entry.name + ".sha256.json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _contents(entry: Path) -> dict[str, list[int | str]]:
    """name -> [size, sha256] of the entry's files (a folder's files, excluding its manifest)."""
    if entry.is_dir():
        files = sorted(p for p in entry.iterdir() if p.name != FOLDER_MANIFEST)
        for p in files:
            if not p.is_file():
                raise OSError(f"{p} is not a regular file")
    else:
        files = [entry]
    return {p.name: [p.stat().st_size, _sha256(p)] for p in files}


def write_manifest(entry: Path) -> Path:
    """Hash a complete cache entry and write its manifest (atomically); call it last."""
    entry = Path(entry)
    target = manifest_path(entry)
    text = json.dumps({"version": _VERSION, "files": _contents(entry)}, indent=1, sort_keys=True)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        os.replace(temp, target)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return target


def usable(entry: Path) -> tuple[bool, str]:
    """(True, "") when the entry matches its manifest, else (False, what is wrong)."""
    entry = Path(entry)
    if not entry.exists():
        return False, "missing"
    target = manifest_path(entry)
    try:
        manifest = json.loads(target.read_text(encoding="utf-8"))
        expected = manifest["files"]
        if manifest.get("version") != _VERSION or not isinstance(expected, dict):
            return False, "its manifest is from another version"
    except FileNotFoundError:
        return False, f"it has no manifest {target.name} (an interrupted write?)"
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return False, f"its manifest {target.name} is unreadable"
    try:
        actual = _contents(entry)
    except OSError as exc:
        return False, f"it cannot be read ({exc})"
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            return False, f"{name} is missing"
        if name not in expected:
            return False, f"{name} is not in its manifest"
        if list(expected[name]) != actual[name]:
            size = expected[name][0] if isinstance(expected[name], list) else "?"
            return False, (f"{name} does not match its manifest ({actual[name][0]:,} bytes, "
                           f"{size:,} expected, or different content)" if isinstance(size, int)
                           else f"{name} does not match its manifest")
    return True, ""


def discard(entry: Path, reason: str) -> None:
    """Warn that a cache entry is bad (naming it and why) and delete it and its manifest."""
    entry = Path(entry)
    log.warning("cache entry %s is damaged (%s); deleting it and building it again", entry, reason)
    target = manifest_path(entry)
    if entry.is_dir():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)
    target.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: Path, pattern: str, *, min_age_s: float = 3600.0) -> list[Path]:
    """Delete leftovers of interrupted writes matching `pattern` in folder.

    A leftover whose name holds `-p<pid>-` is removed as soon as that process is gone; one
    without a pid (older versions) once it is `min_age_s` old, so a write in progress in another
    process is never touched.
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    now = time.time()
    for path in sorted(folder.glob(pattern)):
        pid = _pid_in(path.name)
        if pid is not None:
            stale = pid != os.getpid() and not _pid_alive(pid)
        else:
            try:
                stale = now - path.lstat().st_mtime > min_age_s
            except OSError:
                continue
        if not stale:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.info("removed %d leftover temporary file(s) of interrupted runs in %s", len(removed), folder)
    return removed


def _pid_in(name: str) -> int | None:
    found = _PID.search(name)
    return int(found.group(1)) if found else None
