"""Local scale: loading 50,000 source invoices, and listing and planning over 100,000 links.

python benchmarks/store_and_sources.py [--invoices 50000] [--links 100000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import _world

from invoicesync.qbo import query as qq
from invoicesync.sources import open_source
from invoicesync.sources.csv_format import write_csv
from invoicesync.store import Store, now_iso


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=50_000)
    parser.add_argument("--links", type=int, default=100_000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        records = _world.invoices(args.invoices)
        json_path = _world.write_json(work / "month.json", records)
        invoices, secs = timed(lambda: open_source(json_path).invoices())
        rows.append(
            [
                f"load + validate {len(invoices):,} invoices (JSON, {json_path.stat().st_size / 1e6:.0f} MB)",
                f"{secs:.2f}",
                f"{len(invoices) / secs:,.0f}/s",
            ]
        )
        csv_path = work / "month.csv"
        csv_path.write_text(write_csv(invoices), encoding="utf-8")
        again, secs = timed(lambda: open_source(csv_path).invoices())
        assert again == invoices
        rows.append(
            [
                f"load + validate {len(again):,} invoices (CSV, {csv_path.stat().st_size / 1e6:.0f} MB)",
                f"{secs:.2f}",
                f"{len(again) / secs:,.0f}/s",
            ]
        )

        store = Store.open(work / "state.db")
        stamp = now_iso()
        with store.transaction() as db:
            db.executemany(
                "INSERT INTO links (realm_id, invoice_number, qbo_id, doc_number, origin, linked_at, "
                "sync_token, total, currency, marker_written) VALUES (?,?,?,?,?,?,?,?,?,?)",
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
                for part in qq.chunks([ln.qbo_id for ln in links])
            ]
        )
        rows.append(
            [f"plan reconcile over {len(links):,} links ({len(plan)} queries)", f"{secs:.2f}", ""]
        )
        _counts, secs = timed(lambda: store.count_links(_world.REALM))
        rows.append(["count links (what `status` reads)", f"{secs:.3f}", ""])
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"store_and_sources — {_world.machine()}; peak RSS {peak:.0f} MB")
    print(_world.table(["what", "seconds", "rate"], rows))


if __name__ == "__main__":
    main()
