"""Token stores and the token manager: where secrets are written, which lock a refresh takes,
and when an access token is reused instead of refreshed."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import httpx
import keyring
import keyring.backends.fail
import pytest

from invoicesync import files
from invoicesync.config import Settings, load_settings, with_overrides
from invoicesync.credentials import EnvStore, lock_dir
from invoicesync.errors import EXIT_INVALID_INPUT, NotConnected
from invoicesync.targets.quickbooks import settings as qbo
from invoicesync.targets.quickbooks.auth import (
    Connection,
    FileStore,
    KeyringStore,
    TokenManager,
    choose_store,
)
from invoicesync.targets.quickbooks.auth.tokens import REFRESH_LEEWAY
from invoicesync.targets.quickbooks.sandbox import DEFAULT_CLIENT_ID
from tests.conftest import MemoryKeyring
from tests.helpers import US, World
from tests.helpers import FakeClock as Clock

PREFIX = f"local:{US}:"


class TokenEndpoint:
    """Intuit's token endpoint as a MockTransport: rotates on every refresh, counts calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
        self.calls.append(form)
        n = len(self.calls)
        return httpx.Response(
            200,
            json={
                "access_token": f"access-token-{n:04d}",
                "refresh_token": f"refresh-token-{n:04d}",
                "expires_in": 3600,
                "x_refresh_token_expires_in": 8_726_400,
            },
        )


def settings(tmp_path: Path, **changes: Any) -> Settings:
    """Local QuickBooks settings; target-neutral fields (`app_dir`, `token_file`, `lock_dir`)
    and QuickBooks' own (`refresh_token_seed`) replaced where each lives."""
    base = load_settings(env={"INVOICESYNC_HOME": str(tmp_path / "app"), **os.environ})
    names = {f.name for f in dataclasses.fields(Settings)}
    neutral = {k: changes.pop(k) for k in list(changes) if k in names}
    return qbo.with_section(with_overrides(base, **neutral), environment="local", **changes)


def manager(
    s: Settings, store: Any, endpoint: TokenEndpoint, clock: Clock | None = None
) -> TokenManager:
    conn = Connection("local", US, DEFAULT_CLIENT_ID, "2026-11-25T00:00:00+00:00")
    http = httpx.Client(transport=httpx.MockTransport(endpoint))
    return TokenManager(s, conn, store, "client-secret-x", http=http, clock=clock or Clock())


# --- step 2: no secret through a link ----------------------------------------------------------


def test_token_file_temp_name_is_not_predictable_and_a_planted_link_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attacker plants links at the old predictable temp name (`.tokens.json.<pid>.tmp`) and
    at the first random name the writer will pick: the refresh token lands in neither target."""
    stolen = tmp_path / "attacker-owned"
    stolen.write_text("")
    path = tmp_path / "tokens.json"
    old_name = tmp_path / f".tokens.json.{os.getpid()}.tmp"
    old_name.symlink_to(stolen)
    first_pick = tmp_path / ".tokens.json.first.tmp"
    first_pick.symlink_to(stolen)
    picks = iter([first_pick])
    real = files.temp_path
    monkeypatch.setattr(files, "temp_path", lambda t: next(picks, None) or real(t))
    store = FileStore(path, PREFIX)
    store.set("refresh_token", "RT1-the-refresh-token-secret")
    assert stolen.read_text() == ""
    assert store.get("refresh_token") == "RT1-the-refresh-token-secret"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.is_symlink()) == [
        "attacker-owned",
        "tokens.json",
    ]


def test_a_token_file_that_is_a_link_is_refused_before_a_token_is_spent(
    tmp_path: Path,
) -> None:
    stolen = tmp_path / "attacker-owned"
    stolen.write_text(json.dumps({f"{PREFIX}refresh_token": "RT1-the-refresh-token-secret"}))
    link = tmp_path / "tokens.json"
    link.symlink_to(stolen)
    endpoint = TokenEndpoint()
    s = settings(tmp_path, token_file=link)
    tokens = manager(s, choose_store(s, US), endpoint)
    with pytest.raises(files.UnsafeFile) as caught:
        tokens.access_token()
    assert caught.value.exit_code == EXIT_INVALID_INPUT and "symbolic link" in str(caught.value)
    assert endpoint.calls == []  # the refresh token was not spent
    assert "access-token" not in stolen.read_text()


# --- step 2: the refresh lock belongs to the token ---------------------------------------------


def test_homes_sharing_a_keyring_entry_share_its_refresh_lock(tmp_path: Path) -> None:
    one = settings(tmp_path, app_dir=tmp_path / "home1")
    two = settings(tmp_path, app_dir=tmp_path / "home2")
    assert choose_store(one, US).lock_file == choose_store(two, US).lock_file
    assert choose_store(one, US).lock_file.parent == Path(os.environ["INVOICESYNC_LOCK_DIR"])
    assert choose_store(one, US).lock_file != choose_store(one, "42").lock_file
    sandbox = qbo.with_section(one, environment="sandbox")
    assert choose_store(sandbox, US).lock_file != choose_store(one, US).lock_file


def test_homes_sharing_a_token_file_lock_beside_it(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "tokens.json"
    one = settings(tmp_path, app_dir=tmp_path / "home1", token_file=shared)
    two = settings(tmp_path, app_dir=tmp_path / "home2", token_file=shared)
    assert choose_store(one, US).lock_file == choose_store(two, US).lock_file
    assert choose_store(one, US).lock_file == tmp_path / "shared" / "tokens.json.lock"


def test_the_default_lock_dir_is_the_users_cache_dir_not_the_app_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INVOICESYNC_LOCK_DIR")
    s = settings(tmp_path)
    assert s.lock_dir is None
    cache = Path(os.environ["XDG_CACHE_HOME"])
    assert lock_dir(s) == cache / "invoicesync" / "locks"
    assert lock_dir(s) != s.app_dir


def test_a_ci_seed_refresh_is_locked_per_token_too(tmp_path: Path) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    s = settings(tmp_path, refresh_token_seed="RT1-seed-value")
    store = choose_store(s, US)
    assert isinstance(store, EnvStore)
    assert store.lock_file.parent == Path(os.environ["INVOICESYNC_LOCK_DIR"])


# --- step 3: a still-valid access token is reused from the same store --------------------------


def test_a_second_run_reuses_the_stored_access_token(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    endpoint = TokenEndpoint()
    s = settings(tmp_path, refresh_token_seed="RT1-seed-value")
    clock = Clock()
    first = manager(s, choose_store(s, US), endpoint, clock)
    assert first.access_token() == "access-token-0001"
    clock.now += 600
    second = manager(s, choose_store(s, US), endpoint, clock)  # a new process, same store
    assert second.access_token() == "access-token-0001"
    assert len(endpoint.calls) == 1
    stored = memory_keyring.entries[("invoicesync", f"{PREFIX}access_token")]
    assert stored == f"{(1_800_000_000 + 3600)} access-token-0001"  # token with its expiry


def test_a_token_with_less_than_five_minutes_left_is_refreshed(tmp_path: Path) -> None:
    endpoint = TokenEndpoint()
    s = settings(tmp_path, refresh_token_seed="RT1-seed-value")
    clock = Clock()
    manager(s, choose_store(s, US), endpoint, clock).access_token()
    clock.now += 3600 - REFRESH_LEEWAY + 1
    assert manager(s, choose_store(s, US), endpoint, clock).access_token() == "access-token-0002"
    assert [c["refresh_token"] for c in endpoint.calls] == ["RT1-seed-value", "refresh-token-0001"]
    clock.now += 60  # the new one is reused again
    assert manager(s, choose_store(s, US), endpoint, clock).access_token() == "access-token-0002"
    assert len(endpoint.calls) == 2


def test_a_refused_token_is_replaced_by_a_newer_stored_one_without_a_refresh(
    tmp_path: Path,
) -> None:
    """Another home refreshed while we held the old token: on our 401 we take the token it
    stored rather than rotating again."""
    endpoint = TokenEndpoint()
    s = settings(tmp_path, refresh_token_seed="RT1-seed-value")
    ours = manager(s, choose_store(s, US), endpoint)
    old = ours.access_token()
    choose_store(s, US).save_access("access-token-from-the-other-home", 1_800_000_000 + 3000)
    assert ours.refresh(stale=old) == "access-token-from-the-other-home"
    assert len(endpoint.calls) == 1
    # Refused again (revoked, expired early): now it really refreshes.
    assert ours.refresh(stale="access-token-from-the-other-home") == "access-token-0002"
    assert len(endpoint.calls) == 2


def test_the_token_file_holds_the_access_token_beside_the_refresh_token(tmp_path: Path) -> None:
    endpoint = TokenEndpoint()
    path = tmp_path / "tokens.json"
    s = settings(tmp_path, token_file=path, refresh_token_seed="RT1-seed-value")
    manager(s, choose_store(s, US), endpoint).access_token()
    assert json.loads(path.read_text()) == {
        f"{PREFIX}refresh_token": "refresh-token-0001",
        f"{PREFIX}access_token": f"{1_800_000_000 + 3600} access-token-0001",
    }
    manager(s, choose_store(s, US), endpoint).access_token()
    assert len(endpoint.calls) == 1


def test_the_env_seed_store_never_caches_an_access_token(tmp_path: Path) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    endpoint = TokenEndpoint()
    s = settings(tmp_path, refresh_token_seed="RT1-seed-value")
    first = manager(s, choose_store(s, US), endpoint)
    first.access_token()
    assert first.store.load_access() is None
    assert first.warnings  # the rotation could not be saved either: said loudly


def test_an_access_token_the_keyring_cannot_hold_is_simply_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    original = MemoryKeyring.set_password

    def small_entries(self: MemoryKeyring, service: str, username: str, password: str) -> None:
        if username.endswith("access_token"):
            raise OSError("the credential is too large")  # Windows' 2,560-byte cap
        original(self, service, username, password)

    monkeypatch.setattr(MemoryKeyring, "set_password", small_entries)
    endpoint = TokenEndpoint()
    s = settings(tmp_path, refresh_token_seed="RT1-seed-value")
    assert manager(s, choose_store(s, US), endpoint).access_token() == "access-token-0001"
    assert memory_keyring.entries[("invoicesync", f"{PREFIX}refresh_token")] == (
        "refresh-token-0001"
    )
    assert KeyringStore(PREFIX, tmp_path).load_access() is None


def test_garbled_cached_access_entries_are_ignored(tmp_path: Path) -> None:
    store = KeyringStore(PREFIX, tmp_path)
    for raw in ("", "no-expiry", "12x token", "1800000000 "):
        store.set("access_token", raw)
        assert store.load_access() is None, raw


def test_two_consecutive_commands_make_one_token_request(world: World) -> None:
    """A CI-style home (seed in the environment, keyring store): `status` refreshes once and
    stores both tokens; the `push INV-…` right after reuses the access token."""
    grant = world.sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, US)
    world.monkeypatch.setenv("INVOICESYNC_REALM_ID", US)
    world.monkeypatch.setenv("INVOICESYNC_REFRESH_TOKEN", grant.refresh_token)
    world.source("us")
    assert world.run("status").exit_code == 0
    result = world.run("push", "INV-2026-0101")
    assert result.exit_code == 0, result.stderr
    token_calls = [e for e in world.sandbox.requests if e.path.endswith("/tokens/bearer")]
    assert len(token_calls) == 1
    assert world.sandbox.oauth.refresh_count == 1


def test_check_writable_reports_each_store_before_the_browser(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    KeyringStore(PREFIX, tmp_path).check_writable()
    assert memory_keyring.entries == {}  # the probe leaves nothing behind
    FileStore(tmp_path / "new" / "tokens.json", PREFIX).check_writable()
    assert list((tmp_path / "new").iterdir()) == []
    (tmp_path / "file").write_text("")
    with pytest.raises(files.UnsafeFile):
        FileStore(tmp_path / "file" / "tokens.json", PREFIX).check_writable()
    with pytest.raises(NotConnected, match="no writable token store"):
        EnvStore("RT1-seed", PREFIX, tmp_path).check_writable()


def test_an_unusable_lock_dir_is_a_clear_error_before_any_token_request(
    tmp_path: Path,
) -> None:
    (tmp_path / "a-file").write_text("")
    endpoint = TokenEndpoint()
    s = settings(tmp_path, refresh_token_seed="RT1-seed-value", lock_dir=tmp_path / "a-file")
    with pytest.raises(files.UnsafeFile) as caught:
        manager(s, choose_store(s, US), endpoint).access_token()
    assert caught.value.exit_code == EXIT_INVALID_INPUT
    assert str(caught.value).startswith(f"cannot take the token refresh lock {tmp_path}/a-file/")
    assert "INVOICESYNC_LOCK_DIR" in str(caught.value)
    assert endpoint.calls == []
