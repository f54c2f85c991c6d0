"""QuickBooks' send, PDF, upload, Attachable and Payment operations, in their exact wire forms,
for the operations the sandbox does not offer yet; everything else goes to the sandbox.

The CLI runs with the real httpx transport, which pytest-httpx intercepts: one callback routes
`/invoice/<id>/send`, `/invoice/<id>/pdf`, `/upload` and queries on Attachable and Payment
here, and forwards every other request (OAuth, queries, creates) to the in-process sandbox.
"""

from __future__ import annotations

import copy
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
from invoicesync.sandbox import SandboxTransport
from tests.helpers import US, World

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
API = re.compile(r"^/v3/company/(?P<realm>[^/]+)/(?P<rest>.*)$")


class Crash(Exception):
    """The process dies here (the CLI reports an unexpected error and exits 1)."""


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # QuickBooks sends amounts as JSON numbers
    raise TypeError(type(value))


def answer(payload: dict[str, Any], status: int = 200) -> httpx.Response:
    body = json.dumps({**payload, "time": "2026-03-02T10:00:00.000-08:00"}, default=_number)
    return httpx.Response(status, text=body, headers={"content-type": "application/json"})


@dataclass
class Wire:
    """The fake side of the operations, with what it received."""

    world: World
    sends: list[httpx.Request] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    attachables: list[dict[str, Any]] = field(default_factory=list)
    replies: dict[str, httpx.Response] = field(default_factory=dict)
    # fault injection: ("send" | "upload", when) -> what happens; when is "before" or "after"
    crash: dict[str, str] = field(default_factory=dict)
    drop: dict[str, int] = field(default_factory=dict)  # operation -> answers to drop
    clock: int = 0

    @property
    def company(self) -> Any:
        return self.world.sandbox.company(US)

    # --- routing --------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        match = API.match(request.url.path)
        rest = match["rest"] if match else ""
        if re.fullmatch(r"invoice/[^/]+/send", rest):
            return self._once(request, "send", self._send)
        if re.fullmatch(r"invoice/[^/]+/pdf", rest):
            return self._pdf(request, rest.split("/")[1])
        if rest == "upload":
            return self._once(request, "upload", self._upload)
        if rest == "query":
            statement = request.url.params.get("query") or request.content.decode()
            if re.search(r"from (Attachable|Payment)\b", statement, re.IGNORECASE):
                return self._query(statement)
        return SandboxTransport(self.world.sandbox).handle_request(request)

    def _once(self, request: httpx.Request, op: str, handle: Any) -> httpx.Response:
        """requestid replay, crashes and dropped answers, as QuickBooks and networks do."""
        rid = request.url.params.get("requestid")
        assert rid, f"{op} without requestid"
        if self.crash.get(op) == "before":
            del self.crash[op]
            raise Crash(f"crash before {op} reached QuickBooks")
        if rid not in self.replies:
            self.replies[rid] = handle(request)
        if self.crash.get(op) == "after":
            del self.crash[op]
            raise Crash(f"crash after QuickBooks did the {op}")
        if self.drop.get(op, 0) > 0:
            self.drop[op] -= 1
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return self.replies[rid]

    # --- operations -----------------------------------------------------------------------

    def _send(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/octet-stream"
        assert request.content == b""
        invoice_id = request.url.path.split("/")[-2]
        self.sends.append(request)
        row = self.company.entities["Invoice"][invoice_id]
        to = request.url.params.get("sendTo")
        if to is None and "BillEmail" not in row:
            fault = {
                "Error": [
                    {
                        "Message": "Invalid Email Address",
                        "Detail": "Email address is missing",
                        "code": "2050",
                    }
                ],
                "type": "ValidationFault",
            }
            return answer({"Fault": fault}, 400)
        self.clock += 1
        row["EmailStatus"] = "EmailSent"
        row["DeliveryInfo"] = {
            "DeliveryType": "Email",
            "DeliveryTime": f"2026-03-02T10:{self.clock:02d}:00-08:00",
        }
        if to:
            row["BillEmail"] = {"Address": to}
        row["SyncToken"] = str(int(row["SyncToken"]) + 1)
        return answer({"Invoice": copy.deepcopy(row)})

    def _pdf(self, request: httpx.Request, invoice_id: str) -> httpx.Response:
        assert request.method == "GET"
        assert request.headers["accept"] == "application/pdf"
        if invoice_id not in self.company.entities["Invoice"]:
            fault = {
                "Error": [{"Message": "Object Not Found", "Detail": "gone", "code": "610"}],
                "type": "ValidationFault",
            }
            return answer({"Fault": fault}, 400)
        return httpx.Response(200, content=PDF_BYTES, headers={"content-type": "application/pdf"})

    def _upload(self, request: httpx.Request) -> httpx.Response:
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
        data = content_part.get_payload(decode=True)
        assert content_part.get_filename() == metadata["FileName"]
        assert content_part.get_content_type() == metadata["ContentType"]
        row = {
            **metadata,
            "Id": str(5000 + len(self.attachables)),
            "SyncToken": "0",
            "Size": len(data),
        }
        self.uploads.append({"metadata": metadata, "data": data})
        self.attachables.append(row)
        return answer({"AttachableResponse": [{"Attachable": row}]})

    def _query(self, statement: str) -> httpx.Response:
        if re.search(r"from Payment\b", statement, re.IGNORECASE):
            ids = re.findall(r"'([^']*)'", statement.split(" IN ", 1)[1])
            rows = [self.payments[i] for i in ids if i in self.payments]
            entity = "Payment"
        else:
            wanted = re.search(r"EntityRef\.value = '([^']*)'", statement)
            assert wanted and "AttachableRef.EntityRef.Type = 'invoice'" in statement, statement
            rows = [
                a
                for a in self.attachables
                if a["AttachableRef"][0]["EntityRef"]["value"] == wanted[1]
            ]
            entity = "Attachable"
        if not rows:
            return answer({"QueryResponse": {}})
        return answer(
            {"QueryResponse": {entity: rows, "startPosition": 1, "maxResults": len(rows)}}
        )

    # --- what the test does in QuickBooks ----------------------------------------------------

    def pay(
        self, invoice_id: str, amount: str, day: str, method: str = "Check", ref: str = "CHK-1"
    ) -> str:
        """A customer payment recorded in QuickBooks against one invoice."""
        self.company.record_payment(invoice_id, Decimal(amount))
        row = self.company.entities["Invoice"][invoice_id]
        payment_id = str(7000 + len(self.payments))  # unique across invoices, as QuickBooks' are
        row["LinkedTxn"][-1]["TxnId"] = payment_id
        self.payments[payment_id] = {
            "Id": payment_id,
            "SyncToken": "0",
            "TxnDate": day,
            "TotalAmt": Decimal(amount),
            "PaymentRefNum": ref,
            "PaymentMethodRef": {"value": "1", "name": method},
            "CustomerRef": row["CustomerRef"],
            "Line": [
                {
                    "Amount": Decimal(amount),
                    "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}],
                }
            ],
        }
        return payment_id

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
