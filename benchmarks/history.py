"""The audit trail at scale: one invoice's history, the runs list, one run's events
and a run's finish row (its counts), over 100,000 links, a million events and 10,000 runs, on
SQLite and (with --postgres) on a throw-away PostgreSQL 16.

python benchmarks/history.py [--links 100000] [--events 1000000] [--runs 10000] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from invoicesync.store import SQLiteStore, runs
from invoicesync.store.sql import SqlStore

REALM = "9130350000000001"
KINDS = ["pushed", "update done", "send-done", "attach-done", "void done"]


def run_id(n: int) -> str:
    return f"{n:032x}"


def rows(links: int, events: int, n_runs: int) -> Iterator[tuple[Any, ...]]:
    """`events` events over `links` invoices, spread over `n_runs` runs, in time order."""
    for i in range(events):
        number = f"INV-{i % links:06d}"
        at = f"2026-{1 + i * 12 // events:02d}-01T00:00:{i % 60:02d}+00:00"
        detail = json.dumps({"remote_id": str(i % links), "kind": "invoice", "request_id": "r"})
        yield (
            at,
            REALM,
            number,
            KINDS[i // links % len(KINDS)],
            detail,
            run_id(i % n_runs),
            "h",
            "u",
        )


def fill(store: SqlStore, links: int, events: int, n_runs: int) -> None:
    with store.transaction():
        cur = store.connection.cursor()
        mark = "?" if isinstance(store, SQLiteStore) else "%s"
        cur.executemany(
            "INSERT INTO links (account, invoice_number, remote_id, origin, linked_at, kind) "
            f"VALUES ({mark}, {mark}, {mark}, 'pushed', '2026-01-01', 'invoice')",
            [(REALM, f"INV-{i:06d}", str(i)) for i in range(links)],
        )
        cur.executemany(
            "INSERT INTO runs (run_id, command, started_at, host, username, finished_at, "
            f"exit_code, counts) VALUES ({', '.join([mark] * 8)})",
            [
                (run_id(r), "push --all", f"2026-01-01T00:00:00.{r:06d}+00:00", "h", "u",
                 "2026-01-01T00:01:00+00:00", 0, '{"created": 100}')
                for r in range(n_runs)
            ],
        )  # fmt: skip
        cur.executemany(
            "INSERT INTO events (at, account, invoice_number, kind, detail, run_id, host, "
            f"username) VALUES ({', '.join([mark] * 8)})",
            rows(links, events, n_runs),
        )
    if isinstance(store, SQLiteStore):
        store.connection.execute("ANALYZE")
    else:
        store._exec("ANALYZE")


def median_ms(fn: Callable[[], object], times: int = 20) -> float:
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        fn()
        spent.append((time.perf_counter() - start) * 1000)
    return statistics.median(spent)


def measure(store: SqlStore, links: int, n_runs: int) -> dict[str, float]:
    one = f"INV-{links // 2:06d}"
    finishing = runs.Run("push", run_id=run_id(n_runs // 2))
    return {
        "history of one invoice": median_ms(lambda: store.history(REALM, [one])),
        "history of 10 invoices": median_ms(
            lambda: store.history(REALM, [f"INV-{i:06d}" for i in range(10)])
        ),
        "runs (latest 50)": median_ms(lambda: store.runs()),
        "runs --since (a day without runs)": median_ms(lambda: store.runs("2026-12-01")),
        "runs show (prefix, events)": median_ms(
            lambda: store.run_events(store.run_record(run_id(7)[:12])[0].run_id)
        ),
        "a run's finish row (counts)": median_ms(lambda: store.finish_run(finishing, 0), 5),
    }


@contextmanager
def backend(name: str, work: Path) -> Iterator[SqlStore]:
    if name == "sqlite":
        store: SqlStore = SQLiteStore.open(work / "state.db")
        yield store
        store.close()
        return
    import _pg

    from invoicesync.store.postgres import PostgresStore

    with _pg.postgres() as url:
        pg = PostgresStore.open(url)
        assert pg is not None
        yield pg
        pg.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    names = ["sqlite", "postgresql"] if args.postgres else ["sqlite"]
    for name in names:
        with tempfile.TemporaryDirectory() as tmp, backend(name, Path(tmp)) as store:
            start = time.perf_counter()
            fill(store, args.links, args.events, args.runs)
            print(f"{name}: filled {args.links:,} links, {args.events:,} events, "
                  f"{args.runs:,} runs in {time.perf_counter() - start:.1f} s")  # fmt: skip
            for what, ms in measure(store, args.links, args.runs).items():
                print(f"  {what:32} {ms:8.2f} ms (median)")


if __name__ == "__main__":
    main()
