"""Start-up cost: `invoicesync --version` and `--help` against a bare `python -c pass`.

Each command is run many times; the table gives the median wall time and the median CPU time
(user + system, read from the child's rusage). On a machine shared with other jobs the wall
time of a 20 ms process swings by 10x from run to run, so the ratio that is compared with the
goal is the CPU one (the wall ratio is printed beside it).

    python benchmarks/startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import _world

GOALS = {"invoicesync --version": 1.3, "invoicesync --help": 8.0}


def measure(cmd: list[str], runs: int) -> tuple[float, float]:
    """Median wall ms and median CPU ms (user + system) of `cmd` over `runs` runs."""
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
    walls, cpus = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        assert os.waitstatus_to_exitcode(status) == 0, cmd
        cpus.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    exe = shutil.which("invoicesync", path=str(Path(sys.executable).parent)) or "invoicesync"
    base_wall, base_cpu = measure([sys.executable, "-c", "pass"], args.runs)
    rows = [["python -c pass", f"{base_wall:.0f}", f"{base_cpu:.0f}", "1.0", "1.0", "-", "-"]]
    for label, cmd in (
        ("invoicesync --version", [exe, "--version"]),
        ("invoicesync --help", [exe, "--help"]),
    ):
        wall, cpu = measure(cmd, args.runs)
        goal = GOALS[label]
        rows.append(
            [
                label,
                f"{wall:.0f}",
                f"{cpu:.0f}",
                f"{wall / base_wall:.1f}",
                f"{cpu / base_cpu:.2f}",
                f"{goal:g}x",
                "met" if cpu / base_cpu <= goal else "MISSED",
            ]
        )
    print(f"startup — {_world.machine()}; median of {args.runs} runs")
    print(
        _world.table(
            ["command", "wall ms", "CPU ms", "x pass (wall)", "x pass (CPU)", "goal", ""], rows
        )
    )


if __name__ == "__main__":
    main()
