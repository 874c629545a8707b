"""Shared fixtures: the London data directory (required in CI) and small paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _london_dir() -> Path | None:
    env = os.environ.get("SITING_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data" / "london")
    for path in candidates:
        if (path / "boundaries").is_dir():
            return path.resolve()
    return None


@pytest.fixture(scope="session")
def london_dir() -> Path:
    """The shared London data; fails (not skips) under CI when it cannot be found."""
    path = _london_dir()
    if path is None:
        message = (
            "London data not found: set SITING_DATA_DIR to the shared data/london folder "
            "(or run `siting data fetch`)."
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def feeds_dir(london_dir: Path) -> Path:
    """The real UK GTFS test feeds (Newport, Chester)."""
    return london_dir / "transit" / "uk_test_feeds"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One network cache for the whole test session (the London network is built once)."""
    return tmp_path_factory.mktemp("siting-cache")


def _analyse(name: str, london_dir: Path, cache_dir: Path):  # type: ignore[no-untyped-def]
    from siting.analysis import analyse
    from siting.scenario import load_scenario

    scenario = load_scenario(REPO / "scenarios" / f"{name}.yaml", data_dir=london_dir)
    return analyse(scenario, london_dir, cache_dir=cache_dir)


@pytest.fixture(scope="session")
def london_final(london_dir: Path, cache_dir: Path):  # type: ignore[no-untyped-def]
    """The Analysis of scenarios/london-2017-final.yaml on the real London data."""
    return _analyse("london-2017-final", london_dir, cache_dir)


@pytest.fixture(scope="session")
def london_baseline(london_dir: Path, cache_dir: Path):  # type: ignore[no-untyped-def]
    """The Analysis of scenarios/london-2016-baseline.yaml on the real London data."""
    return _analyse("london-2016-baseline", london_dir, cache_dir)
