"""`invoices` over 100,000 source invoices, half of them linked: `--json`, piped
output, and a terminal (a pty). Each command is the real CLI in its own process: wall seconds,
CPU seconds and peak RSS beside the goals. The figures include loading and validating the
source (about 4 CPU seconds of the total at 100,000: benchmarks/store_and_sources.py).

    python benchmarks/invoices_listing.py [--invoices 100000]
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

sys.path.insert(0, str(Path(__file__).parent))

import _world

GOALS = {"--json": (5.0, 300), "piped": (5.0, 300), "terminal": (5.0, 300)}


def prepare(work: Path, n: int) -> None:
    """Child mode: the source and a state with every other invoice linked, each link with the
    fingerprint of what was written (so `invoices` works out `changed` for each, as it would)."""
    from invoicesync.sources import open_source
    from invoicesync.store import Store, now_iso

    source = _world.write_json(work / "invoices.json", _world.invoices(n))
    linked = open_source(source).invoices()[::2]
    store = Store.open(work / "home" / "state.db")
    stamp = now_iso()
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO links (account, invoice_number, remote_id, doc_number, origin, linked_at, "
            "version, total, currency, marker_written, fingerprint) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (_world.REALM, inv.number, str(i + 1), str(1000 + i), "pushed", stamp, "0",
                 str(inv.total), "USD", 1, inv.fingerprint())
                for i, inv in enumerate(linked)
            ],
        )  # fmt: skip
    store.close()


def run(cmd: list[str], env: dict[str, str], out: Path, tty: bool) -> tuple[float, float, float]:
    """Wall s, CPU s, peak RSS MB of one command, stdout to a file or a pty."""
    start = time.perf_counter()
    if tty:
        master, slave = os.openpty()
        proc = subprocess.Popen(cmd, env=env, stdout=slave, stderr=subprocess.DEVNULL)
        os.close(slave)
        sink = out.open("wb")

        def drain() -> None:
            while True:
                try:
                    data = os.read(master, 1 << 16)
                except OSError:
                    return
                if not data:
                    return
                sink.write(data)

        reader = threading.Thread(target=drain)
        reader.start()
    else:
        with out.open("wb") as sink:
            proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if tty:
        reader.join()
        os.close(master)
        sink.close()
    assert os.waitstatus_to_exitcode(status) == 0, cmd
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--prepare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(Path(args.prepare), args.invoices)
        return
    exe = str(Path(sys.executable).parent / "invoicesync")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cmd = [sys.executable, __file__, "--invoices", str(args.invoices), "--prepare", tmp]
        subprocess.run(cmd, check=True)  # in a child: this process stays small for ru_maxrss
        env = {
            **os.environ,
            "INVOICESYNC_HOME": str(work / "home"),
            "INVOICESYNC_REALM_ID": _world.REALM,
            "INVOICESYNC_SOURCE": str(work / "invoices.json"),
        }
        load = "from invoicesync.sources import open_source as o; import sys, pathlib; o(pathlib.Path(sys.argv[1])).invoices()"
        wall, cpu, mb = run([sys.executable, "-c", load, str(work / "invoices.json")], env,
                            work / "out-load", False)  # fmt: skip
        rows.append(["(loading the source alone)", f"{wall:.1f}", f"{cpu:.1f}", f"{mb:.0f}",
                     "-", "-", "-"])  # fmt: skip
        for label, argv, tty in (
            ("--json", ["invoices", "--json"], False),
            ("piped", ["invoices"], False),
            ("terminal", ["invoices"], True),
        ):
            out = work / f"out-{label}"
            wall, cpu, mb = run([exe, *argv], env, out, tty)
            secs, goal_mb = GOALS[label]
            ok = cpu <= secs and mb <= goal_mb
            size = out.stat().st_size / 1e6
            rows.append(
                [
                    f"invoices {label}",
                    f"{wall:.1f}",
                    f"{cpu:.1f}",
                    f"{mb:.0f}",
                    f"{size:.1f}",
                    f"< {secs:g} s, < {goal_mb} MB",
                    "met" if ok else "MISSED",
                ]
            )
    print(
        f"invoices_listing — {_world.machine()}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"load average {os.getloadavg()[0]:.1f}; {args.invoices:,} invoices, half linked"
    )
    print(
        _world.table(["command", "wall s", "CPU s", "peak MB", "output MB", "goal (CPU)", ""], rows)
    )


if __name__ == "__main__":
    main()
