"""Scenario input: the YAML reader's limits, `extends`, and the messages for bad input."""

from __future__ import annotations

import csv
import difflib
import os
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel

from siting._errors import ScenarioError, clip, shown
from siting.scenario_constraints import CONSTRAINT_KINDS

if TYPE_CHECKING:
    from siting.scenario import Scenario

__all__ = [
    "DATA_FIX",
    "YAML_MAX_ALIASES",
    "YAML_MAX_BYTES",
    "YAML_MAX_DEPTH",
    "YAML_MAX_NODES",
    "counter_ids",
]


@cache
def counter_ids() -> tuple[str, ...]:
    """Counter ids of the registry typed into the project (siting/facts/counters.csv)."""
    text = resources.files("siting").joinpath("facts/counters.csv").read_text(encoding="utf-8")
    return tuple(row["counter_id"] for row in csv.DictReader(text.splitlines()))


def _field_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + clip(str(part), 40)
    return out or "(top level)"


def _model_at(loc: Sequence[int | str], root: type[BaseModel]) -> type[BaseModel] | None:
    """The pydantic model class that owns the field at `loc` in `root` (to suggest valid keys)."""
    model: Any = root
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        if field is None:
            return model
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        nxt = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        model = nxt
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _suggest(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=3, cutoff=0.5)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def _explain(error: Mapping[str, Any], root: type[BaseModel]) -> str:
    loc = tuple(error["loc"])
    # pydantic puts the discriminator tag into loc for unions; drop it from the shown path
    # (only a tag right after a list index: `hubs.max_hubs` is a field, not a tag)
    visible = tuple(p for i, p in enumerate(loc)
                    if not (p in CONSTRAINT_KINDS and i and isinstance(loc[i - 1], int)))
    path = _field_path(visible)
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        owner = _model_at(visible[:-1], root)
        valid = sorted(owner.model_fields) if owner else []
        valid = [v for v in valid if v != "source"]
        return (
            f"field `{path}`: unknown key {shown(key)}.{_suggest(key[:100], valid)} "
            f"Valid keys here are: {', '.join(valid)}."
        )
    if kind == "missing":
        return f"field `{path}` is required but missing; add it."
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = str((error.get("ctx") or {}).get("tag", value))
        return (
            f"field `{path}`: constraint kind {shown(tag)} is not known.{_suggest(tag[:100], CONSTRAINT_KINDS)} "
            f"Valid kinds are: {', '.join(CONSTRAINT_KINDS)}."
        )
    message = clip(str(error["msg"]).removeprefix("Value error, "), 300)
    return f"field `{path}`: {message} (got {shown(value)})."


def _check_counters(scenario: Scenario) -> list[str]:
    known = set(counter_ids())
    problems = []
    for status in ("open_24h", "open_daytime", "closed"):
        for index, cid in enumerate(getattr(scenario.counters, status)):
            if cid not in known:
                problems.append(
                    f"field `counters.{status}[{index}]`: unknown counter id {shown(cid)}."
                    f"{_suggest(cid, known)} Counter ids are listed by `siting counters` "
                    "(from siting/facts/counters.csv)."
                )
    for cid in scenario.counters.hours:
        if cid not in scenario.counters.open_daytime:
            problems.append(
                f"field `counters.hours.{clip(cid, 40)}`: hours are given for {shown(cid)}, which is not in "
                "counters.open_daytime; list it there or remove the hours."
            )
    return problems


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


YAML_MAX_BYTES = 1_000_000
"""Largest scenario file read (a real one is a few kilobytes)."""
YAML_MAX_ALIASES = 100
"""Most `*alias` references in one scenario file (anchors let files share blocks)."""
YAML_MAX_NODES = 100_000
"""Most values in a scenario once aliases are expanded: stops a 'billion laughs' alias bomb."""
YAML_MAX_DEPTH = 64
"""Deepest nesting of mappings and lists in a scenario file."""


class _ScenarioLoader(yaml.SafeLoader):
    """yaml.SafeLoader that counts aliases and rejects duplicate keys (yaml keeps the last one)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > YAML_MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise _LimitError(f"more than {YAML_MAX_ALIASES} aliases (`*name`), the limit, at line "
                             f"{mark.line + 1}; write the values out or use `extends`")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key is reported by the constructor itself
                if first is not None:
                    raise _LimitError(f"key {shown(key, 40)} appears twice in one mapping (lines {first} "
                                 f"and {key_node.start_mark.line + 1}); YAML would silently keep "
                                 "the last one. Delete one of them")
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _timestamp(loader: _ScenarioLoader, node: yaml.ScalarNode) -> Any:
    """A YAML date, or a YAML error at the value's line when the date does not exist."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{shown(node.value)} is not a real date ({exc})", node.start_mark) from None


_ScenarioLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


class _LimitError(Exception):
    """A scenario file breaks one of the reader's limits (message says which and the fix)."""


def _expanded_size(root: yaml.Node) -> int:
    """Values in the document with every alias expanded (shared nodes counted each time)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        if depth > YAML_MAX_DEPTH:
            raise _LimitError(f"values nested more than {YAML_MAX_DEPTH} deep at line "
                         f"{node.start_mark.line + 1}; a scenario is a few levels deep")
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        total = min(total, YAML_MAX_NODES + 1)
        sizes[id(node)] = total
        return total

    return size(root, 0)


def _parse_yaml(text: str) -> Any:
    """One YAML document read with the scenario limits (aliases, expanded size, depth, duplicates)."""
    loader = _ScenarioLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > YAML_MAX_NODES:
            raise _LimitError(f"more than {YAML_MAX_NODES:,} values once aliases are expanded, the "
                         "limit (an alias bomb?); write a plain scenario without nested aliases")
        try:
            return loader.construct_document(node)
        except (ValueError, TypeError, OverflowError) as exc:
            # e.g. a date that does not exist (2017-02-30) or a tagged value that is not one
            raise _LimitError(f"a value cannot be read ({clip(str(exc), 120)}); check the dates "
                              "(YYYY-MM-DD) and numbers in the file") from None
    finally:
        loader.dispose()


def _read_yaml(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    if not path.is_file():
        raise ScenarioError(
            f"{path}: scenario file not found. Check the path; the project's scenarios are in "
            "scenarios/*.yaml."
        )
    size = path.stat().st_size
    if size > YAML_MAX_BYTES:
        raise ScenarioError(
            f"{path}: the file is {size:,} bytes, more than the {YAML_MAX_BYTES:,} a scenario may "
            "have. Check you passed a scenario YAML (a real one is a few kilobytes)."
        )
    try:
        raw = _parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(
            f"{path}: not valid YAML{where}: {clip(problem, 200)}. Fix the indentation or quoting "
            "there (a scenario is a YAML mapping of keys such as id, title, counters)."
        ) from None
    except _LimitError as exc:
        raise ScenarioError(f"{path}: {exc}.") from None
    except RecursionError:
        raise ScenarioError(f"{path}: values nested too deeply to read; a scenario is a few "
                            "levels deep. Check the brackets.") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file; save it as UTF-8 YAML.") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc.strerror}).") from None
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"{path}: a scenario must be a YAML mapping (keys such as id, title, counters), "
            f"not {type(raw).__name__}."
        )
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: field `extends` must be a file name, got {shown(parent)}.")
    parent_path = (path.parent / parent).resolve()
    if parent_path in chain:
        raise ScenarioError(f"{path}: field `extends` makes a cycle through {parent_path}.")
    try:
        base = _read_yaml(parent_path, (*chain, path.resolve()))
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: field `extends` = {shown(parent)}: {exc}") from None
    return _deep_merge(base, raw)


def _paragraph(path: Path, details: list[str], fix: str = "") -> str:
    """One problem on one line after the file name; several, one per line; a shared fix last."""
    if len(details) == 1:
        return f"{path}: {details[0]}" + (f" {fix}" if fix else "")
    shown = details[:8]
    more = f"\n  ({len(details) - 8} more problems not shown.)" if len(details) > 8 else ""
    return (f"{path}: {len(details)} problems:\n" + "\n".join(f"  - {d}" for d in shown) + more
            + (f"\n{fix}" if fix else ""))


DATA_FIX = ("Fix: point SITING_DATA_DIR (or --data-dir) at the folder holding boundaries/, "
            "transit/ and osm/ (beside this checkout: ../shared/data/london), run `siting data "
            "fetch` to download the open data into ./data, or correct the path.")
"""Said once after the missing data files (usually the whole data directory is the wrong one)."""


def _check_files(scenario: Scenario, data_dir: Path) -> list[str]:
    problems = []
    named = {f"data.{k}": v for k, v in scenario.data.model_dump().items()
             if k != "population" and v is not None}
    if scenario.transit.feed not in ("london-modelled", "none"):
        named["transit.feed"] = scenario.transit.feed
    if scenario.walking.network:
        named["walking.network"] = scenario.walking.network
    root = Path(os.path.abspath(data_dir))
    for field, rel in named.items():
        # Judged on the text (no symlinks followed): the data owner may link folders in, but
        # a scenario must not climb out with '..' or an absolute path.
        target = Path(os.path.normpath(root / rel))
        if target != root and root not in target.parents:
            problems.append(
                f"field `{field}`: {shown(rel)} points outside the data directory {root}. Give a "
                "path relative to the data directory (no leading '/' and no '..'), or set "
                "SITING_DATA_DIR to the folder that holds the file."
            )
        elif not (data_dir / rel).exists():
            problems.append(f"field `{field}`: file {shown(rel)} not found in the data directory {data_dir}.")
    if scenario.origins and scenario.source is not None:
        origins_path = scenario.source.parent / scenario.origins
        if not origins_path.is_file():
            problems.append(
                f"field `origins`: file {origins_path} not found (paths are relative to the "
                "scenario file)."
            )
    if scenario.hubs.candidate_csv and scenario.source is not None:
        csv_path = scenario.source.parent / scenario.hubs.candidate_csv
        if not csv_path.is_file():
            problems.append(
                f"field `hubs.candidate_csv`: file {csv_path} not found (paths are relative to "
                "the scenario file)."
            )
    return problems
