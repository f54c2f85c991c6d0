"""Fixtures: a fresh B2BRouter sandbox per test, served in-process (no sockets)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from invoicesync.targets.b2brouter.api import B2BRouterClient, RetryPolicy
from invoicesync.targets.b2brouter.sandbox import B2BRouterSandbox, B2BRouterTransport
from tests.b2brouter.world import B2BWorld, make_world

ES_KEY = "test_local_es_key"
FR_KEY = "local_fr_live_key"
BASE = "https://api.b2brouter.net"


@pytest.fixture
def sandbox() -> B2BRouterSandbox:
    return B2BRouterSandbox()


@pytest.fixture
def http(sandbox: B2BRouterSandbox) -> Iterator[httpx.Client]:
    """Plain httpx with the es test key and the targeted version, for the sandbox's rules."""
    with httpx.Client(
        base_url=BASE,
        transport=B2BRouterTransport(sandbox),
        headers={"X-B2B-API-Key": ES_KEY, "X-B2B-API-Version": "2026-04-20"},
    ) as client:
        yield client


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sandbox: B2BRouterSandbox, sleeps: list[float]) -> Iterator[B2BRouterClient]:
    with B2BRouterClient(
        ES_KEY,
        "211",
        base_url=BASE,
        transport=B2BRouterTransport(sandbox),
        retry=RetryPolicy(max_attempts=3),
        sleep=sleeps.append,
        jitter=lambda: 1.0,
    ) as c:
        yield c


def line(
    quantity: str = "1", price: str = "100.00", category: str = "S", percent: object = 21
) -> dict[str, object]:
    return {
        "description": "Translation",
        "quantity": quantity,
        "price": price,
        "taxes_attributes": [{"name": "IVA", "category": category, "percent": percent}],
    }


def invoice_body(number: str = "INV-1", **over: object) -> dict[str, object]:
    invoice: dict[str, object] = {
        "number": number,
        "date": "2026-05-04",
        "contact_id": 5001,
        "invoice_lines_attributes": [line()],
    }
    invoice.update(over)
    return {"invoice": invoice}


@pytest.fixture
def eu(monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> B2BWorld:
    """A B2BRouter profile `es`, connected to account 211, with the es sample as source."""
    world = make_world(monkeypatch, isolated_env)
    world.connect()
    world.source()
    return world
