"""`payments` and `reconcile` over many links: requests against the goal of at most
one per 500 links plus paging, with QuickBooks' limits on and 150 ± 50 ms of latency. A
"further page" is a query request for the next page of the same statement (`startposition`
above 1); the goal counts the other requests.

The invoices are pushed first with every limit off (not measured); then four in five of them
are paid in the sandbox (one payment each, a fifth of those in two parts), and each command
runs as the real use case in its own child process.

    python benchmarks/after_push_reads.py [--links 5000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import _world

LATENCY_MS, JITTER_MS = 150.0, 50.0
FURTHER_PAGE = re.compile(r"startposition (?!1 )\d+", re.IGNORECASE)
CONFIG = '[push]\nwriters = "one"\ndoc_numbers = "qbo"\n'


def child(mode: str, source: Path) -> None:
    from invoicesync.config import load_settings
    from invoicesync.sources import open_source
    from invoicesync.targets.quickbooks.api.client import Limits, QBOClient, RateLimiter
    from invoicesync.usecases.payments import payments
    from invoicesync.usecases.push import PushRequest, push
    from invoicesync.usecases.reconcile import reconcile
    from invoicesync.usecases.session import session

    limiter = RateLimiter(Limits.off() if mode == "seed" else Limits())

    def factory(**kw: Any) -> QBOClient:
        return QBOClient(limiter=limiter, **kw)

    settings = load_settings()
    local = open_source(source).invoices() if mode == "seed" else []
    started, cpu = time.perf_counter(), time.process_time()
    with session(settings, client_factory=factory) as s:
        if mode == "seed":
            failed = len(push(s, local, PushRequest(all_=True)).failed)
        elif mode == "payments":
            report = payments(s)
            failed = sum(1 for r in report.invoices if r.state == "deleted")
        else:
            failed = sum(1 for d in reconcile(s).drifts if d.state == "deleted")
    json.dump(
        {
            "elapsed": time.perf_counter() - started,
            "cpu": time.process_time() - cpu,
            "failed": failed,
        },
        sys.stdout,
    )


def pay(company: Any) -> int:
    """Four in five invoices paid; every fifth of those in two payments. Returns payments."""
    made = 0
    for i, invoice_id in enumerate(sorted(company.entities["Invoice"], key=int)):
        if i % 5 == 4:
            continue
        if i % 5 == 0:
            half = (Decimal(company.entities["Invoice"][invoice_id]["Balance"]) / 2).quantize(
                Decimal("0.01")
            )
            company.record_payment(invoice_id, half, method="Check", reference=f"C-{i}")
            made += 1
        company.record_payment(invoice_id, method="Check", reference=f"R-{i}")
        made += 1
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=5000)
    parser.add_argument("--child")
    parser.add_argument("--source")
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.source))
        return
    from invoicesync.targets.quickbooks.sandbox import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        Faults,
        RateLimits,
        Sandbox,
        start_in_thread,
    )
    from invoicesync.targets.quickbooks.settings import local_environment

    n = args.links
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sandbox = Sandbox(
            [_world.company_toml(work / "company.toml")],
            limits=RateLimits(enabled=False),
            faults=Faults(latency_ms=LATENCY_MS, jitter_ms=JITTER_MS),
        )
        server = start_in_thread(sandbox)
        grant = sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, _world.REALM)
        source = _world.write_json(work / "invoices.json", _world.invoices(n))
        home = work / "home"
        home.mkdir()
        (home / "config.toml").write_text(CONFIG, encoding="utf-8")
        env = {
            **os.environ,
            "INVOICESYNC_HOME": str(home),
            **local_environment(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            "INVOICESYNC_REALM_ID": _world.REALM,
            "INVOICESYNC_REFRESH_TOKEN": grant.refresh_token,
            "INVOICESYNC_TOKEN_FILE": str(home / "tokens.json"),
        }

        def run(mode: str) -> dict[str, Any]:
            cmd = [sys.executable, __file__, "--child", mode, "--source", str(source)]
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE)
            _, status, _ = os.wait4(proc.pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0, mode
            return dict(json.loads(proc.stdout.read() if proc.stdout else b"{}"))

        try:
            assert run("seed")["failed"] == 0
            company = sandbox.company(_world.REALM)
            paid = pay(company)
            sandbox.limits.enabled = True
            for mode in ("payments", "reconcile"):
                sandbox.requests.clear()
                result = run(mode)
                api = [e for e in sandbox.requests if e.kind not in ("oauth", "admin", "other")]
                kinds: dict[str, int] = {}
                for e in api:
                    kinds[e.kind] = kinds.get(e.kind, 0) + 1
                pages = sum(bool(FURTHER_PAGE.search(e.query.get("query", e.body))) for e in api)
                goal = math.ceil(n / 500)
                rows.append(
                    [
                        mode,
                        f"{n:,}",
                        f"{paid:,}" if mode == "payments" else "-",
                        len(api),
                        ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())),
                        pages,
                        sum(e.throttled for e in api),
                        f"<= {goal} + further pages",
                        "met" if len(api) - pages <= goal else "MISSED",
                        f"{result['elapsed']:.1f}",
                        f"{result['cpu']:.1f}",
                        result["failed"],
                    ]
                )
        finally:
            server.shutdown()
            server.server_close()
    print(
        f"after_push_reads — {_world.machine()}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"load average {os.getloadavg()[0]:.1f}; latency {LATENCY_MS:g}±{JITTER_MS:g} ms, "
        "QBO limits on"
    )
    headers = ["command", "links", "payments", "requests", "by kind", "further pages", "429s"]
    headers += ["goal", ""]
    headers += ["seconds", "CPU s", "deleted"]
    print(_world.table(headers, rows))


if __name__ == "__main__":
    main()
