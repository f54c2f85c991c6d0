"""The `[source]` and `[csv]` tables of config.toml: how the source's files are read.

Its own module so that settings (config.py) and the readers (sources/) share these types
without the one importing the other's weight. Every value is checked when the config loads, so
a typo'd encoding or convention is exit 8 before any file is opened (docs/configuration.md).
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoicesync.errors import ConfigError

SOURCE_KEYS = ("path", "encoding", "decimal", "sheet")
DECIMALS = ("auto", "dot", "comma")


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
    """How CSV (and .xlsx) columns become invoices: canonical field name -> column header."""

    columns: Mapping[str, str] = field(default_factory=dict)


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
    csv_table = data.get("csv", {})
    columns = csv_table.get("columns", {}) if isinstance(csv_table, dict) else None
    if not isinstance(columns, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
    ):
        raise ConfigError(f"{path}: [csv.columns] must map field names to column names")
    return CsvOptions(columns=dict(columns))
