"""Tokens and the client secret never appear in output, logs, tracebacks or the database, and
every file holding state or tokens is private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from invoicesync.targets.quickbooks import connection
from invoicesync.targets.quickbooks.sandbox import DEFAULT_CLIENT_SECRET
from tests.helpers import World


def every_token(world: World) -> list[str]:
    oauth = world.sandbox.oauth
    tokens = [DEFAULT_CLIENT_SECRET, *oauth.access]
    for grant in oauth.grants:
        tokens += [grant.refresh_token, *grant.superseded]
    return tokens


def test_no_secret_anywhere_after_a_full_session(
    us: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token_file = tmp_path / "tokens.json"
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(token_file))
    us.connect()
    for args in (
        ["status"],
        ["--verbose", "status", "--json"],
        ["invoices"],
        ["--verbose", "push", "--all"],
        ["push", "--all", "--json"],
        ["push", "--all", "--dry-run", "--json"],
        ["list-candidates", "INV-2026-0107"],
        ["unlink", "INV-2026-0107"],
        ["reconcile", "--json"],
        ["--verbose", "reconcile"],
    ):
        assert us.run(*args).exit_code == 0, args
    us.sandbox.oauth.expire_access_tokens()
    assert us.run("--verbose", "status").exit_code == 0  # a 401, a refresh, a replay

    def crash(*a: object, **k: object) -> None:
        raise RuntimeError(f"boom with {every_token(us)[-1]}")

    with monkeypatch.context() as m:
        m.setattr(connection, "status", crash)
        assert us.run("--verbose", "status").exit_code == 1  # traceback, redacted
    for grant in us.sandbox.oauth.grants:
        grant.revoked = True
    assert us.run("--verbose", "status").exit_code == 4
    assert us.run("--verbose", "disconnect").exit_code == 0

    secrets = every_token(us)
    assert len(secrets) > 5
    for out in us.outputs:
        leaked = [s for s in secrets if s in out]
        assert not leaked, f"secret in output: {out[:300]}"
    for path in us.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leaked = [s for s in secrets if s.encode() in data]
            assert not leaked, f"secret in {path.name}"


def test_state_and_token_files_are_private(
    us: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token_file = tmp_path / "tokens.json"
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(token_file))
    us.connect()
    assert us.run("push", "--all").exit_code == 0
    for path in [
        token_file,
        us.home / "state.db",
        us.home / "connection.json",
        *us.home.glob("state.db-*"),
    ]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
