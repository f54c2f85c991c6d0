"""The client's prediction of B2BRouter's totals (for the rounding pre-flight) agrees with the
sandbox, an independent implementation of the same documentation, under every setting."""

from __future__ import annotations

from decimal import Decimal

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicesync.targets.b2brouter.api import LineDraft, Rounding, TaxDraft
from invoicesync.targets.b2brouter.api.calc import expected_totals
from invoicesync.targets.b2brouter.sandbox import B2BRouterSandbox, B2BRouterTransport
from tests.b2brouter.conftest import BASE, ES_KEY

amounts = st.decimals(min_value=Decimal("-999.99"), max_value=Decimal("9999.99"), places=3)
quantities = st.decimals(min_value=Decimal("0.25"), max_value=Decimal("40"), places=2)
taxes = st.sampled_from(
    [("S", Decimal(21)), ("S", Decimal("10")), ("Z", Decimal(0)), ("S", Decimal("-15"))]
)
withholdings = st.sampled_from(
    [(), (TaxDraft("IRPF", "S", Decimal(-15)),), (TaxDraft("IRPF", "S", Decimal(-7)),)]
)
signs = st.sampled_from([Decimal(1), Decimal(-1)])  # -1: a credit note's line
line_drafts = st.builds(
    lambda q, p, t, w, sign: LineDraft("x", q * sign, p, t[0], t[1], "IVA", w),
    quantities,
    amounts,
    taxes,
    withholdings,
    signs,
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(line_drafts, min_size=1, max_size=6),
    st.sampled_from(["half_up", "half_even", "half_down"]),
    st.booleans(),
    st.booleans(),
)
def test_prediction_matches_the_sandbox(
    lines: list[LineDraft], method: str, before_sum: bool, per_line: bool
) -> None:
    sandbox = B2BRouterSandbox(["es"])
    http = httpx.Client(
        base_url=BASE, transport=B2BRouterTransport(sandbox), headers={"X-B2B-API-Key": ES_KEY}
    )
    settings_body = {
        "rounding_method": method,
        "round_before_sum": before_sum,
        "apply_taxes_per_line": per_line,
    }
    assert http.post("/_sandbox/accounts/211/settings", json=settings_body).status_code == 200
    body = {
        "invoice": {
            "number": "C-1",
            "date": "2026-05-04",
            "contact_id": 5001,
            "invoice_lines_attributes": [
                {
                    "description": ln.description,
                    "quantity": str(ln.quantity),
                    "price": str(ln.price),
                    "taxes_attributes": [
                        {"name": t.name, "category": t.category, "percent": str(t.percent)}
                        for t in ln.taxes
                    ],
                }
                for ln in lines
            ],
        }
    }
    created = http.post("/accounts/211/invoices", json=body)
    assert created.status_code == 201, created.text
    got = created.json(parse_float=Decimal)["invoice"]
    want = expected_totals(lines, Rounding(method, before_sum, per_line))
    assert Decimal(got["subtotal"]) == want.subtotal
    assert Decimal(got["total"]) == want.total
    assert {
        (t["category"], Decimal(t["percent"])): Decimal(t["amount"]) for t in got["taxes"]
    } == dict(want.taxes)


def test_settings_make_a_cent_of_difference() -> None:
    lines = [LineDraft("x", Decimal(1), Decimal("0.125"), "S", Decimal(21))] * 2
    loose = expected_totals(lines, Rounding("half_up", False, False))
    tight = expected_totals(lines, Rounding("half_up", True, True))
    assert (loose.subtotal, loose.tax_total, loose.total) == (
        Decimal("0.25"),
        Decimal("0.05"),
        Decimal("0.30"),
    )
    assert (tight.subtotal, tight.tax_total, tight.total) == (
        Decimal("0.26"),
        Decimal("0.06"),
        Decimal("0.32"),
    )


def test_iva_and_irpf_per_line_and_per_group_differ_by_a_cent() -> None:
    """Each tax of a line is computed on the line's whole base; three lines of 0.05
    with 21 % IVA and -15 % IRPF give 0.03 and -0.03 per line, 0.03 and -0.02 per group."""
    irpf = (TaxDraft("IRPF", "S", Decimal(-15)),)
    lines = [LineDraft("x", Decimal(1), Decimal("0.05"), "S", Decimal(21), "IVA", irpf)] * 3
    per_line = expected_totals(lines, Rounding("half_up", True, True))
    per_group = expected_totals(lines, Rounding("half_up", False, False))
    assert per_line.taxes == {
        ("S", Decimal(21)): Decimal("0.03"),
        ("S", Decimal(-15)): Decimal("-0.03"),
    }
    assert per_group.taxes == {
        ("S", Decimal(21)): Decimal("0.03"),
        ("S", Decimal(-15)): Decimal("-0.02"),
    }
    assert (per_line.total, per_group.total) == (Decimal("0.15"), Decimal("0.16"))
    freelance = [LineDraft("x", Decimal(1), Decimal(500), "S", Decimal(21), "IVA", irpf)]
    for method in ("half_up", "half_even", "half_down"):
        for before, each in ((False, False), (True, False), (False, True), (True, True)):
            got = expected_totals(freelance, Rounding(method, before, each))
            assert (got.subtotal, got.tax_total, got.total) == (
                Decimal("500.00"), Decimal("30.00"), Decimal("530.00")
            )  # fmt: skip


def test_unknown_rounding_method_is_refused() -> None:
    lines = [LineDraft("x", Decimal(1), Decimal(1), "S", Decimal(21))]
    try:
        expected_totals(lines, Rounding("banker", False, False))
    except ValueError as exc:
        assert "banker" in str(exc)
    else:
        raise AssertionError("no error")
