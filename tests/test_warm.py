"""`siting._warm`: numba's cached kernels loaded ahead of their first call, never compiled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_CALL = """
import numpy as np
from siting.network._orders import least_edges
least_edges(np.array([1, 0]), np.array([0, 1]), np.array([5, 7]), 2)
"""

_LOAD = """
import json
from siting._warm import load_cached_kernels
from siting.network import _orders
n = load_cached_kernels(["siting.network._orders"])
kernel = _orders._least
print(json.dumps({"loaded": n, "overloads": len(kernel.overloads),
                  "hits": sum(kernel._cache_hits.values()),
                  "misses": sum(kernel._cache_misses.values())}))
"""


def _python(code: str, cache: Path) -> str:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=600, check=True)
    return done.stdout


def test_loads_what_a_run_cached_and_compiles_nothing(tmp_path: Path) -> None:
    empty = json.loads(_python(_LOAD, tmp_path / "empty"))
    # nothing cached: nothing loaded, nothing compiled (the first call would compile)
    assert empty == {"loaded": 0, "overloads": 0, "hits": 0, "misses": 0}
    _python(_CALL, tmp_path / "used")  # a first run compiles and caches the kernels it calls
    used = json.loads(_python(_LOAD, tmp_path / "used"))
    assert used["loaded"] >= 2  # _least and the _starts it calls
    assert used["overloads"] == 1
    assert used["hits"] == 1
    assert used["misses"] == 0
