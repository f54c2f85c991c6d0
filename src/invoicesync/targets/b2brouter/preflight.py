"""Pre-flight of a batch for B2BRouter: the contact of each invoice, its lines as categories
and percents, and the rounding check, all before anything is sent (reads only).

Refused per invoice, as Protemos does: a line with no tax or no rate, a tax that is not an
EN 16931 category (an amount-based QuickBooks tax code: B2BRouter's taxes are a category and a
percent only), an invoice-level sales tax code, tax-inclusive prices, a credit note that names
no invoice or one B2BRouter does not have, a customer that matches no contact or several, and
totals B2BRouter would compute differently (the account's calculation settings must match the
source; docs/b2brouter.md#rounding).

A line's several taxes (21 % IVA and a -15 % IRPF withholding) go as several
`taxes_attributes`, each with the name the source gives. A credit note goes as B2BRouter's: its
lines with negative quantities, `is_credit_note`, and `invoice_references` naming the number
and date of the invoice it credits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from invoicesync.ledger.base import Draft, Problem
from invoicesync.marker import marker
from invoicesync.models import VAT_CATEGORIES, LocalInvoice
from invoicesync.targets.b2brouter.api import (
    Account,
    Contact,
    Credited,
    LineDraft,
    TaxDraft,
    choose_contact,
    invoice_payload,
)
from invoicesync.targets.b2brouter.api.calc import ExpectedTotals, expected_totals

# B2BRouter's own categories beside EN 16931's (docs/b2brouter.md, mapping table).
CATEGORIES = VAT_CATEGORIES | {"H", "AA", "AAA", "NS"}
ZERO_RATED = frozenset({"Z", "E", "AE", "K", "G", "O", "NS"})


# A tax as the source gives it: category (None: no tax), rate (None: none given), name.
_Wanted = tuple[str | None, Decimal | None, str | None]


def line_drafts(inv: LocalInvoice) -> tuple[list[LineDraft], list[Problem]]:
    """The invoice's lines and adjustments as B2BRouter lines, or why some cannot be. A credit
    note's quantities are negative, as B2BRouter's credit notes are written."""
    drafts: list[LineDraft] = []
    problems: list[Problem] = []
    sign = Decimal(-1) if inv.is_credit_note else Decimal(1)
    items: list[tuple[str, str, Decimal, Decimal, list[_Wanted]]] = []
    for i, ln in enumerate(inv.lines, 1):
        taxes: list[_Wanted] = [(t.category, t.rate, t.name) for t in ln.taxes]
        text = ln.description or ln.service
        items.append(
            (f"line {i}", text, ln.quantity, ln.unit_price, taxes or [(ln.tax, ln.tax_rate, None)])
        )
    for i, a in enumerate(inv.adjustments, 1):
        items.append(
            (f"adjustment {i}", a.description, Decimal(1), a.amount, [(a.tax, a.tax_rate, None)])
        )
    for where, text, quantity, price, wanted in items:
        found = [_tax_draft(where, tax, problems) for tax in wanted]
        good = [t for t in found if t is not None]
        if good and len(good) == len(found):
            first, *more = good
            drafts.append(
                LineDraft(
                    text,
                    quantity * sign,
                    price,
                    first.category,
                    first.percent,
                    first.name,
                    tuple(more),
                )
            )
    return drafts, problems


def _tax_draft(where: str, tax: _Wanted, problems: list[Problem]) -> TaxDraft | None:
    """One tax as B2BRouter's category + percent (+ name: "VAT" unless the source names it)."""
    category, rate, name = tax
    if category is None:
        reason = "no tax: give `tax` (the VAT category) and `tax_rate`, or `taxes`"
        problems.append(Problem("tax", where, reason))
        return None
    if rate is None and category in ZERO_RATED:
        rate = Decimal(0)  # these categories carry no rate; B2BRouter wants percent 0
    if category not in CATEGORIES:
        problems.append(
            Problem(
                "tax",
                where,
                f"{category!r} is not a VAT category (S, Z, E, AE, K, G, O, L, M): B2BRouter "
                "takes a category and a percent, never a tax code or an absolute amount",
            )
        )
        return None
    if rate is None:
        reason = "no tax: give `tax` (the VAT category) and `tax_rate`, or `taxes`"
        problems.append(Problem("tax", where, reason))
        return None
    return TaxDraft(name or "VAT", category, rate)


def invoice_problems(inv: LocalInvoice) -> list[Problem]:
    """What about the invoice as a whole B2BRouter cannot take."""
    out = []
    if inv.is_credit_note and not inv.credit_for:
        reason = "a B2BRouter credit note must name the invoice it credits: give `credit_for`"
        out.append(Problem("type", "credit_note", reason))
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
    calculation settings; any cent of difference is explained, and nothing is sent. A credit
    note is compared as the source writes it, positive: B2BRouter's half-up, half-even and
    half-down are symmetric, so its negative amounts are these with the sign turned."""
    if inv.is_credit_note:
        lines = [replace(ln, quantity=-ln.quantity) for ln in lines]
    try:
        expected = expected_totals(lines, account.rounding)
    except ValueError as exc:
        return Problem("rounding", account.rounding.method, str(exc))
    stated = inv.totals.total if inv.totals and inv.totals.total is not None else None
    source_total = stated if stated is not None else inv.total
    if expected.total == source_total and expected.subtotal == inv.subtotal:
        return None
    return Problem("rounding", str(source_total), _explain(inv, expected, account, stated))


def _explain(
    inv: LocalInvoice, expected: ExpectedTotals, account: Account, stated: Decimal | None
) -> str:
    r = account.rounding
    settings = (
        f"rounding {r.method}, round before sum {'on' if r.round_before_sum else 'off'}, "
        f"taxes per line {'on' if r.apply_taxes_per_line else 'off'}"
    )
    return (
        f"B2BRouter would compute subtotal {expected.subtotal}, tax {expected.tax_total}, total "
        f"{expected.total} ({settings}); {_source(inv, stated)}. "
        "Set the account's calculation settings (Settings → Invoices and quotes) to match "
        "the source, e.g. round before sum on, half up"
    )


def _source(inv: LocalInvoice, stated: Decimal | None) -> str:
    tax = inv.tax or Decimal("0.00")
    if stated is not None and stated != inv.total:
        return f"the source states total {stated} (subtotal {inv.subtotal}, tax {tax} computed)"
    return (
        f"the source has subtotal {inv.subtotal}, tax {tax}, total {inv.total} (lines rounded "
        "half up, then added; each tax rate's sum rounded once)"
    )


def draft(
    inv: LocalInvoice,
    contact: Contact,
    lines: Sequence[LineDraft],
    credited: Credited | None = None,
) -> Draft:
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
        credited=credited,
    )
    return Draft(inv, payload, str(contact.id), inv.number)


def credited_problem(
    inv: LocalInvoice, credited: Mapping[str, Credited]
) -> tuple[Credited | None, Problem | None]:
    """The invoice a credit note corrects, as found in B2BRouter (by number), or why not."""
    if not inv.is_credit_note or not inv.credit_for:
        return None, None
    found = credited.get(inv.credit_for)
    if found is not None:
        return found, None
    reason = (
        "the credited invoice is neither in this push nor in B2BRouter; push it with the credit "
        "note or first (a B2BRouter credit note references the invoice it credits by number "
        "and date)"
    )
    return None, Problem("credit_for", inv.credit_for, reason)


def resolve(
    inv: LocalInvoice,
    contacts: Sequence[Contact],
    account: Account,
    credited: Mapping[str, Credited] | None = None,
) -> tuple[Draft | None, list[Problem]]:
    """The draft of one invoice, or every reason it cannot go (reads already done)."""
    problems = invoice_problems(inv)
    reference, absent = credited_problem(inv, credited or {})
    problems += [absent] if absent else []
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
    return draft(inv, contact, lines, reference), []
