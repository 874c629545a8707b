"""Peak resident memory of this process, shared by the benchmarks (Linux /proc, else getrusage)."""

from __future__ import annotations

import contextlib
import resource
from pathlib import Path

__all__ = ["peak_rss_mb", "reset_peak_rss"]


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
