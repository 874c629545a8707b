"""bench/run_all.py: the Speed table's Markdown (the benchmarks themselves are never run in tests)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _run_all():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("run_all", BENCH / "run_all.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_markdown_table_names_the_machine_and_each_baseline() -> None:
    run_all = _run_all()
    where = {"date": "2026-01-01 00:00 UTC", "nproc": 2, "cpu": "Test CPU", "ram_gib": 24.0,
             "python": "3.11.7", "load_1min": 0.5}
    rows = [{"bench": "bench/bench_x.py", "workload": "a | b", "figure": "1.0 s", "baseline": "9.0 s"}]
    text = run_all.markdown(rows, {"bench_x.py": "ran in 3 s", "bench_y.py": "not present"}, where)
    lines = text.splitlines()
    assert "on 2 cores (Test CPU), 24 GiB RAM" in lines[0]
    assert "| benchmark | workload | figure | baseline (same run) |" in lines
    assert r"| `bench/bench_x.py` | a \| b | 1.0 s | 9.0 s |" in lines  # a '|' cannot split a cell
    assert lines[-1] == "- `bench/bench_y.py`: not present."


def test_every_listed_bench_exists_or_is_reported() -> None:
    run_all = _run_all()
    for name in run_all.BENCHES:
        path = BENCH / name
        rows, note = run_all.run(name, [], 1.0) if not path.is_file() else ([], "exists")
        assert path.is_file() or (rows == [] and note == "not present")
    machine = run_all.machine()
    assert machine["nproc"] >= 1
    assert machine["ram_gib"] > 0
