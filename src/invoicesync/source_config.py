"""The `[source]` and `[csv]` tables of config.toml: how the source's files are read.

Its own module so that settings (config.py) and the readers (sources/) share these types
without the one importing the other's weight. Every value is checked when the config loads, so
a typo'd encoding or convention is exit 8 before any file is opened (docs/configuration.md).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoicesync.errors import ConfigError

SOURCE_KEYS = ("path", "encoding", "decimal", "sheet")
DECIMALS = ("auto", "dot", "comma")
CSV_KEYS = ("columns", "defaults", "ignore")
# [csv.defaults]: fields of each line, then of each invoice, that a table's empty cell (or
# missing column) takes from config.toml.
LINE_DEFAULTS = ("service", "description", "unit", "tax", "tax_rate")
INVOICE_DEFAULTS = ("payment_terms", "tax_code", "tax_calculation")
DEFAULT_KEYS = LINE_DEFAULTS + INVOICE_DEFAULTS
_RATE = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)


@dataclass(frozen=True)
class SourceOptions:
    """How source files are read. `encoding`: what a file that is not UTF-8 is read as (None:
    such a file is an error); `decimal`: "auto" (a point, or commas when the file shows them
    unambiguously), "dot" or "comma"; `sheet`: the sheet of an .xlsx workbook (None: the
    first)."""

    encoding: str | None = None
    decimal: str = "auto"
    sheet: str | None = None


@dataclass(frozen=True)
class CsvOptions:
    """How the columns of a table (CSV, .xlsx) become invoices. `columns`: canonical field name
    -> column header; `defaults`: field -> value for an empty cell or a missing column (a list
    with one row per invoice takes its line's service and tax from here); `ignore`: headers of
    columns read as nothing, on purpose (no warning, no refusal)."""

    columns: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()


def source_table(data: Mapping[str, Any], path: Path) -> tuple[str | None, SourceOptions]:
    """`source = "PATH"`, or a `[source]` table with `path` and how to read the files."""
    raw = data.get("source")
    if raw is None:
        return None, SourceOptions()
    if isinstance(raw, str):
        if not raw.strip():
            raise ConfigError(f"{path}: source must be a non-empty string")
        return raw, SourceOptions()
    if not isinstance(raw, dict):
        raise ConfigError(f'{path}: source must be a path ("…") or a [source] table')
    unknown = sorted(raw.keys() - set(SOURCE_KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: [source] takes {', '.join(SOURCE_KEYS)}; not {', '.join(unknown)}"
        )
    source = _text(raw, "path", path)
    decimal = raw.get("decimal", "auto")
    if decimal not in DECIMALS:
        raise ConfigError(f'{path}: source.decimal must be "auto", "dot" or "comma"')
    encoding = _text(raw, "encoding", path)
    options = SourceOptions(
        encoding=None if encoding is None else _encoding(encoding, path),
        decimal=decimal,
        sheet=_text(raw, "sheet", path),
    )
    return source, options


def _text(table: Mapping[str, Any], key: str, path: Path) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: source.{key} must be a non-empty string")
    return value


def _encoding(name: str, path: Path) -> str | None:
    """Python's name for a text encoding (None for UTF-8, read anyway); a codec that is not
    one (rot13, base64) is refused like an unknown name."""
    try:
        found = codecs.lookup(name).name
        "x".encode(found)
    except LookupError:
        raise ConfigError(
            f"{path}: source.encoding: {name!r} is not an encoding Python knows; use a name "
            "such as cp1252 (Windows Western European), latin-1 or utf-16"
        ) from None
    return None if found in ("utf-8", "utf-8-sig") else found


def csv_table(data: Mapping[str, Any], path: Path) -> CsvOptions:
    """`[csv]`: `columns`, `defaults` and `ignore`, each checked."""
    table = data.get("csv", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [csv] must be a table")
    unknown = sorted(table.keys() - set(CSV_KEYS))
    if unknown:
        raise ConfigError(f"{path}: [csv] takes {', '.join(CSV_KEYS)}; not {', '.join(unknown)}")
    columns = table.get("columns", {})
    if not isinstance(columns, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
    ):
        raise ConfigError(f"{path}: [csv.columns] must map field names to column names")
    ignore = table.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(i, str) and i.strip() for i in ignore):
        raise ConfigError(f'{path}: csv.ignore must be a list of column names (["Status"])')
    for name in ignore:
        if name.strip() in {v.strip() for v in columns.values()}:
            raise ConfigError(
                f"{path}: csv.ignore: {name!r} is mapped in [csv.columns]; a column is mapped "
                "or ignored, not both"
            )
    return CsvOptions(
        columns=dict(columns),
        defaults=_defaults(table.get("defaults", {}), path),
        ignore=frozenset(i.strip() for i in ignore),
    )


def _defaults(table: Any, path: Path) -> dict[str, str]:
    """`[csv.defaults]`: each a one-line text; `tax_rate` a plain number (TOML's 21.5 would be
    a binary float: the rate is written as text to stay exact)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [csv.defaults] must be a table")
    unknown = sorted(table.keys() - set(DEFAULT_KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: [csv.defaults] takes {', '.join(DEFAULT_KEYS)}; not {', '.join(unknown)}"
        )
    out = {}
    for key, value in table.items():
        if key == "tax_rate" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        elif key == "tax_rate" and isinstance(value, float):
            raise ConfigError(
                f'{path}: csv.defaults.tax_rate: write the number as text (tax_rate = "{value}") '
                "so that it stays exact"
            )
        if not isinstance(value, str) or not value.strip() or "\n" in value:
            raise ConfigError(f"{path}: csv.defaults.{key} must be a non-empty string")
        if key == "tax_rate" and _RATE.fullmatch(value) is None:
            raise ConfigError(
                f"{path}: csv.defaults.tax_rate: {value!r} is not a number; write a percent with "
                'a decimal point, e.g. "21" or "5.5"'
            )
        out[key] = value
    return out
