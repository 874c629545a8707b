"""Run a GIL-releasing numba kernel over contiguous blocks of rows on Python threads.

Used instead of numba's ``parallel=True``: on a fresh install its parfor lowering made the
first run compile three kernels for about 18 s (of 60 s); a plain ``nogil`` kernel compiles
in a fraction of that and runs as fast on a thread per block.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from numba import get_num_threads


def run_blocks(kernel: Callable[..., None], n: int, *args: Any, blocks: int | None = None) -> None:
    """``kernel(lo, hi, *args)`` for ``blocks`` contiguous parts of ``range(n)`` (default: one
    per numba thread), each on its own thread; the kernel writes its rows into ``args``."""
    parts = max(1, min(n, blocks or get_num_threads()))
    bounds = [n * k // parts for k in range(parts + 1)]
    if parts == 1:
        kernel(0, n, *args)
        return
    with ThreadPoolExecutor(max_workers=parts) as pool:
        for future in [pool.submit(kernel, bounds[k], bounds[k + 1], *args) for k in range(parts)]:
            future.result()
