"""The CLI against the in-process sandbox over the real httpx transport, which pytest-httpx
intercepts: every request goes to the sandbox, and the send and upload requests are checked
for QuickBooks' exact wire form and can be made to crash the process or lose their answer
(the sandbox's own fault injection drops answers by requestid, not per operation).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from pytest_httpx import HTTPXMock
from typer.testing import CliRunner, Result

from invoicesync.cli import AppState, app
from invoicesync.targets.quickbooks.sandbox import SandboxTransport
from tests.helpers import US, World

API = re.compile(r"^/v3/company/(?P<realm>[^/]+)/(?P<rest>.*)$")


class Crash(Exception):
    """The process dies here (the CLI reports an unexpected error and exits 1)."""


@dataclass
class Wire:
    """The operations' wire forms, with what was sent, and faults on demand."""

    world: World
    uploads: list[dict[str, Any]] = field(default_factory=list)
    # op ("send" | "upload") -> "before" (crash before QuickBooks gets it) or "after" (it did)
    crash: dict[str, str] = field(default_factory=dict)
    drop: dict[str, int] = field(default_factory=dict)  # op -> answers to lose

    @property
    def company(self) -> Any:
        return self.world.sandbox.company(US)

    @property
    def sent(self) -> list[dict[str, str]]:
        """The e-mails QuickBooks sent (the sandbox's record of each)."""
        return list(self.company.sent)

    @property
    def attachables(self) -> list[dict[str, Any]]:
        return list(self.company.entities["Attachable"].values())

    def __call__(self, request: httpx.Request) -> httpx.Response:
        match = API.match(request.url.path)
        rest = match["rest"] if match else ""
        if re.fullmatch(r"invoice/[^/]+/send", rest):
            self._check_send(request)
            return self._faulty(request, "send")
        if re.fullmatch(r"invoice/[^/]+/pdf", rest):
            assert request.method == "GET"
            assert request.headers["accept"] == "application/pdf"
        if rest == "upload":
            self._check_upload(request)
            return self._faulty(request, "upload")
        return self._sandbox(request)

    def _sandbox(self, request: httpx.Request) -> httpx.Response:
        return SandboxTransport(self.world.sandbox).handle_request(request)

    def _faulty(self, request: httpx.Request, op: str) -> httpx.Response:
        assert request.url.params.get("requestid"), f"{op} without requestid"
        if self.crash.get(op) == "before":
            del self.crash[op]
            raise Crash(f"crash before {op} reached QuickBooks")
        response = self._sandbox(request)
        if self.crash.get(op) == "after":
            del self.crash[op]
            raise Crash(f"crash after QuickBooks did the {op}")
        if self.drop.get(op, 0) > 0:
            self.drop[op] -= 1
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return response

    def _check_send(self, request: httpx.Request) -> None:
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/octet-stream"
        assert request.content == b""

    def _check_upload(self, request: httpx.Request) -> None:
        assert request.method == "POST"
        head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            head + request.content
        )
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        assert sorted(parts) == ["file_content_0", "file_metadata_0"]
        meta_part, content_part = parts["file_metadata_0"], parts["file_content_0"]
        assert meta_part.get_content_type() == "application/json"
        metadata = json.loads(meta_part.get_payload(decode=True))
        assert content_part.get_filename() == metadata["FileName"]
        assert content_part.get_content_type() == metadata["ContentType"]
        self.uploads.append({"metadata": metadata, "data": content_part.get_payload(decode=True)})

    # --- what happens in QuickBooks meanwhile ----------------------------------------------

    def pay(
        self, invoice_id: str, amount: str, day: str, method: str = "Check", ref: str = "CHK-1"
    ) -> str:
        """The customer pays in QuickBooks ("Receive payment"); returns the Payment's id."""
        invoice = self.company.record_payment(
            invoice_id, Decimal(amount), method=method, reference=ref, txn_date=day
        )
        return str(invoice["LinkedTxn"][-1]["TxnId"])

    def requests_to(self, httpx_mock: HTTPXMock, pattern: str) -> list[httpx.Request]:
        return [r for r in httpx_mock.get_requests() if re.search(pattern, str(r.url))]


def wire(world: World, httpx_mock: HTTPXMock) -> Wire:
    fake = Wire(world)
    httpx_mock.add_callback(fake, is_reusable=True, is_optional=True)
    return fake


def run(world: World, *args: str) -> Result:
    """The CLI on the real httpx transport (intercepted by pytest-httpx)."""
    result = CliRunner().invoke(app, list(args), obj=AppState(browser=world.browser))
    world.outputs += [result.stdout, result.stderr]
    return result


def params(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(urlparse(str(request.url)).query)
