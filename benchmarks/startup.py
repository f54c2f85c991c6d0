"""Start-up cost: `invoicesync --version` and `--help` against a bare `python -c pass`.

python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import _world


def median_ms(cmd: list[str], runs: int) -> float:
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    exe = shutil.which("invoicesync", path=str(Path(sys.executable).parent)) or "invoicesync"
    base = median_ms([sys.executable, "-c", "pass"], args.runs)
    rows = [["python -c pass", f"{base:.0f}", "1.0"]]
    for label, cmd in (
        ("invoicesync --version", [exe, "--version"]),
        ("invoicesync --help", [exe, "--help"]),
    ):
        ms = median_ms(cmd, args.runs)
        rows.append([label, f"{ms:.0f}", f"{ms / base:.1f}"])
    print(f"startup — {_world.machine()}; median of {args.runs} runs")
    print(_world.table(["command", "ms", "x python -c pass"], rows))


if __name__ == "__main__":
    main()
