"""Ask glibc's malloc to keep freed memory for reuse, so each phase draw does not fault its
pages in again.

A draw's arrays (about 30 MB) are freed when its worker finishes and the next draw's are
made at once. With glibc's default, adaptive settings the freed top of the heap is handed
back to the kernel and the next draw faults the same pages in again: about 16,000 minor page
faults and 0.03 s of system time per draw on one thread, on this VM (docs/travel-model.md,
"Warm runs measured"). A fixed mmap threshold of 32 MB (the adaptive one's ceiling on 64-bit
glibc) and a trim threshold of 512 MB keep the pages mapped for the next draw. `siting.cli`
calls this for the process it owns; the library leaves an analyst's process alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 512 << 20


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (above); False where there is no glibc `mallopt`."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # no C library found, or one without mallopt (musl)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
