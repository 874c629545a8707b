"""Where a cold `siting run` spends its cores: CPU per process every half second.

Runs the London final scenario (or --scenario) with an empty cache and samples `/proc` every
0.5 s: the CPU each process of the run used in that slice (M: the run's own process, with its
threads; 1, 2, ...: its children and grandchildren in the order they appeared), with the run's
step timings (`-v` log lines) between the rows. Linux only. A diagnostic, not a benchmark:
it prints no baseline (see `bench/bench_cold_run.py` for the timed comparison).

Run: SITING_DATA_DIR=/path/to/data/london python bench/cold_run_timeline.py [--scenario FILE]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _cpu_by_process(root: int, order: dict[int, int], tick: float) -> dict[int, float]:
    """CPU seconds so far of the run's process and every descendant seen (by pid)."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(name), int(fields[1])
        if pid == root or parent == root or parent in order:
            order.setdefault(pid, len(order))
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "london-2017-final.yaml")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("cold_run_timeline.py reads /proc: Linux only", file=sys.stderr)
        return 2
    tick = float(os.sysconf("SC_CLK_TCK"))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run = subprocess.Popen(
            [sys.executable, "-m", "siting.cli", "-v", "run", str(args.scenario), "--cache-dir",
             f"{tmp}/cache", "--out", f"{tmp}/out"], cwd=tmp, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        events: list[tuple[float, str]] = []

        def read_log() -> None:
            assert run.stderr is not None
            for line in run.stderr:
                if " took " in line or "wrote" in line:
                    events.append((time.perf_counter() - start, line.strip()[:100]))

        reader = threading.Thread(target=read_log)
        reader.start()
        order: dict[int, int] = {}
        last: dict[int, float] = {}
        rows = []
        before = 0.0
        while run.poll() is None:
            time.sleep(0.5)
            now = time.perf_counter() - start
            cpu = _cpu_by_process(run.pid, order, tick)
            rows.append((now, {pid: (c - last.get(pid, 0.0)) / (now - before) for pid, c in cpu.items()}))
            last.update(cpu)
            before = now
        reader.join()
        wall = time.perf_counter() - start
    shown = 0
    for now, used in rows:
        while shown < len(events) and events[shown][0] <= now:
            print(f"   {events[shown][0]:6.2f} {events[shown][1]}")
            shown += 1
        cells = " ".join(f"{'M' if order[pid] == 0 else order[pid]}:{u:.1f}"
                         for pid, u in sorted(used.items(), key=lambda kv: order[kv[0]]) if u >= 0.05)
        print(f"{now:6.1f} {sum(used.values()):.2f}  {cells}")
    for when, text in events[shown:]:
        print(f"   {when:6.2f} {text}")
    print(f"wall {wall:.2f} s; CPU-s by process: "
          + ", ".join(f"{'M' if order[pid] == 0 else order[pid]} {c:.2f}"
                      for pid, c in sorted(last.items(), key=lambda kv: order[kv[0]])))
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
