"""Time a cold and a warm `siting run` of a scenario: steps overlapped, against them in series.

A cold run starts from an empty network cache, so it builds the modelled London feed and network
from the data, then runs the travel model, journeys, hub model, report and map (numba's kernels
are compiled once by an untimed first run). A warm run starts from that first run's cache less
its stored analyses (`siting.reuse`): the feed and network are read from the cache, and every
step after them (phase draws, journeys, hub model, report, map) is computed again, as when a
planner edits a scenario's counters. Runs alternate, pair by pair:

- this code as it runs by default: the feed built in a forked child beside the data loading, the
  hub model on a thread beside the network and travel steps, the map page made in a child while
  the tables are written (`siting._beside`);
- the baseline: the same code with ``SITING_SERIAL=1``, every step in turn in one process, as a
  run went before those steps were overlapped.

Wall time by the clock; CPU time (user + system, the run's child processes included) and peak
memory (its largest process) from ``os.wait4``. Both runs' outputs (tables, report, map) are
compared byte for byte.

Run: python bench/bench_cold_run.py [--pairs 3] [--warm-pairs 3]
     [--scenario scenarios/london-2017-final.yaml] [--json FILE]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RUN = "from siting.cli import entry; entry()"  # what the `siting` command runs


def cold_run(scenario: Path, folder: Path, *, serial: bool,
             cache: Path | None = None) -> dict[str, float]:
    """One `siting -q run` into an empty output folder under ``folder``, and an empty cache or
    a copy of ``cache`` without its stored analyses (a warm run)."""
    folder.mkdir(parents=True)
    if cache is not None:
        shutil.copytree(cache, folder / "cache", ignore=shutil.ignore_patterns("analyses"))
    env = {**os.environ, "SITING_SERIAL": "1" if serial else "0"}
    args = [sys.executable, "-c", RUN, "-q", "run", str(scenario), "--cache-dir",
            str(folder / "cache"), "--out", str(folder / "out")]
    log = folder / "stderr.txt"
    with log.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"siting run failed (exit {proc.returncode}):\n{log.read_text()}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_gb": usage.ru_maxrss * 1024 / 1e9}


def same_outputs(a: Path, b: Path) -> bool:
    """Whether two runs wrote the same files with the same bytes (tables, report, map)."""
    for sub in ("out", "maps"):
        left, right = a / sub, b / sub
        names = sorted(p.name for p in left.iterdir())
        if names != sorted(p.name for p in right.iterdir()):
            return False
        _, mismatch, errors = filecmp.cmpfiles(left, right, names, shallow=False)
        if mismatch or errors:
            return False
    return True


def summary(runs: list[dict[str, float]]) -> str:
    walls = ", ".join(f"{r['wall_s']:.1f}" for r in runs)
    cpu = statistics.median(r["cpu_s"] for r in runs)
    peak = max(r["peak_gb"] for r in runs)
    return (f"median {statistics.median(r['wall_s'] for r in runs):.1f} s wall (runs: {walls} s), "
            f"median {cpu:.1f} CPU-s, peak {peak:.2f} GB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "london-2017-final.yaml")
    parser.add_argument("--pairs", type=int, default=3,
                        help="pairs of cold runs, alternating (default 3)")
    parser.add_argument("--warm-pairs", type=int, default=3,
                        help="pairs of warm runs, alternating (default 3)")
    parser.add_argument("--json", type=Path, help="write README table rows here")
    args = parser.parse_args(argv)
    if "SITING_DATA_DIR" not in os.environ:
        raise SystemExit("set SITING_DATA_DIR to the London data folder (see README)")
    scenario = args.scenario.resolve()
    runs: dict[str, list[dict[str, float]]] = {}
    identical = True
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        root = Path(tmp)
        cold_run(scenario, root / "warm-up", serial=False)  # numba compiles here, untimed
        for kind, pairs in (("cold", args.pairs), ("warm", args.warm_pairs)):
            cache = root / "warm-up" / "cache" if kind == "warm" else None
            for pair in range(pairs):
                # alternate which goes first, so a drift in the machine's speed falls on both
                order = ("overlapped", "serial") if pair % 2 == 0 else ("serial", "overlapped")
                for how in order:
                    got = cold_run(scenario, root / f"{kind}-{how}-{pair}",
                                   serial=how == "serial", cache=cache)
                    runs.setdefault(f"{kind} {how}", []).append(got)
                    print(f"{kind} pair {pair + 1} {how:>10}: {got['wall_s']:.1f} s wall, "
                          f"{got['cpu_s']:.1f} CPU-s, {got['peak_gb']:.2f} GB", flush=True)
                identical &= same_outputs(root / f"{kind}-overlapped-{pair}",
                                          root / f"{kind}-serial-{pair}")
                identical &= same_outputs(root / f"{kind}-overlapped-{pair}",
                                          root / "warm-up")
    rows: list[dict[str, Any]] = []
    for kind, what in (("cold", "empty cache: London feed and network built, phase draws, "
                                "journeys, hub model, report, map"),
                       ("warm", "network cached, stored analyses removed: phase draws, "
                                "journeys, hub model, report and map computed again")):
        if f"{kind} overlapped" not in runs:
            continue
        fast, slow = runs[f"{kind} overlapped"], runs[f"{kind} serial"]
        speedup = (statistics.median(r["wall_s"] for r in slow)
                   / statistics.median(r["wall_s"] for r in fast))
        print(f"\n{kind} overlapped: {summary(fast)}\n{kind} serial:     {summary(slow)}\n"
              f"serial / overlapped (median wall): {speedup:.2f}x; identical outputs: {identical}")
        rows.append({
            "bench": "bench/bench_cold_run.py",
            "workload": f"{kind} `siting run` of {scenario.stem} ({what}), {len(fast)} alternating pairs",
            "figure": f"steps overlapped: {summary(fast)}; {speedup:.2f}x; identical outputs: {identical}",
            "baseline": f"the same steps in series (SITING_SERIAL=1): {summary(slow)}",
        })
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
