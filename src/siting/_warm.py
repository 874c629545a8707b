"""Load the engine's compiled kernels from numba's disk cache ahead of their first call.

numba loads a kernel's machine code from its cache at the kernel's first call: about 10 ms a
kernel, and about 0.3 s for the first one of the process (numba starts LLVM then). A cold run
pays that on its critical path unless it is done while the run waits for something else (its
feed, built in a forked child): `analysis.analyse` calls `load_cached_kernels` on a thread then.

Only cache entries made for this machine and this code are loaded, so this never compiles: a
kernel without a usable entry (a fresh install, edited code) is compiled at its first call, as
it would be without this step. The step is an optimisation and nothing else depends on it; if
numba's cache layout ever changes it loads nothing (said at debug level), and the kernels load
at their first call as before.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

__all__ = ["ENGINE_MODULES", "load_cached_kernels"]

ENGINE_MODULES = (
    "siting.network._gtfs_times", "siting.network._orders", "siting.network.transit",
    "siting.scan", "siting.travel", "siting.summaries", "siting.draws", "siting.journeys",
)
"""The modules whose kernels a run of the travel model calls."""


def load_cached_kernels(modules: Iterable[str] = ENGINE_MODULES) -> int:
    """Load every usable disk-cache entry of the modules' numba kernels; return how many."""
    from numba.core.registry import CPUDispatcher

    loaded = 0
    for name in modules:
        module = importlib.import_module(name)
        for kernel in list(vars(module).values()):
            if isinstance(kernel, CPUDispatcher) and kernel.__module__ == name:
                try:
                    loaded += _load(kernel)
                except Exception as error:  # an optimisation only: the first call loads it
                    log.debug("numba cache of a kernel of %s not preloaded: %r", name, error)
    return loaded


def _load(kernel: object) -> int:
    """Load one kernel's cache entries that match this machine and code (no compiling)."""
    cache = kernel._cache  # type: ignore[attr-defined]
    codegen = kernel.targetctx.codegen()  # type: ignore[attr-defined]
    loaded = 0
    for key in cache._cache_file._load_index():
        signature = key[0]
        if key == cache._index_key(signature, codegen):  # else compile() would compile it
            kernel.compile(signature)  # type: ignore[attr-defined]
            loaded += 1
    return loaded
