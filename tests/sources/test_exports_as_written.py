"""Exports as people really write them: a file saved in Windows-1252, a JSON
file with a trailing comma, numbers with spaces around them, a negative quantity. Each is a
message that says where and what to do, or a correct read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from invoicesync.config import load_settings
from invoicesync.errors import ConfigError, SourceError
from invoicesync.sources import open_source
from tests.sources.test_sources import good

HEAD = "number,customer_name,issue_date,currency,service,quantity,unit_price\n"


def details(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(SourceError) as info:
        open_source(path, **kwargs).invoices()  # type: ignore[arg-type]
    assert info.value.exit_code == 8
    return info.value.details


def settings_with(tmp_path: Path, toml: str):  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(toml, encoding="utf-8")
    return load_settings(env={"INVOICESYNC_HOME": str(home)})


# --- encodings ------------------------------------------------------------------------------


def cp1252_export(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    path.write_bytes(
        (HEAD + "INV-1,Acme,2026-10-01,EUR,Translation,1,10\n"
         "INV-2,Müller GmbH,2026-10-01,EUR,Übersetzung “fast”,1,10\n").encode("cp1252")
    )  # fmt: skip
    return path


def test_a_windows_1252_file_names_line_column_and_the_setting_to_use(tmp_path: Path) -> None:
    path = cp1252_export(tmp_path)
    [message] = details(path)
    # "ü" is byte 0xFC, on line 3, the 8th character of that line.
    assert message == (
        f"{path}:3:8: not UTF-8 text (byte 0xFC); it reads as Windows-1252, what Excel saves "
        'as "CSV" on Western European Windows: set encoding = "cp1252" under [source] in '
        'config.toml, or save the export as "CSV UTF-8"'
    )


def test_the_configured_encoding_reads_the_file(tmp_path: Path) -> None:
    path = cp1252_export(tmp_path)
    settings = settings_with(tmp_path, f'[source]\npath = "{path}"\nencoding = "cp1252"\n')
    assert settings.source == path
    invoices = open_source(path, options=settings.source_options).invoices()
    assert invoices[1].customer.name == "Müller GmbH"
    assert invoices[1].lines[0].service == "Übersetzung “fast”"


def test_utf8_files_stay_utf8_when_an_encoding_is_set(tmp_path: Path) -> None:
    """A folder may hold a UTF-8 JSON file beside a Windows-1252 CSV: a file that is valid
    UTF-8 is read as UTF-8 (reading it as cp1252 would turn "ü" into "Ã¼" without a word)."""
    cp1252_export(tmp_path)
    (tmp_path / "more.json").write_text(
        json.dumps([good(number="INV-3", customer={"name": "Müller GmbH"})]), encoding="utf-8"
    )
    settings = settings_with(tmp_path, '[source]\nencoding = "cp1252"\n')
    invoices = open_source(tmp_path, options=settings.source_options).invoices()
    assert [i.customer.name for i in invoices] == ["Acme", "Müller GmbH", "Müller GmbH"]


def test_bytes_the_configured_encoding_cannot_read_are_located(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(HEAD.encode() + b"INV-1,A\x81,2026-10-01,EUR,T,1,1\n")
    settings = settings_with(tmp_path, '[source]\nencoding = "cp1252"\n')
    [message] = details(path, options=settings.source_options)
    assert message == (
        f"{path}:2:8: not cp1252 text (byte 0x81); set encoding under [source] in config.toml "
        "to the encoding the export was saved in"
    )


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[source]\nencoding = "klingon"\n', "source.encoding: 'klingon' is not an encoding"),
        ('[source]\nencoding = "rot13"\n', "source.encoding: 'rot13' is not an encoding"),
        ('[source]\ndecimal = "semicolon"\n', 'source.decimal must be "auto", "dot" or "comma"'),
        ('[source]\nsheet = ""\n', "source.sheet must be a non-empty string"),
        ('[source]\nseparator = ";"\n', "[source] takes path, encoding, decimal, sheet"),
        ('source = "a.csv"\n[source]\nencoding = "cp1252"\n', "invalid TOML"),
    ],
)
def test_source_settings_are_checked_when_the_config_loads(
    tmp_path: Path, toml: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        settings_with(tmp_path, toml)
    assert message in info.value.message
    assert info.value.exit_code == 8


def test_source_given_twice_says_to_move_the_path_into_the_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        settings_with(tmp_path, 'source = "a.csv"\n[source]\nencoding = "cp1252"\n')
    assert 'write the path inside [source] as path = "…"' in info.value.message


def test_a_profile_may_have_its_own_source_table(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        'source = "top.csv"\n[profiles.es.source]\npath = "es.csv"\ndecimal = "comma"\n',
        encoding="utf-8",
    )
    top = load_settings(env={"INVOICESYNC_HOME": str(home)})
    es = load_settings(env={"INVOICESYNC_HOME": str(home)}, profile="es")
    assert (top.source, top.source_options.decimal) == (Path("top.csv"), "auto")
    assert (es.source, es.source_options.decimal) == (Path("es.csv"), "comma")


# --- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[\n {"number": "A"},\n {"number": "B"},\n]\n', "3:17"),
        ('[\n {"number": "A",\n  "customer": "C",\n }\n]\n', "3:18"),
    ],
)
def test_a_trailing_comma_is_named_with_its_line_and_column(
    tmp_path: Path, text: str, where: str
) -> None:
    path = tmp_path / "x.json"
    path.write_text(text, encoding="utf-8")
    found = [d for d in details(path) if "invalid JSON" in d]
    assert found == [
        f'{path}:{where}: invalid JSON: trailing comma? JSON allows no "," before a closing '
        "bracket or brace; remove it"
    ]


def test_other_json_errors_have_a_column_too(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('[\n {"number": "A",\n  "x": }\n]', encoding="utf-8")
    assert details(path) == [f"{path}:3:8: invalid JSON: Expecting value"]


def test_json_lines_trailing_comma(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(good()) + '\n{"number": "B",}\n', encoding="utf-8")
    [message] = details(path)
    assert message.startswith(f"{path}:2:15: invalid JSON: trailing comma?")


# --- white space around numbers ---------------------------------------------------------------


def test_a_number_with_spaces_around_it_is_read_without_them_and_warned_of(
    tmp_path: Path,
) -> None:
    """A table reads " INV-7 " as INV-7 (the link key, the DocNumber, what later runs find) and
    says so; CSV always read it trimmed, so no invoice's identity changes."""
    csv_path = tmp_path / "x.csv"
    csv_path.write_text(HEAD + " INV-7 ,Acme,2026-10-01,USD,T,1,1\n", encoding="utf-8")
    source = open_source(csv_path)
    [invoice] = source.invoices()
    assert invoice.number == "INV-7"
    assert source.warnings == [
        f"{csv_path}:2: invoice INV-7: number: ' INV-7 ' has white space around it; read as "
        "'INV-7' (the number the target and later runs see)"
    ]


def test_a_json_number_with_spaces_around_it_is_refused_never_renamed(tmp_path: Path) -> None:
    """JSON was read as written, so an invoice pushed as " INV-7 " is linked under that number:
    reading it as INV-7 now would push it again. Refused, with what to do."""
    json_path = tmp_path / "x.json"
    json_path.write_text(json.dumps([good(number="\u00a0INV-7 ")], indent=1), encoding="utf-8")
    [message] = details(json_path)
    assert message == (
        f"{json_path}:3: invoice INV-7: number: '\\xa0INV-7 ' has white space around it: "
        "remove it in the export (the number is the link key; if an earlier version pushed it "
        "with the spaces, unlink that number first)"
    )


def test_credit_for_with_spaces_in_json_is_refused(tmp_path: Path) -> None:
    note = good(number="CN-1", type="credit_note", credit_for=" INV-1")
    [message] = details(_write(tmp_path, [good(), note]))
    assert "credit_for: ' INV-1' has white space around it: remove it in the export" in message


def test_a_duplicate_hidden_by_spaces_is_a_duplicate(tmp_path: Path) -> None:
    csv_path = tmp_path / "x.csv"
    rows = "INV-1,Acme,2026-10-01,USD,T,1,1\n INV-1 ,Acme,2026-10-01,USD,T,1,1\n"
    csv_path.write_text(HEAD + rows, encoding="utf-8")
    messages = details(csv_path)
    assert any("INV-1" in m and "duplicate" in m for m in messages), messages


def _write(tmp_path: Path, records: object) -> Path:
    path = tmp_path / "x.json"
    path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return path


# --- a negative quantity ------------------------------------------------------------------------


def test_a_negative_quantity_points_to_adjustments_and_credit_notes(tmp_path: Path) -> None:
    line = {"service": "Translation", "quantity": "-2", "unit_price": "10"}
    [message] = details(_write(tmp_path, [good(lines=[line])]))
    assert message.endswith(
        "invoice INV-1: lines[1].quantity: -2 is negative: a discount is an adjustment with a "
        "negative amount, and money given back is a credit note (type credit_note, positive "
        "amounts); see docs/invoice-format.md#adjustments"
    )


def test_utf16_is_read_when_set_and_utf8_beside_it_stays_utf8(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(
        (HEAD + "INV-1,Müller,2026-10-01,EUR,T,1,10\n").encode("utf-16")
    )
    (tmp_path / "b.csv").write_text(HEAD + "INV-2,Müller,2026-10-01,EUR,T,1,10\n", "utf-8")
    settings = settings_with(tmp_path, '[source]\nencoding = "utf-16"\n')
    invoices = open_source(tmp_path, options=settings.source_options).invoices()
    assert [i.customer.name for i in invoices] == ["Müller", "Müller"]
