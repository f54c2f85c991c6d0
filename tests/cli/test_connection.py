"""connect, status, refresh and disconnect end to end over loopback against the sandbox."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import keyring
import keyring.backends.fail
import pytest
from typer.testing import CliRunner, Result

from invoicesync.cli import AppState, app
from invoicesync.targets.quickbooks.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Sandbox,
    start_in_thread,
)
from invoicesync.targets.quickbooks.settings import local_environment
from tests.cli.shared_keyring import entry
from tests.conftest import MemoryKeyring, StickyKeyring
from tests.helpers import World

pytestmark = pytest.mark.loopback


class Live:
    def __init__(self, sandbox: Sandbox, url: str) -> None:
        self.sandbox = sandbox
        self.url = url
        self.outputs: list[str] = []

    @staticmethod
    def browser(url: str) -> str:
        response = httpx.get(url, follow_redirects=True, timeout=10)
        return str(response.url)

    def run(self, *args: str, input: str | None = None) -> Result:
        result = CliRunner().invoke(
            app, list(args), obj=AppState(browser=self.browser), input=input
        )
        self.outputs += [result.stdout, result.stderr]
        return result

    def secrets(self) -> list[str]:
        tokens = [DEFAULT_CLIENT_SECRET]
        for grant in self.sandbox.oauth.grants:
            tokens.append(grant.refresh_token)
            tokens += list(grant.superseded)
        tokens += list(self.sandbox.oauth.access)
        return tokens


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    sandbox = Sandbox(["us"], auto_approve=True, rotation_grace=0)
    server = start_in_thread(sandbox)
    url = server.url
    for key, value in local_environment(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).items():
        monkeypatch.setenv(key, value)
    live = Live(sandbox, url)
    yield live
    server.shutdown()
    server.server_close()
    leaked = [s for s in live.secrets() if any(s in out for out in live.outputs)]
    assert not leaked, "a token or secret appeared in the output"


def test_connect_status_refresh_rotation_disconnect(
    live: Live, memory_keyring: MemoryKeyring
) -> None:
    result = live.run("connect", "--port", "0")
    assert result.exit_code == 0, result.stderr
    assert (
        "Connected to Lingua Franca Translations LLC (realm 9130350000000001, local)"
        in result.stderr
    )
    assert "http://127.0.0.1:" in result.stderr  # the authorize URL is always printed
    key = ("invoicesync", "local:9130350000000001:refresh_token")
    first = memory_keyring.entries[key]

    before = live.sandbox.oauth.refresh_count
    status = live.run("status", "--json")
    assert status.exit_code == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["company_name"] == "Lingua Franca Translations LLC"
    assert data["token_store"] == "OS keyring (service 'invoicesync')"
    assert data["access_expires_at"]  # the access token from connect, reused
    assert live.sandbox.oauth.refresh_count == before
    assert memory_keyring.entries[key] == first

    # An expired access token mid-run: one refresh, one replay, no error.
    httpx.post(f"{live.url}/_sandbox/expire-access-tokens")
    assert live.run("status").exit_code == 0
    assert live.sandbox.oauth.refresh_count == before + 1
    assert memory_keyring.entries[key] != first  # rotated by the refresh, and persisted

    gone = live.run("disconnect")
    assert gone.exit_code == 0
    assert "tokens revoked and deleted (OS keyring" in gone.stderr
    assert key not in memory_keyring.entries
    assert all(g.revoked for g in live.sandbox.oauth.grants)
    assert live.run("disconnect").exit_code == 0  # idempotent
    assert live.run("status").exit_code == 4


def test_refresh_on_401_replays_the_request(live: Live, tmp_path: Path) -> None:
    assert live.run("connect", "--port", "0").exit_code == 0
    from invoicesync.config import load_settings
    from invoicesync.usecases.session import session

    with session(load_settings()) as s:
        s.client.company_info()
        httpx.post(f"{live.url}/_sandbox/expire-access-tokens")
        assert s.client.company_info()["CompanyName"] == "Lingua Franca Translations LLC"
        statuses = [
            e.status
            for e in live.sandbox.requests
            if e.path.endswith("/companyinfo/9130350000000001")
        ]
        assert statuses[-2:] == [401, 200]


def test_revoked_connection_exits_4_with_the_fix(live: Live) -> None:
    assert live.run("connect", "--port", "0").exit_code == 0
    for grant in live.sandbox.oauth.grants:
        grant.revoked = True
    result = live.run("status")
    assert result.exit_code == 4
    assert "invalid_grant" in result.stderr and "invoicesync connect" in result.stderr
    assert "Traceback" not in result.stderr


def test_callback_listener_rejects_a_wrong_state() -> None:
    from invoicesync.targets.quickbooks.auth import CallbackListener

    listener = CallbackListener(0, "expected")
    listener.start()
    base = f"http://127.0.0.1:{listener.port}"
    bad = httpx.get(f"{base}/callback?code=c&state=forged&realmId=1", timeout=5)
    assert bad.status_code == 400
    assert httpx.get(f"{base}/other", timeout=5).status_code == 404
    good = httpx.get(f"{base}/callback?code=c&state=expected&realmId=1", timeout=5)
    assert good.status_code == 200
    assert listener.wait(5).code == "c"
    assert listener.server.server_address[0] == "127.0.0.1"


def test_token_file_store_is_private(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "ci" / "tokens.json"
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(token_file))
    assert live.run("connect", "--port", "0").exit_code == 0
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert (
        stat.S_IMODE((Path(os.environ["INVOICESYNC_HOME"]) / "connection.json").stat().st_mode)
        == 0o600
    )
    assert live.run("status").exit_code == 0
    assert "token file" in live.run("status").stdout


def test_broken_keyring_is_a_message_not_a_traceback(live: Live) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    result = live.run("connect", "--port", "0")
    assert result.exit_code == 4
    assert (
        "the OS keyring is not usable" in result.stderr
        and "INVOICESYNC_TOKEN_FILE" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_ci_seed_moves_into_the_token_file_and_survives_rotation(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    assert live.run("connect", "--port", "0").exit_code == 0
    seed = memory_keyring.entries[("invoicesync", "local:9130350000000001:refresh_token")]
    # A CI runner: no keyring, a seed in the environment, a writable token file.
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.setenv("INVOICESYNC_REFRESH_TOKEN", seed)
    monkeypatch.setenv("INVOICESYNC_REALM_ID", "9130350000000001")
    token_file = tmp_path / "tokens.json"
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(token_file))
    for _ in range(3):  # the seed is superseded after the first run; the file carries on
        assert live.run("status").exit_code == 0
    assert json.loads(token_file.read_text())["local:9130350000000001:refresh_token"] != seed


def test_env_seed_without_store_warns_that_rotation_is_lost(
    live: Live, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    assert live.run("connect", "--port", "0").exit_code == 0
    seed = memory_keyring.entries[("invoicesync", "local:9130350000000001:refresh_token")]
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.setenv("INVOICESYNC_REFRESH_TOKEN", seed)
    monkeypatch.setenv("INVOICESYNC_REALM_ID", "9130350000000001")
    result = live.run("status")
    assert result.exit_code == 0
    assert "rotated the refresh token but it could not be saved" in result.stderr


def test_two_processes_refreshing_at_once_both_succeed(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "tokens.json"
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(token_file))
    assert live.run("connect", "--port", "0").exit_code == 0
    env = {**os.environ}
    for _round in range(3):
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "invoicesync", "status", "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        outs = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0, 0], [o[1] for o in outs]
        live.outputs += [o for pair in outs for o in pair]
    # What is stored is the one the server currently accepts.
    stored = json.loads(token_file.read_text())["local:9130350000000001:refresh_token"]
    [grant] = live.sandbox.oauth.grants
    assert stored == grant.refresh_token
    assert live.run("status").exit_code == 0


US = "9130350000000001"
REPO = Path(__file__).parents[2]


def shared_token_env(live: Live, tmp_path: Path, shared: str) -> dict[str, str]:
    """The environment of hosts' homes that share one token: the same keyring entry (a keyring
    shared between processes, as the OS one is) or the same token file."""
    grant = live.sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, US)
    env = {**os.environ, "INVOICESYNC_REALM_ID": US, "PYTHONPATH": str(REPO)}
    if shared == "keyring":
        directory = tmp_path / "keyring"
        directory.mkdir()
        env["PYTHON_KEYRING_BACKEND"] = "tests.cli.shared_keyring.SharedKeyring"
        env["INVOICESYNC_TEST_KEYRING"] = str(directory)
        entry(directory, "invoicesync", f"local:{US}:refresh_token").write_text(grant.refresh_token)
    else:
        token_file = tmp_path / "shared" / "tokens.json"
        token_file.parent.mkdir()
        token_file.write_text(json.dumps({f"local:{US}:refresh_token": grant.refresh_token}))
        env["INVOICESYNC_TOKEN_FILE"] = str(token_file)
    return env


def run_in_homes(live: Live, env: dict[str, str], homes: list[Path]) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "invoicesync", "status", "--json"],
            env={**env, "INVOICESYNC_HOME": str(home)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for home in homes
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    live.outputs += [o for pair in outs for o in pair]
    codes = [p.returncode for p in procs]
    assert codes == [0] * len(homes), [err for _out, err in outs]


@pytest.mark.parametrize("shared", ["keyring", "token_file"])
def test_homes_sharing_one_token_never_race_a_rotation(
    live: Live, tmp_path: Path, shared: str
) -> None:
    """Four homes (four hosts' cron jobs) share one keyring entry or one token file and refresh
    at the same moment under strict rotation (a superseded token is refused at once). The
    refresh lock belongs to the token, so they take turns: no spurious exit 4."""
    env = shared_token_env(live, tmp_path, shared)
    homes = [tmp_path / f"home{i}" for i in range(4)]
    for _round in range(3):
        httpx.post(f"{live.url}/_sandbox/expire-access-tokens")
        run_in_homes(live, env, homes)
    # One refresh per round: the first home refreshes, the others take the token it stored.
    assert live.sandbox.oauth.refresh_count == 3
    [grant] = live.sandbox.oauth.grants
    if shared == "keyring":
        stored = entry(
            Path(env["INVOICESYNC_TEST_KEYRING"]), "invoicesync", f"local:{US}:refresh_token"
        )
        assert stored.read_text() == grant.refresh_token
    else:
        data = json.loads(Path(env["INVOICESYNC_TOKEN_FILE"]).read_text())
        assert data[f"local:{US}:refresh_token"] == grant.refresh_token
    assert not grant.revoked


def test_connect_checks_the_token_store_before_the_browser(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that cannot save is found before the consent, not after it."""
    keyring.set_keyring(keyring.backends.fail.Keyring())
    broken = world.run("connect", "--manual")
    assert broken.exit_code == 4
    assert "the OS keyring is not usable" in broken.stderr and "Traceback" not in broken.stderr
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(tmp_path / "a-file" / "tokens.json"))
    unwritable = world.run("connect", "--manual")
    assert unwritable.exit_code == 8
    assert f"{tmp_path / 'a-file'}: cannot create the directory" in unwritable.stderr
    assert world.sandbox.requests == []  # no authorize page, no code exchanged
    assert "Open this address" not in broken.stderr + unwritable.stderr


def test_disconnect_says_where_it_deleted_tokens_and_status_then_says_not_connected(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connected with a token file, disconnected without the variable."""
    token_file = tmp_path / "ci" / "tokens.json"
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(token_file))
    world.connect()
    monkeypatch.delenv("INVOICESYNC_TOKEN_FILE")
    gone = world.run("disconnect")
    assert gone.exit_code == 0, gone.stderr
    assert f"tokens revoked and deleted (token file {token_file})" in gone.stderr
    assert not token_file.exists()
    assert all(g.revoked for g in world.sandbox.oauth.grants)
    status = world.run("status")
    assert status.exit_code == 4
    assert "not connected to QuickBooks: run `invoicesync connect`" in status.stderr
    assert "client secret" not in status.stderr
    again = world.run("disconnect")
    assert again.exit_code == 0 and "Not connected; nothing to do." in again.stderr


def test_disconnect_exits_4_naming_tokens_it_could_not_delete(world: World) -> None:
    sticky = StickyKeyring()
    keyring.set_keyring(sticky)
    world.connect()
    result = world.run("disconnect")
    assert result.exit_code == 4
    assert (
        "tokens are still stored in OS keyring (service 'invoicesync', entries "
        f"local:{US}:*): access_token, client_secret, refresh_token not deleted"
    ) in " ".join(result.stderr.split())
    assert "revoked and deleted" not in result.stderr
    assert ("invoicesync", f"local:{US}:refresh_token") in sticky.entries


def test_disconnect_refuses_a_token_file_that_is_a_link_before_revoking(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The link may name another connection's token file (exit 8, nothing sent)."""
    real = tmp_path / "real-tokens.json"
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(real))
    world.connect()
    link = tmp_path / "link.json"
    link.symlink_to(real)
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(link))
    result = world.run("disconnect")
    assert result.exit_code == 8
    assert f"{link} is a symbolic link" in " ".join(result.stderr.split())
    assert f"local:{US}:refresh_token" in json.loads(real.read_text())
    assert not any(grant.revoked for grant in world.sandbox.oauth.grants)


def test_disconnect_in_ci_revokes_the_seed_and_says_nothing_was_stored(world: World) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    grant = world.sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, US)
    world.monkeypatch.setenv("INVOICESYNC_REALM_ID", US)
    world.monkeypatch.setenv("INVOICESYNC_REFRESH_TOKEN", grant.refresh_token)
    result = world.run("disconnect")
    assert result.exit_code == 0, result.stderr
    assert f"realm {US}; token revoked (none was stored in this home)" in result.stderr
    assert "could not look for tokens in OS keyring" in result.stderr
    assert grant.revoked


def test_connect_with_an_environment_stays_in_the_chosen_profile(
    live: Live, isolated_env: Path, memory_keyring: MemoryKeyring
) -> None:
    """`--environment` reloads the settings: the reload keeps `--profile`, so the realm is
    written into that profile's table and its state folder, never the top level."""
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(
        'timeout = 30\n\n[profiles.us]\ntarget = "quickbooks"\n'
    )
    result = live.run("--profile", "us", "connect", "--environment", "local", "--port", "0")
    assert result.exit_code == 0, result.stderr
    config = tomllib.loads((isolated_env / "config.toml").read_text(encoding="utf-8"))
    assert config["profiles"]["us"]["realm_id"] == "9130350000000001"
    assert config["profiles"]["us"]["environment"] == "local"
    assert "realm_id" not in config and "environment" not in config
    assert (isolated_env / "profiles" / "us" / "connection.json").exists()
    assert not (isolated_env / "connection.json").exists()
