"""The pipeline's stages import only their own or earlier stages (README, "Layout").

scenario -> data -> network -> travel -> hubs -> analysis -> outputs (report, maps, check,
compare, grid, sweeps) -> cli. Every module of `src/siting` is placed in one stage below, so
a new module must be placed too; the underscore modules are shared plumbing that imports no
stage. Imports inside functions count as well: a lazy import of a later stage is still a
dependency on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "siting"

STAGES: dict[str, tuple[str, ...]] = {
    "scenario": ("scenario", "scenario_input", "scenario_constraints"),
    "data": ("data", "candidates", "fetch", "fetch_derive", "fetch_download", "fetch_sources",
             "geofiles"),
    "network": ("network",),
    "travel": ("scan", "scan_reference", "summaries", "travel", "draws", "draw_spread", "journeys",
               "journey_words", "isochrones"),
    "hubs": ("hubs", "hub_cover", "hub_matrix", "hub_plan", "hub_solution", "hub_tables",
             "walk_comparison"),
    "analysis": ("analysis", "equity", "optimise"),
    "outputs": ("reuse", "check", "communities", "compare", "report", "report_markdown",
                "report_tables", "overlays", "maps", "map_chance", "map_compare",
                "map_geometry", "map_layers", "map_page", "map_render", "map_scenario",
                "map_search", "grid", "sweep", "sweep_hubs", "sweep_map", "sweep_run",
                "sweep_summary"),
    "cli": ("api", "cli", "cli_parser"),
}
RANK = {name: rank for rank, names in enumerate(STAGES.values()) for name in names}


def _top(module: str) -> str:
    """The name a module is placed by: its first part below `siting` (packages as a whole)."""
    return module.split(".")[1] if module.count(".") else module


def _rank(module: str) -> int | None:
    """The module's stage, or None for the package itself and the underscore plumbing."""
    top = _top(module)
    return None if module == "siting" or top.startswith("_") else RANK.get(top, -1)


def _imports(path: Path) -> set[str]:
    """Every `siting` module the file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {name for name in names if name == "siting" or name.startswith("siting.")}
    return found


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(("siting", *parts)), path))
    return out


def test_every_module_has_a_stage() -> None:
    unplaced = sorted({_top(m) for m, _ in _modules() if _rank(m) == -1})
    assert not unplaced, f"place these modules in a stage of STAGES: {unplaced}"


def _violations(module: str, path: Path) -> list[str]:
    """The file's imports of a later stage (or, from plumbing, of any stage)."""
    own = _rank(module)
    found = []
    for target in sorted(_imports(path)):
        theirs = _rank(target)
        if own is None and theirs is not None:
            found.append(f"{module} (plumbing) imports the stage module {target}")
        elif own is not None and theirs is not None and theirs > own:
            found.append(f"{module} ({list(STAGES)[own]}) imports {target} "
                         f"({list(STAGES)[theirs]}), a later stage")
    return found


@pytest.mark.parametrize(("module", "path"), _modules(), ids=lambda v: str(v))
def test_imports_only_earlier_stages(module: str, path: Path) -> None:
    assert _violations(module, path) == []


def test_the_check_catches_a_later_import(tmp_path: Path) -> None:
    """A lazy import of a later stage, and plumbing importing a stage, are both found."""
    early = tmp_path / "scenario.py"
    early.write_text("import numpy\n\ndef f():\n    from siting.analysis import analyse\n"
                     "    from siting.data import load_wards\n", encoding="utf-8")
    assert _violations("siting.scenario", early) == [
        "siting.scenario (scenario) imports siting.analysis (analysis), a later stage",
        "siting.scenario (scenario) imports siting.data (data), a later stage"]
    assert _violations("siting.data", early) == [
        "siting.data (data) imports siting.analysis (analysis), a later stage"]
    assert _violations("siting.analysis", early) == []
    assert _violations("siting._errors", early) == [
        "siting._errors (plumbing) imports the stage module siting.analysis",
        "siting._errors (plumbing) imports the stage module siting.data"]
