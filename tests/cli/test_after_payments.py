"""`invoicesync payments`: what was paid, read in a few paged requests, as JSON, table or CSV."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from datetime import date, timedelta

import pytest
from pytest_httpx import HTTPXMock

from tests.cli.after_wire import Wire, run, wire
from tests.cli.test_docs_recipes import block
from tests.helpers import US, World


@pytest.fixture
def qbo(us: World, httpx_mock: HTTPXMock) -> Wire:
    return wire(us, httpx_mock)


def ids(world: World) -> dict[str, str]:
    return {i["DocNumber"]: i["Id"] for i in world.invoices() if i.get("DocNumber")}


def pushed(world: World) -> dict[str, str]:
    assert run(world, "push", "INV-2026-0101", "INV-2026-0102", "INV-2026-0106").exit_code == 0
    return ids(world)


def test_payments_reports_state_amounts_and_the_payments_of_each_invoice(
    us: World, qbo: Wire, httpx_mock: HTTPXMock
) -> None:
    qid = pushed(us)
    total_101 = us.sandbox.company(US).entities["Invoice"][qid["INV-2026-0101"]]["TotalAmt"]
    first = qbo.pay(qid["INV-2026-0101"], "100.00", "2026-03-01", "Check", "CHK-7")
    second = qbo.pay(qid["INV-2026-0101"], str(total_101 - 100), "2026-03-05", "ACH", "T-9")
    partial = qbo.pay(qid["INV-2026-0102"], "10.50", "2026-02-20")
    before = len(httpx_mock.get_requests())
    result = run(us, "payments", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "invoicesync.payments/2"
    assert doc["since"] is None
    rows = {r["invoice"]: r for r in doc["invoices"]}
    assert rows["INV-2026-0101"] == {
        "invoice": "INV-2026-0101",
        "remote_id": qid["INV-2026-0101"],
        "qbo_id": qid["INV-2026-0101"],
        "doc_number": "INV-2026-0101",
        "currency": "USD",
        "total": f"{total_101:.2f}",
        "balance": "0.00",
        "amount_paid": f"{total_101:.2f}",
        "state": "paid",
        "last_payment_date": "2026-03-05",
        "payments": [
            {"id": first, "date": "2026-03-01", "amount": "100.00", "method": "Check",
             "reference": "CHK-7"},
            {"id": second, "date": "2026-03-05", "amount": f"{total_101 - 100:.2f}",
             "method": "ACH", "reference": "T-9"},
        ],
        "kind": "invoice", "credit_applied": "0.00", "credit_remaining": None, "credits": [],
        "applied_to": [],
    }  # fmt: skip
    assert rows["INV-2026-0102"]["state"] == "partly paid"
    assert rows["INV-2026-0102"]["amount_paid"] == "10.50"
    assert [p["id"] for p in rows["INV-2026-0102"]["payments"]] == [partial]
    assert rows["INV-2026-0106"]["state"] == "open"
    assert rows["INV-2026-0106"]["payments"] == []
    # no request per invoice: one invoice query and one payment query (plus the token)
    queries = [r for r in httpx_mock.get_requests()[before:] if r.url.path.endswith("/query")]
    assert len(queries) == 2
    assert "from Invoice where Id IN" in queries[0].url.params["query"]
    assert "from Payment where Id IN" in queries[1].url.params["query"]
    # what was seen is kept: `invoices` shows it offline
    listed = {i["number"]: i for i in json.loads(run(us, "invoices", "--json").stdout)["invoices"]}
    assert listed["INV-2026-0101"]["link"]["remote_state"] == "paid"
    assert listed["INV-2026-0102"]["link"]["remote_balance"] is not None


def test_payments_since_keeps_recent_payments_and_new_deletions(us: World, qbo: Wire) -> None:
    qid = pushed(us)
    qbo.pay(qid["INV-2026-0101"], "5.00", "2026-01-10")
    qbo.pay(qid["INV-2026-0102"], "7.00", "2026-03-10")
    del us.sandbox.company(US).entities["Invoice"][qid["INV-2026-0106"]]
    doc = json.loads(run(us, "payments", "--since", "2026-03-01", "--json").stdout)
    assert {r["invoice"]: r["state"] for r in doc["invoices"]} == {
        "INV-2026-0102": "partly paid",
        "INV-2026-0106": "deleted",
    }
    again = json.loads(run(us, "payments", "--since", "2026-03-01", "--json").stdout)
    assert [r["invoice"] for r in again["invoices"]] == ["INV-2026-0102"]  # deletion told once


def test_payments_csv_is_written_atomically_one_row_per_payment(
    us: World, qbo: Wire, tmp_path: os.PathLike[str]
) -> None:
    qid = pushed(us)
    pid = qbo.pay(qid["INV-2026-0102"], "10.50", "2026-02-20", "Check", 'R"1,2')
    out = us.home.parent / "paid.csv"
    result = run(us, "payments", "--csv", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"Wrote 3 invoice(s) to {out}." in result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert list(rows[0]) == [
        "source_number", "remote_id", "remote_number", "currency", "total", "balance", "amount_paid",
        "state", "last_payment_date", "payment_id", "payment_date", "payment_amount",
        "payment_method", "payment_reference", "kind", "credit_number", "credit_amount",
        "credit_remaining",
    ]  # fmt: skip
    by = {r["source_number"]: r for r in rows}
    assert by["INV-2026-0102"]["payment_id"] == pid
    assert by["INV-2026-0102"]["payment_amount"] == "10.50"
    assert by["INV-2026-0102"]["payment_reference"] == 'R"1,2'
    assert by["INV-2026-0101"]["payment_id"] == ""
    assert by["INV-2026-0101"]["state"] == "open"
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".paid.csv")] == []


def test_payments_refuses_symlinks_fifos_and_both_outputs(us: World, qbo: Wire) -> None:
    pushed(us)
    target = us.home.parent / "elsewhere.csv"
    target.write_text("keep", encoding="utf-8")
    link = us.home.parent / "link.csv"
    link.symlink_to(target)
    result = run(us, "payments", "--csv", str(link))
    assert result.exit_code == 8
    assert f"{link} is a symbolic link; invoicesync does not write through links" in result.stderr
    assert target.read_text(encoding="utf-8") == "keep"
    fifo = us.home.parent / "fifo.csv"
    os.mkfifo(fifo)
    result = run(us, "payments", "--csv", str(fifo))
    assert result.exit_code == 8
    assert "exists and is not a regular file" in result.stderr
    both = run(us, "payments", "--json", "--csv", str(target))
    assert both.exit_code == 2
    assert "choose --json or --csv, not both" in both.stderr
    bad = run(us, "payments", "--since", "March")
    assert bad.exit_code == 2
    assert "--since 'March' is not a date (YYYY-MM-DD)" in bad.stderr


def test_payments_without_links_is_empty(us: World, qbo: Wire) -> None:
    result = run(us, "payments")
    assert result.exit_code == 0
    assert "No linked invoices." in result.stderr


def test_payments_table_shows_state_and_payments(us: World, qbo: Wire) -> None:
    qid = pushed(us)
    qbo.pay(qid["INV-2026-0102"], "10.50", "2026-02-20")
    result = run(us, "payments")
    assert result.exit_code == 0, result.stderr
    line = next(ln for ln in result.stdout.splitlines() if "INV-2026-0102" in ln)
    assert "partly paid" in line
    assert "2026-02-20 10.50" in line
    assert "Payments in QuickBooks" in result.stdout


# --- an applied credit is credit, never a payment -------------------------------------


def with_credit_note(world: World, qbo: Wire) -> dict[str, str]:
    """L-1 (100.00) pushed with CN-1 (30.00, credit for L-1): invoicesync applies the credit
    with a zero-total Payment; then the customer pays 20.00 of the rest. CN-1 becomes credit
    memo 1 while invoice 1 is Contoso's (the sandbox numbers each entity on its own)."""

    def record(number: str, qty: str, **extra: str) -> dict[str, object]:
        line = {"service": "Translation", "quantity": qty, "unit_price": "0.10"}
        return {
            "number": number, "customer": {"name": "Acme Localization Inc."},
            "issue_date": "2026-10-05", "currency": "USD", "lines": [line], **extra,
        }  # fmt: skip

    source = world.home.parent / "credit.json"
    notes = [record("L-1", "1000"), record("CN-1", "300", type="credit_note", credit_for="L-1")]
    source.write_text(json.dumps(notes), encoding="utf-8")
    world.monkeypatch.setenv("INVOICESYNC_SOURCE", str(source))
    assert run(world, "push", "--all").exit_code == 0
    company = world.sandbox.company(US)
    (memo,) = company.entities["CreditMemo"].values()
    (applied,) = company.entities["Payment"].values()
    invoice = ids(world)["L-1"]
    assert memo["Id"] in company.entities["Invoice"]  # an invoice with the credit memo's Id
    paid = qbo.pay(invoice, "20.00", "2026-10-20", "Check", "CHK-9")
    return {"invoice": invoice, "memo": memo["Id"], "applied": applied["Id"], "paid": paid,
            "applied_on": applied["TxnDate"]}  # fmt: skip


def test_an_applied_credit_is_reported_as_credit_never_as_a_payment(
    us: World, qbo: Wire, httpx_mock: HTTPXMock
) -> None:
    got = with_credit_note(us, qbo)
    before = len(httpx_mock.get_requests())
    result = run(us, "payments", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {r["invoice"]: r for r in json.loads(result.stdout)["invoices"]}
    assert rows["L-1"] == {
        "invoice": "L-1", "kind": "invoice", "remote_id": got["invoice"], "qbo_id": got["invoice"], "doc_number": "L-1",
        "currency": "USD", "total": "100.00", "balance": "50.00", "amount_paid": "50.00",
        "state": "partly paid", "last_payment_date": "2026-10-20",
        "payments": [{"id": got["paid"], "date": "2026-10-20", "amount": "20.00",
                      "method": "Check", "reference": "CHK-9"}],
        "credit_applied": "30.00", "credit_remaining": None,
        "credits": [{"credit_memo_id": got["memo"], "credit_number": "CN-1",
                     "credit_note": "CN-1", "payment_id": got["applied"],
                     "date": got["applied_on"], "amount": "30.00"}],
        "applied_to": [],
    }  # fmt: skip
    assert rows["CN-1"] == {
        "invoice": "CN-1", "kind": "credit_note", "remote_id": got["memo"], "qbo_id": got["memo"], "doc_number": "CN-1",
        "currency": "USD", "total": "30.00", "balance": "0.00", "amount_paid": None,
        "state": "applied", "last_payment_date": None, "payments": [],
        "credit_applied": "30.00", "credit_remaining": "0.00", "credits": [],
        "applied_to": [{"invoice_id": got["invoice"], "invoice": "L-1",
                        "payment_id": got["applied"], "date": got["applied_on"],
                        "amount": "30.00"}],
    }  # fmt: skip
    queries = [
        r.url.params["query"]
        for r in httpx_mock.get_requests()[before:]
        if r.url.path.endswith("/query")
    ]
    assert len(queries) == 3  # invoices, credit memos, payments: one read each
    assert [q.split(" where ")[0] for q in queries] == [
        "select * from Invoice", "select * from CreditMemo", "select * from Payment",
    ]  # fmt: skip
    listed = {i["number"]: i for i in json.loads(run(us, "invoices", "--json").stdout)["invoices"]}
    assert listed["CN-1"]["link"]["remote_state"] == "applied"


def test_the_csv_import_recipe_sees_exactly_the_real_payments(us: World, qbo: Wire) -> None:
    """docs/after-push.md: "one Protemos payment per payment_id", grouped by its own script."""
    got = with_credit_note(us, qbo)
    out = us.home.parent / "paid.csv"
    assert run(us, "payments", "--csv", str(out)).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert list(rows[0])[-4:] == ["kind", "credit_number", "credit_amount", "credit_remaining"]
    shape = [
        (r["source_number"], r["kind"], r["payment_id"], r["payment_amount"], r["credit_number"],
         r["credit_amount"], r["credit_remaining"])
        for r in rows
    ]  # fmt: skip
    assert shape == [
        ("CN-1", "credit_note", "", "", "CN-1", "30.00", "0.00"),
        ("L-1", "invoice", got["paid"], "20.00", "", "", ""),
        ("L-1", "invoice", "", "", "CN-1", "30.00", ""),
    ]
    recipe = block("after-push.md", "python", "payments = defaultdict(list)")
    printed = io.StringIO()
    code = compile(recipe.replace('"paid.csv"', repr(str(out))), "after-push.md", "exec")
    with contextlib.redirect_stdout(printed):
        exec(code, {})  # the docs' own import script, as printed
    assert printed.getvalue().splitlines() == [
        f"{got['paid']} 2026-10-20 USD 20.00 Check CHK-9 [('L-1', '20.00')]"
    ]


def test_a_credit_applied_by_hand_is_credit_with_its_number(
    us: World, qbo: Wire, httpx_mock: HTTPXMock
) -> None:
    """A credit memo made and applied in QuickBooks (not linked): read once, by its Id."""
    got = with_credit_note(us, qbo)
    later = (date.fromisoformat(got["applied_on"]) + timedelta(days=1)).isoformat()
    company = us.sandbox.company(US)
    invoice = company.entities["Invoice"][got["invoice"]]
    (sold,) = [ln for ln in invoice["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    memo = company.create(
        "CreditMemo",
        {
            "CustomerRef": invoice["CustomerRef"], "DocNumber": "CM-HAND",
            "Line": [{"Amount": "5.00", "DetailType": "SalesItemLineDetail",
                      "SalesItemLineDetail": {"ItemRef": sold["SalesItemLineDetail"]["ItemRef"]}}],
        },
    )  # fmt: skip
    company.create(
        "Payment",
        {
            "CustomerRef": invoice["CustomerRef"], "TotalAmt": "0", "TxnDate": later,
            "Line": [{"Amount": "5.00", "LinkedTxn": [{"TxnId": got["invoice"], "TxnType": "Invoice"}]},
                     {"Amount": "5.00", "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]}],
        },
    )  # fmt: skip
    before = len(httpx_mock.get_requests())
    doc = json.loads(run(us, "payments", "--since", later, "--json").stdout)
    assert [r["invoice"] for r in doc["invoices"]] == ["L-1"], doc  # only the credit is new
    row = doc["invoices"][0]
    assert [p["id"] for p in row["payments"]] == [got["paid"]]  # the credits are not payments
    assert [(c["credit_number"], c["credit_note"], c["amount"]) for c in row["credits"]] == [
        ("CN-1", "CN-1", "30.00"),
        ("CM-HAND", None, "5.00"),
    ]
    assert (row["balance"], row["credit_applied"]) == ("45.00", "35.00")
    queries = [r for r in httpx_mock.get_requests()[before:] if r.url.path.endswith("/query")]
    assert len(queries) == 4  # the credit memo by hand: one more read, of credit memos
    assert "from CreditMemo where Id IN" in queries[-1].url.params["query"]


def test_a_voided_invoice_has_an_empty_amount_paid_as_after_push_md_says(
    us: World, qbo: Wire
) -> None:
    qid = pushed(us)
    company = us.sandbox.company(US)
    invoice = company.entities["Invoice"][qid["INV-2026-0101"]]
    company.void({"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]})
    out = us.home.parent / "paid.csv"
    assert run(us, "payments", "--csv", str(out)).exit_code == 0
    by = {r["source_number"]: r for r in csv.DictReader(io.StringIO(out.read_text("utf-8")))}
    assert (by["INV-2026-0101"]["state"], by["INV-2026-0101"]["amount_paid"]) == ("voided", "")
    doc = json.loads(run(us, "payments", "--json").stdout)
    (voided,) = [r for r in doc["invoices"] if r["invoice"] == "INV-2026-0101"]
    assert voided["amount_paid"] is None
