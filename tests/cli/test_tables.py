"""How a table is fitted to a width: which columns go, which never do."""

from __future__ import annotations

import json
import re
import signal
from collections import Counter

import pytest

from invoicesync.cli.render import ProgressReporter, fit
from invoicesync.cli.views import Column, TableView, invoices_table, push_table
from invoicesync.usecases.push_report import PushReport
from tests.helpers import World
from tests.reliability.conftest import month

COLUMNS = [
    Column("Invoice"),
    Column("Status", drop=1),
    Column("QBO id", drop=2),
    Column("Total", right=True),
    Column("DocNumber", drop=3),
    Column("Message", fold=True),
]
ROW = ("INV-2026-0101", "failed", "", "1,740.00 USD", "", "customer 'Nobody Inc' not found")


def names(view: TableView, kept: list[int]) -> list[str]:
    return [view.columns[i].name for i in kept]


def test_everything_fits_on_a_wide_terminal() -> None:
    view = TableView(None, COLUMNS, [ROW])
    kept, width = fit(view, 200)
    assert names(view, kept) == [c.name for c in COLUMNS] and width <= 200


def test_empty_columns_go_before_free_text_is_squeezed() -> None:
    view = TableView(None, COLUMNS, [ROW])
    kept, width = fit(view, 80)
    assert names(view, kept) == ["Invoice", "Status", "Total", "Message"]
    assert width <= 80


def test_columns_go_most_droppable_first_and_essentials_never() -> None:
    full = ("INV-2026-0101", "created", "1234", "1,740.00 USD", "INV-2026-0101", "ok")
    view = TableView(None, COLUMNS, [full])
    assert names(view, fit(view, 70)[0]) == ["Invoice", "Status", "QBO id", "Total", "Message"]
    assert names(view, fit(view, 60)[0]) == ["Invoice", "Status", "Total", "Message"]
    kept, width = fit(view, 20)  # narrower than the essentials: they stay, the terminal wraps
    assert names(view, kept) == ["Invoice", "Total", "Message"] and width > 20


def test_after_push_update_the_message_is_kept_before_identifiers_typed_already() -> None:
    columns = push_table(PushReport("realm", False, [])).columns
    change = "line 1 quantity: 1000 → 1200; line 1 amount: 100.00 → 120.00"
    row = ("INV-2026-0101", "updated", "1234", "1,740.00 USD", "INV-2026-0101", change)
    view = TableView(None, columns, [row])
    assert names(view, fit(view, 80)[0]) == ["Invoice", "Status", "Message"]
    assert names(view, fit(view, 100)[0]) == ["Invoice", "Status", "Total", "Message"]
    assert names(view, fit(view, 140)[0]) == [c.name for c in columns]


def test_invoices_at_80_columns_keep_the_remote_state_and_sent() -> None:
    columns = invoices_table([]).columns
    row = (
        "INV-2026-0101",
        "Acme Localization Inc.",
        "2026-10-01",
        "1,740.00 USD",
        "sent",
        "123",
        "voided",
        "INV-2026-0101",
        "2026-10-02",
    )
    view = TableView(None, columns, [row])
    kept = names(view, fit(view, 80)[0])
    assert {"Remote state", "Sent"} <= set(kept), kept
    assert not {"DocNumber", "Remote id"} & set(kept), kept


def test_b2brouter_invoices_at_80_columns_keep_the_delivery_reason() -> None:
    """B2BRouter's reason and the VeriFactu state are what a person acts on: the
    Remote state column folds to fit 80 columns and goes only after the typed identifiers."""
    columns = invoices_table([]).columns
    reason = (
        "registration error: delivery error: the contact has no transport: choose how it receives invoices (Peppol, "
        "e-mail, a public administration) in B2BRouter → Contacts, then send again; "
        "Verifactu error: NIF del destinatario no identificado"
    )
    row = (
        "ES-2026-0101",
        'Ediciones "El Quijote" [Madrid]',
        "2026-10-01",
        "1,740.00 EUR",
        "sent",
        "100004",
        reason,
        "ES-2026-0101",
        "2026-10-02",
    )
    view = TableView(None, columns, [row])
    kept, width = fit(view, 80)
    assert {"Invoice", "Total", "Remote state"} <= set(names(view, kept))
    assert width <= 80


N = 300  # more than the creates in flight at once (8 batches of 30): some are never tried


def _interrupt_after_first_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real SIGINT, in-process, on the main thread once the first creates are done: what
    Ctrl-C in the middle of `push --all` does."""
    original = ProgressReporter.advance
    calls: list[int] = []

    def advance(self: ProgressReporter, n: int = 1) -> None:
        original(self, n)
        calls.append(n)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(ProgressReporter, "advance", advance)


def test_ctrl_c_during_push_all_says_interrupted_and_lists_only_what_was_done(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.connect()
    source = world.home.parent / "month.json"
    source.write_text(json.dumps(month(N)), encoding="utf-8")
    monkeypatch.setenv("INVOICESYNC_SOURCE", str(source))
    _interrupt_after_first_progress(monkeypatch)
    before = len(world.invoices())
    result = world.run("push", "--all")
    assert result.exit_code == 130, result.stderr
    rows = [line for line in result.stdout.splitlines() if re.match(r"^│ R-\d{5} ", line)]
    statuses = Counter(line.split("│")[2].strip() for line in rows)
    done = statuses["created"]
    assert 0 < done < N and set(statuses) == {"created"}, statuses
    summary = re.search(
        r"interrupted: (\d+) done, (?:(\d+) in flight \(the next run links them\), )?"
        r"(\d+) not attempted",
        result.stderr,
    )
    assert summary, result.stderr
    assert int(summary[1]) == done and done + int(summary[2] or 0) + int(summary[3]) == N
    assert int(summary[3]) > 0  # some were never tried: the run stopped before them
    assert "not attempted" not in result.stdout and "failed" not in result.stderr
    assert len(world.invoices()) - before >= done
    rerun = world.json("push", "--all")
    assert set(Counter(r["status"] for r in rerun["results"])) <= {"skipped", "created", "adopted"}
    assert len(world.invoices()) - before == N  # each invoice exactly once after the re-run


def test_an_interrupted_push_in_json_names_what_was_not_attempted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.connect()
    source = world.home.parent / "month.json"
    source.write_text(json.dumps(month(N)), encoding="utf-8")
    monkeypatch.setenv("INVOICESYNC_SOURCE", str(source))
    _interrupt_after_first_progress(monkeypatch)
    result = world.run("push", "--all", "--json")
    assert result.exit_code == 130
    doc = json.loads(result.stdout)
    statuses = Counter(r["status"] for r in doc["results"])
    assert len(doc["results"]) == N and statuses["not attempted"] > 0, statuses
    assert "failed" not in statuses


def test_ctrl_c_before_the_first_create_shows_no_empty_table(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.connect()
    source = world.home.parent / "month.json"
    source.write_text(json.dumps(month(40)), encoding="utf-8")
    monkeypatch.setenv("INVOICESYNC_SOURCE", str(source))

    def start(self: ProgressReporter, total: int, description: str) -> None:
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(ProgressReporter, "start", start)
    before = len(world.invoices())
    result = world.run("push", "--all")
    assert result.exit_code == 130, result.stderr
    assert result.stdout == ""
    assert "interrupted: 0 done, 40 not attempted" in result.stderr
    assert len(world.invoices()) == before  # nothing was sent
