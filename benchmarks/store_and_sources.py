"""Local scale: loading and validating sources of 10,000 and 100,000 invoices (JSON and CSV,
each in a fresh process: seconds, CPU seconds, peak RSS, cost per invoice, beside the goals),
and listing and planning over 100,000 links.

python benchmarks/store_and_sources.py [--invoices 10000,100000] [--links 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import _world

from invoicesync.sources import open_source
from invoicesync.sources.csv_format import write_csv
from invoicesync.store import Store, now_iso
from invoicesync.targets.quickbooks.api import query as qq


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


GOAL_SECONDS = 4.0  # the goal: 100,000 invoices validated in under 4 s and 300 MB
GOAL_MB = 300


def peak_mb() -> float:
    """This process's peak RSS. On Linux from VmHWM: `ru_maxrss` of an exec'd child starts
    from its parent's peak at fork, which would count the benchmark's own data."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_in_this_process(path: str) -> None:
    """Child mode: load one source and print what it cost, as JSON."""
    wall, cpu = time.perf_counter(), time.process_time()
    invoices = open_source(Path(path)).invoices()
    print(
        json.dumps(
            {
                "n": len(invoices),
                "seconds": time.perf_counter() - wall,
                "cpu": time.process_time() - cpu,
                "peak_mb": peak_mb(),
            }
        )
    )


def measure_load(path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--load", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def source_rows(sizes: list[int], work: Path) -> list[list[str]]:
    """Each size in JSON and CSV, each load in a fresh process (peak RSS is the whole process:
    interpreter, text and invoices)."""
    rows = []
    per_invoice: dict[str, list[float]] = {}
    for n in sizes:
        json_path = _world.write_json(work / f"month-{n}.json", _world.invoices(n))
        csv_path = work / f"month-{n}.csv"
        csv_path.write_text(write_csv(open_source(json_path).invoices()), encoding="utf-8")
        for fmt, path in (("JSON", json_path), ("CSV", csv_path)):
            got = measure_load(path)
            assert got["n"] == n
            per_invoice.setdefault(fmt, []).append(got["cpu"] / n * 1e6)
            goal = n >= 100_000
            rows.append(
                [
                    f"load + validate {n:,} invoices ({fmt}, {path.stat().st_size / 1e6:.0f} MB)",
                    f"{got['seconds']:.2f}" + (f" (goal < {GOAL_SECONDS:.0f})" if goal else ""),
                    f"{got['cpu']:.2f}",
                    f"{got['peak_mb']:.0f}" + (f" (goal < {GOAL_MB})" if goal else ""),
                    f"{got['cpu'] / n * 1e6:.1f} µs",
                ]
            )
    for fmt, costs in per_invoice.items():
        if len(costs) > 1:
            rows.append(
                [f"{fmt}: CPU per invoice at the largest size / the smallest", "", "", "",
                 f"{costs[-1] / costs[0]:.2f}× (goal: flat, ≈ 1)"]
            )  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", default="10000,100000", help="source sizes, comma-separated")
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--load", help=argparse.SUPPRESS)  # child mode: load one source
    args = parser.parse_args()
    if args.load:
        load_in_this_process(args.load)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sizes = [int(n) for n in args.invoices.split(",")]
        print(f"store_and_sources — {_world.machine()}; load average {os.getloadavg()[0]:.1f}")
        print(_world.table(["source", "seconds", "CPU s", "peak MB", "CPU/invoice"],
                           source_rows(sizes, work)))  # fmt: skip
        print()

        store = Store.open(work / "state.db")
        stamp = now_iso()
        with store.transaction() as db:
            db.executemany(
                "INSERT INTO links (account, invoice_number, remote_id, doc_number, origin, linked_at, "
                "version, total, currency, marker_written) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        _world.REALM,
                        f"L-{i:07d}",
                        str(i + 1),
                        f"L-{i:07d}",
                        "pushed",
                        stamp,
                        "0",
                        str(Decimal(i) / 100),
                        "USD",
                        1,
                    )
                    for i in range(args.links)
                ],
            )
        links, secs = timed(lambda: store.links(_world.REALM))
        rows.append(
            [
                f"list {len(links):,} links (what `invoices` reads)",
                f"{secs:.2f}",
                f"{len(links) / secs:,.0f}/s",
            ]
        )
        plan, secs = timed(
            lambda: [
                qq.select("Invoice", [("Id", "IN", part)])
                for part in qq.chunks([ln.remote_id for ln in links])
            ]
        )
        rows.append(
            [f"plan reconcile over {len(links):,} links ({len(plan)} queries)", f"{secs:.2f}", ""]
        )
        _counts, secs = timed(lambda: store.count_links(_world.REALM))
        rows.append(["count links (what `status` reads)", f"{secs:.3f}", ""])
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"links — peak RSS {peak:.0f} MB")
    print(_world.table(["what", "seconds", "rate"], rows))


if __name__ == "__main__":
    main()
