"""`siting._malloc`: glibc keeps freed memory for the next phase draw; elsewhere nothing."""

from __future__ import annotations

import platform
import resource
import sys

import numpy as np
import pytest

from siting import _malloc


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's")
def test_with_glibc_arrays_freed_together_are_reused_without_faulting_again() -> None:
    # A draw's pattern: several arrays of a few MB made, then all freed at once, then made
    # again. glibc's adaptive default trims the freed top of the heap (3,055 of the 12,544
    # pages faulted in again when measured in a fresh process); kept, none are.
    assert _malloc.keep_freed_memory() is True

    def cycle() -> None:
        arrays = [np.ones(7 << 20, dtype=np.uint8) for _ in range(7)]
        del arrays

    cycle()
    cycle()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    cycle()
    faulted = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faulted < 7 * (7 << 20) // 4096 // 100


def test_no_mallopt_is_no_change(monkeypatch: pytest.MonkeyPatch) -> None:
    class Musl:  # a C library without mallopt
        pass

    monkeypatch.setattr(_malloc.ctypes, "CDLL", lambda name: Musl())
    assert _malloc.keep_freed_memory() is False

    def missing(name: str) -> None:
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(_malloc.ctypes, "CDLL", missing)
    assert _malloc.keep_freed_memory() is False
    monkeypatch.setattr(_malloc.sys, "platform", "darwin")
    assert _malloc.keep_freed_memory() is False
