"""Faults: a dropped connection after the create committed, 5xx, 429, connect errors, latency.
The client retries only what is safe and says when a write's outcome is uncertain."""

from __future__ import annotations

import httpx
import pytest

from invoicesync.targets.b2brouter.api import B2BRouterClient, RetryPolicy
from invoicesync.targets.b2brouter.api import errors as berr
from invoicesync.targets.b2brouter.sandbox import B2BRouterSandbox, B2BRouterTransport, Faults
from invoicesync.targets.b2brouter.sandbox import app as sandbox_app
from tests.b2brouter.conftest import BASE, ES_KEY
from tests.b2brouter.test_client import draft


def posts(sandbox: B2BRouterSandbox) -> int:
    return sum(1 for e in sandbox.log() if e["method"] == "POST" and e["kind"] == "api")


def test_drop_after_commit_is_uncertain_and_not_retried(
    client: B2BRouterClient, sandbox: B2BRouterSandbox
) -> None:
    sandbox.set_faults(Faults(drop_next_writes=1))
    with pytest.raises(berr.B2BRouterConnectionError) as exc:
        client.create_invoice(draft())
    assert exc.value.uncertain
    assert posts(sandbox) == 1 and sandbox.log()[-1]["dropped"]
    # The invoice exists: looking it up by number is how the caller resolves the doubt.
    [found] = client.find_by_number("INV-9")
    assert found.file_reference == "[invoicesync INV-9]"
    with pytest.raises(berr.DuplicateNumberError):
        client.create_invoice(draft())


def test_5xx_on_create_is_uncertain_and_not_retried(
    client: B2BRouterClient, sandbox: B2BRouterSandbox, sleeps: list[float]
) -> None:
    sandbox.set_faults(Faults(error_next=1))
    with pytest.raises(berr.ServerError) as exc:
        client.create_invoice(draft())
    assert exc.value.uncertain and exc.value.status in {500, 502, 503}
    assert posts(sandbox) == 1 and sleeps == []
    assert client.find_by_number("INV-9") == []  # this fault came before any work


def test_5xx_on_reads_is_retried_with_backoff(
    client: B2BRouterClient, sandbox: B2BRouterSandbox, sleeps: list[float]
) -> None:
    sandbox.set_faults(Faults(error_next=2))
    assert client.get_account().id == 211
    assert sleeps == [0.5, 1.0]
    sandbox.set_faults(Faults(error_next=3))
    with pytest.raises(berr.ServerError) as exc:
        client.get_account()
    assert not exc.value.uncertain


def test_429_is_retried_after_retry_after_even_for_a_create(
    client: B2BRouterClient, sandbox: B2BRouterSandbox, sleeps: list[float]
) -> None:
    sandbox.set_faults(Faults(throttle_next=1))
    inv = client.create_invoice(draft())
    assert sleeps == [1.0] and posts(sandbox) == 2
    assert [i.id for i in client.find_by_number("INV-9")] == [inv.id]


def test_dropped_update_is_retried_because_put_is_idempotent(
    client: B2BRouterClient, sandbox: B2BRouterSandbox
) -> None:
    inv = client.create_invoice(draft())
    sandbox.set_faults(Faults(drop_next_writes=1))
    assert client.update_invoice(inv.id, {"extra_info": "x"}).extra_info == "x"
    puts = [e for e in sandbox.log() if e["method"] == "PUT"]
    assert [e["dropped"] for e in puts] == [True, False]


def test_dropped_send_is_uncertain(client: B2BRouterClient, sandbox: B2BRouterSandbox) -> None:
    inv = client.create_invoice(draft())
    sandbox.set_faults(Faults(drop_next_writes=1))
    with pytest.raises(berr.B2BRouterConnectionError) as exc:
        client.send_invoice(inv.id)
    assert exc.value.uncertain
    assert client.get_invoice(inv.id).state == "sending"


class RefuseFirstConnect(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.failures:
            self.failures -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return self.inner.handle_request(request)


def test_connect_error_never_reached_the_server_so_a_create_is_retried(
    sandbox: B2BRouterSandbox,
) -> None:
    slept: list[float] = []
    transport = RefuseFirstConnect(B2BRouterTransport(sandbox), 1)
    with B2BRouterClient(
        ES_KEY, "211", base_url=BASE, transport=transport, sleep=slept.append, jitter=lambda: 0.0
    ) as c:
        assert c.create_invoice(draft()).number == "INV-9"
    assert slept == [0.25] and posts(sandbox) == 1


def test_connect_error_every_time_is_certain_not_uncertain(sandbox: B2BRouterSandbox) -> None:
    transport = RefuseFirstConnect(B2BRouterTransport(sandbox), 99)
    with (
        B2BRouterClient(
            ES_KEY,
            "211",
            base_url=BASE,
            transport=transport,
            retry=RetryPolicy(max_attempts=2),
            sleep=lambda s: None,
        ) as c,
        pytest.raises(berr.B2BRouterConnectionError) as exc,
    ):
        c.create_invoice(draft())
    assert not exc.value.uncertain and "cannot reach B2BRouter" in str(exc.value)


def test_random_faults_are_reproducible_from_the_seed() -> None:
    def outcomes(seed: int) -> list[int]:
        sb = B2BRouterSandbox(faults=Faults(error_rate=0.5, drop_rate=0.5, seed=seed))
        http = httpx.Client(
            base_url=BASE, transport=B2BRouterTransport(sb), headers={"X-B2B-API-Key": ES_KEY}
        )
        result = []
        contact = {"contact": {"name": "X", "email": "x@example.com"}}
        for _ in range(16):
            try:
                result.append(http.post("/accounts/211/contacts", json=contact).status_code)
            except httpx.RemoteProtocolError:
                result.append(-1)
        return result

    first = outcomes(1)
    assert first == outcomes(1)
    assert 201 in first and -1 in first and any(s >= 500 for s in first)
    assert first != outcomes(2)


def test_latency_is_injected_before_the_api_answers(
    http: httpx.Client, sandbox: B2BRouterSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    naps: list[float] = []
    monkeypatch.setattr(sandbox_app.time, "sleep", naps.append)
    assert http.post("/_sandbox/faults", json={"latency_ms": 250}).json() == {"ok": True}
    assert http.get("/accounts/211").status_code == 200
    assert naps == [0.25]
