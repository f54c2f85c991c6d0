"""What connect, status and disconnect must tell the truth about, at the token layer."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import keyring
import keyring.backends.fail
import pytest

from invoicesync import files
from invoicesync.config import load_settings, read_config_file, with_overrides
from invoicesync.errors import EXIT_INVALID_INPUT, EXIT_NOT_CONNECTED, NotConnected
from invoicesync.targets.quickbooks import auth
from invoicesync.targets.quickbooks import settings as qbo
from tests.conftest import MemoryKeyring, StickyKeyring
from tests.helpers import US, World

KEY = f"local:{US}:refresh_token"


def disconnect(world: World) -> auth.DisconnectReport:
    with httpx.Client(transport=world.transport) as http:
        return auth.revoke_and_delete(load_settings(), http)


def connect_with_token_file(world: World, path: Path) -> None:
    world.monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(path))
    world.connect()


def test_disconnect_finds_the_token_file_config_names_when_the_env_no_longer_does(
    world: World, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    """Connected with INVOICESYNC_TOKEN_FILE, disconnected without it."""
    token_file = tmp_path / "ci" / "tokens.json"
    connect_with_token_file(world, token_file)
    world.monkeypatch.delenv("INVOICESYNC_TOKEN_FILE")
    assert load_settings().token_file == token_file  # `connect` saved it to config.toml
    report = disconnect(world)
    assert report.found == [f"token file {token_file}"]
    assert report.deleted == report.found and report.remaining == []
    assert report.revoked is True and report.error() is None
    assert all(g.revoked for g in world.sandbox.oauth.grants)
    assert not token_file.exists()
    assert memory_keyring.entries == {}
    assert not (world.home / "connection.json").exists()


def test_disconnect_finds_tokens_in_the_default_token_file_and_the_keyring(
    world: World, memory_keyring: MemoryKeyring
) -> None:
    world.connect()  # keyring
    first = world.sandbox.oauth.grants[0]
    connect_with_token_file(world, world.home / "tokens.json")  # and again, a file
    world.monkeypatch.delenv("INVOICESYNC_TOKEN_FILE")
    report = disconnect(world)
    assert report.found == [
        f"token file {world.home / 'tokens.json'}",
        f"OS keyring (service 'invoicesync', entries local:{US}:*)",
    ]
    assert report.deleted == report.found and report.revoked is True
    assert first.revoked and all(g.revoked for g in world.sandbox.oauth.grants)
    assert memory_keyring.entries == {}
    assert not (world.home / "tokens.json").exists()
    again = disconnect(world)  # idempotent, and honest about having nothing to do
    assert not again.was_connected and again.revoked is None


def test_tokens_that_cannot_be_deleted_are_named_and_exit_4(world: World) -> None:
    sticky = StickyKeyring()
    keyring.set_keyring(sticky)
    world.connect()
    report = disconnect(world)
    place = f"OS keyring (service 'invoicesync', entries local:{US}:*)"
    assert report.remaining == [f"{place}: access_token, client_secret, refresh_token not deleted"]
    error = report.error()
    assert isinstance(error, NotConnected) and error.exit_code == EXIT_NOT_CONNECTED
    assert place in str(error) and "run `invoicesync disconnect` again" in str(error)
    assert ("invoicesync", KEY) in sticky.entries  # still there, as the report says
    assert report.revoked is True  # revoked at Intuit all the same


def test_a_token_file_that_is_a_link_stops_disconnect_before_anything_is_revoked(
    world: World, tmp_path: Path
) -> None:
    """The link may name another connection's token file; revoking what it holds
    would disconnect that one. Refused (exit 8) before any request, the file untouched."""
    real = tmp_path / "real-tokens.json"
    connect_with_token_file(world, real)
    before = real.read_bytes()
    link = tmp_path / "tokens-link.json"
    link.symlink_to(real)
    world.monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(link))
    with pytest.raises(files.UnsafePath) as caught:
        disconnect(world)
    assert caught.value.exit_code == EXIT_INVALID_INPUT
    assert str(caught.value).startswith(f"{link} is a symbolic link")
    assert real.read_bytes() == before
    assert not any(g.revoked for g in world.sandbox.oauth.grants)


def test_an_unusable_keyring_is_reported_as_unchecked_not_a_crash(
    world: World, tmp_path: Path
) -> None:
    connect_with_token_file(world, tmp_path / "tokens.json")
    keyring.set_keyring(keyring.backends.fail.Keyring())
    report = disconnect(world)
    assert report.deleted == [f"token file {tmp_path / 'tokens.json'}"]
    [note] = report.unchecked
    assert note.startswith(f"OS keyring (service 'invoicesync', entries local:{US}:*): the OS")
    assert report.error() is None


def test_without_a_client_secret_the_revocation_is_not_claimed(
    world: World, tmp_path: Path
) -> None:
    connect_with_token_file(world, tmp_path / "tokens.json")
    data = json.loads((tmp_path / "tokens.json").read_text())
    data.pop(f"local:{US}:client_secret", None)
    (tmp_path / "tokens.json").write_text(json.dumps(data))
    world.monkeypatch.delenv("INVOICESYNC_CLIENT_SECRET")
    report = disconnect(world)
    assert report.revoked is False
    assert report.revoke_problem == "no client id or client secret to authenticate the revocation"
    assert report.deleted and not (tmp_path / "tokens.json").exists()
    assert not any(g.revoked for g in world.sandbox.oauth.grants)


def test_not_connected_after_disconnect_though_config_and_env_name_the_company(
    world: World,
) -> None:
    world.connect()
    assert auth.has_refresh_token(load_settings(), auth.choose_store(load_settings(), US))
    disconnect(world)
    settings = load_settings()
    own = qbo.of(settings)
    assert own.realm_id == US and own.client_secret  # config.toml and env remain
    assert not auth.has_refresh_token(settings, auth.choose_store(settings, US))
    result = world.run("status")
    assert result.exit_code == EXIT_NOT_CONNECTED
    assert result.stderr.startswith("error: not connected to QuickBooks: run `invoicesync connect`")
    assert "client secret" not in result.stderr


def test_a_ci_seed_is_a_connection(world: World) -> None:
    world.monkeypatch.setenv("INVOICESYNC_REALM_ID", US)
    settings = load_settings()
    assert not auth.has_refresh_token(settings, auth.choose_store(settings, US))
    world.monkeypatch.setenv("INVOICESYNC_REFRESH_TOKEN", "RT1-a-seed")
    settings = load_settings()
    assert auth.has_refresh_token(settings, auth.choose_store(settings, US))


def test_the_token_store_is_checked_before_the_browser(
    world: World, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    assert auth.check_token_store(load_settings()) == "OS keyring (service 'invoicesync')"
    assert memory_keyring.entries == {}
    (tmp_path / "not-a-dir").write_text("")
    world.monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(tmp_path / "not-a-dir" / "t.json"))
    with pytest.raises(files.UnsafeFile, match="cannot create the directory"):
        auth.check_token_store(load_settings())
    world.monkeypatch.delenv("INVOICESYNC_TOKEN_FILE")
    keyring.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(auth.StoreUnavailable, match="INVOICESYNC_TOKEN_FILE"):
        auth.check_token_store(load_settings())
    world.monkeypatch.setenv("INVOICESYNC_REFRESH_TOKEN", "RT1-a-seed")
    with pytest.raises(NotConnected, match="no writable token store"):
        auth.check_token_store(load_settings())
    assert world.sandbox.requests == []  # nothing was asked of Intuit


def test_connect_saves_the_token_file_as_an_absolute_path_atomically(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", "relative/tokens.json")
    assert auth.token_file_setting(load_settings()) == {
        "token_file": str(tmp_path / "relative" / "tokens.json")
    }
    world.connect()
    settings = load_settings()
    saved = read_config_file(settings.config_path)
    assert saved["token_file"] == str(tmp_path / "relative" / "tokens.json")
    assert saved["realm_id"] == US
    assert stat.S_IMODE(settings.config_path.stat().st_mode) == 0o600
    monkeypatch.delenv("INVOICESYNC_TOKEN_FILE")
    monkeypatch.chdir(world.home.parent)  # another directory: the saved path still holds
    assert load_settings().token_file == tmp_path / "relative" / "tokens.json"
    assert world.run("status").exit_code == 0
    assert auth.token_file_setting(with_overrides(settings, token_file=None)) == {}


def test_the_disconnect_command_leaves_no_access_token_behind(
    world: World, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    world.connect()
    assert ("invoicesync", f"local:{US}:access_token") in memory_keyring.entries
    assert world.run("disconnect").exit_code == 0
    assert memory_keyring.entries == {}
    store = auth.FileStore(tmp_path / "tokens.json", f"local:{US}:")
    store.set("refresh_token", "RT1-refresh-secret")
    store.save_access("access-secret", 1_800_000_000)
    store.delete("refresh_token")
    assert json.loads((tmp_path / "tokens.json").read_text()) == {}


@pytest.mark.parametrize(
    ("status", "body", "confirmed"),
    [
        (200, {}, True),
        (200, None, True),
        # The token is already unknown at Intuit (revoked, expired, rotated): nothing left to revoke.
        (400, {"error": "invalid_grant", "error_description": "Token invalid"}, True),
        # Anything else means Intuit did not revoke: the token may still be live.
        (400, {"error": "invalid_request"}, False),
        (400, {"error": "unsupported_token_type"}, False),
        (400, None, False),
        (401, {"error": "invalid_client"}, False),
        (500, None, False),
    ],
)
def test_a_revocation_counts_only_when_intuit_confirms_it_or_knows_no_such_token(
    status: int, body: dict[str, str] | None, confirmed: bool
) -> None:
    from invoicesync.targets.quickbooks.auth.endpoint import revoke

    def answer(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == {"token": "rt-1"}
        return httpx.Response(status, json=body) if body is not None else httpx.Response(status)

    endpoints = qbo.of(load_settings()).endpoints
    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        assert revoke(http, endpoints, "cid", "secret", "rt-1") is confirmed
