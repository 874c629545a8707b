"""Ctrl-C and SIGTERM in every phase: stop promptly, clean up, exit 130 or 143 with 'interrupted'.

Python raises KeyboardInterrupt only between bytecodes, so two places need help:
- CP-SAT: by default OR-Tools catches SIGINT itself, stops the search, returns the best plan as
  if nothing happened and leaves SIGINT at the system default (the next Ctrl-C kills the process
  without cleanup). Solvers made `interruptible` leave the signal to Python, and a watcher
  thread (woken through `signal.set_wakeup_fd`) stops their search at once.
- Writing the outputs: `deferred()` holds a signal until the output set is committed or rolled
  back, so an interrupt never lands between two renames.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import weakref
from collections.abc import Iterator
from typing import Any

__all__ = ["Interrupted", "deferred", "handling", "interruptible", "stop_solvers"]

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
"""Exit code for each handled signal (128 + the signal number, as a shell reports it)."""

_solvers: weakref.WeakSet[Any] = weakref.WeakSet()
_state: dict[str, Any] = {"deferring": 0, "pending": None}


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by SIGINT (Ctrl-C) or SIGTERM; carries the exit code."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = EXIT_CODES.get(signal.Signals(signum), 128 + signum)


def _handler(signum: int, frame: Any) -> None:
    if _state["deferring"]:
        _state["pending"] = _state["pending"] or signum
        return
    raise Interrupted(signum)


def interruptible(solver: Any) -> Any:
    """A CP-SAT solver that leaves SIGINT to Python and is stopped by the watcher on a signal."""
    solver.parameters.catch_sigint_signal = False
    _solvers.add(solver)
    return solver


def stop_solvers() -> None:
    """Stop the search of every interruptible CP-SAT solver (a step running beside a failed one)."""
    for solver in list(_solvers):
        with contextlib.suppress(Exception):
            solver.stop_search()


def _watch(reader: socket.socket) -> None:
    while True:
        try:
            data = reader.recv(64)
        except OSError:
            return
        if not data:
            return
        stop_solvers()


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise Interrupted (restored afterwards)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in EXIT_CODES}
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    try:
        old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    except ValueError:
        old_fd = None
    from siting._beside import proj_free

    watcher = proj_free(threading.Thread(target=_watch, args=(reader,), name="siting-signals",
                                         daemon=True))
    watcher.start()
    for s in EXIT_CODES:
        signal.signal(s, _handler)
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old if old is not None else signal.SIG_DFL)
        if old_fd is not None:
            signal.set_wakeup_fd(old_fd)
        writer.close()
        watcher.join(timeout=1.0)
        reader.close()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends, then raise Interrupted for a held signal."""
    _state["deferring"] += 1
    try:
        yield
    finally:
        _state["deferring"] -= 1
        pending = _state["pending"]
        if not _state["deferring"] and pending is not None:
            _state["pending"] = None
            raise Interrupted(pending)
