"""`invoicesync push` against the sandbox, through the CLI: fields, exactly-once, diagnostics."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import pytest

from invoicesync.marker import marker_of
from invoicesync.models import DocKind, LocalInvoice
from invoicesync.sources import open_source
from invoicesync.store import JournalEntry, Store, state_lock
from invoicesync.targets.quickbooks.mapping import describe
from invoicesync.targets.quickbooks.sandbox import Faults
from invoicesync.usecases.push_report import request_id
from tests.helpers import SAMPLES, UK, US, World


def sample(company: str) -> list[LocalInvoice]:
    return open_source(SAMPLES / company / "invoices.json").invoices()


def by_doc(world: World, realm: str = US) -> dict[str, dict[str, Any]]:
    return {i.get("DocNumber"): i for i in world.invoices(realm) if i.get("DocNumber")}


def assert_matches(qbo: dict[str, Any], inv: LocalInvoice, world: World, realm: str) -> None:
    """Every field the source states is in the QBO invoice, exactly."""
    company = world.sandbox.company(realm)
    customer = company.entities["Customer"][qbo["CustomerRef"]["value"]]
    assert inv.customer.name in (customer["FullyQualifiedName"], customer["DisplayName"])
    assert qbo["DocNumber"] == inv.number
    assert qbo["TxnDate"] == inv.issue_date.isoformat()
    if inv.due_date:
        assert qbo["DueDate"] == inv.due_date.isoformat()
    assert qbo["CurrencyRef"]["value"] == inv.currency
    if inv.exchange_rate:
        assert qbo["ExchangeRate"] == inv.exchange_rate
    if inv.payment_terms:
        assert qbo["SalesTermRef"]["name"] == inv.payment_terms
    if inv.note:
        assert qbo["CustomerMemo"] == {"value": inv.note}
    if inv.customer.email:
        assert qbo["BillEmail"] == {"Address": inv.customer.email}
    assert marker_of(qbo["PrivateNote"]) == inv.number
    if inv.po_number:
        assert f"PO {inv.po_number}" in qbo["PrivateNote"]
    lines = [ln for ln in qbo["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    expected = [
        (ln.service, ln.quantity, ln.unit_price, ln.amount, describe(ln), ln.tax)
        for ln in inv.lines
    ]
    expected += [
        (a.service, Decimal(1), a.amount, a.amount, a.description, a.tax) for a in inv.adjustments
    ]
    assert len(lines) == len(expected)
    for got, (service, qty, price, amount, desc, tax) in zip(lines, expected, strict=True):
        detail = got["SalesItemLineDetail"]
        assert detail["ItemRef"]["name"] == service
        assert (detail["Qty"], detail["UnitPrice"], got["Amount"]) == (qty, price, amount)
        assert got["Description"] == desc
        code = detail["TaxCodeRef"]["value"]
        if company.country == "US":
            assert code == (tax or "NON")
        else:
            assert company.entities["TaxCode"][code]["Name"] == tax
    assert qbo["TotalAmt"] == inv.total
    if inv.tax is not None:
        assert qbo["TxnTaxDetail"]["TotalTax"] == inv.tax
    if company.country != "US":
        assert qbo["GlobalTaxCalculation"] == (
            "TaxInclusive" if inv.tax_calculation == "inclusive" else "TaxExcluded"
        )


@pytest.mark.parametrize(("company", "realm"), [("us", US), ("uk", UK)])
def test_push_all_creates_invoices_matching_the_source(
    world: World, company: str, realm: str
) -> None:
    world.connect(realm)
    world.source(company)
    result = world.run("push", "--all")
    assert result.exit_code == 0, result.stdout + result.stderr
    pushable = [i for i in sample(company) if i.status in ("sent", "paid")]
    created = by_doc(world, realm)
    for inv in pushable:
        assert_matches(created[inv.number], inv, world, realm)
    assert "INV-2026-0108" not in created and "INV-2026-0109" not in created  # draft, cancelled
    with _store(world) as store:
        links = {ln.invoice_number: ln for ln in store.links(realm)}
    assert set(links) == {i.number for i in pushable}
    assert all(ln.origin == "pushed" and ln.marker_written for ln in links.values())


class _store:
    def __init__(self, world: World) -> None:
        self.store = Store.open(world.home / "state.db")

    def __enter__(self) -> Store:
        return self.store

    def __exit__(self, *a: object) -> None:
        self.store.close()


def test_rerun_creates_nothing_new(us: World) -> None:
    assert us.run("push", "--all").exit_code == 0
    before = len(us.invoices())
    again = us.json("push", "--all")
    assert len(us.invoices()) == before
    assert {r["status"] for r in again["results"]} == {"skipped"}
    assert again["summary"] == {"skipped": 8}


def test_push_uses_batches_and_one_query_per_reference_kind(us: World) -> None:
    us.sandbox.requests.clear()
    assert us.run("push", "--all").exit_code == 0
    api = [e for e in us.sandbox.requests if e.kind != "oauth"]
    kinds = [e.kind if e.kind != "query" else "query" for e in api]
    assert kinds.count("batch") == 1
    queries = [e.query.get("query", "") for e in api if e.kind == "query"]
    for entity in ("Customer", "Item", "Term", "TaxCode"):
        assert sum(f"from {entity} " in q for q in queries) == 1, queries
    assert not [e for e in api if e.kind == "invoice"]  # no single creates for a batch


def test_single_create_dropped_after_commit_ends_with_one_invoice(us: World) -> None:
    number = "INV-2026-0101"
    us.sandbox.set_faults(Faults(drop_next_writes=1))
    result = us.run("push", number)
    assert result.exit_code == 0, result.stderr
    assert [i["DocNumber"] for i in us.invoices()].count(number) == 1
    creates = [e for e in us.sandbox.requests if e.kind == "invoice" and e.method == "POST"]
    assert len(creates) == 2 and creates[0].dropped and creates[0].requestid == creates[1].requestid


def test_batch_dropped_after_commit_ends_with_one_invoice_each(us: World) -> None:
    us.sandbox.set_faults(Faults(drop_next_writes=3))  # the batch and both retries of it
    result = us.run("push", "--all")
    assert result.exit_code == 0, result.stdout + result.stderr
    docs = [i.get("DocNumber") for i in us.invoices()]
    for inv in sample("us"):
        if inv.pushable:
            assert docs.count(inv.number) == 1


def test_interrupted_run_is_adopted_not_duplicated(us: World) -> None:
    """A crash after QBO created the invoice but before the link was stored."""
    inv = next(i for i in sample("us") if i.number == "INV-2026-0106")
    rid = request_id(US, inv.number, 0)
    with _store(us) as store:
        entry = JournalEntry(
            US, inv.number, 0, rid, "pending", inv.number, None, None, kind=DocKind.INVOICE
        )
        store.journals.creates.intend(entry)
    assert us.run("push", inv.number).exit_code == 0  # creates it; now forget the link
    with _store(us) as store:
        store.db.execute("DELETE FROM links")
        store.db.execute("UPDATE push_journal SET state = 'pending'")
    result = us.json("push", inv.number)
    assert result["results"][0]["status"] == "adopted"
    assert "interrupted run" in result["results"][0]["message"]
    assert [i.get("DocNumber") for i in us.invoices()].count(inv.number) == 1


def test_custom_numbers_off_lets_quickbooks_number_and_records_it(us: World) -> None:
    us.sandbox.company(US).custom_txn_numbers = False
    result = us.json("push", "INV-2026-0107")
    assert result["results"][0]["doc_number"] == "1038"
    qbo = us.sandbox.company(US).entities["Invoice"][result["results"][0]["remote_id"]]
    assert marker_of(qbo["PrivateNote"]) == "INV-2026-0107"
    # An interrupted run is still recognised by the marker, even without our DocNumber.
    with _store(us) as store:
        store.db.execute("DELETE FROM links")
        store.db.execute("UPDATE push_journal SET state = 'pending'")
    again = us.json("push", "INV-2026-0107")
    assert again["results"][0]["status"] == "adopted"
    assert len(us.invoices()) == 2  # the seeded one and ours


# --- pre-flight diagnostics ----------------------------------------------------------------------


def write_source(world: World, records: list[dict[str, Any]]) -> None:
    path = world.home.parent / "custom.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    world.monkeypatch.setenv("INVOICESYNC_SOURCE", str(path))


def invoice(number: str, customer: str, **kw: Any) -> dict[str, Any]:
    base = {
        "number": number,
        "customer": {"name": customer},
        "issue_date": "2026-10-01",
        "currency": "USD",
        "lines": [{"service": "Translation", "quantity": "10", "unit_price": "1"}],
    }
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("customer", "extra", "expected"),
    [
        (
            "O’Brien & Partners LLP",
            {},
            "customer 'O’Brien & Partners LLP': not found in QuickBooks; "
            "closest: \"O'Brien & Partners LLP\" (differs by typographic apostrophe ’ where QuickBooks has ')",
        ),
        ("Northwind  Traders", {}, "closest: 'Northwind Traders' (differs by double spaces)"),
        ("northwind traders", {}, "closest: 'Northwind Traders' (differs by letter case)"),
        (" Contoso Ltd", {}, "closest: 'Contoso Ltd' (differs by leading or trailing spaces)"),
        ("Initech", {}, "customer 'Initech': is inactive in QuickBooks; reactivate it"),
        ("Marketin", {}, "closest: 'Globex Corporation:Marketing' (similar name)"),
        (
            "Acme Localization Inc.",
            {"lines": [{"service": "Transaltion", "quantity": "1", "unit_price": "1"}]},
            "item 'Transaltion': not found in QuickBooks; closest: 'Translation' (similar name)",
        ),
        (
            "Acme Localization Inc.",
            {"lines": [{"service": "Subtitling (legacy)", "quantity": "1", "unit_price": "1"}]},
            "item 'Subtitling (legacy)': is inactive in QuickBooks; reactivate it",
        ),
        (
            "Acme Localization Inc.",
            {"payment_terms": "Net 60 (old)"},
            "term 'Net 60 (old)': is inactive in QuickBooks; reactivate it",
        ),
        (
            "Acme Localization Inc.",
            {
                "lines": [
                    {"service": "DTP", "quantity": "1", "unit_price": "1", "tax": "California"}
                ]
            },
            "tax code 'California': US invoice lines take TAX or NON",
        ),
        (
            "Acme Localization Inc.",
            {"currency": "EUR"},
            "currency 'EUR': customer 'Acme Localization Inc.' is billed in USD in QuickBooks",
        ),
    ],
)
def test_preflight_diagnostics_exit_5(
    us: World, customer: str, extra: dict[str, Any], expected: str
) -> None:
    write_source(us, [invoice("X-1", customer, **extra)])
    result = us.run("push", "X-1")
    assert result.exit_code == 5, result.stdout + result.stderr
    assert expected in " ".join(result.stdout.split()) + " ".join(result.stderr.split())
    assert len(us.invoices()) == 1  # only the seeded invoice: nothing was created


def test_sub_customer_by_display_name_hints_at_path(us: World) -> None:
    us.sandbox.company(US).entities["Customer"]["5"]["DisplayName"] = "Globex Marketing"
    write_source(us, [invoice("X-1", "Marketing")])
    result = us.json("push", "X-1")
    assert result["results"][0]["problems"] == [
        "customer 'Marketing': not found in QuickBooks; closest: 'Globex Corporation:Marketing' "
        "(is a sub-customer: use the path 'Globex Corporation:Marketing'); if that is the one, "
        'add under [aliases.customers] in config.toml: "Marketing" = "Globex Corporation:Marketing"'
    ]


def test_batch_with_failures_exits_3_and_pushes_the_rest(us: World) -> None:
    write_source(
        us,
        [
            invoice("OK-1", "Contoso Ltd"),
            invoice("BAD-1", "Nobody Inc"),
            invoice("OK-2", "Northwind Traders"),
        ],
    )
    result = us.json("push", "--all")
    assert {r["invoice"]: r["status"] for r in result["results"]} == {
        "OK-1": "created",
        "BAD-1": "failed",
        "OK-2": "created",
    }
    assert us.run("push", "--all").exit_code == 3


def test_non_us_line_without_tax_code(world: World) -> None:
    world.connect(UK)
    write_source(world, [invoice("UK-X", "Albion Publishing Ltd", currency="GBP")])
    result = world.json("push", "UK-X")
    assert (
        "tax code 'line 1': missing: non-US companies need a tax code on every line"
        in result["results"][0]["message"]
    )
    assert world.run("push", "UK-X").exit_code == 5


def test_existing_docnumber_is_a_conflict_unless_adopted(us: World) -> None:
    write_source(
        us,
        [
            invoice(
                "1037",
                "Contoso Ltd",
                lines=[{"service": "Translation", "quantity": "3500", "unit_price": "0.12"}],
            )
        ],
    )
    result = us.run("push", "1037")
    assert result.exit_code == 6
    assert "created outside invoicesync" in " ".join(result.stdout.split())
    adopted = us.json("push", "1037", "--adopt-existing")
    assert adopted["results"][0]["status"] == "adopted"
    assert adopted["results"][0]["remote_id"] == "1"
    assert len(us.invoices()) == 1


# --- dry run -----------------------------------------------------------------------------------


def snapshot(world: World) -> str:
    from invoicesync.targets.quickbooks.sandbox.app import dumps

    return hashlib.sha256(
        dumps({r: c.entities for r, c in world.sandbox.companies.items()})
    ).hexdigest()


def test_dry_run_changes_nothing(us: World) -> None:
    assert us.run("push", "INV-2026-0101").exit_code == 0
    db = us.home / "state.db"
    before_db, before_qbo = db.read_bytes(), snapshot(us)
    result = us.run("push", "--all", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert db.read_bytes() == before_db and snapshot(us) == before_qbo
    assert "would be created" in result.stdout
    assert '"DocNumber": "INV-2026-0102"' in result.stdout
    plan = us.json("push", "--all", "--dry-run")
    planned = [r for r in plan["results"] if r["status"] == "planned"]
    assert [r["invoice"] for r in planned][:2] == ["INV-2026-0102", "INV-2026-0103"]
    assert len(planned) == 7
    assert planned[0]["payload"]["Line"][0]["Amount"] == "1148.00"
    assert planned[0]["payload"]["PrivateNote"].startswith("[invoicesync INV-2026-0102]")


def test_dry_run_without_state_creates_no_database(us: World) -> None:
    result = us.run("push", "--all", "--dry-run")
    assert result.exit_code == 0
    assert not (us.home / "state.db").exists()


# --- exit codes ----------------------------------------------------------------------------------


def test_lock_held_exits_9(us: World) -> None:
    with state_lock(us.home):
        result = us.run("push", "--all")
    assert result.exit_code == 9
    assert "another invoicesync run" in result.stderr


def test_quickbooks_unavailable_exits_7(us: World) -> None:
    us.sandbox.set_faults(Faults(error_rate=1.0))
    import functools

    from invoicesync.targets.quickbooks import session
    from invoicesync.targets.quickbooks.api import QBOClient, RateLimiter
    from invoicesync.targets.quickbooks.api.client import Limits

    slept: list[float] = []  # the back-off is recorded, not waited for
    no_pacing = RateLimiter(Limits.off(), sleep=slept.append)
    us.monkeypatch.setattr(
        session, "QBOClient", functools.partial(QBOClient, sleep=slept.append, limiter=no_pacing)
    )
    result = us.run("push", "INV-2026-0101")
    assert result.exit_code == 7, result.stderr
    assert "safe to re-run later" in result.stderr
    assert slept and all(0.25 <= s <= 8.0 for s in slept)


def test_usage_errors_exit_2(us: World) -> None:
    assert us.run("push").exit_code == 2
    assert us.run("push", "INV-2026-0101", "--all").exit_code == 2
    assert us.run("push", "NOPE-1").exit_code == 2
    assert us.run("push", "--all", "--since", "yesterday").exit_code == 2


def test_invalid_source_exits_8_and_sends_nothing(us: World) -> None:
    write_source(us, [invoice("A", "Contoso Ltd", currency="dollars")])
    us.sandbox.requests.clear()
    result = us.run("push", "--all")
    assert result.exit_code == 8
    assert "currency: 'dollars' is not an ISO 4217 code" in result.stderr
    assert [e for e in us.sandbox.requests if e.kind != "oauth"] == []


def test_an_unknown_money_field_exits_8_and_sends_nothing(us: World) -> None:
    """An unknown `discount` was only a warning, and the invoice went out without it."""
    write_source(us, [invoice("DISC-1", "Contoso Ltd", discount="10%")])
    before = len(us.invoices())
    us.sandbox.requests.clear()
    result = us.run("push", "--all")
    assert result.exit_code == 8, result.stderr
    path = us.home.parent / "custom.json"
    assert (
        f"  {path}:1: invoice DISC-1: discount: unknown field that can change what is owed; "
        "invoicesync cannot hold it, so the invoice could be wrong: remove it or see "
        "docs/invoice-format.md#unknown-fields"
    ) in result.stderr.splitlines()
    assert [e for e in us.sandbox.requests if e.kind != "oauth"] == []
    assert len(us.invoices()) == before


def test_nothing_to_push_is_exit_0_with_a_message(us: World) -> None:
    write_source(us, [invoice("D-1", "Contoso Ltd", status="draft")])
    result = us.run("push", "--all")
    assert result.exit_code == 0
    assert "Nothing to push" in result.stderr and result.stdout == ""
    since = us.run("push", "--all", "--since", "2030-01-01")
    assert since.exit_code == 0 and "Nothing to push" in since.stderr


def test_since_limits_all_to_recent_invoices(us: World) -> None:
    result = us.json("push", "--all", "--since", "2026-10-15")
    assert [r["invoice"] for r in result["results"]] == [
        "INV-2026-0106",
        "INV-2026-0107",
        "INV-2026-0110",
    ]
    assert {r["status"] for r in result["results"]} == {"created"}


@pytest.mark.parametrize("custom_numbers", [True, False])
def test_lost_database_never_duplicates(us: World, custom_numbers: bool) -> None:
    """A CI runner loses state.db between runs: the next push finds its own invoices."""
    us.sandbox.company(US).custom_txn_numbers = custom_numbers
    assert us.run("push", "--all").exit_code == 0
    before = len(us.invoices())
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        (us.home / name).unlink(missing_ok=True)
    again = us.json("push", "--all")
    assert len(us.invoices()) == before
    assert {r["status"] for r in again["results"]} == {"adopted"}
    assert all("carries our marker" in r["message"] for r in again["results"])


def test_docnumber_taken_by_our_own_invoice_mid_run_is_adopted(us: World) -> None:
    """Between the duplicate guard's query and the create, our invoice appears (another run);
    QBO answers 6140 naming it, and push adopts it and closes the journal entry."""
    import httpx

    from invoicesync.targets.quickbooks.sandbox import SandboxTransport

    sandbox = us.sandbox
    number = "INV-2026-0106"

    class Racing(SandboxTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST" and request.url.path.endswith("/invoice"):
                sandbox.company(US).create(
                    "Invoice",
                    {
                        "CustomerRef": {"value": "6"},
                        "DocNumber": number,
                        "PrivateNote": f"[invoicesync {number}]",
                        "Line": [
                            {
                                "DetailType": "SalesItemLineDetail",
                                "Amount": "166.25",
                                "SalesItemLineDetail": {
                                    "ItemRef": {"value": "4"},
                                    "Qty": "95",
                                    "UnitPrice": "1.75",
                                },
                            }
                        ],
                    },
                )
            return super().handle_request(request)

    us.monkeypatch.setattr(World, "transport", property(lambda self: Racing(sandbox)))
    result = us.json("push", number)
    assert result["results"][0]["status"] == "adopted"
    assert [i.get("DocNumber") for i in us.invoices()].count(number) == 1
    s = Store.open(us.home / "state.db")
    [entry] = s.journals.creates.entries(US)
    s.close()
    assert (entry.state, entry.remote_id) == ("done", result["results"][0]["remote_id"])
