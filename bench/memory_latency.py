"""Probe: this machine's latency of a dependent random load, by working-set size.

The profile scan's time goes to loads of stops' newest profile rows scattered over memory
(docs/travel-model.md, "Not met"); this shows how much such a load costs here. One load per
64-byte line, in a random cyclic order, so each depends on the one before (no prefetch, no
overlap). Prints nanoseconds per load for each working-set size.

Run: python bench/memory_latency.py
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit


@njit(cache=True)
def _chase(nxt: np.ndarray, steps: int) -> int:
    p = 0
    for _ in range(steps):
        p = nxt[p]
    return p


def main() -> int:
    steps = 2_000_000
    print("working set   ns per dependent load")
    for kib in (32, 256, 1024, 2048, 4096, 16384, 65536, 262144):
        lines = kib * 1024 // 64
        order = np.random.default_rng(0).permutation(lines)
        nxt = np.zeros(lines * 8, dtype=np.int64)  # 8 int64 = one 64-byte line per slot
        nxt[order * 8] = np.roll(order, -1) * 8
        _chase(nxt, 10)
        start = time.perf_counter()
        _chase(nxt, steps)
        print(f"{kib:8d} KiB   {(time.perf_counter() - start) / steps * 1e9:6.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
