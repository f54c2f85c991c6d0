"""Pre-flight of a batch for B2BRouter: the contact of each invoice, its lines as categories
and percents, and the rounding check, all before anything is sent (reads only).

Refused per invoice, as Protemos does: a line with no tax or no rate, a tax that is not an
EN 16931 category (an amount-based QuickBooks tax code: B2BRouter's taxes are a category and a
percent only), an invoice-level sales tax code, tax-inclusive prices, a credit note, a
customer that matches no contact or several, and totals B2BRouter would compute differently
(the account's calculation settings must match the source; docs/b2brouter.md#rounding).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from invoicesync.b2brouter import Account, Contact, LineDraft, choose_contact, invoice_payload
from invoicesync.b2brouter.calc import ExpectedTotals, expected_totals
from invoicesync.ledger.base import Draft, Problem
from invoicesync.models import VAT_CATEGORIES, LocalInvoice
from invoicesync.qbo.marker import marker

# B2BRouter's own categories beside EN 16931's (docs/b2brouter.md, mapping table).
CATEGORIES = VAT_CATEGORIES | {"H", "AA", "AAA", "NS"}
ZERO_RATED = frozenset({"Z", "E", "AE", "K", "G", "O", "NS"})


def line_drafts(inv: LocalInvoice) -> tuple[list[LineDraft], list[Problem]]:
    """The invoice's lines and adjustments as B2BRouter lines, or why some cannot be."""
    drafts: list[LineDraft] = []
    problems: list[Problem] = []
    items = [
        (f"line {i}", ln.description or ln.service, ln.quantity, ln.unit_price, ln.tax, ln.tax_rate)
        for i, ln in enumerate(inv.lines, 1)
    ] + [
        (f"adjustment {i}", a.description, Decimal(1), a.amount, a.tax, a.tax_rate)
        for i, a in enumerate(inv.adjustments, 1)
    ]
    for where, text, quantity, price, tax, rate in items:
        if rate is None and tax in ZERO_RATED:
            rate = Decimal(0)  # these categories carry no rate; B2BRouter wants percent 0
        if tax is not None and tax not in CATEGORIES:
            problems.append(
                Problem(
                    "tax",
                    where,
                    f"{tax!r} is not a VAT category (S, Z, E, AE, K, G, O, L, M): B2BRouter "
                    "takes a category and a percent, never a tax code or an absolute amount",
                )
            )
        elif tax is None or rate is None:
            reason = "no tax: give `tax` (the VAT category) and `tax_rate`"
            problems.append(Problem("tax", where, reason))
        else:
            drafts.append(LineDraft(text, quantity, price, tax, rate))
    return drafts, problems


def invoice_problems(inv: LocalInvoice) -> list[Problem]:
    """What about the invoice as a whole B2BRouter cannot take."""
    out = []
    if inv.is_credit_note:
        out.append(Problem("type", "credit_note", "credit notes are not pushed to B2BRouter"))
    if inv.tax_calculation == "inclusive":
        out.append(
            Problem(
                "tax",
                "tax_calculation",
                "tax-inclusive prices: B2BRouter's prices are net; give net prices",
            )
        )
    if inv.tax_code:
        out.append(
            Problem(
                "tax",
                inv.tax_code,
                "an invoice-level sales tax code is an absolute tax; B2BRouter needs a VAT "
                "category and percent on each line",
            )
        )
    return out


def contact_problem(
    inv: LocalInvoice, contacts: Sequence[Contact]
) -> tuple[Contact | None, Problem | None]:
    """The contact by tax id, then exact name (`choose_contact`), or the reason there is none."""
    cust = inv.customer
    match = choose_contact(contacts, tax_id=cust.tax_id, country=cust.country, name=cust.name)
    if match.contact is not None:
        return match.contact, None
    wanted = cust.tax_id or cust.name
    if match.reason == "ambiguous":
        ids = ", ".join(str(c.id) for c in match.candidates)
        reason = f"several B2BRouter contacts match (ids {ids}); keep one or give the tax id"
    else:
        tin = f"tax id {cust.tax_id} or " if cust.tax_id else ""
        reason = f"no B2BRouter contact has {tin}the name {cust.name!r}; create the contact first"
    return None, Problem("contact", wanted, reason)


def rounding_problem(
    inv: LocalInvoice, lines: Sequence[LineDraft], account: Account
) -> Problem | None:
    """Compare the source's totals with what B2BRouter will compute with the account's
    calculation settings; any cent of difference is explained, and nothing is sent."""
    try:
        expected = expected_totals(lines, account.rounding)
    except ValueError as exc:
        return Problem("rounding", account.rounding.method, str(exc))
    stated = inv.totals.total if inv.totals and inv.totals.total is not None else None
    source_total = stated if stated is not None else inv.total
    if expected.total == source_total and expected.subtotal == inv.subtotal:
        return None
    return Problem("rounding", str(source_total), _explain(inv, expected, account))


def _explain(inv: LocalInvoice, expected: ExpectedTotals, account: Account) -> str:
    r = account.rounding
    settings = (
        f"rounding {r.method}, round before sum {'on' if r.round_before_sum else 'off'}, "
        f"taxes per line {'on' if r.apply_taxes_per_line else 'off'}"
    )
    return (
        f"B2BRouter would compute subtotal {expected.subtotal}, tax {expected.tax_total}, total "
        f"{expected.total} ({settings}); the source has subtotal {inv.subtotal}, tax "
        f"{inv.tax or Decimal('0.00')}, total {inv.total} (lines rounded half up, then added). "
        "Set the account's calculation settings (Settings → Invoices and quotes) to match "
        "the source, e.g. round before sum on, half up"
    )


def draft(inv: LocalInvoice, contact: Contact, lines: Sequence[LineDraft]) -> Draft:
    extra = "\n".join(x for x in (f"PO {inv.po_number}" if inv.po_number else None, inv.note) if x)
    payload = invoice_payload(
        number=inv.number,
        date=inv.issue_date,
        contact_id=contact.id,
        lines=lines,
        currency=inv.currency,
        due_date=inv.due_date,
        file_reference=marker(inv.number),
        extra_info=extra or None,
    )
    return Draft(inv, payload, str(contact.id), inv.number)


def resolve(
    inv: LocalInvoice, contacts: Sequence[Contact], account: Account
) -> tuple[Draft | None, list[Problem]]:
    problems = invoice_problems(inv)
    lines, line_problems = line_drafts(inv)
    problems += line_problems
    contact, missing = contact_problem(inv, contacts)
    if missing is not None:
        problems.append(missing)
    if not problems:
        off = rounding_problem(inv, lines, account)
        problems += [off] if off else []
    if problems or contact is None:
        return None, problems
    return draft(inv, contact, lines), []
