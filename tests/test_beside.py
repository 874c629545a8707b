"""Steps run beside the caller: on a thread (Beside) or in a forked child process (Forked)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from siting._beside import Beside, Forked

# ---------------------------------------------------------------------------------------------
# The hub plan runs on its own thread beside the network and travel steps (siting._beside.Beside).


def test_beside_returns_the_value_or_raises_the_error_of_its_step() -> None:
    with Beside(lambda a, *, b: a + b, 2, b=3) as step:
        assert step.result() == 5
    assert step.seconds >= 0.0

    def fails() -> None:
        raise ValueError("bad candidate CSV")

    with Beside(fails) as step, pytest.raises(ValueError, match="bad candidate CSV"):
        step.result()


def test_beside_stops_its_cp_sat_search_when_the_caller_fails() -> None:
    """A failed network step must not wait out the hub model's time limit (300 s here)."""
    import threading
    import time

    from ortools.sat.python import cp_model

    from hard_cpsat import hard_model
    from siting._signals import interruptible

    model = hard_model()
    solving = threading.Event()

    def solve() -> tuple[str, float]:
        solver = interruptible(cp_model.CpSolver())
        solver.parameters.max_time_in_seconds = 300
        solver.parameters.num_workers = 1
        solving.set()
        status = solver.solve(model)
        return solver.status_name(status), solver.wall_time

    def failing_network_step(step: Beside) -> None:
        with step:
            assert solving.wait(60)
            time.sleep(1.0)  # inside the search
            raise RuntimeError("network step failed")

    step = Beside(solve)
    with pytest.raises(RuntimeError, match="network step failed"):
        failing_network_step(step)
    status, wall = step.result()  # the thread has ended: the search was stopped, not finished
    assert status in {"FEASIBLE", "UNKNOWN"}
    assert wall < 300


# ---------------------------------------------------------------------------------------------
# The modelled London feed is built in a forked child beside the data loading (siting._beside.Forked).

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")


def _pid_and(value: int) -> tuple[int, int]:
    return os.getpid(), value * 2


def _fails() -> None:
    from siting._errors import ScenarioError

    raise ScenarioError("scenario.yaml: field `transit.assumptions.bus_headway` must be > 0")


def _dies() -> None:
    os._exit(3)


@linux_only
def test_forked_runs_the_step_in_a_child_and_returns_its_value() -> None:
    with Forked(_pid_and, 21) as step:
        pid, value = step.result()
    assert pid != os.getpid()
    assert value == 42
    assert step.seconds > 0.0


def _forks_again(value: int) -> tuple[int, tuple[int, int]]:
    with Forked(_pid_and, value) as inner:
        return os.getpid(), inner.result()


@linux_only
def test_a_forked_step_can_fork_a_step_of_its_own() -> None:
    # The feed's child builds rail and tram in a child of its own (not a daemon: a daemon
    # process may not have children).
    with Forked(_forks_again, 5) as step:
        outer, (inner, value) = step.result()
    assert len({outer, inner, os.getpid()}) == 3
    assert value == 10


def test_forked_inline_runs_the_step_here_at_result() -> None:
    with Forked.inline(_pid_and, 21) as step:
        assert step.result() == (os.getpid(), 42)


def test_forked_runs_inline_where_it_cannot_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    import siting._beside

    monkeypatch.setattr(siting._beside, "_can_fork", lambda *_: False)
    with Forked(_pid_and, 1) as step:
        assert step.result() == (os.getpid(), 2)


def _forked_pid_on(thread_target: str) -> tuple[int, int]:
    """(pid of the step, pid here) for a Forked step started on the main thread beside a
    thread that waits ('plain', or 'proj_free' when marked as never calling PROJ), or
    started on a thread ('on_thread')."""
    import threading

    from siting._beside import proj_free

    release = threading.Event()
    out: list[tuple[int, int]] = []

    def run() -> None:
        with Forked(_pid_and, 1) as step:
            out.append(step.result())

    if thread_target == "on_thread":
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()
        return out[0][0], os.getpid()
    waiter = threading.Thread(target=release.wait, name="user thread")
    if thread_target == "proj_free":
        proj_free(waiter)
    waiter.start()
    try:
        run()
    finally:
        release.set()
        waiter.join()
    return out[0][0], os.getpid()


@linux_only
def test_forked_forks_only_where_no_thread_may_hold_proj() -> None:
    # A child frees the other threads' state; a PROJ context freed while its thread held its
    # database lock hangs the child (two analyses on Dask threads did). So a step forks only
    # from the main thread beside threads marked as never calling PROJ, else runs here.
    step_pid, here = _forked_pid_on("proj_free")
    assert step_pid != here
    step_pid, here = _forked_pid_on("plain")
    assert step_pid == here
    step_pid, here = _forked_pid_on("on_thread")
    assert step_pid == here


@linux_only
def test_forked_raises_the_childs_error_here() -> None:
    from siting._errors import ScenarioError

    with Forked(_fails) as step, pytest.raises(ScenarioError, match="bus_headway"):
        step.result()


@linux_only
def test_forked_names_a_child_that_died_without_a_result() -> None:
    with Forked(_dies) as step, pytest.raises(RuntimeError, match=r"_dies .*exit code 3"):
        step.result()


def _slow_build(folder: str, started: str) -> None:
    part = Path(folder) / "feed.tmp"
    part.write_text("half-built")
    try:
        Path(started).write_text("yes")
        import time

        time.sleep(120)
    finally:
        part.unlink()  # an interrupted build removes what it wrote


@linux_only
def test_forked_child_is_stopped_and_cleans_up_when_the_caller_fails(tmp_path: Path) -> None:
    import time

    started = tmp_path / "started"

    def failing_data_step(step: Forked) -> None:
        with step:
            deadline = time.monotonic() + 60
            while not started.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            raise RuntimeError("bad ward file")

    step = Forked(_slow_build, str(tmp_path), str(started))
    with pytest.raises(RuntimeError, match="bad ward file"):
        failing_data_step(step)
    assert started.exists()
    assert not (tmp_path / "feed.tmp").exists()


def test_siting_serial_runs_each_step_in_the_caller_at_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """SITING_SERIAL=1: the order of a run before its steps were overlapped (the bench baseline)."""
    import threading

    monkeypatch.setenv("SITING_SERIAL", "1")
    ran: list[str] = []

    def step(name: str) -> tuple[int, str]:
        ran.append(name)
        return os.getpid(), threading.current_thread().name

    with Beside(step, "hubs") as hubs, Forked(step, "feed") as feed:
        assert ran == []  # nothing started yet
        assert feed.result() == (os.getpid(), threading.current_thread().name)
        assert hubs.result() == (os.getpid(), threading.current_thread().name)
        assert hubs.result() == (os.getpid(), threading.current_thread().name)  # once only
    assert ran == ["feed", "hubs"]


@linux_only
def test_forked_forks_beside_a_spinner() -> None:
    # In a terminal each step of a run shows a rich spinner, whose refresh thread only draws
    # text: the feed's description must still be forked there, as in a benchmark's pipe.
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True)
    with console.status("working"), Forked(_pid_and, 1) as step:
        pid, _ = step.result()
    assert pid != os.getpid()


# ---------------------------------------------------------------------------------------------
# The hub plan: forked when it can be, else on a thread (siting._beside.Apart).


def _pid_and_thread(value: int) -> tuple[int, str, int]:
    import threading

    return os.getpid(), threading.current_thread().name, value * 2


@linux_only
def test_apart_forks_a_child_when_it_can() -> None:
    from siting._beside import Apart

    with Apart(_pid_and_thread, 21) as step:
        assert step.start() is step.start()  # once only
        pid, _, value = step.result()
    assert pid != os.getpid()
    assert value == 42
    assert step.seconds > 0.0


def test_apart_uses_a_thread_where_forking_is_not_safe() -> None:
    import threading

    from siting._beside import Apart

    out: list[tuple[int, str, int]] = []

    def on_a_thread() -> None:  # a fork from a thread other than the main one is refused
        with Apart(_pid_and_thread, 1) as step:
            step.start()
            out.append(step.result())

    worker = threading.Thread(target=on_a_thread, name="worker")
    worker.start()
    worker.join(60)
    pid, thread, value = out[0]
    assert pid == os.getpid()
    assert thread == "siting-pid_and_thread"
    assert value == 2


def test_apart_never_started_runs_in_the_caller_at_result() -> None:
    import threading

    from siting._beside import Apart

    with Apart(_pid_and_thread, 2) as step:
        assert step.seconds == 0.0
        assert step.result() == (os.getpid(), threading.current_thread().name, 4)


def test_apart_under_siting_serial_runs_in_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from siting._beside import Apart

    monkeypatch.setenv("SITING_SERIAL", "1")
    with Apart(_pid_and_thread, 3) as step:
        step.start()
        assert step.result() == (os.getpid(), threading.current_thread().name, 6)


def _long_solve(flag: str) -> tuple[str, float]:
    from ortools.sat.python import cp_model

    from hard_cpsat import hard_model
    from siting._signals import interruptible

    model = hard_model(120, 900)  # minutes for one worker to prove
    solver = interruptible(cp_model.CpSolver())
    solver.parameters.max_time_in_seconds = 300
    solver.parameters.num_workers = 1
    Path(flag).touch()
    status = solver.solve(model)
    return solver.status_name(status), solver.wall_time


@linux_only
def test_a_forked_cp_sat_search_stops_at_once_when_the_caller_fails(tmp_path: Path) -> None:
    """The child's own signal watcher stops its search on SIGTERM: the failed run does not wait
    for the search to end (minutes here) at the end of the block (without the watcher the
    child runs Python's handler only when the solve returns)."""
    import time

    from siting._beside import Apart

    flag = tmp_path / "solving"

    def failing_network_step() -> None:
        with Apart(_long_solve, str(flag)) as step:
            step.start()
            deadline = time.monotonic() + 60
            while not flag.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)  # inside the search
            raise RuntimeError("network step failed")

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="network step failed"):
        failing_network_step()
    assert flag.exists()
    assert time.monotonic() - started < 60
