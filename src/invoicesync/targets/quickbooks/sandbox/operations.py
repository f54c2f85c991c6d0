"""The Accounting API's operations on one company: read, write, query, batch and CDC.

`dispatch` maps a routed request to the company's methods and turns rule violations into
Fault responses; authentication, limits, faults and replay happen before, in `api.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from invoicesync.targets.quickbooks.sandbox import attachments
from invoicesync.targets.quickbooks.sandbox import query as qlang
from invoicesync.targets.quickbooks.sandbox.company import Company
from invoicesync.targets.quickbooks.sandbox.errors import Fault, invalid_property, unsupported
from invoicesync.targets.quickbooks.sandbox.pacific import PACIFIC
from invoicesync.targets.quickbooks.sandbox.schema import (
    CDC_ENTITIES,
    ENTITY_NAMES,
    PDF_ENTITIES,
    SENDABLE,
    UPDATE_ONLY,
    WRITABLE,
)
from invoicesync.targets.quickbooks.sandbox.wire import Request, Response, envelope, fault_response

BATCH_MAX_ITEMS = 30


class Operations:
    """One API call against one company; `now` stamps the envelopes."""

    def __init__(self, company: Company, now: datetime, base_url: str) -> None:
        self.company = company
        self.now = now
        self.base_url = base_url

    def dispatch(self, request: Request, parts: list[str]) -> tuple[Response, bool]:
        """Run one API call; returns (response, whether it changed state)."""
        try:
            return self._route(request, parts)
        except Fault as fault:
            return fault_response(fault, self.now), False
        except qlang.QueryError as exc:
            return fault_response(Fault(exc.code, exc.message, exc.detail), self.now), False

    def _route(self, request: Request, parts: list[str]) -> tuple[Response, bool]:
        entity_path = parts[2] if len(parts) > 2 else ""
        if entity_path == "query":
            text = request.query.get("query")
            if text is None and request.method == "POST":
                text = request.body.decode("utf-8")
            return envelope(self.query(text or ""), self.now), False
        if entity_path == "batch" and request.method == "POST":
            return self.batch(request)
        if entity_path == "cdc" and request.method == "GET":
            return envelope(self.cdc(request), self.now), False
        if entity_path in ("upload", "download"):
            return self._files(request, parts)
        name = ENTITY_NAMES.get(entity_path)
        if name is None:
            raise self.unsupported(request)
        if len(parts) == 5 and name in PDF_ENTITIES:
            return self._document(request, parts, name)
        if request.method == "GET":
            return envelope({name: self._read(request, parts, name)}, self.now), False
        if request.method == "POST" and len(parts) == 3 and name == "Preferences":
            if request.query.get("operation") not in (None, "update"):
                raise self.unsupported(request)
            result = self.company.update_preferences(_json_object(request.body))
            return envelope({name: result}, self.now), True
        if request.method == "POST" and len(parts) == 3 and name in WRITABLE | UPDATE_ONLY:
            result = self.write(name, _json_object(request.body), request.query)
            return envelope({name: result}, self.now), True
        raise self.unsupported(request)

    def _files(self, request: Request, parts: list[str]) -> tuple[Response, bool]:
        """`POST /upload` (multipart) and `GET /download/{id}` (the file's temporary URL)."""
        if parts[2] == "upload" and request.method == "POST" and len(parts) == 3:
            content_type = request.headers.get("content-type", "")
            made = attachments.upload(self.company, content_type, request.body, self.base_url)
            result = {"AttachableResponse": [{"Attachable": a} for a in made]}
            return envelope(result, self.now), True
        if parts[2] == "download" and request.method == "GET" and len(parts) == 4:
            found = self.company.read("Attachable", parts[3])
            if "TempDownloadUri" in found:
                url = found["TempDownloadUri"].encode()
                return Response(200, url, {"content-type": "text/plain"}), False
        raise self.unsupported(request)

    def _document(self, request: Request, parts: list[str], name: str) -> tuple[Response, bool]:
        """`GET …/{id}/pdf`, and `POST …/{id}/send` of an invoice or a credit memo (Intuit's
        Invoice and CreditMemo references: "Send an invoice", "Send a credit memo")."""
        if parts[4] == "pdf" and request.method == "GET":
            body = self.company.pdf(name, parts[3])
            return Response(200, body, {"content-type": "application/pdf"}), False
        if parts[4] == "send" and request.method == "POST" and name in SENDABLE:
            sent = self.company.send(name, parts[3], request.query.get("sendTo"))
            return envelope({name: sent}, self.now), True
        raise self.unsupported(request)

    def _read(self, request: Request, parts: list[str], name: str) -> dict[str, Any]:
        company = self.company
        if name == "CompanyInfo" and len(parts) == 4 and parts[3] == company.realm_id:
            return company.read(name, "1")
        if name == "Preferences" and len(parts) == 3:
            return company.preferences()
        if len(parts) == 4 and name != "CompanyInfo":
            return company.read(name, parts[3])
        raise self.unsupported(request)

    def unsupported(self, request: Request) -> Fault:
        return unsupported(
            f"Operation Could not find resource for relative : {request.path} of full path: "
            f"{self.base_url}{request.path} is not supported."
        )

    def write(self, name: str, body: dict[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
        operation = params.get("operation")
        include = params.get("include", "").split(",")
        allow_dup = "allowduplicatedocnum" in include
        if operation == "void" and name == "Invoice":
            return self.company.void(body)
        if operation == "update" and "void" in include and name == "Payment":
            return self.company.void(body, "Payment")
        if operation == "delete":
            return self.company.delete(name, body)
        if operation not in (None, "update"):
            raise unsupported(f"Operation {operation} is not supported.")
        if body.get("Id"):
            return self.company.update(name, body, allow_duplicate_doc=allow_dup)
        return self.company.create(name, body, allow_duplicate_doc=allow_dup)

    def query(self, text: str) -> dict[str, Any]:
        entity, rows, total, parsed = self.company.query(text)
        if parsed.count:
            return {"QueryResponse": {"totalCount": total}}
        if not rows:
            return {"QueryResponse": {}}
        return {
            "QueryResponse": {entity: rows, "startPosition": parsed.start, "maxResults": len(rows)}
        }

    def cdc(self, request: Request) -> dict[str, Any]:
        names = [n.strip() for n in request.query.get("entities", "").split(",") if n.strip()]
        since_raw = request.query.get("changedSince", "")
        try:
            since = datetime.fromisoformat(since_raw.replace("Z", "+00:00"))
        except ValueError:
            raise invalid_property(f"changedSince is invalid: {since_raw}") from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=PACIFIC)
        if since < self.now - timedelta(days=30):
            raise invalid_property("changedSince must be within the last 30 days")
        if not names or any(n not in CDC_ENTITIES for n in names):
            raise invalid_property("entities must name supported entities")
        changed = self.company.changed_since(names, since)
        responses: list[dict[str, Any]] = []
        for n in names:
            rows = changed[n][:1000]
            responses.append({n: rows, "startPosition": 1, "maxResults": len(rows)} if rows else {})
        return {"CDCResponse": [{"QueryResponse": responses}]}

    def batch(self, request: Request) -> tuple[Response, bool]:
        try:
            body: dict[str, Any] = json.loads(request.body or b"{}", parse_float=Decimal)
            items = body["BatchItemRequest"]
            if not isinstance(items, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise invalid_property("BatchItemRequest is required") from None
        if len(items) > BATCH_MAX_ITEMS:
            raise invalid_property(
                f"Number of items in the batch ({len(items)}) exceeds the maximum of "
                f"{BATCH_MAX_ITEMS}"
            )
        out: list[dict[str, Any]] = []
        wrote = False
        for item in items:
            bid = str(item.get("bId", ""))
            try:
                result, item_wrote = self._batch_item(item)
                wrote = wrote or item_wrote
                out.append({"bId": bid, **result})
            except Fault as fault:
                out.append({"bId": bid, **fault.body()})
            except qlang.QueryError as exc:
                out.append({"bId": bid, **Fault(exc.code, exc.message, exc.detail).body()})
        return envelope({"BatchItemResponse": out}, self.now), wrote

    def _batch_item(self, item: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        if "Query" in item:
            return self.query(str(item["Query"])), False
        operation = item.get("operation", "create")
        entity = next((k for k in item if k in WRITABLE), None)
        if entity is None:
            raise invalid_property("Batch item has no entity")
        params = {"operation": operation} if operation in {"delete", "void"} else {}
        if item.get("optionsData"):
            params["include"] = str(item["optionsData"])
        return {entity: self.write(entity, dict(item[entity]), params)}, True


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}", parse_float=Decimal)
    except ValueError:
        raise unsupported(
            "Operation com.fasterxml.jackson.core.JsonParseException: request body is "
            "not valid JSON is not supported."
        ) from None
    if not isinstance(body, dict):
        raise invalid_property("Request body must be an object")
    return body
