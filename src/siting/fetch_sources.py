"""The source manifest (sources.yaml): its entries, parsed and validated once, and `--only`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from siting._errors import DataError
from siting.fetch_derive import DERIVERS

_README = {
    "boundaries": "data/boundaries/README.md",
    "transit": "data/transit/README.md",
    "osm": "data/boundaries/README.md",
}


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
