"""`push INV-x` twenty times in a shell loop, with QuickBooks' real limits on.

Each push is the real CLI in its own process against a loopback sandbox with the published
limits and 150 ± 50 ms latency. The first push finds a cold home (full pre-flight); the others
find the cached catalog and refresh it with one CDC request. Goals: at most 4 API requests per
warm push, 0 throttles over the loop.

    python benchmarks/single_push_loop.py [--pushes 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import _world


def main() -> None:
    from invoicesync.targets.quickbooks.sandbox import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        Faults,
        RateLimits,
        Sandbox,
        start_in_thread,
    )
    from invoicesync.targets.quickbooks.settings import local_environment

    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=20)
    args = parser.parse_args()
    exe = str(Path(sys.executable).parent / "invoicesync")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sandbox = Sandbox(
            [_world.company_toml(work / "company.toml")],
            limits=RateLimits(enabled=True),
            faults=Faults(latency_ms=150, jitter_ms=50),
        )
        server = start_in_thread(sandbox)
        grant = sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, _world.REALM)
        source = _world.write_json(work / "invoices.json", _world.invoices(args.pushes))
        home = work / "home"
        env = {
            **os.environ,
            "INVOICESYNC_HOME": str(home),
            **local_environment(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            "INVOICESYNC_REALM_ID": _world.REALM,
            "INVOICESYNC_REFRESH_TOKEN": grant.refresh_token,
            "INVOICESYNC_TOKEN_FILE": str(home / "tokens.json"),
            "INVOICESYNC_SOURCE": str(source),
        }
        per_push: list[int] = []
        walls: list[float] = []
        kinds: dict[str, int] = {}
        try:
            for i in range(args.pushes):
                before = len(sandbox.requests)
                start = time.perf_counter()
                done = subprocess.run(
                    [exe, "--quiet", "push", f"B-{i:06d}"], env=env, capture_output=True
                )
                walls.append(time.perf_counter() - start)
                assert done.returncode == 0, done.stderr
                api = [e for e in sandbox.requests[before:] if e.kind not in ("oauth", "admin")]
                per_push.append(len(api))
                if i > 0:
                    for e in api:
                        kinds[e.kind] = kinds.get(e.kind, 0) + 1
        finally:
            server.shutdown()
            server.server_close()
        throttled = sum(e.throttled for e in sandbox.requests)
    warm = per_push[1:]
    print(
        f"single_push_loop — {_world.machine()}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"load average {os.getloadavg()[0]:.1f}; latency 150±50 ms, QBO limits on"
    )
    rows = [
        ["cold push (first)", per_push[0], "-", f"{walls[0]:.2f}", "-"],
        [
            f"warm pushes ({len(warm)})",
            f"max {max(warm)}",
            "<= 4",
            f"median {statistics.median(walls[1:]):.2f}",
            "met" if max(warm) <= 4 else "MISSED",
        ],
        [
            "429s over the loop",
            throttled,
            "0",
            f"total {sum(walls):.1f}",
            "met" if throttled == 0 else "MISSED",
        ],
    ]
    print(_world.table(["what", "API requests", "goal", "wall s", ""], rows))
    print("warm requests by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


if __name__ == "__main__":
    main()
