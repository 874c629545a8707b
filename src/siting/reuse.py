"""Reuse a scenario's Analysis when its inputs are unchanged, so `compare`, `check` and `map`
do not recompute what `run` already did.

An Analysis is stored under the cache directory keyed by a sha256 of everything that can change
it: the scenario's computing settings (not its title, description, constraints or outputs),
every file of the data directory (name, size, modification time) and the code (every file of
the installed siting package). Frames are written as (Geo)Parquet, the rest as JSON, and a
manifest holding each file's sha256 is written last: an entry whose manifest is missing or
does not match is recomputed, with a warning, never reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from siting.scenario import Scenario

if TYPE_CHECKING:  # imported when needed: `siting run` checks the store before heavy imports
    from siting._beside import Forked
    from siting.analysis import Analysis

__all__ = ["STORE_VERSION", "analyse_or_reuse", "analysis_key", "stored"]

log = logging.getLogger(__name__)

STORE_VERSION = 2
"""Bump when the stored layout changes, so older entries are not read."""

_NOT_INPUTS = {"title", "description", "constraints", "expectations", "outputs", "source",
               "uncertainty"}
_GEO_FRAMES = ("wards", "lsoas", "counters", "hubs", "boroughs", "lsoa_areas")
_FRAMES = ("hub_assignment", "postcode_districts")
_DICTS = ("assumptions", "modes", "hub_figures", "validation", "equity", "draw_spread")
_MANIFEST = "manifest.json"


def _digest_files(paths: list[Path], root: Path, *, contents: bool) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        if contents:
            digest.update(path.read_bytes())
        else:
            stat = path.stat()
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
        digest.update(b"\0")
    return digest.hexdigest()


@cache
def _code_version() -> str:
    """sha256 of every file of the installed siting package (its code, facts and assets)."""
    root = Path(str(resources.files("siting")))
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return _digest_files(files, root, contents=True)


def analysis_key(scenario: Scenario, data_dir: Path) -> str:
    """The key of a scenario's Analysis: its computing settings, the data files and the code."""
    settings = scenario.model_dump(mode="json", exclude=_NOT_INPUTS)
    data_dir = Path(data_dir).resolve()
    files = sorted(p for p in data_dir.rglob("*") if p.is_file())
    payload = json.dumps({"store": STORE_VERSION, "settings": settings,
                          "data": _digest_files(files, data_dir, contents=False),
                          "code": _code_version()}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _save(analysis: Analysis, folder: Path) -> None:
    """Write the Analysis into a new folder beside `folder`, then move it into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name in _GEO_FRAMES:
            frame = getattr(analysis, name)
            if frame is not None:
                frame.to_parquet(temp / f"{name}.parquet", index=False)
        for name in _FRAMES:
            frame = getattr(analysis, name)
            if frame is not None:
                frame.to_parquet(temp / f"{name}.parquet", index=False)
        extras = {name: getattr(analysis, name) for name in _DICTS}
        (temp / "extras.json").write_text(json.dumps(extras, default=str),
                                          encoding="utf-8")
        manifest = {p.name: _sha256(p) for p in sorted(temp.iterdir())}
        (temp / _MANIFEST).write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(temp, folder)
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)


def _load(folder: Path, scenario: Scenario) -> Analysis | None:
    """The stored Analysis, or None (with a warning) when the entry is incomplete or altered."""
    import geopandas as gpd
    import pandas as pd

    from siting.analysis import Analysis

    manifest_path = folder / _MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for name, expected in manifest.items():
            if _sha256(folder / name) != expected:
                raise ValueError(f"{name} does not match its manifest")
        frames: dict[str, Any] = {}
        for name in _GEO_FRAMES:
            path = folder / f"{name}.parquet"
            frames[name] = gpd.read_parquet(path) if path.name in manifest else None
        for name in _FRAMES:
            path = folder / f"{name}.parquet"
            frames[name] = pd.read_parquet(path) if path.name in manifest else None
        extras = json.loads((folder / "extras.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("stored analysis %s is unusable (%s); recomputing it", folder, exc)
        return None
    return Analysis(scenario=scenario, **frames, **extras)


def _folder(scenario: Scenario, data_dir: Path, cache_dir: Path) -> Path:
    return Path(cache_dir) / "analyses" / analysis_key(scenario, data_dir)


def stored(scenario: Scenario, data_dir: Path, cache_dir: Path) -> bool:
    """Whether the store holds an entry for the scenario (it may still prove unusable)."""
    return (_folder(scenario, data_dir, cache_dir) / _MANIFEST).is_file()


def analyse_or_reuse(scenario: Scenario, data_dir: Path, *, cache_dir: Path,
                     progress: bool = False, preload: Sequence[str] = (),
                     feed_step: Forked | None = None) -> tuple[Analysis, bool]:
    """The scenario's Analysis, reused from cache_dir when its key matches; (analysis, reused).

    ``preload`` and ``feed_step`` go to `siting.analysis.analyse` when it runs.

    A reused Analysis carries the current scenario object (so a new title or constraint shows),
    and the timings of the run that computed it are not kept.
    """
    from siting import analysis as _analysis

    folder = _folder(scenario, data_dir, cache_dir)
    if (folder / _MANIFEST).is_file():
        reused = _load(folder, scenario)
        if reused is not None:
            return reused, True
    # looked up at call time, so a test's stand-in for siting.analysis.analyse is honoured
    analysis = _analysis.analyse(scenario, data_dir, cache_dir=cache_dir, progress=progress,
                                 preload=preload, feed_step=feed_step)
    _save(analysis, folder)
    return analysis, False
