"""Clients no one here wrote, from another language, against `invoicesync sandbox serve`.

node-quickbooks (the most used Node.js QuickBooks client) and intuit-oauth (Intuit's own
Node.js OAuth client) run as they are, installed from tests/sandbox/ecosystems/node's lock file
(`make node-drivers`, part of `make test`). Each driver script prints one JSON line per
operation; every operation is a test here, so a regression names the operation. Without
Node.js or the installed packages these tests are skipped and say why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.loopback

NODE_DIR = Path(__file__).parent / "ecosystems" / "node"
SERVE = [sys.executable, "-m", "invoicesync", "sandbox", "serve", "--port", "0"]

NODE_QUICKBOOKS = [
    "oauth.refresh",
    *(f"companyinfo.{op}" for op in ("read", "update.sparse", "update.full", "query")),
    *(f"preferences.{op}" for op in ("read", "update", "query")),
    *(
        f"query.{op}"
        for op in (
            "all",
            "equals.escaped",
            "like",
            "in",
            "orderby.paging",
            "asc.and",
            "fetchAll",
            "string",
            "count",
            "item",
            "term",
            "taxcode",
            "taxrate",
            "account",
            "invoice",
        )
    ),
    *(
        f"{entity}.{op}"
        for entity in ("customer", "vendor", "employee", "item", "term", "account")
        for op in ("create", "read", "update.sparse", "update.full", "query")
    ),
    "customer.deactivate",
    "taxcode.read",
    "taxrate.read",
    "taxcode.update.unsupported",
    "taxrate.update.unsupported",
    "taxservice.create.unsupported",
    *(
        f"invoice.{op}"
        for op in (
            "create",
            "read",
            "update.sparse",
            "update.full",
            "pdf",
            "send.to",
            "create.duplicate_docnumber",
            "create.allowDuplicateDocNum",
            "create.requestId_replayed",
            "send",
            "void",
            "delete",
        )
    ),
    *(
        f"creditmemo.{op}"
        for op in ("create", "read", "update.sparse", "update.full", "query", "pdf", "delete")
    ),
    "creditmemo.send",
    *(
        f"payment.{op}"
        for op in ("create", "read", "update.sparse", "update.full", "query", "void", "delete")
    ),
    *(
        f"attachable.{op}"
        for op in (
            "upload.linked",
            "upload.alone",
            "read",
            "query",
            "create.note",
            "update",
            "delete",
        )
    ),
    "batch",
    "cdc",
    "oauth.revoke",
]
INTUIT_OAUTH = [
    "oauth.authorize",
    "oauth.createToken",
    "api.companyinfo.read",
    "api.query",
    "api.invoice.create",
    "api.fault",
    "oauth.refresh",
    "oauth.refreshUsingToken",
    "oauth.revoke",
]


def _node_missing() -> str | None:
    """Why the Node.js drivers cannot run here, or None."""
    if shutil.which("node") is None:
        return "Node.js is not installed (no `node` on PATH): install Node.js 18+, then `make node-drivers`"
    for package in ("node-quickbooks", "intuit-oauth"):
        if not (NODE_DIR / "node_modules" / package / "package.json").is_file():
            where = NODE_DIR.relative_to(Path(__file__).parents[2])
            return f"{package} is not installed: run `make node-drivers` (npm ci in {where})"
    return None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`invoicesync sandbox serve` as a user starts it, and the environment it prints."""
    missing = _node_missing()
    if missing:
        pytest.skip(missing)
    home = tmp_path_factory.mktemp("serve")
    # Limits off: a script running operations back to back on loopback exceeds the real 10
    # requests a second, and neither client retries a 429.
    proc = subprocess.Popen(
        [*SERVE, "--company", "us", "--auto-approve", "--limits", "off"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "INVOICESYNC_HOME": str(home / "app"),
            "PYTHONUNBUFFERED": "1",
        },
    )
    try:
        assert proc.stdout is not None
        env: dict[str, str] = {}
        while "INVOICESYNC_REFRESH_TOKEN" not in env:
            line = proc.stdout.readline()
            assert line, f"sandbox serve stopped: {proc.stderr.read() if proc.stderr else ''}"
            key, _, value = line.strip().removeprefix("export ").partition("=")
            env[key] = value
        yield env | {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TZ": "UTC"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _drive(script: str, env: dict[str, str]) -> dict[str, dict[str, object]]:
    """Run one driver script; its operations by name."""
    done = subprocess.run(
        ["node", script], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    results = {}
    for line in done.stdout.splitlines():
        entry = json.loads(line)
        results[str(entry["op"])] = entry
    return results


@pytest.fixture(scope="module")
def node_quickbooks(served: dict[str, str]) -> dict[str, dict[str, object]]:
    return _drive("node_quickbooks.js", served)


@pytest.fixture(scope="module")
def intuit_oauth(served: dict[str, str]) -> dict[str, dict[str, object]]:
    return _drive("intuit_oauth.js", served)


def _names(ops: list[object]) -> list[str]:
    return [str(op.values[0]) if hasattr(op, "values") else str(op) for op in ops]


def test_node_quickbooks_reports_every_operation(node_quickbooks: dict[str, object]) -> None:
    assert sorted(node_quickbooks) == sorted(_names(NODE_QUICKBOOKS))


@pytest.mark.parametrize("op", NODE_QUICKBOOKS)
def test_node_quickbooks(node_quickbooks: dict[str, dict[str, object]], op: str) -> None:
    result = node_quickbooks[op]
    assert result["ok"] is True, result["detail"]


def test_intuit_oauth_reports_every_operation(intuit_oauth: dict[str, object]) -> None:
    assert sorted(intuit_oauth) == sorted(INTUIT_OAUTH)


@pytest.mark.parametrize("op", INTUIT_OAUTH)
def test_intuit_oauth(intuit_oauth: dict[str, dict[str, object]], op: str) -> None:
    result = intuit_oauth[op]
    assert result["ok"] is True, result["detail"]
