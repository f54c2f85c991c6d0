"""Push throughput at QuickBooks's limits, against a typical integration, with peak memory.

The sandbox enforces QBO's real per-realm limits (10/s, 500/min, 40 batch/min, 10 concurrent)
on a clock that may run faster than real time, with 150 ± 50 ms of latency on that same clock.
Every figure is given in sandbox time (what it would take against QuickBooks) and in real
seconds. A faster clock also multiplies our own CPU time, so our runs use real time where that
is affordable (x1 up to 1,000 invoices, x5 for 5,000); the typical integration, bound by the
limits rather than CPU, runs at x20. Each run happens in a child process so its peak RSS can be
read.

    python benchmarks/push_throughput.py [--sizes 100,1000,5000] [--baseline-max 1000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import _world

LATENCY_MS, JITTER_MS = 150.0, 50.0
QBO = {"per_second": 10, "per_minute": 500, "batch_per_minute": 40, "concurrent": 10}


def floor_seconds(batch: int, other: int, latency: float) -> float:
    """The least sandbox time QBO's limits allow for this many requests."""
    total = batch + other
    return (
        max(
            total / QBO["per_second"],
            (math.ceil(batch / QBO["batch_per_minute"]) - 1) * 60.0,
            (math.ceil(total / QBO["per_minute"]) - 1) * 60.0,
            total * latency / QBO["concurrent"],
        )
        + latency
    )


# --- child: one run --------------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    from invoicesync.config import load_settings
    from invoicesync.qbo import errors as qerr
    from invoicesync.qbo import query as qq
    from invoicesync.qbo.client import Limits, QBOClient, RateLimiter, RetryPolicy
    from invoicesync.sources import open_source
    from invoicesync.usecases.push import PushRequest, push
    from invoicesync.usecases.session import session

    scale = args.scale
    limiter = RateLimiter(Limits(time_scale=scale))
    retry = RetryPolicy(throttle_wait=60.0 / scale, base_delay=0.5 / scale, max_delay=8.0 / scale)

    def factory(**kw: Any) -> QBOClient:
        return QBOClient(limiter=limiter, retry=retry, **kw)

    settings = load_settings()
    local = open_source(Path(args.source)).invoices()
    started = time.perf_counter()
    with session(settings, client_factory=factory) as s:
        if args.mode == "ours":
            report = push(s, local, PushRequest(all_=True))
            failed = len(report.failed)
        else:  # a typical integration: per-invoice lookups, sequential single creates
            failed = 0
            for inv in local:
                customer = s.client.query(
                    qq.select("Customer", [("DisplayName", "=", inv.customer.name)])
                )
                items = {}
                for line in inv.lines:
                    rows = s.client.query(qq.select("Item", [("Name", "=", line.service)]))
                    items[line.service] = rows[0]["Id"]
                payload = {
                    "CustomerRef": {"value": customer[0]["Id"]},
                    "DocNumber": inv.number,
                    "TxnDate": inv.issue_date.isoformat(),
                    "Line": [
                        {
                            "DetailType": "SalesItemLineDetail",
                            "Amount": ln.amount,
                            "SalesItemLineDetail": {
                                "ItemRef": {"value": items[ln.service]},
                                "Qty": ln.quantity,
                                "UnitPrice": ln.unit_price,
                            },
                        }
                        for ln in inv.lines
                    ],
                }
                try:
                    s.client.create("Invoice", payload, requestid=f"base-{inv.number}")
                except qerr.QBOError:
                    failed += 1
    elapsed = time.perf_counter() - started
    json.dump({"elapsed": elapsed, "failed": failed, "waited": limiter.waited}, sys.stdout)


# --- parent ----------------------------------------------------------------------------------


def run(mode: str, n: int, scale: float, work: Path) -> dict[str, Any]:
    from invoicesync.config import local_environment
    from invoicesync.sandbox import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        Faults,
        Limits,
        Sandbox,
        start_in_thread,
    )

    company = _world.company_toml(work / "company.toml")
    sandbox = Sandbox(
        [company],
        time_scale=scale,
        limits=Limits(enabled=True),
        faults=Faults(latency_ms=LATENCY_MS / scale, jitter_ms=JITTER_MS / scale),
    )
    server = start_in_thread(sandbox)
    grant = sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, _world.REALM)
    source = _world.write_json(work / f"invoices-{n}.json", _world.invoices(n))
    home = work / f"home-{mode}-{n}"
    env = {
        **os.environ,
        "INVOICESYNC_HOME": str(home),
        **local_environment(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        "INVOICESYNC_REALM_ID": _world.REALM,
        "INVOICESYNC_REFRESH_TOKEN": grant.refresh_token,
        "INVOICESYNC_TOKEN_FILE": str(home / "tokens.json"),
    }
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--scale",
                str(scale),
                "--source",
                str(source),
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        result = json.loads(proc.stdout.read() if proc.stdout else "{}")
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        server.shutdown()
        server.server_close()
    api = [e for e in sandbox.requests if e.kind not in ("oauth", "admin", "other")]
    kinds: dict[str, int] = {}
    for e in api:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    batch = kinds.get("batch", 0)
    created = len(sandbox.company(_world.REALM).entities["Invoice"])
    return {
        "mode": mode,
        "n": n,
        "real": result["elapsed"],
        "sandbox": result["elapsed"] * scale,
        "requests": len(api),
        "kinds": kinds,
        "throttled": sum(e.throttled for e in api),
        "created": created,
        "failed": result["failed"],
        "rss_mb": usage.ru_maxrss / 1024,
        "floor": floor_seconds(batch, len(api) - batch, LATENCY_MS / 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--scale", type=float, default=1.0)  # child only
    parser.add_argument("--ours-scale", default="100:1,1000:1,5000:5")
    parser.add_argument("--baseline-scale", type=float, default=20.0)
    parser.add_argument("--baseline-max", type=int, default=1000)
    parser.add_argument("--child")
    parser.add_argument("--source")
    args = parser.parse_args()
    if args.child:
        args.mode = args.child
        child(args)
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    ours_scale = {int(k): float(v) for k, v in (p.split(":") for p in args.ours_scale.split(","))}
    rows = []
    results: dict[tuple[str, int], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            for mode in ("ours", "baseline"):
                if mode == "baseline" and n > args.baseline_max:
                    continue
                scale = args.baseline_scale if mode == "baseline" else ours_scale.get(n, 5.0)
                r = run(mode, n, scale, Path(tmp))
                results[(mode, n)] = r
                kinds = ", ".join(f"{k} {v}" for k, v in sorted(r["kinds"].items()))
                ratio = r["sandbox"] / r["floor"] if mode == "ours" else float("nan")
                rows.append(
                    [
                        mode,
                        n,
                        f"x{scale:g}",
                        f"{r['sandbox'] / 60:.2f}",
                        f"{r['real']:.1f}",
                        r["requests"],
                        kinds,
                        r["throttled"],
                        f"{r['requests'] / n:.2f}",
                        f"{r['floor'] / 60:.2f}",
                        f"{ratio:.2f}" if mode == "ours" else "-",
                        f"{r['rss_mb']:.0f}",
                        r["created"],
                        r["failed"],
                    ]
                )
                print(f"  done: {mode} N={n}", file=sys.stderr)
    print(
        f"push_throughput — {_world.machine()}; "
        f"latency {LATENCY_MS:g}±{JITTER_MS:g} ms (sandbox time), QBO limits on"
    )
    print(
        _world.table(
            [
                "run",
                "N",
                "clock",
                "sandbox min",
                "real s",
                "requests",
                "by kind",
                "429s",
                "req/invoice",
                "floor min",
                "x floor",
                "peak RSS MB",
                "created",
                "failed",
            ],
            rows,
        )
    )
    for n in sizes:
        if ("baseline", n) in results:
            base, ours = results[("baseline", n)], results[("ours", n)]
            print(
                f"speed-up over the typical integration at N={n}: "
                f"{base['sandbox'] / ours['sandbox']:.1f}x measured; "
                f"{base['floor'] / ours['sandbox']:.1f}x against the integration's own floor"
            )


if __name__ == "__main__":
    main()
