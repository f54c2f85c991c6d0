"""Admin hooks under /_sandbox/ (no key; loopback only): what B2BRouter and the receiving end
would do on their own, made explicit for tests, the demo and users' scripts.

    GET  /_sandbox/requests                   the request log (API keys are never logged)
    POST /_sandbox/faults                     {"latency_ms", "error_next", "drop_next_writes", ...}
    POST /_sandbox/invoices/{id}/state        {"state": "sent", "paid_date": "2026-05-01"}
    POST /_sandbox/deliver                    every `sending` invoice becomes `sent`, or
                                              `error` with its reason (a contact without a
                                              transport); processing tax reports settle
    POST /_sandbox/tax_reports/fail_next      {"reason": "..."}: the next tax report to settle
                                              ends in `error` with that reason
    GET  /_sandbox/accounts/{id}              the account, its contacts and invoices
    POST /_sandbox/accounts/{id}/settings     {"rounding_method", "round_before_sum", ...}
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from invoicesync.targets.b2brouter.sandbox.model import ApiError, is_id
from invoicesync.targets.b2brouter.sandbox.money import ROUNDING_METHODS

if TYPE_CHECKING:
    from invoicesync.targets.b2brouter.sandbox.app import B2BRouterSandbox


@dataclass
class Faults:
    """Injected misbehaviour: latency (real time), 5xx and 429 before any work, and a cut
    connection after a write committed. Rates draw from a seeded RNG; `*_next` are certain."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_next: int = 0
    throttle_next: int = 0
    drop_rate: float = 0.0
    drop_next_writes: int = 0
    seed: int = 0


def admin(sb: B2BRouterSandbox, method: str, path: str, body: bytes) -> tuple[int, Any]:
    try:
        spec = json.loads(body or b"{}")
    except ValueError:
        return 400, {"error": "the body must be JSON"}
    if not isinstance(spec, dict):
        return 400, {"error": "the body must be a JSON object"}
    parts = path.strip("/").split("/")[1:]
    net = sb.network
    try:
        if parts == ["requests"] and method == "GET":
            return 200, sb.log()
        if parts == ["faults"] and method == "POST":
            sb.set_faults(Faults(**spec))
            return 200, {"ok": True}
        if parts == ["deliver"] and method == "POST":
            return 200, net.deliver_all()
        if parts == ["tax_reports", "fail_next"] and method == "POST":
            net.deliveries.fail_reports.append(str(spec.get("reason") or "rejected"))
            return 200, {"ok": True}
        if len(parts) == 3 and parts[0] == "invoices" and parts[2] == "state" and method == "POST":
            invoice = net.invoices.get(int(parts[1])) if is_id(parts[1]) else None
            if invoice is None:
                return 404, {"error": "no such invoice"}
            net.force_state(invoice, str(spec.get("state")), spec.get("paid_date"))
            return 200, {"invoice": net.invoice_json(invoice)}
        if len(parts) >= 2 and parts[0] == "accounts" and is_id(parts[1]):
            account = net.accounts.get(int(parts[1]))
            if account is None:
                return 404, {"error": "no such account"}
            if parts[2:] == ["settings"] and method == "POST":
                calc = dataclasses.replace(account.calc, **spec)
                if calc.rounding_method not in ROUNDING_METHODS:
                    return 400, {"error": "unknown rounding_method"}
                account.calc = calc
                return 200, {"account": account.to_json()}
            if parts[2:] == [] and method == "GET":
                return 200, {
                    "account": account.to_json(),
                    "contacts": [
                        c.to_json() for c in net.contacts.values() if c.account_id == account.id
                    ],
                    "invoices": [
                        net.invoice_json(i)
                        for i in net.invoices.values()
                        if i.account_id == account.id
                    ],
                }
    except (TypeError, ApiError) as exc:
        return 400, {"error": str(exc)}
    return 404, {"error": "not_found"}
