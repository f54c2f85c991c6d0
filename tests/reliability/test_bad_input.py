"""A corpus of malformed and hostile input: exit 8 or a correct push, never a traceback, and
never a malformed query sent to QuickBooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from invoicesync.marker import marker_of
from tests.helpers import World

GOOD_LINE = {"service": "Translation", "quantity": "10", "unit_price": "0.12"}


def inv(number: str = "BAD-1", customer: str = "Contoso Ltd", **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "number": number,
        "customer": {"name": customer},
        "issue_date": "2026-10-01",
        "currency": "USD",
        "lines": [dict(GOOD_LINE)],
    }
    base.update(kw)
    return base


CORPUS: dict[str, tuple[str, bytes]] = {
    "truncated json": ("json", b'[{"number": "A-1", "customer": {"name": "Contoso Ltd"'),
    "empty file": ("json", b""),
    "empty csv": ("csv", b""),
    "blank json": ("json", b"  \n\n"),
    "blank csv": ("csv", b"\r\n\r\n"),
    "huge line total": (
        "json",
        json.dumps(
            [
                inv(
                    lines=[
                        {
                            "service": "Translation",
                            "quantity": "999999999999",
                            "unit_price": "999999999999",
                        }
                    ]
                )
            ]
        ).encode(),
    ),
    "negative invoice": (
        "json",
        json.dumps(
            [
                inv(
                    adjustments=[
                        {
                            "description": "Discount",
                            "amount": "-999999999999.99",
                            "service": "Translation",
                        }
                    ]
                )
            ]
        ).encode(),
    ),
    "discount below zero": (
        "json",
        json.dumps(
            [
                inv(
                    adjustments=[
                        {"description": "Discount", "amount": "-1.21", "service": "Translation"}
                    ]
                )
            ]
        ).encode(),
    ),
    "float noise": (
        "json",
        b'[{"number": "F", "customer": "Contoso Ltd", "issue_date": "2026-10-01", "currency": "USD", "lines": [{"service": "Translation", "quantity": 0.30000000000000004, "unit_price": 1}]}]',
    ),
    "unknown currency": ("json", json.dumps([inv(currency="XYZ")]).encode()),
    "bidi override": ("json", json.dumps([inv(customer="Contoso\u202e Ltd")]).encode()),
    "line separator": ("json", json.dumps([inv(note="one\u2028two")]).encode()),
    "escape sequence": ("json", json.dumps([inv(number="E-\x1b[2J1")]).encode()),
    "c1 control in csv": (
        "csv",
        "number,customer_name,issue_date,currency,service,quantity,unit_price\nC-1,Contoso\x9b Ltd,2026-10-01,USD,Translation,10,0.12\n".encode(),
    ),
    "not an object": ("json", b"[1, 2, 3]"),
    "wrong types": (
        "json",
        json.dumps(
            [inv(number=5), inv("B", lines=[{"service": True, "quantity": [], "unit_price": {}}])]
        ).encode(),
    ),
    "huge number": (
        "json",
        b'[{"number": "H", "customer": "Contoso Ltd", "issue_date": "2026-10-01", "currency": "USD", "lines": [{"service": "Translation", "quantity": 1e400, "unit_price": 1}]}]',
    ),
    "huge integer": (
        "json",
        json.dumps(
            [inv(lines=[{"service": "Translation", "quantity": "9" * 40, "unit_price": "1"}])]
        ).encode(),
    ),
    "nan": (
        "json",
        b'{"number": "N", "customer": "Contoso Ltd", "issue_date": "2026-10-01", "currency": "USD", "lines": [{"service": "Translation", "quantity": NaN, "unit_price": 1}]}',
    ),
    "infinity": (
        "json",
        b'{"number": "N", "customer": "Contoso Ltd", "issue_date": "2026-10-01", "currency": "USD", "lines": [{"service": "Translation", "quantity": Infinity, "unit_price": 1}]}',
    ),
    "exponent": (
        "json",
        json.dumps(
            [inv(lines=[{"service": "Translation", "quantity": "1E+2", "unit_price": "1"}])]
        ).encode(),
    ),
    "invalid date": ("json", json.dumps([inv(issue_date="2026-02-30")]).encode()),
    "negative quantity": (
        "json",
        json.dumps(
            [inv(lines=[{"service": "Translation", "quantity": "-3", "unit_price": "1"}])]
        ).encode(),
    ),
    "bom json": ("json", "\ufeff".encode() + json.dumps([inv()]).encode()),
    "latin-1 bytes": (
        "json",
        json.dumps([inv(customer="Müller")])
        .encode("latin-1", "replace")
        .replace(b"M\\u00fcller", b"M\xfcller"),
    ),
    "bom csv": (
        "csv",
        "\ufeffnumber,customer_name,issue_date,currency,service,quantity,unit_price\nC-1,Contoso Ltd,2026-10-01,USD,Translation,10,0.12\n".encode(),
    ),
    "mixed delimiters": (
        "csv",
        b"number,customer_name,issue_date,currency,service,quantity,unit_price\nC-1;Contoso Ltd;2026-10-01;USD;Translation;10;0.12\n",
    ),
    "unbalanced quote csv": (
        "csv",
        b'number,customer_name,issue_date,currency,service,quantity,unit_price\nC-1,"Contoso Ltd,2026-10-01,USD,Translation,10,0.12\n',
    ),
    "10 MB line": (
        "json",
        json.dumps([inv(lines=[dict(GOOD_LINE, description="x" * 10_000_000)])]).encode(),
    ),
    "control characters": ("json", json.dumps([inv(customer="Contoso\x00 Ltd")]).encode()),
    "deep nesting": ("json", b"[" * 100_000 + b"]" * 100_000),
    "duplicate numbers": ("json", json.dumps([inv(), inv()]).encode()),
}


VALID = {"bom json", "bom csv"}


def write(world: World, name: str, ext: str, content: bytes) -> Path:
    path = world.home.parent / f"corpus.{ext}"
    path.write_bytes(content)
    world.monkeypatch.setenv("INVOICESYNC_SOURCE", str(path))
    return path


def no_bad_queries(world: World) -> None:
    bad = [e for e in world.sandbox.requests if e.kind == "query" and e.status != 200]
    assert not bad, [(e.query, e.status) for e in bad]


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_malformed_sources_exit_8_or_push_correctly(us: World, case: str) -> None:
    ext, content = CORPUS[case]
    write(us, case, ext, content)
    before = len(us.invoices())
    result = us.run("push", "--all")
    assert "Traceback" not in result.stderr + result.stdout
    for raw in ("\x1b", "\x9b", "\u202e", "\u2028"):  # data never reaches the terminal raw
        assert raw not in result.stderr + result.stdout, case
    expected = 0 if case in VALID else 8
    assert result.exit_code == expected, (case, result.exit_code, result.stderr[-500:])
    if expected == 0:
        assert len(us.invoices()) == before + 1
    else:
        assert "nothing was sent" in result.stderr or "not UTF-8" in result.stderr
        assert len(us.invoices()) == before  # nothing was sent
        assert [
            e for e in us.sandbox.requests if e.kind not in ("oauth",) and e.method == "POST"
        ] == []
    no_bad_queries(us)


HOSTILE_NAMES = [
    'Bob "The Builder" Ltd',
    "Back\\slash Translations",
    "100% Localization",
    "'; DROP TABLE invoices; --",
    'Smith & Wesson\'s "Best" Co',
    "Trailing backslash\\",
    "Ünïcödé 翻訳 株式会社",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_push_correctly(us: World, name: str) -> None:
    company = us.sandbox.company()
    customer = company.create("Customer", {"DisplayName": name})
    income = {"value": company.id_by_name("Account", "Services")}  # QBO requires one
    item = company.create("Item", {"Name": f"Svc {name}"[:100], "IncomeAccountRef": income})
    number = "Q'1\\x%"  # quotes, backslash and percent in the DocNumber too
    path = us.home.parent / "hostile.json"
    path.write_text(
        json.dumps(
            [
                inv(
                    number,
                    name,
                    lines=[{"service": item["Name"], "quantity": "2", "unit_price": "5"}],
                )
            ]
        )
    )
    us.monkeypatch.setenv("INVOICESYNC_SOURCE", str(path))
    result = us.run("push", "--all")
    assert result.exit_code == 0, result.stdout + result.stderr
    created = [i for i in us.invoices() if marker_of(i.get("PrivateNote")) == number]
    assert len(created) == 1 and created[0]["CustomerRef"]["value"] == customer["Id"]
    assert us.run("push", "--all").exit_code == 0  # the DocNumber guard query still parses
    assert len([i for i in us.invoices() if marker_of(i.get("PrivateNote")) == number]) == 1
    no_bad_queries(us)


def test_typographic_apostrophe_is_a_diagnosis_not_a_broken_query(us: World) -> None:
    path = us.home.parent / "curly.json"
    path.write_text(json.dumps([inv("INV’1", "O’Brien & Partners LLP")]))
    us.monkeypatch.setenv("INVOICESYNC_SOURCE", str(path))
    result = us.run("push", "--all")
    assert result.exit_code == 5
    assert "typographic apostrophe" in result.stdout + result.stderr
    no_bad_queries(us)


def test_malformed_configs_exit_8(us: World) -> None:
    config = us.home / "config.toml"
    original = config.read_text()
    for text in [
        'environment = "production"\nrealm_id = [1, 2]\n',
        "[csv.columns]\nnumber = 5\n",
        "[push]\ndoc_numbers = 'maybe'\n",
        "timeout = -1\n",
        "\x00\x01",
        "colour = 'red'\n",
        "[connect]\nport = 70000\n",
    ]:
        config.write_text(original + "\n" + text)
        result = us.run("invoices")
        assert result.exit_code == 8, (text, result.stderr)
        assert "Traceback" not in result.stderr
    config.write_text(original)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "file is empty"), (b" \r\n \r\n", "file is blank (only white space)")],
)
def test_empty_csv_fails_loudly_end_to_end(us: World, content: bytes, message: str) -> None:
    write(us, "empty", "csv", content)
    result = us.run("push", "--all")
    assert result.exit_code == 8 and message in result.stderr, result.stderr


def test_source_from_stdin_end_to_end(us: World) -> None:
    """`--source -` reaches the sources layer unchanged: the invoices come from the pipe."""
    records = json.dumps([inv("STDIN-1"), inv("STDIN-2")])
    result = us.run("--source", "-", "invoices", "--json", input=records)
    assert result.exit_code == 0, result.stderr
    assert [i["number"] for i in json.loads(result.stdout)["invoices"]] == ["STDIN-1", "STDIN-2"]
    before = len(us.invoices())
    pushed = us.run("--source", "-", "push", "--all", input=records)
    assert pushed.exit_code == 0, pushed.stderr
    assert len(us.invoices()) == before + 2
    empty = us.run("--source", "-", "push", "--all", input="")
    assert empty.exit_code == 8 and "<stdin>: file is empty" in empty.stderr
