"""Push throughput at QuickBooks's limits, in each safety mode, against a typical integration.

The sandbox enforces QBO's real per-realm limits (10/s, 500/min, 40 batch/min of 30 — batches
count against the 500 too — and 10 concurrent) with 150 ± 50 ms of latency per request.

Modes (docs/performance.md):
  one       one home, `[push] writers = "one"`, QuickBooks numbers the invoices: batches, and
            single creates with what the 40 batches a minute leave of the 500 requests
  many      several hosts without a shared state, QuickBooks numbers: each invoice alone plus
            one copy-check query per 30 (nothing else is safe)
  pg        a shared PostgreSQL state (`state_url`, writers = "one"): as `one`
  baseline  a typical integration: per invoice, look up the customer and each item by name,
            then create the invoice alone; sequential
  one-warm, pg-warm
            as `one` and `pg` on a home that has pushed before (one invoice, not measured): the
            access token is still valid and the catalog cached, as for any run within the hour
            after another; the others start from a fresh home (token refresh, full pre-flight)
  update    `push --all --update` of N edited invoices pushed before (one home, warm cache):
            the linked invoices read by `Id IN (...)`, the edits sent as batches of 30 sparse
            updates (always safe: each is bound to its SyncToken)

"floor" is the least time QuickBooks' limits allow for that mode's work, found by sending
greedily on a 0.1 s grid: fixed start-up requests first, then a batch whenever the batch
window has room (batch modes), otherwise one single create, never more than 10 a second or
500 (40 batches) in any minute; plus one latency for the last answer. The 10-concurrent limit
does not bind at this latency (10 / 0.15 s = 66 requests a second).

Every run happens in a child process (its peak RSS and CPU seconds are read). A run's clock is
x1 (real time) unless `--scale` says otherwise; a faster clock multiplies the run's CPU time
in sandbox time, so a baseline is compared only with a run at its own clock.

    python benchmarks/push_throughput.py [--sizes 1000,5000] [--modes one,many,pg]
        [--baseline 100] [--updates 1000] [--warm 1000] [--scale many:5000:5]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
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
BATCH = 30
GOAL = 1.1  # x floor


def floor_seconds(n: int, fixed: int, *, batches: bool, checks: bool, latency: float) -> float:
    """The least time QuickBooks' limits allow: `fixed` requests, then `n` invoices."""
    slot = 1.0 / QBO["per_second"]
    sent: list[tuple[float, bool]] = []  # (time, is batch)
    left, fixed_left, singles = n, fixed, 0
    t = 0.0
    while left > 0 or fixed_left > 0:
        minute = [b for s, b in sent if s > t - 60.0]
        if len(minute) < QBO["per_minute"]:
            if fixed_left > 0:
                fixed_left, is_batch = fixed_left - 1, False
            elif batches and left > 1 and sum(minute) < QBO["batch_per_minute"]:
                left, is_batch = left - min(BATCH, left), True
            else:
                left, is_batch = left - 1, False
                singles += 1
                if checks and (singles % BATCH == 0 or left == 0):
                    fixed_left += 1  # the copy check for this group of singles
            sent.append((t, is_batch))
        t = round(t + slot, 6)
    return sent[-1][0] + latency if sent else 0.0


# --- child: one run --------------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    from invoicesync.config import load_settings
    from invoicesync.sources import open_source
    from invoicesync.targets.quickbooks.api.client import (
        Limits,
        QBOClient,
        RateLimiter,
        RetryPolicy,
    )
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
    cpu = time.process_time()
    with session(settings, client_factory=factory) as s:
        if args.mode == "baseline":
            failed = typical_integration(s, local)
        else:
            request = PushRequest(all_=True, update=args.mode == "update")
            failed = len(push(s, local, request).failed)
    out = {
        "t0": started,  # perf_counter is CLOCK_MONOTONIC: comparable with the parent's
        "elapsed": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "failed": failed,
        "waited": limiter.waited,
    }
    json.dump(out, sys.stdout)


def typical_integration(s: Any, local: Any) -> int:
    """Per invoice: the customer and each item looked up by name, then a single create."""
    from invoicesync.targets.quickbooks.api import errors as qerr
    from invoicesync.targets.quickbooks.api import query as qq

    failed = 0
    for inv in local:
        customer = s.client.query(qq.select("Customer", [("DisplayName", "=", inv.customer.name)]))
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
    return failed


# --- parent ----------------------------------------------------------------------------------

CONFIG = {
    "one": '[push]\nwriters = "one"\ndoc_numbers = "qbo"\n',
    "many": '[push]\nwriters = "many"\ndoc_numbers = "qbo"\n',
    "pg": '[push]\nwriters = "one"\ndoc_numbers = "qbo"\n',
    "baseline": "",
    "update": '[push]\nwriters = "one"\ndoc_numbers = "qbo"\n',
}


def edited(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same invoices with one more unit on each first line: every one is an edit."""
    out = json.loads(json.dumps(records))
    for r in out:
        r["lines"][0]["quantity"] = str(int(r["lines"][0]["quantity"]) + 1)
    return out


def run(mode: str, n: int, scale: float, work: Path, pg_url: str | None) -> dict[str, Any]:
    from invoicesync.targets.quickbooks.sandbox import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        Faults,
        RateLimits,
        Sandbox,
        start_in_thread,
    )
    from invoicesync.targets.quickbooks.settings import local_environment

    company = _world.company_toml(work / "company.toml")
    sandbox = Sandbox(
        [company],
        time_scale=scale,
        limits=RateLimits(enabled=True),
        faults=Faults(latency_ms=LATENCY_MS / scale, jitter_ms=JITTER_MS / scale),
    )
    server = start_in_thread(sandbox)
    grant = sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, _world.REALM)
    source = work / f"invoices-{n}.json"
    if not source.exists():
        _world.write_json(source, _world.invoices(n))
    home = work / f"home-{mode}-{n}"
    home.mkdir()
    base = mode.removesuffix("-warm")
    (home / "config.toml").write_text(CONFIG[base], encoding="utf-8")
    env = {
        **os.environ,
        "INVOICESYNC_HOME": str(home),
        **local_environment(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        "INVOICESYNC_REALM_ID": _world.REALM,
        "INVOICESYNC_REFRESH_TOKEN": grant.refresh_token,
        "INVOICESYNC_TOKEN_FILE": str(home / "tokens.json"),
    }
    if base == "pg" and pg_url:
        env["INVOICESYNC_STATE_URL"] = pg_url
    try:
        if base != mode:  # warm: one invoice pushed first, its requests out of every window
            sandbox.limits.enabled = False
            warm_up = _world.write_json(work / "warm.json", _world.invoices(1, prefix="W"))
            _child(base, scale, warm_up, env)
            sandbox.requests.clear()
            time.sleep(1.1 / scale)
            sandbox.limits.enabled = True
        if mode == "update":  # the invoices pushed first, without limits, and then edited
            sandbox.limits.enabled = False
            _child("one", scale, source, env)
            source = _world.write_json(work / f"edited-{n}.json", edited(_world.invoices(n)))
            shutil.rmtree(home / "budget", ignore_errors=True)
            sandbox.requests.clear()
            sandbox.limits.enabled = True
        result, usage = _child(base, scale, source, env)
    finally:
        server.shutdown()
        server.server_close()
    api = [e for e in sandbox.requests if e.kind not in ("oauth", "admin", "other")]
    kinds: dict[str, int] = {}
    for e in api:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    batches = base in ("one", "pg", "update")
    checks = math.ceil(n / BATCH) if base == "many" else 0
    creates = kinds.get("batch", 0) + kinds.get("invoice", 0)  # or updates
    fixed = len(api) - creates - checks
    latency = LATENCY_MS / 1000
    if mode == "baseline":  # its own floor: its requests at 500 a minute, one at a time
        floor = max(len(api) / QBO["per_second"], (math.ceil(len(api) / 500) - 1) * 60.0)
        floor = max(floor, len(api) * latency) + latency
    else:
        floor = floor_seconds(n, fixed, batches=batches, checks=base == "many", latency=latency)
    return {
        "mode": mode,
        "n": n,
        "scale": scale,
        "real": result["elapsed"],
        "t0": result["t0"],
        "cpu": result["cpu"],
        "sandbox": result["elapsed"] * scale,
        "requests": len(api),
        "kinds": kinds,
        "throttled": sum(e.throttled for e in api),
        "created": len(sandbox.company(_world.REALM).entities["Invoice"]),
        "failed": result["failed"],
        "rss_mb": usage.ru_maxrss / 1024,
        "floor": floor,
    }


def _child(mode: str, scale: float, source: Path, env: dict[str, str]) -> tuple[Any, Any]:
    """One run in a child process: what it printed, and its resource usage."""
    cmd = [sys.executable, __file__, "--child", mode, "--scale", str(scale)]
    proc = subprocess.Popen([*cmd, "--source", str(source)], env=env, stdout=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    result = json.loads(proc.stdout.read() if proc.stdout else b"{}")
    assert os.waitstatus_to_exitcode(status) == 0
    return result, usage


def fresh_schema(pg_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return pg_url + f"&options=-csearch_path%3D{name}"


def row(r: dict[str, Any]) -> list[Any]:
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(r["kinds"].items()))
    ratio = r["sandbox"] / r["floor"]
    ours = r["mode"] != "baseline"
    verdict = ("met" if ratio <= GOAL and r["throttled"] == 0 else "MISSED") if ours else "-"
    return [
        r["mode"],
        f"{r['n']:,}",
        f"x{r['scale']:g}",
        f"{r['sandbox']:.1f}",
        f"{r['cpu']:.1f}",
        f"{r['requests']:,}",
        kinds,
        r["throttled"],
        f"{r['floor']:.1f}",
        f"{ratio:.2f}",
        f"<= {GOAL}x, 0 429s" if ours else "-",
        verdict,
        f"{r['rss_mb']:.0f}",
        f"{r['created']:,}",
        r["failed"],
    ]


HEADERS = [
    "mode",
    "N",
    "clock",
    "sandbox s",
    "CPU s",
    "requests",
    "by kind",
    "429s",
    "floor s",
    "x floor",
    "goal",
    "",
    "peak RSS MB",
    "created",
    "failed",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--modes", default="one,many,pg")
    parser.add_argument("--baseline", default="100", help="sizes for the typical integration")
    parser.add_argument("--updates", default="1000", help="sizes for push --update")
    parser.add_argument("--warm", default="1000", help="sizes for one-warm and pg-warm")
    parser.add_argument("--scale", default="", help="mode:N:scale,... (default x1 everywhere)")
    parser.add_argument("--child")
    parser.add_argument("--source")
    args = parser.parse_args()
    if args.child:
        args.mode = args.child
        args.scale = float(args.scale)
        child(args)
        return
    scales = {
        (m, int(n)): float(x) for m, n, x in (p.split(":") for p in args.scale.split(",") if p)
    }
    plan = [(m, int(n)) for n in args.sizes.split(",") if n for m in args.modes.split(",")]
    for n in (int(x) for x in args.baseline.split(",") if x):
        plan += [("one", n), ("baseline", n)]
    for n in (int(x) for x in args.warm.split(",") if x):
        plan += [(f"{m}-warm", n) for m in args.modes.split(",") if m in ("one", "pg")]
    plan += [("update", int(n)) for n in args.updates.split(",") if n]
    results: dict[tuple[str, int], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp, _pg_or_none("pg" in args.modes) as pg_url:
        for i, (mode, n) in enumerate(plan):
            url = fresh_schema(pg_url, f"run{i}") if mode.startswith("pg") and pg_url else None
            scale = scales.get((mode, n), 1.0)
            results[(mode, n)] = run(mode, n, scale, Path(tmp), url)
            print(f"  done: {mode} N={n}", file=sys.stderr)
    print(
        f"push_throughput — {_world.machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f"; load average {os.getloadavg()[0]:.1f}; latency {LATENCY_MS:g}±{JITTER_MS:g} ms, "
        "QBO limits on"
    )
    print(_world.table(HEADERS, [row(r) for r in results.values()]))
    for (mode, n), base in results.items():
        ours = results.get(("one", n))
        if mode == "baseline" and ours and ours["scale"] == base["scale"]:
            print(
                f"speed-up over the typical integration at N={n} (both at x{base['scale']:g}): "
                f"{base['sandbox'] / ours['sandbox']:.1f}x measured; "
                f"{base['floor'] / ours['sandbox']:.1f}x against the integration's own floor"
            )


def _pg_or_none(wanted: bool) -> Any:
    import contextlib

    if not wanted:
        return contextlib.nullcontext(None)
    import _pg

    return _pg.postgres()


if __name__ == "__main__":
    main()
