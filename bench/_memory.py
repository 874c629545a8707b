"""Peak resident memory of this process, shared by the benchmarks (Linux /proc, else getrusage)."""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["measure", "peak_rss_mb", "reset_peak_rss"]


def peak_rss_mb() -> float:
    """Peak resident set size in MB since the last reset (counts numba's allocations too)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e3
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def reset_peak_rss() -> None:
    """Reset the peak to the current resident size (Linux: write 5 to clear_refs)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def measure(label: str, func: Callable[[], Any], rows: list[dict[str, Any]]) -> Any:
    """Run func once; add a row (step, wall_s, peak_rss_MB) and print it as it finishes."""
    reset_peak_rss()
    start = time.perf_counter()
    result = func()
    wall = time.perf_counter() - start
    peak = peak_rss_mb()
    rows.append({"step": label, "wall_s": round(wall, 3), "peak_rss_MB": round(peak)})
    print(f"  {label:<60} {wall:8.3f} s  {peak:8.0f} MB", flush=True)
    return result
