"""connect, disconnect, status and ci-seed say what really happened to the tokens."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from typer.testing import CliRunner

from invoicesync.cli import AppState, app
from tests.cli.test_connection import Live
from tests.cli.test_connection import live as live  # the loopback sandbox fixture
from tests.conftest import MemoryKeyring

pytestmark = pytest.mark.loopback
KEY = "local:9130350000000001:refresh_token"


def config(home: Path) -> dict[str, object]:
    return tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))


def test_connect_with_a_token_file_remembers_it_and_disconnect_empties_it(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    token_file = tmp_path / "private" / "tokens.json"
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(token_file))
    connected = live.run("connect", "--port", "0")
    assert connected.exit_code == 0, connected.stderr
    assert config(isolated_env)["token_file"] == str(token_file.resolve())
    monkeypatch.delenv("INVOICESYNC_TOKEN_FILE")  # a later shell without the variable
    status = live.run("status")
    assert status.exit_code == 0, status.stderr
    assert f"token file {token_file.resolve()}" in status.stdout
    gone = live.run("disconnect")
    assert gone.exit_code == 0, gone.stderr
    assert "tokens revoked and deleted (token file" in gone.stderr
    assert not token_file.exists() or KEY not in json.loads(token_file.read_text("utf-8"))
    assert all(g.revoked for g in live.sandbox.oauth.grants)


def test_disconnect_never_claims_to_delete_tokens_it_cannot_find(
    live: Live,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    isolated_env: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    token_file = tmp_path / "tokens.json"
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(token_file))
    assert live.run("connect", "--port", "0").exit_code == 0
    # An older connection, made before token_file was remembered, and a shell without it:
    settings = config(isolated_env)
    del settings["token_file"]
    (isolated_env / "config.toml").write_text(
        "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items()), encoding="utf-8"
    )
    monkeypatch.delenv("INVOICESYNC_TOKEN_FILE")
    lost = live.run("disconnect")
    assert lost.exit_code == 4
    assert "no refresh token in" in lost.stderr and "OS keyring" in lost.stderr
    assert "nothing was revoked or deleted" in lost.stderr
    assert "INVOICESYNC_TOKEN_FILE" in lost.stderr
    assert KEY in json.loads(token_file.read_text(encoding="utf-8"))  # untouched, as said
    assert not any(g.revoked for g in live.sandbox.oauth.grants)
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(token_file))  # as the message advises
    assert live.run("disconnect").exit_code == 0
    assert not token_file.exists() or KEY not in json.loads(token_file.read_text("utf-8"))


def test_commands_after_disconnect_say_not_connected(
    live: Live, memory_keyring: MemoryKeyring
) -> None:
    assert live.run("connect", "--port", "0").exit_code == 0
    assert live.run("disconnect").exit_code == 0
    for command in (["status"], ["reconcile"], ["unlink", "INV-1"]):
        result = live.run(*command)
        assert result.exit_code == 4, command
        assert result.stderr.startswith(
            "error: not connected to QuickBooks: run `invoicesync connect`"
        ), command
        assert result.stderr.count("\n") == 1, command  # one line


def test_connect_checks_the_token_store_before_the_browser(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    no_keyring = live.run("connect", "--port", "0")
    assert no_keyring.exit_code == 4
    assert "nothing was sent to Intuit" in no_keyring.stderr
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("", encoding="utf-8")
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(not_a_folder / "tokens.json"))
    unwritable = live.run("connect", "--port", "0")
    assert unwritable.exit_code == 8  # the token file setting is invalid input
    assert str(not_a_folder) in unwritable.stderr
    assert "nothing was sent to Intuit" in unwritable.stderr
    assert not live.sandbox.oauth.grants  # no code was spent: the browser never opened


def test_loopback_connect_says_where_and_how_long_it_waits(
    live: Live, memory_keyring: MemoryKeyring
) -> None:
    result = live.run("connect", "--port", "0")
    assert result.exit_code == 0
    assert "Waiting up to 5 minutes for Intuit's redirect on http://localhost:" in result.stderr
    assert "/callback" in result.stderr


def test_ci_seed_prints_the_stored_token_with_a_warning(
    live: Live, memory_keyring: MemoryKeyring
) -> None:
    assert live.run("connect", "--port", "0").exit_code == 0
    stored = memory_keyring.entries[("invoicesync", KEY)]
    # Not through live.run: that fixture fails a test whose output shows a token.
    result = CliRunner().invoke(app, ["ci-seed"], obj=AppState(browser=live.browser))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == stored + "\n"
    assert stored not in result.stderr
    assert "warning: this is the live refresh token of realm 9130350000000001" in result.stderr
    assert "INVOICESYNC_REALM_ID=9130350000000001" in result.stderr
    assert memory_keyring.entries[("invoicesync", KEY)] == stored  # read, not refreshed


def test_ci_seed_when_not_connected_exits_4(live: Live, memory_keyring: MemoryKeyring) -> None:
    result = live.run("ci-seed")
    assert result.exit_code == 4
    assert "not connected" in result.stderr
