"""`prepare`, `push --prepare` and `[aliases.*]`, through the real CLI against the sandbox."""

from __future__ import annotations

import contextlib
import json
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from invoicesync.cli.app import AppState
from invoicesync.store import PrepareEntry, Store
from invoicesync.targets.quickbooks.api.client import QBOClient
from invoicesync.targets.quickbooks.sandbox import Faults
from invoicesync.usecases.prepare import request_id
from tests.cli.test_push import invoice, write_source
from tests.helpers import US, World

SERVICES = '[prepare]\nincome_account = "Services"\n'


def config(world: World, text: str) -> None:
    (world.home / "config.toml").write_text(text, encoding="utf-8")


@contextlib.contextmanager
def opened_store(world: World) -> Iterator[Store]:
    store = Store.open(world.home / "state.db")
    try:
        yield store
    finally:
        store.close()


def entities(world: World, kind: str) -> list[dict[str, Any]]:
    return list(world.sandbox.company(US).entities[kind].values())


def named(world: World, kind: str, name: str) -> list[dict[str, Any]]:
    key = "DisplayName" if kind == "Customer" else "Name"
    return [e for e in entities(world, kind) if e.get(key) == name]


def new_client(**kw: Any) -> dict[str, Any]:
    """An invoice for a client, a service and terms the US sandbox company lacks."""
    record = invoice(
        "N-1",
        "Zeta Übersetzungen GmbH",
        payment_terms="Net 45",
        lines=[{"service": "Interpreting", "quantity": "2", "unit_price": "150"}],
    )
    record["customer"].update(email="billing@zeta.example", country="DE", tax_id="DE123456789")
    record.update(kw)
    return record


def items(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(i["kind"], i["name"], i["status"]) for i in doc["items"]]


# --- aliases -----------------------------------------------------------------------------------


def test_aliases_resolve_every_kind_of_name(us: World) -> None:
    config(
        us,
        "[aliases.customers]\n"
        '"ACME GmbH" = "Acme Localization Inc."\n'
        "[aliases.services]\n"
        '"Übersetzung" = "Translation"\n'
        "[aliases.terms]\n"
        '"30 Tage" = "Net 30"\n'
        "[aliases.tax_codes]\n"
        '"Kalifornien" = "California"\n',
    )
    record = invoice(
        "A-1",
        "ACME GmbH",
        payment_terms="30 Tage",
        tax_code="Kalifornien",
        lines=[{"service": "Übersetzung", "quantity": "1", "unit_price": "10", "tax": "TAX"}],
    )
    write_source(us, [record])
    result = us.run("push", "A-1")
    assert result.exit_code == 0, result.stdout + result.stderr
    created = next(i for i in us.invoices() if i.get("DocNumber") == "A-1")
    assert created["CustomerRef"]["name"] == "Acme Localization Inc."
    assert created["Line"][0]["SalesItemLineDetail"]["ItemRef"]["name"] == "Translation"
    assert created["SalesTermRef"]["value"] == us.sandbox.company(US).id_by_name("Term", "Net 30")
    assert created["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == us.sandbox.company(US).id_by_name(
        "TaxCode", "California"
    )


def test_an_alias_to_a_missing_name_says_so(us: World) -> None:
    config(us, '[aliases.customers]\n"ACME GmbH" = "Acme GmbH (DE)"\n')
    write_source(us, [invoice("A-1", "ACME GmbH")])
    doc = us.json("push", "A-1")
    assert doc["results"][0]["problems"] == [
        "customer 'ACME GmbH': its alias 'Acme GmbH (DE)' is not in QuickBooks"
    ]


@pytest.mark.parametrize(
    "name",
    ["northwind traders", 'Contoso Ltd"', "Contoso Ltd\\", "Contoso [Ltd]", "Contoso Ltd ü"],
)
def test_diagnostics_suggest_the_alias_line_quoted_for_any_name(us: World, name: str) -> None:
    write_source(us, [invoice("A-1", name)])
    doc = us.json("push", "A-1")
    problem = doc["results"][0]["problems"][0]
    assert "; if that is the one, add under [aliases.customers] in config.toml: " in problem
    line = problem.split("in config.toml: ", 1)[1]
    target = "Northwind Traders" if name.startswith("north") else "Contoso Ltd"
    assert tomllib.loads(line) == {name: target}
    # and the line, pasted under its table, makes the push work
    config(us, f"[aliases.customers]\n{line}\n")
    assert us.run("push", "A-1").exit_code == 0


def test_no_alias_is_suggested_when_the_closest_name_is_ambiguous(us: World) -> None:
    us.sandbox.company(US).create("Customer", {"DisplayName": "Globex Corp."})
    write_source(us, [invoice("A-1", "Globex Corp")])
    problem = us.json("push", "A-1")["results"][0]["problems"][0]
    assert "closest: 'Globex Corp.' (similar name); 'Globex Corporation'" in problem
    assert "aliases" not in problem


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[aliases.clients]\n"a" = "b"\n', "[aliases] takes the tables customers, services"),
        ('[aliases.customers]\n"a" = 1\n', "[aliases.customers] must map source names"),
        ('[aliases.customers]\n"a" = " "\n', "[aliases.customers] must map source names"),
        ('[prepare]\nincome_acount = "Services"\n', "[prepare] takes income_account"),
        ("[prepare]\nincome_account = 3\n", "income_account must be a non-empty string"),
    ],
)
def test_bad_alias_or_prepare_tables_exit_8(us: World, text: str, message: str) -> None:
    config(us, text)
    result = us.run("prepare", "--all", "--dry-run")
    assert result.exit_code == 8
    assert message in result.stderr and "Traceback" not in result.stderr


# --- prepare -----------------------------------------------------------------------------------


def test_dry_run_prints_the_payloads_and_writes_nothing(us: World) -> None:
    config(us, SERVICES)
    write_source(us, [new_client()])
    before = {k: len(v) for k, v in us.sandbox.company(US).entities.items()}
    result = us.run("prepare", "N-1", "--dry-run")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "# customer Zeta Übersetzungen GmbH" in out and "# term Net 45" in out
    assert '"Address": "billing@zeta.example"' in out and '"DueDays": 45' in out
    assert "3 would create" in result.stderr
    assert {k: len(v) for k, v in us.sandbox.company(US).entities.items()} == before
    assert not (us.home / "state.db").exists()


def test_prepare_creates_what_is_missing_then_push_works(us: World) -> None:
    config(us, SERVICES)
    write_source(us, [new_client(), new_client(number="N-2")])
    doc = us.json("prepare", "--all")
    assert items(doc) == [
        ("customer", "Zeta Übersetzungen GmbH", "created"),
        ("service", "Interpreting", "created"),
        ("term", "Net 45", "created"),
    ]
    assert doc["items"][0]["invoices"] == ["N-1", "N-2"] and doc["exit_code"] == 0
    [customer] = named(us, "Customer", "Zeta Übersetzungen GmbH")
    assert customer["PrimaryEmailAddr"] == {"Address": "billing@zeta.example"}
    assert customer["BillAddr"] == {"Country": "DE"}
    assert customer["PrimaryTaxIdentifier"] == "DE123456789"
    assert customer["CurrencyRef"]["value"] == "USD"
    [service] = named(us, "Item", "Interpreting")
    assert service["Type"] == "Service" and service["IncomeAccountRef"]["name"] == "Services"
    [term] = named(us, "Term", "Net 45")
    assert term["DueDays"] == 45
    again = us.run("prepare", "--all")
    assert again.exit_code == 0
    assert "Nothing to prepare" in again.stderr
    push = us.run("push", "--all")
    assert push.exit_code == 0, push.stdout + push.stderr
    with opened_store(us) as store:
        assert {(e.kind, e.name, e.state) for e in store.journals.prepare.entries(US)} == {
            ("customer", "Zeta Übersetzungen GmbH", "done"),
            ("service", "Interpreting", "done"),
            ("term", "Net 45", "done"),
        }


def test_only_limits_the_kinds(us: World) -> None:
    config(us, SERVICES)
    write_source(us, [new_client()])
    doc = us.json("prepare", "N-1", "--only", "customers,terms")
    assert items(doc) == [
        ("customer", "Zeta Übersetzungen GmbH", "created"),
        ("term", "Net 45", "created"),
    ]
    assert not named(us, "Item", "Interpreting")
    bad = us.run("prepare", "N-1", "--only", "taxes")
    assert bad.exit_code == 2 and "--only takes a comma-separated list" in bad.stderr
    neither = us.run("prepare")
    assert neither.exit_code == 2
    assert "name the invoices to prepare for, or use --all (not both)" in neither.stderr


def test_sub_customer_under_an_existing_parent(us: World) -> None:
    write_source(us, [invoice("S-1", "Globex Corporation:Research")])
    doc = us.json("prepare", "S-1")
    assert items(doc) == [("customer", "Globex Corporation:Research", "created")]
    [child] = named(us, "Customer", "Research")
    assert child["FullyQualifiedName"] == "Globex Corporation:Research" and child["Job"] is True
    assert us.run("push", "S-1").exit_code == 0


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (invoice("R-1", "Nobody Corp:Research"), "its parent customer 'Nobody Corp' is not in"),
        (invoice("R-1", "Initech"), "QuickBooks has an inactive customer 'Initech': reactivate"),
        (invoice("R-1", "contoso ltd"), '"contoso ltd" = "Contoso Ltd"'),
        (
            invoice("R-1", "Acme Localization Inc.", payment_terms="2% 10 Net 30"),
            "only terms named 'Net N' (due in N days) are created",
        ),
        (
            invoice(
                "R-1",
                "Acme Localization Inc.",
                lines=[{"service": "Voice:Over", "quantity": "1", "unit_price": "1"}],
            ),
            "':' is reserved for sub-customers in QuickBooks (error 2040)",
        ),
        (
            invoice(
                "R-1",
                "Acme Localization Inc.",
                lines=[{"service": "Subtitling (Legacy)", "quantity": "1", "unit_price": "1"}],
            ),
            "QuickBooks has an inactive service 'Subtitling (legacy)'",
        ),
    ],
)
def test_refusals_say_what_to_do_and_create_nothing(
    us: World, record: dict[str, Any], message: str
) -> None:
    config(us, SERVICES)
    write_source(us, [record])
    before = {k: len(v) for k, v in us.sandbox.company(US).entities.items()}
    result = us.run("prepare", "R-1")
    assert result.exit_code == 5, result.stdout + result.stderr
    assert message in " ".join(result.stderr.split())
    assert {k: len(v) for k, v in us.sandbox.company(US).entities.items()} == before


def test_a_vendor_of_the_same_name_is_6240_and_refused(us: World) -> None:
    us.sandbox.company(US).create("Vendor", {"DisplayName": "Zeta Übersetzungen GmbH"})
    write_source(us, [new_client(lines=[{"service": "DTP", "quantity": "1", "unit_price": "1"}])])
    doc = us.json("prepare", "N-1", "--only", "customers")
    [item] = doc["items"]
    assert item["status"] == "refused" and doc["exit_code"] == 5
    assert item["message"].startswith(
        "QuickBooks has a vendor named 'Zeta Übersetzungen GmbH', and customers, vendors and "
        "employees share one list of names (QuickBooks error 6240): rename the vendor"
    )
    assert item["message"].endswith(
        '"Zeta Übersetzungen GmbH" = "Zeta Übersetzungen GmbH (customer)"'
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "new services need an income account: set it in config.toml, e.g. [prepare] "),
        (
            '[prepare]\nincome_account = "Sales"\n',
            "[prepare] income_account 'Sales' is not an account in QuickBooks; name an existing "
            "income account (income accounts: 'Services', 'Sales of Product Income', "
            "'Discounts given')",
        ),
        (
            '[prepare]\nincome_account = "Checking"\n',
            "[prepare] income_account 'Checking' is a Bank account, not an income account",
        ),
    ],
)
def test_services_need_an_income_account(us: World, text: str, message: str) -> None:
    config(us, text)
    write_source(us, [new_client()])
    doc = us.json("prepare", "N-1", "--only", "services")
    assert [(i["status"], i["message"][: len(message)]) for i in doc["items"]] == [
        ("refused", message)
    ]
    assert not named(us, "Item", "Interpreting")


def test_tax_codes_are_listed_never_created(us: World) -> None:
    write_source(us, [invoice("T-1", "Contoso Ltd", tax_code="Texas")])
    before = len(entities(us, "TaxCode"))
    result = us.run("prepare", "T-1")
    assert result.exit_code == 5
    assert (
        "tax code 'Texas': tax codes are never created (tax set-up is your accountant's "
        "decision): set it up in QuickBooks (Taxes → Sales tax)"
    ) in " ".join(result.stderr.split())
    assert len(entities(us, "TaxCode")) == before


def test_a_dropped_answer_is_replayed_not_duplicated(us: World) -> None:
    write_source(us, [invoice("D-1", "Drop Ltd")])
    us.sandbox.set_faults(Faults(drop_next_writes=1))
    assert us.run("prepare", "D-1").exit_code == 0
    assert len(named(us, "Customer", "Drop Ltd")) == 1
    creates = [e for e in us.sandbox.requests if e.kind == "customer" and e.method == "POST"]
    assert len(creates) == 2 and creates[0].dropped and creates[0].requestid == creates[1].requestid


def test_an_uncertain_create_is_settled_by_looking_the_name_up(
    us: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QBOClient, "_pause", lambda self, seconds, reason: None)
    write_source(us, [invoice("D-1", "Drop Ltd")])
    us.sandbox.set_faults(Faults(drop_next_writes=20))  # every retry's answer is lost too
    doc = us.json("prepare", "D-1")
    assert items(doc) == [("customer", "Drop Ltd", "created")]
    assert len(named(us, "Customer", "Drop Ltd")) == 1


def test_a_crash_after_the_create_is_settled_on_the_next_run(us: World) -> None:
    """The intent was journaled and the customer created; the process died before the outcome."""
    write_source(us, [invoice("D-1", "Drop Ltd")])
    assert us.run("prepare", "D-1", "--dry-run").exit_code == 0
    with opened_store(us) as store:
        store.journals.prepare.intend(
            PrepareEntry(US, "customer", "Drop Ltd", "prep-x", "pending", None, None)
        )
    us.sandbox.company(US).create("Customer", {"DisplayName": "Drop Ltd"})
    result = us.run("prepare", "D-1")
    assert result.exit_code == 0 and "Nothing to prepare" in result.stderr
    [customer] = named(us, "Customer", "Drop Ltd")
    with opened_store(us) as store:
        [entry] = store.journals.prepare.entries(US)
    assert (entry.state, entry.remote_id) == ("done", customer["Id"])


def test_a_crash_before_the_create_resends_the_same_requestid(us: World) -> None:
    from invoicesync.ledger.base import Prerequisite

    write_source(us, [invoice("D-1", "Drop Ltd")])
    rid = request_id(US, Prerequisite("customer", "Drop Ltd", ()), 0)
    with opened_store(us) as store:
        store.journals.prepare.intend(
            PrepareEntry(US, "customer", "Drop Ltd", rid, "pending", None, None)
        )
    assert us.run("prepare", "D-1").exit_code == 0
    creates = [e for e in us.sandbox.requests if e.kind == "customer" and e.method == "POST"]
    assert [e.requestid for e in creates] == [rid]
    assert len(named(us, "Customer", "Drop Ltd")) == 1


def test_an_attempt_after_a_refused_one_gets_a_fresh_requestid(us: World) -> None:
    """QuickBooks would replay a refusal for the requestid it refused."""
    from invoicesync.ledger.base import Prerequisite

    write_source(us, [invoice("D-1", "Drop Ltd")])
    need = Prerequisite("customer", "Drop Ltd", ())
    first = request_id(US, need, 0)
    with opened_store(us) as store:
        store.journals.prepare.intend(
            PrepareEntry(US, "customer", "Drop Ltd", first, "pending", None, None)
        )
        store.journals.prepare.outcome(US, first, error="refused")
    assert us.run("prepare", "D-1").exit_code == 0
    creates = [e for e in us.sandbox.requests if e.kind == "customer" and e.method == "POST"]
    assert [e.requestid for e in creates] == [request_id(US, need, 1)] != [first]
    with opened_store(us) as store:
        assert [e.state for e in store.journals.prepare.entries(US)] == ["failed", "done"]


def test_an_employee_of_the_same_name_ignoring_case_is_refused(us: World) -> None:
    us.sandbox.company(US).create("Employee", {"DisplayName": "TEMP Worker"})
    write_source(us, [invoice("E-1", "Temp Worker")])
    doc = us.json("prepare", "E-1")
    assert items(doc) == [("customer", "Temp Worker", "refused")]
    assert "QuickBooks has an employee named 'TEMP Worker'" in doc["items"][0]["message"]


# --- push --prepare -----------------------------------------------------------------------------


def test_push_prepare_refuses_without_yes_when_not_interactive(us: World) -> None:
    config(us, SERVICES)
    write_source(us, [new_client()])
    result = us.run("push", "N-1", "--prepare")
    assert result.exit_code == 2
    assert "prepare would create customer 'Zeta Übersetzungen GmbH' (for N-1)" in result.stderr
    assert (
        "push --prepare would create 3 record(s) in QuickBooks (listed above); add --yes to "
        "allow it, or run `invoicesync prepare` first"
    ) in " ".join(result.stderr.split())
    assert not named(us, "Customer", "Zeta Übersetzungen GmbH")
    assert len(us.invoices()) == 1


def test_push_prepare_yes_creates_then_pushes(us: World) -> None:
    from invoicesync.usecases import invoices as usecase

    config(us, SERVICES)
    write_source(us, [new_client()])
    reads: list[object] = []
    real = usecase.load_invoices
    us.monkeypatch.setattr(usecase, "load_invoices", lambda *a: reads.append(a) or real(*a))
    result = us.run("push", "N-1", "--prepare", "--yes", "--json")
    assert len(reads) == 1  # the source is read once for plan, prepare and push
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["status"] == "created"
    assert "created customer 'Zeta Übersetzungen GmbH'" in result.stderr
    assert len(named(us, "Customer", "Zeta Übersetzungen GmbH")) == 1


@pytest.mark.parametrize(("answer", "code"), [("y\n", 0), ("n\n", 2)])
def test_push_prepare_asks_on_a_terminal(
    us: World, monkeypatch: pytest.MonkeyPatch, answer: str, code: int
) -> None:
    monkeypatch.setattr(AppState, "interactive", property(lambda self: True))
    config(us, SERVICES)
    write_source(us, [new_client()])
    result = us.run("push", "N-1", "--prepare", input=answer)
    assert result.exit_code == code, result.stdout + result.stderr
    assert "Create these 3 record(s) in QuickBooks?" in result.stderr
    assert len(named(us, "Customer", "Zeta Übersetzungen GmbH")) == (1 if code == 0 else 0)
    assert len(us.invoices()) == (2 if code == 0 else 1)


def test_push_prepare_dry_run_shows_and_creates_nothing(us: World) -> None:
    config(us, SERVICES)
    write_source(us, [new_client()])
    result = us.run("push", "N-1", "--prepare", "--dry-run")
    assert result.exit_code == 5  # the push plan still lacks the names
    assert "prepare would create service 'Interpreting' (for N-1)" in result.stderr
    assert not named(us, "Item", "Interpreting")
