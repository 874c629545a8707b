"""House rules: no large files and no copies of the shared data are tracked in git."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tracked() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [REPO / p for p in out.decode().split("\0") if p and (REPO / p).is_file()]


def test_no_large_tracked_files() -> None:
    big = [str(p.relative_to(REPO)) for p in _tracked() if p.stat().st_size > 1_000_000]
    assert big == [], "generated output and data stay out of git"


def test_no_copies_of_the_shared_data(london_dir: Path) -> None:
    def digest(path: Path) -> str:
        return hashlib.sha1(path.read_bytes()).hexdigest()

    shared = {digest(p) for p in london_dir.rglob("*") if p.is_file() and p.stat().st_size > 20_000}
    copies = [str(p.relative_to(REPO)) for p in _tracked() if p.stat().st_size > 20_000 and digest(p) in shared]
    assert copies == [], "read the data from SITING_DATA_DIR instead of committing it"
