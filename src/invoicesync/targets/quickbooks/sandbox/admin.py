"""`/_sandbox/...`: unauthenticated helpers for tests and users' scripts (loopback only)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING

from invoicesync.targets.quickbooks.sandbox.errors import Fault
from invoicesync.targets.quickbooks.sandbox.injection import Faults
from invoicesync.targets.quickbooks.sandbox.wire import Request, Response, dumps, json_response

if TYPE_CHECKING:
    from invoicesync.targets.quickbooks.sandbox.app import Sandbox
    from invoicesync.targets.quickbooks.sandbox.company import Company

_OK = {"ok": True}


def serve_admin(sandbox: Sandbox, request: Request, path: str) -> Response:
    parts = path.split("/")[2:]
    post = request.method == "POST"
    with sandbox.lock:
        if parts == ["requests"]:
            return json_response(200, [e.__dict__ for e in sandbox.requests])
        if parts == ["faults"] and post:
            try:
                spec = json.loads(request.body or b"{}")
                spec["drop_requestids"] = set(spec.get("drop_requestids", []))
                faults = Faults(**spec)
            except (ValueError, TypeError, AttributeError) as exc:
                return json_response(
                    400, {"error": "invalid_faults", "error_description": str(exc)}
                )
            sandbox.set_faults(faults)
            return json_response(200, _OK)
        if parts == ["expire-access-tokens"] and post:
            sandbox.oauth.expire_access_tokens()
            return json_response(200, _OK)
        if len(parts) >= 2 and parts[0] == "realms" and parts[1] in sandbox.companies:
            company = sandbox.companies[parts[1]]
            if parts[2:] == ["state"]:
                return Response(200, dumps(company.entities), {})
            if parts[2:] == ["sent"]:
                return json_response(200, company.sent)
            if len(parts) == 5 and parts[2] == "invoices" and parts[4] == "pay" and post:
                return _pay(company, parts[3], request.body)
            if len(parts) == 5 and parts[2] == "attachables" and parts[4] == "content":
                content = company.files.get(parts[3])
                if content is not None:
                    kind = company.entities["Attachable"][parts[3]]["ContentType"]
                    return Response(200, content, {"content-type": kind})
            if parts[2:] == ["preferences"] and post:
                prefs = json.loads(request.body or b"{}")
                if "custom_txn_numbers" in prefs:
                    company.custom_txn_numbers = bool(prefs["custom_txn_numbers"])
                if "multicurrency" in prefs:
                    company.multicurrency = bool(prefs["multicurrency"])
                return json_response(200, _OK)
    return json_response(404, {"error": "not_found"})


def _pay(company: Company, invoice_id: str, raw: bytes) -> Response:
    """`{"amount": "…", "method": "…", "reference": "…", "date": "YYYY-MM-DD"}`, all optional:
    the customer pays the invoice (all of its balance without `amount`)."""
    try:
        spec = json.loads(raw or b"{}")
        if not isinstance(spec, dict):
            raise TypeError("the body must be a JSON object")
        amount = Decimal(str(spec["amount"])) if spec.get("amount") is not None else None
        invoice = company.record_payment(
            invoice_id,
            amount,
            method=str(spec.get("method", "")),
            reference=str(spec.get("reference", "")),
            txn_date=str(spec.get("date", "")),
        )
    except Fault as fault:
        return json_response(400, fault.body())
    except (ValueError, TypeError, ArithmeticError) as exc:
        return json_response(400, {"error": "invalid_payment", "error_description": str(exc)})
    return json_response(200, invoice)
