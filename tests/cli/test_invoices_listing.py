"""`invoices` over many invoices: JSON streamed, no huge tables (cli/invoices.py)."""

from __future__ import annotations

import json

import pytest

from invoicesync.cli import invoices as invoices_cli
from invoicesync.cli import legacy, views
from invoicesync.usecases.invoices import invoice_rows
from tests.helpers import World


def test_streamed_json_is_the_same_document(us: World) -> None:
    assert us.run("push", "INV-2026-0101").exit_code == 0
    result = us.run("invoices", "--json")
    assert result.exit_code == 0, result.stderr
    from invoicesync.config import load_settings

    rows = invoice_rows(load_settings())
    expected = {"schema": views.INVOICES_SCHEMA, "invoices": [views.invoice_entry(r) for r in rows]}
    expected = legacy.with_old_names(expected)  # schema 1's names, kept for one release
    assert json.loads(result.stdout) == json.loads(json.dumps(expected))
    assert result.stdout.startswith('{\n  "schema": "invoicesync.invoices/2",\n  "invoices": [\n')
    assert result.stdout.endswith("\n  ]\n}\n")


def test_limit_applies_to_json_and_an_empty_list_is_valid(us: World) -> None:
    listed = us.json("invoices", "--limit", "2")["invoices"]
    assert [r["number"] for r in listed] == ["INV-2026-0101", "INV-2026-0102"]
    empty = us.home.parent / "empty.json"
    empty.write_text("[]")
    result = us.run("--source", str(empty), "invoices", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == '{\n  "schema": "invoicesync.invoices/2",\n  "invoices": []\n}\n'


def test_many_invoices_piped_are_plain_lines(us: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(invoices_cli, "TABLE_ROWS", 3)
    result = us.run("invoices")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["Invoice", "Customer", "Date"]
    assert len(lines) == 11 and lines[1].startswith("INV-2026-0101\t")
    assert "┃" not in result.stdout and "│" not in result.stdout


def test_limit_within_the_table_size_keeps_the_table(
    us: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invoices_cli, "TABLE_ROWS", 3)
    result = us.run("invoices", "--limit", "2")
    assert result.exit_code == 0
    assert "INV-2026-0102" in result.stdout and "INV-2026-0103" not in result.stdout
    assert "│" in result.stdout
