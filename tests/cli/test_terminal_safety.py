"""No escape sequence, control or bidi character from any data reaches the terminal."""

from __future__ import annotations

import json

from invoicesync.cli.render import terminal_safe
from tests.cli.test_link import CONTOSO_EXTRA, with_extra
from tests.helpers import US, World

HOSTILE = "\x1b[2J\x1b]0;owned\x07\u202eevil\u2028\x9b1m"
RAW = ("\x1b", "\x07", "\u202e", "\u2028", "\x9b")


def _clean(text: str) -> None:
    assert not [c for c in RAW if c in text], repr(text)


def test_terminal_safe_shows_every_unsafe_character_as_an_escape() -> None:
    shown = terminal_safe("a" + HOSTILE + "\nb")
    _clean(shown)
    assert "\\x1b[2J" in shown and "\\u202e" in shown and "\\x9b" in shown
    assert shown.endswith("\nb")  # newlines in our own messages stay


def test_quickbooks_data_is_escaped_in_tables_and_messages(us: World) -> None:
    hand_made = us.sandbox.company(US).entities["Invoice"]["1"]
    hand_made["DocNumber"] = "1037" + HOSTILE
    hand_made["CustomerRef"]["name"] = "Contoso" + HOSTILE
    with_extra(us, CONTOSO_EXTRA)
    table = us.run("list-candidates", "INV-2026-0111")
    assert table.exit_code == 0, table.stderr
    _clean(table.stdout + table.stderr)
    assert "\\x1b[2J" in table.stdout
    document = json.loads(us.run("list-candidates", "INV-2026-0111", "--json").stdout)
    assert document["candidates"][0]["doc_number"] == "1037" + HOSTILE  # data stays exact
    linked = us.run("link", "INV-2026-0111", "1")
    _clean(linked.stdout + linked.stderr)


def test_rich_markup_in_data_is_shown_literally(us: World) -> None:
    us.sandbox.company(US).entities["Invoice"]["1"]["DocNumber"] = "[bold red]1037[/]"
    with_extra(us, CONTOSO_EXTRA)
    table = us.run("list-candidates", "INV-2026-0111")
    assert "[bold red]1037[/]" in table.stdout
