"""The QuickBooks ledger reads batch answers as QuickBooks means them: only a business refusal
says nothing was created; a missing answer, a throttle or a server fault leaves it open."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from invoicesync.errors import EXIT_CONFLICT, EXIT_PARTIAL, Refused
from invoicesync.ledger.base import Draft, Refusal, Unanswered
from invoicesync.models import Customer, Line, LocalInvoice
from invoicesync.targets.quickbooks.api import errors as qerr
from invoicesync.targets.quickbooks.ledger import QuickBooksLedger, translate


def _invoice(number: str) -> LocalInvoice:
    line = Line(
        service="Translation", quantity=Decimal(1), unit_price=Decimal(10), amount=Decimal(10)
    )
    return LocalInvoice(
        number=number,
        customer=Customer(name="Acme"),
        issue_date=date(2026, 10, 1),
        currency="USD",
        lines=(line,),
    )


class BatchOnly:
    """A client whose batch endpoint answers with canned items."""

    def __init__(self, answers: list[dict[str, Any]] | Exception) -> None:
        self.answers = answers

    def batch(self, items: Sequence[Mapping[str, Any]], *, requestid: str) -> list[dict[str, Any]]:
        if isinstance(self.answers, Exception):
            raise self.answers
        return self.answers


def _create(answers: list[dict[str, Any]] | Exception) -> dict[str, Any]:
    drafts = [Draft(_invoice(n), {"Line": []}, "1", n) for n in ("A-1", "A-2", "A-3")]
    ledger = QuickBooksLedger(BatchOnly(answers), "r1", send_numbers=True)  # type: ignore[arg-type]
    return dict(ledger.create(drafts, {d.number: f"rid-{d.number}" for d in drafts}, batch=True))


def test_items_without_an_answer_or_with_a_throttle_stay_open() -> None:
    throttle = {"bId": "2", "Fault": {"type": "ThrottleExceeded", "Error": [{"code": "3001"}]}}
    refused = {
        "bId": "3",
        "Fault": {
            "type": "ValidationFault",
            "Error": [{"code": "6000", "Message": "A business validation error has occurred"}],
        },
    }
    out = _create([{"bId": "1"}, throttle, refused])
    assert isinstance(out["A-1"], Unanswered) and isinstance(out["A-2"], Unanswered)
    assert isinstance(out["A-3"], Refusal)
    assert (out["A-3"].code, out["A-3"].exit_code) == ("6000", EXIT_PARTIAL)


def test_a_whole_batch_refused_refuses_each_invoice() -> None:
    error = qerr.ValidationError("Request has invalid or unsupported property", code="2010")
    out = _create(error)
    assert set(out) == {"A-1", "A-2", "A-3"}
    assert all(isinstance(r, Refusal) and r.code == "2010" for r in out.values())


def test_a_refusal_outside_a_push_has_a_documented_exit_code_not_1() -> None:
    stale = qerr.StaleObjectError("Stale Object Error", code="5010")
    found = translate(stale, "writing our marker")
    assert isinstance(found, Refused) and found.exit_code == EXIT_CONFLICT
    other = translate(qerr.ValidationError("Business rule", code="6000"), "linking")
    assert other.exit_code == EXIT_PARTIAL


@pytest.mark.parametrize("raw", ["12.5x", "NaN", "Infinity"])
def test_malformed_amounts_in_an_answer_read_as_unknown(raw: str) -> None:
    from invoicesync.targets.quickbooks.api.rows import Entity, QBOInvoice

    assert QBOInvoice.from_row({"Id": "1", "TotalAmt": raw}, Entity.INVOICE).total is None
