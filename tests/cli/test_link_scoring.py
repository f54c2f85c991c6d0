"""`link --best` on realistic cases, and `link` asked again for the link that exists."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from invoicesync import matching
from tests.cli.test_link import CONTOSO_EXTRA, store, with_extra
from tests.helpers import US, World

DAY = date(2026, 10, 22)


def points(
    *,
    doc: str | None = "1037",
    customer: str | None = "7",
    total: str = "420.00",
    days: int = 0,
    currency: str = "USD",
    marker: str | None = None,
) -> int:
    """The score of a QuickBooks invoice against local INV-7 (customer 7, 420.00 USD)."""
    return matching.score(
        number="INV-7",
        customer_id="7",
        total=Decimal("420.00"),
        issue_date=DAY,
        currency="USD",
        remote_doc=doc,
        remote_customer_id=customer,
        remote_total=Decimal(total),
        remote_date=(DAY + timedelta(days=days)).isoformat(),
        remote_currency=currency,
        marker_number=marker,
    ).points


@pytest.mark.parametrize(
    ("case", "score", "strong"),
    [
        ("typed in by hand: QuickBooks' own number", points(), True),
        ("same number, customer, total, date", points(doc="INV-7"), True),
        ("same number, customer, total; dated later", points(doc="INV-7", days=12), True),
        ("hand-typed, dated 3 days later", points(days=3), False),
        ("same number, different total", points(doc="INV-7", total="360.00"), False),
        ("same number and total, other customer", points(doc="INV-7", customer="8"), False),
        ("same amount in another currency", points(currency="EUR"), False),
        ("last month's retainer", points(days=-30), False),
        ("carries another invoice's marker", points(marker="INV-6"), False),
    ],
)
def test_scores_of_realistic_cases(case: str, score: int, strong: bool) -> None:
    assert matching.unambiguous_best([score]) is strong, (case, score)


def test_the_right_invoice_beats_last_months_retainer_and_twins_stay_ambiguous() -> None:
    assert matching.unambiguous_best([points(), points(days=-30)])
    assert not matching.unambiguous_best([points(), points(doc="1038")])
    assert not matching.unambiguous_best([points(), points(days=3)])
    assert points(doc="INV-7") == 100 and points(marker="INV-7") == 100


def test_best_links_the_hand_typed_invoice(us: World) -> None:
    """Same customer, total, date and currency; QuickBooks numbered it 1037."""
    with_extra(us, CONTOSO_EXTRA)
    result = us.json("link", "INV-2026-0111", "--best")
    assert (result["remote_id"], result["doc_number"]) == ("1", "1037")
    assert store(us).link(US, "INV-2026-0111").remote_id == "1"  # type: ignore[union-attr]


def test_link_again_to_the_same_invoice_is_nothing_to_do(us: World) -> None:
    with_extra(us, CONTOSO_EXTRA)
    assert us.run("link", "INV-2026-0111", "1").exit_code == 0
    us.sandbox.requests.clear()
    again = us.run("link", "INV-2026-0111", "1")
    assert again.exit_code == 0, again.stderr
    assert "INV-2026-0111 is already linked to QuickBooks invoice 1; nothing to do." in (
        again.stderr
    )
    assert not [e for e in us.sandbox.requests if e.method == "POST" and e.kind == "invoice"]
    by_doc = us.json("link", "INV-2026-0111", "--doc-number", "1037")
    assert (by_doc["remote_id"], by_doc["already_linked"]) == ("1", True)
    other = us.run("link", "INV-2026-0111", "2")
    assert other.exit_code == 6  # another target is still a conflict
    assert "already linked to QuickBooks invoice 1" in other.stderr
