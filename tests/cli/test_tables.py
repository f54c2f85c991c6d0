"""How a table is fitted to a width: which columns go, which never do."""

from __future__ import annotations

from invoicesync.cli.render import fit
from invoicesync.cli.views import Column, TableView, invoices_table, push_table
from invoicesync.usecases.push_report import PushReport

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


def test_invoices_at_80_columns_keep_the_state_in_quickbooks_and_sent() -> None:
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
    assert {"In QuickBooks", "Sent"} <= set(kept), kept
    assert not {"DocNumber", "QBO id"} & set(kept), kept
