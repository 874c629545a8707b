"""Cache entries are verified on load: a damaged entry is rebuilt with a warning, never reused."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from siting import _cache
from siting.network.gtfs import read_feed
from siting.network.transit import TransitNetwork
from siting.network.walk import WalkModel
from siting.optimise import site_times
from siting.travel import Window

FIXTURES = Path(__file__).parent / "fixtures" / "gtfs"
REPO = Path(__file__).resolve().parents[1]
WALK = WalkModel(speed_kmh=3.6, circuity=1.0)
ARGS = (FIXTURES / "transfer", "2024-01-03", 7 * 3600, 12 * 3600, WALK)
ARRAYS = ("stop_ids", "stop_xy", "dep_stop", "arr_stop", "dep_time", "arr_time", "trip",
          "run_ids", "fp_offsets", "fp_to", "fp_seconds", "can_board", "can_alight")


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _cut_at_line_end(path: Path) -> None:
    """Drop the last third of a text file's lines (the file still parses as CSV)."""
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[: max(2, 2 * len(lines) // 3)]))


def _damage(kind: str, entry: Path) -> None:
    if kind == "truncated":
        _truncate(entry)
    elif kind == "flipped":
        _flip_byte(entry)
    elif kind == "empty":
        entry.write_bytes(b"")
    elif kind == "no manifest":
        _cache.manifest_path(entry).unlink()
    elif kind == "garbage manifest":
        _cache.manifest_path(entry).write_text("{not json")
    else:
        raise AssertionError(kind)


DAMAGE = ["truncated", "flipped", "empty", "no manifest", "garbage manifest"]


def test_manifest_of_a_folder_catches_a_file_cut_at_a_line_end(tmp_path: Path) -> None:
    entry = tmp_path / "feed"
    shutil.copytree(FIXTURES / "transfer", entry)
    _cache.write_manifest(entry)
    assert _cache.usable(entry) == (True, "")
    _cut_at_line_end(entry / "stop_times.txt")
    ok, why = _cache.usable(entry)
    assert not ok
    assert "stop_times.txt does not match its manifest" in why
    (entry / "extra.txt").write_text("x")
    _cache.write_manifest(entry)
    (entry / "extra.txt").unlink()
    assert _cache.usable(entry) == (False, "extra.txt is missing")


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_network_cache_is_rebuilt_with_a_warning(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clean = TransitNetwork.build(read_feed(ARGS[0]), *ARGS[1:])
    first = TransitNetwork.load_or_build(*ARGS, cache_dir=tmp_path)
    (entry,) = tmp_path.glob("transit-*.npz")
    assert _cache.usable(entry) == (True, "")
    _damage(kind, entry)
    with caplog.at_level(logging.WARNING, logger="siting.cache"):
        again = TransitNetwork.load_or_build(*ARGS, cache_dir=tmp_path)
    assert f"cache entry {entry} is damaged" in caplog.text
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(again, name), getattr(clean, name))
    assert again.cache_key == first.cache_key
    # The rebuilt entry is whole again: the next load is silent.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="siting.cache"):
        TransitNetwork.load_or_build(*ARGS, cache_dir=tmp_path)
    assert caplog.text == ""
    assert _cache.usable(entry) == (True, "")


def test_truncated_npz_with_a_matching_manifest_still_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Someone re-hashed a cut file: the manifest matches, but np.load raises BadZipFile.
    first = TransitNetwork.load_or_build(*ARGS, cache_dir=tmp_path)
    (entry,) = tmp_path.glob("transit-*.npz")
    _truncate(entry, 0.3)
    _cache.write_manifest(entry)
    with caplog.at_level(logging.WARNING, logger="siting.cache"):
        again = TransitNetwork.load_or_build(*ARGS, cache_dir=tmp_path)
    assert "BadZipFile" in caplog.text or "unreadable" in caplog.text
    np.testing.assert_array_equal(again.dep_time, first.dep_time)


def _matrix(network: TransitNetwork, cache_dir: Path | None) -> np.ndarray:
    xy = network.stop_xy
    ids = [str(s) for s in network.stop_ids]
    return site_times(network, [f"o{i}" for i in range(len(xy))], xy + 50.0, ids, xy,
                      Window(8 * 3600, 9 * 3600, 300), max_access_minutes=10.0,
                      cache_dir=cache_dir).minutes


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_site_times_cache_is_recomputed_with_a_warning(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    network = TransitNetwork.build(read_feed(ARGS[0]), *ARGS[1:], cache_key="fixture-transfer")
    clean = _matrix(network, None)
    assert np.isfinite(clean).any()
    _matrix(network, tmp_path)
    (entry,) = tmp_path.glob("site-times-*.npz")
    _damage(kind, entry)
    with caplog.at_level(logging.WARNING, logger="siting.cache"):
        again = _matrix(network, tmp_path)
    assert f"cache entry {entry} is damaged" in caplog.text
    np.testing.assert_array_equal(again, clean)
    assert _cache.usable(entry) == (True, "")


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = 2**22 + 12345  # above Linux's default pid_max (4194304 = 2**22): never running
    mine = tmp_path / f"london-gtfs-abc.tmp-p{os.getpid()}-x"
    gone = tmp_path / f"london-gtfs-abc.tmp-p{dead}-y"
    mine.mkdir()
    gone.mkdir()
    (gone / "stop_times.txt").write_text("half")
    removed = _cache.remove_stale_temporaries(tmp_path, "london-gtfs-*.tmp-p*")
    assert removed == [gone]
    assert mine.exists()


def test_modelled_london_feed_cut_at_a_line_end_is_rebuilt(
    london_dir: Path, cache_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from siting.network.scenario_network import scenario_feed
    from siting.scenario import load_scenario

    scenario = load_scenario(REPO / "scenarios" / "london-2017-final.yaml", data_dir=london_dir)
    built = scenario_feed(scenario, london_dir, cache_dir).path
    # A private copy of the session cache entry, so other tests never see the damage.
    mine = tmp_path / "cache"
    shutil.copytree(built, mine / built.name)
    entry = mine / built.name
    _cut_at_line_end(entry / "stop_times.txt")
    with caplog.at_level(logging.WARNING, logger="siting.cache"):
        again = scenario_feed(scenario, london_dir, mine).path
    assert again == entry
    assert f"cache entry {entry} is damaged (stop_times.txt does not match its manifest" in caplog.text
    for name in sorted(p.name for p in built.iterdir()):
        assert (entry / name).read_bytes() == (built / name).read_bytes(), name
