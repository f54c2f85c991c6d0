"""The QuickBooks query language, as documented, parsed and evaluated.

The documentation: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries

    SELECT * | COUNT(*) FROM Entity [WHERE f op v [AND ...]] [ORDERBY f [ASC|DESC], ...]
           [STARTPOSITION n] [MAXRESULTS n]

Errors carry QBO's codes: 4000 for what the parser rejects, 4001 for what validation rejects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from invoicesync.targets.quickbooks.sandbox.pacific import instant


class QueryError(Exception):
    """A query the service refuses: `code` is "4000" (parse) or "4001" (validation)."""

    def __init__(self, code: str, message: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.message = message
        self.detail = detail


def parse_error(detail: str) -> QueryError:
    return QueryError("4000", "Error parsing query", f"QueryParserError: {detail}")


def validation_error(detail: str) -> QueryError:
    return QueryError("4001", "Invalid query", f"QueryValidationError: {detail}")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # =, <, >, <=, >=, LIKE, IN
    values: tuple[str, ...]

    @cached_property
    def folded(self) -> frozenset[str]:
        """The values as plain text compares them, for `IN` by set lookup."""
        return frozenset(v.casefold() for v in self.values)


@dataclass
class Query:
    entity: str
    count: bool = False
    # Properties named after SELECT: `SELECT Id, Name` → ("Id", "Name"); `SELECT *, Sku` → all
    # properties (None) and ("Sku",) checked to exist.
    properties: tuple[str, ...] = ()
    star: bool = True
    where: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int = 1
    max_results: int = 100


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:\\.|[^'\\])*')
      | (?P<op><=|>=|=|<|>|!=)
      | (?P<punct>[(),*])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<number>-?\d+(?:\.\d+)?)
    )""",
    re.VERBOSE,
)
_FORBIDDEN = {"\u2019": 8217, "\u2018": 8216, "\u201c": 8220, "\u201d": 8221}


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    for i, ch in enumerate(text):
        if ch in _FORBIDDEN:
            # The real lexer rejects typographic quotes even inside a quoted value.
            raise QueryError(
                "4000",
                "Error parsing query",
                f"Invalid content. Lexical error at line 1, column {i + 1}. "
                f'Encountered: "\\u{ord(ch):04x}" ({_FORBIDDEN[ch]}), after : ""',
            )
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            col = pos + 1 + (len(text[pos:]) - len(text[pos:].lstrip()))
            raise parse_error(
                f'Encountered " <ILLEGAL> "{text[pos:].strip()[:1]} "" at line 1, column {col}.'
            )
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()
    return tokens


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise parse_error('Encountered "<EOF>" at line 1. Was expecting more input.')
        self.i += 1
        return tok

    def expect_word(self, *words: str) -> str:
        kind, value, col = self.take()
        if kind != "word" or value.upper() not in words:
            raise parse_error(
                f'Encountered " <IDENTIFIER> "{value} "" at line 1, column {col}. '
                f"Was expecting one of: {', '.join(words)}"
            )
        return value.upper()

    def expect_punct(self, ch: str) -> None:
        _, value, col = self.take()
        if value != ch:
            raise parse_error(
                f'Encountered "{value}" at line 1, column {col}. Was expecting "{ch}"'
            )

    def integer(self, keyword: str) -> int:
        kind, value, col = self.take()
        if kind == "string":
            value = _unquote(value)
        try:
            return int(value)
        except ValueError:
            raise parse_error(
                f'Encountered "{value}" at line 1, column {col}. Was expecting a number '
                f"after {keyword}"
            ) from None

    def value(self) -> str:
        kind, value, col = self.take()
        if kind == "string":
            return _unquote(value)
        if kind in {"number", "word"}:
            return value
        raise parse_error(f'Encountered "{value}" at line 1, column {col}.')

    def parse(self) -> Query:
        self.expect_word("SELECT")
        count, star, properties = self.selection()
        self.expect_word("FROM")
        kind, entity, col = self.take()
        if kind != "word":
            raise parse_error(f'Encountered "{entity}" at line 1, column {col}.')
        query = Query(entity=entity, count=count, properties=properties, star=star)
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].upper() == "WHERE":
            self.take()
            query.where.append(self.condition())
            while (tok := self.peek()) and tok[0] == "word" and tok[1].upper() == "AND":
                self.take()
                query.where.append(self.condition())
        while (tok := self.peek()) is not None:
            kind, value, col = tok
            word = value.upper() if kind == "word" else ""
            if word in {"ORDERBY", "ORDER"}:
                self.take()
                if word == "ORDER":
                    self.expect_word("BY")
                query.order = self.order_fields()
            elif word == "STARTPOSITION":
                self.take()
                query.start = self.integer(word)
            elif word == "MAXRESULTS":
                self.take()
                query.max_results = self.integer(word)
            else:
                raise parse_error(
                    f'Encountered " <IDENTIFIER> "{value} "" at line 1, column {col}. '
                    'Was expecting one of: <EOF> <AND> "maxresults" "orderby" "startposition"'
                )
        return query

    def selection(self) -> tuple[bool, bool, tuple[str, ...]]:
        """`*`, `COUNT(*)`, `*, Prop, …` or `Prop, …`: (count, star, properties)."""
        kind, value, col = self.take()
        if kind == "word" and value.upper() == "COUNT":
            self.expect_punct("(")
            self.expect_punct("*")
            self.expect_punct(")")
            return True, True, ()
        star = value == "*"
        if not star and kind != "word":
            raise parse_error(f'Encountered "{value}" at line 1, column {col}. Was expecting "*"')
        properties = [] if star else [value]
        while (tok := self.peek()) and tok[1] == ",":
            self.take()
            kind, value, col = self.take()
            if kind != "word":
                raise parse_error(f'Encountered "{value}" at line 1, column {col}.')
            properties.append(value)
        return False, star, tuple(properties)

    def condition(self) -> Condition:
        kind, name, col = self.take()
        if kind != "word":
            raise parse_error(f'Encountered "{name}" at line 1, column {col}.')
        kind, op, col = self.take()
        if kind == "op" and op != "!=":
            return Condition(name, op, (self.value(),))
        if kind == "word" and op.upper() == "LIKE":
            return Condition(name, "LIKE", (self.value(),))
        if kind == "word" and op.upper() == "IN":
            self.expect_punct("(")
            values = [self.value()]
            while (tok := self.peek()) and tok[1] == ",":
                self.take()
                values.append(self.value())
            self.expect_punct(")")
            return Condition(name, "IN", tuple(values))
        raise parse_error(
            f'Encountered " <IDENTIFIER> "{op} "" at line 1, column {col}. '
            'Was expecting one of: "=" "<" ">" "<=" ">=" "in" "like"'
        )

    def order_fields(self) -> list[tuple[str, bool]]:
        fields: list[tuple[str, bool]] = []
        while True:
            kind, name, col = self.take()
            if kind != "word":
                raise parse_error(f'Encountered "{name}" at line 1, column {col}.')
            desc = False
            tok = self.peek()
            if tok and tok[0] == "word" and tok[1].upper() in {"ASC", "DESC"}:
                desc = self.take()[1].upper() == "DESC"
            fields.append((name, desc))
            tok = self.peek()
            if not tok or tok[1] != ",":
                return fields
            self.take()


def parse(text: str) -> Query:
    """Parse and validate a query string (entity existence is checked by `execute`)."""
    query = _Parser(text).parse()
    if query.start < 1:
        raise validation_error(f"value {query.start} is too small. Min allowed value is 1")
    if query.max_results > 1000:
        raise validation_error(f"value {query.max_results} is too large. Max allowed value is 1000")
    if query.max_results < 1:
        raise validation_error(f"value {query.max_results} is too small. Min allowed value is 1")
    return query


_MISSING = object()


def _lookup(entity: Mapping[str, Any], path: str) -> Any:
    values = _lookup_all(entity, path.split("."))
    return values[0] if values else _MISSING


def _lookup_all(value: Any, parts: list[str]) -> list[Any]:
    """Every value at `parts`, walking into lists (`AttachableRef.EntityRef.value`)."""
    if isinstance(value, list):
        return [v for item in value for v in _lookup_all(item, parts)]
    if not parts:
        if isinstance(value, Mapping) and "value" in value:  # reference fields compare by id
            return [value["value"]]
        return [value]
    if not isinstance(value, Mapping):
        return []
    key = next((k for k in value if k.casefold() == parts[0].casefold()), None)
    if key is None:
        return []
    return _lookup_all(value[key], parts[1:])


def _compare(actual: Any, op: str, literal: str) -> bool:
    if actual is _MISSING or actual is None:
        return op == "=" and literal == " "  # "Null is represented as ' '"
    if isinstance(actual, bool):
        return op == "=" and str(actual).lower() == literal.lower()
    if isinstance(actual, (int, Decimal)):
        try:
            lit: Any = Decimal(literal)
        except InvalidOperation:
            return False
        left: Any = Decimal(actual)
    elif op != "LIKE" and (moment := instant(str(actual))) is not None:
        # Timestamps compare as instants: `01:30-08:00` is after `01:50-07:00` (DST fall-back).
        # A plain date against a timestamp means midnight, Pacific.
        other = instant(literal if "T" in literal else literal.strip() + "T00:00:00")
        if other is None:
            return False
        left, lit = moment, other
    else:
        # String comparisons are case-insensitive (UNVERIFIED for the real service; see
        # docs/sandbox.md). Plain dates compare correctly as strings.
        left, lit = str(actual).casefold(), literal.casefold()
        if op == "LIKE":
            pattern = "^" + ".*".join(re.escape(p) for p in lit.split("%")) + "$"
            return re.match(pattern, left, re.DOTALL) is not None
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b,
        "LIKE": lambda a, b: a == b,
    }
    return ops[op](left, lit)


def _matches(entity: Mapping[str, Any], cond: Condition) -> bool:
    found = _lookup_all(entity, cond.field.split(".")) or [_MISSING]
    if cond.op == "IN":
        return any(_in(a, cond) for a in found)
    return any(_compare(a, cond.op, cond.values[0]) for a in found)


def _in(actual: Any, cond: Condition) -> bool:
    """`actual = v` for some value: plain text by one set lookup, the rest pair by pair (an
    `Id IN` of 1,000 Ids over 5,000 invoices took seconds, under the sandbox's lock)."""
    if isinstance(actual, str) and instant(actual) is None:
        return actual.casefold() in cond.folded
    return any(_compare(actual, "=", v) for v in cond.values)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is _MISSING or value is None:
        return (0, "")
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return (1, Decimal(value))
    moment = instant(str(value))
    if moment is not None:
        return (2, moment)
    return (3, str(value).casefold())


def execute(
    query: Query,
    rows: Iterable[Mapping[str, Any]],
    known_fields: Iterable[str],
) -> tuple[list[Mapping[str, Any]], int]:
    """Filter, order and page `rows`; returns (page, total matching). Unknown fields are 4001."""
    known = set(known_fields)
    named = [c.field for c in query.where] + [f for f, _ in query.order] + list(query.properties)
    for name in named:
        if name.split(".")[0] not in known:
            raise validation_error(f"Property {name} not found for Entity {query.entity}")
    matching = [r for r in rows if all(_matches(r, c) for c in query.where)]
    if query.order:
        for name, desc in reversed(query.order):
            matching.sort(key=_field_key(name), reverse=desc)
    else:
        matching.sort(key=lambda r: _sort_key(_id_number(r)))
    start = query.start - 1
    return matching[start : start + query.max_results], len(matching)


def _field_key(name: str) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    return lambda row: _sort_key(_lookup(row, name))


def _id_number(row: Mapping[str, Any]) -> Any:
    raw = row.get("Id", "")
    return int(raw) if isinstance(raw, str) and raw.isdigit() else raw
