"""invoicesync with B2BRouter profiles (and a QuickBooks one) against in-process sandboxes,
driven through the real CLI. One transport routes by host: `b2b.test` is the B2BRouter
sandbox, anything else the QuickBooks sandbox."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import Result

from invoicesync.targets.b2brouter.sandbox import B2BRouterSandbox, B2BRouterTransport, Faults
from invoicesync.targets.quickbooks.sandbox import Sandbox, SandboxTransport
from tests.helpers import Driven

SAMPLES = Path(__file__).parents[2] / "src" / "invoicesync" / "data" / "samples"
B2B_URL = "http://b2b.test"
QBO_URL = "http://qbo.test"
ES_KEY = "test_local_es_key"
ACCOUNT = "211"
REALM_KEY = "b2brouter:211"

CONFIG = f"""\
[profiles.es]
target = "b2brouter"
b2brouter_url = "{B2B_URL}"
b2brouter_account = "{ACCOUNT}"
"""


class Router(httpx.BaseTransport):
    def __init__(self, world: B2BWorld) -> None:
        self.b2b = B2BRouterTransport(world.b2b)
        self.qbo = SandboxTransport(world.qbo)
        self.fail_creates = world.fail_creates  # [n]: answer the next n creates with a 503
        self.races = world.races  # number -> edit of its create, made first by "another writer"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        create = request.method == "POST" and request.url.path.endswith("/invoices")
        body = json.loads(request.read()) if create else {}
        race = self.races.pop(body["invoice"]["number"], None) if create else None
        if race is not None:
            race(body["invoice"])
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            other = httpx.Request("POST", request.url, headers=headers, json=body)
            assert self.b2b.handle_request(other).status_code == 201
        if create and self.fail_creates[0] > 0:
            self.fail_creates[0] -= 1
            error = {"code": "internal_server_error", "message": "down", "type": "api_error"}
            return httpx.Response(503, json={"error": error}, request=request)
        if request.url.host == "b2b.test":
            return self.b2b.handle_request(request)
        return self.qbo.handle_request(request)


@dataclass
class B2BWorld(Driven):
    b2b: B2BRouterSandbox
    qbo: Sandbox
    home: Path
    monkeypatch: pytest.MonkeyPatch
    outputs: list[str] = field(default_factory=list)
    fail_creates: list[int] = field(default_factory=lambda: [0])
    races: dict[str, Callable[[dict[str, Any]], None]] = field(default_factory=dict)

    @property
    def transport(self) -> Router:
        return Router(self)

    def es(self, *args: str) -> Result:
        return self.run("--profile", "es", *args)

    def config(self, text: str = CONFIG) -> Path:
        path = self.home / "config.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def connect(self) -> Result:
        self.monkeypatch.setenv("INVOICESYNC_B2BROUTER_API_KEY", ES_KEY)
        result = self.es("connect")
        self.monkeypatch.delenv("INVOICESYNC_B2BROUTER_API_KEY")
        assert result.exit_code == 0, result.stderr
        return result

    def source(self, invoices: list[dict[str, Any]] | None = None, name: str = "es") -> Path:
        dest = self.home.parent / f"source-{name}.json"
        if invoices is None:
            shutil.copy(SAMPLES / "es" / "invoices.json", dest)
        else:
            dest.write_text(json.dumps(invoices), encoding="utf-8")
        self.monkeypatch.setenv("INVOICESYNC_SOURCE", str(dest))
        return dest

    def invoices(self) -> list[dict[str, Any]]:
        with self.b2b.lock:
            return [
                self.b2b.network.invoice_json(i)
                for i in self.b2b.network.invoices.values()
                if i.account_id == int(ACCOUNT)
            ]

    def by_number(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for inv in self.invoices():
            out.setdefault(inv["number"], []).append(inv)
        return out

    def faults(self, **spec: Any) -> None:
        self.b2b.set_faults(Faults(**spec))

    def state(self, invoice_id: int, state: str, paid_date: str | None = None) -> None:
        with self.b2b.lock:
            self.b2b.network.force_state(self.b2b.network.invoices[invoice_id], state, paid_date)

    def writes(self) -> list[dict[str, Any]]:
        return [e for e in self.b2b.log() if e["method"] in {"POST", "PUT", "DELETE"}]


def eu_invoice(number: str = "EU-1", **over: Any) -> dict[str, Any]:
    invoice: dict[str, Any] = {
        "number": number,
        "customer": {"name": "Acme Ibérica S.A.", "tax_id": "ESA28000000", "country": "ES"},
        "issue_date": "2026-10-05",
        "currency": "EUR",
        "lines": [
            {
                "service": "Translation",
                "quantity": "2",
                "unit_price": "100.00",
                "tax": "S",
                "tax_rate": "21",
            }
        ],
    }
    invoice.update(over)
    return invoice


def make_world(monkeypatch: pytest.MonkeyPatch, home: Path) -> B2BWorld:
    qbo = Sandbox(["us", "uk"], auto_approve=True, base_url=QBO_URL)
    world = B2BWorld(B2BRouterSandbox(), qbo, home, monkeypatch)
    world.config()
    return world
