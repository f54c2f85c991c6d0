"""Token rotation under stress, and concurrent runs."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from invoicesync.targets.quickbooks import auth
from invoicesync.targets.quickbooks.sandbox import Faults, SandboxTransport
from tests.helpers import World, make_world, wait_until
from tests.reliability.conftest import US, Live, assert_exactly_once, month


def wait_for_first_request(live: Live) -> None:
    """The first run takes the state lock before its first request, so once the sandbox has
    answered one, the lock is held (and with the latency set, held for seconds more)."""
    wait_until(lambda: len(live.sandbox.requests) > 0, "the first run's first request")


def test_crash_between_receiving_and_storing_a_rotated_token(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path, tmp_path: Path
) -> None:
    """The process dies after Intuit rotated the token and before it was stored. The store
    keeps the superseded token, which Intuit honours for its grace period; the next run
    refreshes with it and stores a token the server accepts."""
    world = make_world(monkeypatch, isolated_env, ("us",))
    monkeypatch.setenv("INVOICESYNC_TOKEN_FILE", str(tmp_path / "tokens.json"))
    world.connect()
    original = auth.FileStore.set
    calls = {"n": 0}

    def dying_set(self: auth.FileStore, key: str, value: str) -> None:
        calls["n"] += 1
        raise KeyboardInterrupt  # the process is gone before the write

    monkeypatch.setattr(auth.FileStore, "set", dying_set)
    world.sandbox.oauth.expire_access_tokens()  # connect's cached token is refused: refresh
    crashed = world.run("status")
    assert crashed.exit_code == 130 and calls["n"] == 1
    monkeypatch.setattr(auth.FileStore, "set", original)
    assert world.run("status").exit_code == 0
    stored = json.loads((tmp_path / "tokens.json").read_text())[f"local:{US}:refresh_token"]
    [grant] = world.sandbox.oauth.grants
    assert stored == grant.refresh_token  # the newest, accepted token is what is stored


def test_revocation_mid_run_exits_4_and_leaves_nothing_half_written(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    world = make_world(monkeypatch, isolated_env, ("us",))
    world.connect()
    records = month(200, 3)
    path = isolated_env.parent / "month.json"
    path.write_text(json.dumps(records))
    monkeypatch.setenv("INVOICESYNC_SOURCE", str(path))
    sandbox = world.sandbox

    class RevokeAfterFirstBatch(SandboxTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            if request.url.path.endswith("/batch"):
                for grant in sandbox.oauth.grants:
                    grant.revoked = True
            return response

    monkeypatch.setattr(World, "transport", property(lambda self: RevokeAfterFirstBatch(sandbox)))
    result = world.run("push", "--all")
    assert result.exit_code == 4, result.stderr
    assert "invoicesync connect" in result.stderr and "Traceback" not in result.stderr
    numbers = [r["number"] for r in records]
    assert_exactly_once(numbers, world.invoices(), world.home, complete=False)
    monkeypatch.setattr(World, "transport", property(lambda self: SandboxTransport(sandbox)))
    world.connect()
    assert world.run("push", "--all").exit_code == 0
    assert_exactly_once(numbers, world.invoices(), world.home)


@pytest.mark.loopback
def test_two_pushes_at_once_never_double_work(live: Live) -> None:
    records = month(200, 11)
    live.write_source(records)
    with live.writes_held() as waiting:  # the first run stays mid-run until the second ends
        first = live.popen("push", "--all")
        wait_until(lambda: waiting() > 0, "the first run's first write")
        second = live.run("push", "--all")
    _out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert second.returncode == 9, second.stderr
    assert "another invoicesync run" in second.stderr
    assert_exactly_once([r["number"] for r in records], live.invoices(), live.home)


@pytest.mark.loopback
def test_second_push_waits_with_wait_and_then_has_nothing_to_do(live: Live) -> None:
    records = month(120, 12)
    live.write_source(records)
    live.sandbox.set_faults(Faults(latency_ms=200))
    first = live.popen("push", "--all")
    wait_for_first_request(live)
    second = live.run("push", "--all", "--wait", "60", "--json")
    first.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    statuses = {r["status"] for r in json.loads(second.stdout)["results"]}
    assert statuses == {"skipped"}  # it waited for the first, which had done everything
    assert_exactly_once([r["number"] for r in records], live.invoices(), live.home)


@pytest.mark.loopback
def test_link_while_push_runs_is_refused_with_9(live: Live) -> None:
    records = month(150, 13)
    live.write_source(records)
    with live.writes_held() as waiting:  # the push stays mid-run until `link` has ended
        push = live.popen("push", "--all")
        wait_until(lambda: waiting() > 0, "the push's first write")
        link = live.run("link", records[0]["number"], "1")
    push.communicate(timeout=120)
    assert push.returncode == 0
    assert link.returncode == 9, link.stderr
    assert_exactly_once([r["number"] for r in records], live.invoices(), live.home)
