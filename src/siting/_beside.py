"""Run one step of a run beside the caller, so the machine's second core is not left idle.

- `Beside` runs it on a thread: for steps whose work releases the GIL (the hub model's CP-SAT
  solve).
- `Forked` runs it in a forked child process: for steps of pandas and Python code (building the
  modelled London feed), which a thread would only interleave with the caller. Where fork is not
  available (Windows, macOS's default), or inside a daemon process (a Dask worker: the sweep
  already keeps every core busy), it runs in the caller at `result()`.
- `Apart` forks a step when it safely can and otherwise gives it a thread (the hub plan: pandas
  and geometry around a CP-SAT solve).

``SITING_SERIAL=1`` in the environment runs every such step in the caller at `result()`, one
after another (the order of a run before these steps were overlapped): the baseline of
`bench/bench_cold_run.py`, and a way out should fork misbehave on some system.

Both are context managers: leaving the block after an error stops the step (its CP-SAT search,
or the child by SIGTERM, which cleans up as an interrupted run does) and waits for it, so no
thread or process outlives the call and the caller's error is reported.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["Apart", "Beside", "Forked", "proj_free"]

log = logging.getLogger(__name__)


def serial() -> bool:
    """Whether SITING_SERIAL asks for every step in the caller, in order."""
    return os.environ.get("SITING_SERIAL", "").strip() not in ("", "0")


class Beside:
    """A step run on its own thread while the caller goes on; `result()` joins it."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._setup(fn, args, kwargs)
        self.start()

    @classmethod
    def later(cls, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Beside:
        """The same step, its thread started by `start()` (or run at `result()` if never)."""
        step = cls.__new__(cls)
        step._setup(fn, args, kwargs)
        return step

    def _setup(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.seconds = 0.0
        self._outcome: tuple[bool, Any] | None = None
        self._call = (fn, args, kwargs)
        self._thread = threading.Thread(target=self._run, args=self._call,
                                        name=f"siting-{fn.__name__.strip('_')}", daemon=True)

    def start(self, *, uses_proj: bool = True) -> Beside:
        """Start the step's thread; ``uses_proj=False`` promises it never calls PROJ, so
        `Forked` steps may fork beside it."""
        if not serial() and self._thread.ident is None:
            if not uses_proj:
                proj_free(self._thread)
            self._thread.start()
        return self

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        start = time.perf_counter()
        try:
            self._outcome = (True, fn(*args, **kwargs))
        except BaseException as error:  # handed to the caller by result()
            self._outcome = (False, error)
        self.seconds = time.perf_counter() - start

    def result(self) -> Any:
        """The step's return value, or its exception raised here."""
        if self._thread.ident is None:  # SITING_SERIAL: run it now
            if self._outcome is None:
                self._run(*self._call)
        else:
            self._thread.join()
        assert self._outcome is not None
        ok, value = self._outcome
        if not ok:
            raise value
        return value

    def __enter__(self) -> Beside:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is not None:
            from siting._signals import stop_solvers

            stop_solvers()
        if self._thread.ident is not None:
            self._thread.join()


_NO_PROJ: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
"""Threads known never to call PROJ (pyproj): a fork beside them is safe."""


def proj_free(thread: threading.Thread) -> threading.Thread:
    """Mark a thread as one that never calls PROJ, so `Forked` may fork while it runs."""
    _NO_PROJ.add(thread)
    return thread


def _fork_hazard() -> str | None:
    """Why forking now could hang the child, or None.

    A forked child frees the interpreter state of the caller's other threads; a PROJ context
    freed there closes its database, and if that thread held the database's lock at the fork,
    the child waits for it forever (seen with two analyses on Dask threads in one process).
    So a step forks only from the main thread, while every other thread is one known never to
    call PROJ (marked with `proj_free`, or rich's refresh thread behind a spinner).
    """
    if threading.current_thread() is not threading.main_thread():
        return f"it was started on thread {threading.current_thread().name!r}"
    for thread in threading.enumerate():
        if thread is threading.main_thread() or thread in _NO_PROJ:
            continue
        if type(thread).__module__.split(".")[0] == "rich":  # a spinner's refresh: text only
            continue
        return f"thread {thread.name!r} is running"
    return None


def _can_fork(name: str = "") -> bool:
    if (serial() or not sys.platform.startswith("linux")
            or "fork" not in multiprocessing.get_all_start_methods()
            or multiprocessing.current_process().daemon):
        return False
    hazard = _fork_hazard()
    if hazard is not None:
        log.debug("%s runs in this process, not a forked child: %s", name, hazard)
    return hazard is None


def _stop(signum: int, frame: Any) -> None:
    """SIGINT or SIGTERM in a child: raise once (the step cleans up), then ignore the rest."""
    from siting._signals import Interrupted

    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, signal.SIG_IGN)
    raise Interrupted(signum)


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    from siting._signals import Interrupted, handling

    # A signal to the child must not wake the parent's watcher (signal.set_wakeup_fd is
    # inherited): the child has its own, which stops a CP-SAT search in the child at once.
    signal.set_wakeup_fd(-1)
    start = time.perf_counter()
    with handling():
        for each in (signal.SIGINT, signal.SIGTERM):
            signal.signal(each, _stop)
        try:
            ok, value = True, fn(*args, **kwargs)
        except BaseException as error:  # sent to the parent, which raises it
            ok, value = False, error
    seconds = time.perf_counter() - start
    try:
        conn.send((ok, value, seconds))  # a large result waits here until the parent reads it
    except Interrupted:  # the parent stopped the step meanwhile: it no longer wants the result
        pass
    except Exception as error:  # an unpicklable value or error: say what it was
        conn.send((False, RuntimeError(f"{fn.__name__} (in a child process) ended with "
                                       f"{value!r}, which could not be sent back: {error}"),
                   seconds))
    finally:
        conn.close()


class Forked:
    """A step run in a forked child process while the caller goes on; `result()` waits for it.

    The step's arguments are the caller's objects (fork copies the process), its return value
    and any exception come back pickled. ``seconds``: the step's own time (in the child, or
    in the caller when it ran there).
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._begin(fn, args, kwargs, fork=_can_fork(fn.__name__))

    @classmethod
    def inline(cls, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Forked:
        """The same step run in the caller at `result()` (when it has nothing worth a process)."""
        step = cls.__new__(cls)
        step._begin(fn, args, kwargs, fork=False)
        return step

    def _begin(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *,
               fork: bool) -> None:
        self.seconds = 0.0
        self._call = (fn, args, kwargs)
        self._process: Any = None
        if not fork:
            return
        context = multiprocessing.get_context("fork")
        self._conn, child_end = context.Pipe(duplex=False)
        for stream in (sys.stdout, sys.stderr):  # else the child would write them again
            stream.flush()
        # Not a daemon, so that a step may fork steps of its own (the feed's rail and tram);
        # `__exit__` always ends the child, and the interpreter joins it at exit otherwise.
        self._process = context.Process(target=_child, args=(child_end, fn, args, kwargs),
                                        name=f"siting-{fn.__name__.strip('_')}", daemon=False)
        self._process.start()
        child_end.close()

    def result(self) -> Any:
        """The step's return value, or its exception raised here."""
        fn, args, kwargs = self._call
        if self._process is None:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds = time.perf_counter() - start
        try:
            ok, value, self.seconds = self._conn.recv()
        except EOFError:
            self._process.join()
            raise RuntimeError(f"{fn.__name__} (in a child process) ended without a result "
                               f"(exit code {self._process.exitcode})") from None
        finally:
            self._conn.close()
        self._process.join()
        self._process = _DONE
        if not ok:
            raise value
        return value

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        process = self._process
        if process is None or process is _DONE:
            return
        if kind is not None and process.is_alive():
            process.terminate()  # SIGTERM: the step cleans up as an interrupted run does
        process.join()
        self._conn.close()


class Apart:
    """A step started by `start()`: in a forked child if one can fork then (`Forked`), else on
    a thread (`Beside`); run in the caller at `result()` if never started.

    For a step that is partly Python, partly GIL-free (the hub plan: pandas and geometry, then
    CP-SAT): a child keeps its Python off the caller's GIL; a thread, where forking is not
    safe, still overlaps its GIL-free part.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._call = (fn, args, kwargs)
        self._step: Forked | Beside | None = None

    def start(self, *, nice: int = 0) -> Apart:
        """Start the step (once); ``nice`` lowers a child's CPU priority by that much (see
        ``os.nice``), for a step whose result is wanted well after the caller's next steps."""
        if self._step is None:
            fn, args, kwargs = self._call
            if _can_fork(fn.__name__):
                self._step = Forked(_niced, nice, fn, *args, **kwargs)
            else:
                self._step = Beside(fn, *args, **kwargs)
        return self

    @property
    def seconds(self) -> float:
        """The step's own time (0 before it ran)."""
        return self._step.seconds if self._step is not None else 0.0

    def result(self) -> Any:
        """The step's return value, or its exception raised here."""
        if self._step is None:
            fn, args, kwargs = self._call
            self._step = Forked.inline(fn, *args, **kwargs)
        return self._step.result()

    def __enter__(self) -> Apart:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if self._step is not None:
            self._step.__exit__(kind, error, trace)


def _niced(nice: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn`` at a CPU priority lowered by ``nice`` (in a child only: it applies to a process)."""
    if nice:
        os.nice(nice)
    return fn(*args, **kwargs)


_DONE: Any = object()
"""`Forked._process` once its result was taken."""
