"""QuickBooks' wire formats: JSON with exact decimals, and the XML it sometimes answers in.

JSON: QBO sends and accepts amounts as JSON numbers. We parse them as `Decimal` and write
`Decimal` back as a plain JSON number with the same digits, never through float and never as
an object or a string.

XML: even when JSON is asked for, QBO's gateway answers some requests in XML (throttling, some
auth failures, occasionally a whole response: https://github.com/routablehq/python-quickbooks/issues/43
). `parse_xml` turns an
`IntuitResponse` into the dict its JSON form would be, so one code path reads both.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from typing import Any

import invoicesync.exactjson as exactjson

# --- JSON: exact decimals (invoicesync.exactjson, shared with the dry run's display) ----------

number = exactjson.number
dumps = exactjson.dumps
loads = exactjson.loads


# --- XML ---------------------------------------------------------------------------------------

# Elements whose JSON form is an array even when the XML holds only one of them.
_ARRAYS = frozenset(
    {
        "Error",
        "BatchItemResponse",
        "CDCResponse",
        "Line",
        "LinkedTxn",
        "CustomField",
        "TaxLine",
    }
)
# Elements whose JSON form is an object even when the XML element is empty (`<QueryResponse/>`).
_OBJECTS = frozenset({"IntuitResponse", "QueryResponse", "Fault", "BatchItemResponse"})
_UNSAFE = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def looks_like_xml(text: str) -> bool:
    return text.lstrip().startswith("<")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _convert(elem: ET.Element) -> Any:
    children = list(elem)
    out: dict[str, Any] = {_local(k): v for k, v in elem.attrib.items()}
    text = (elem.text or "").strip()
    if not children:
        if not out and _local(elem.tag) not in _OBJECTS:
            return elem.text or ""
        if text:  # <CustomerRef name="Amy">1</CustomerRef> is {"name": "Amy", "value": "1"}
            out["value"] = elem.text
        return out
    parent = _local(elem.tag)
    for child in children:
        name = _local(child.tag)
        value = _convert(child)
        # Entity rows in a QueryResponse, and the QueryResponses of a CDCResponse, are arrays.
        listed = name in _ARRAYS or (parent == "QueryResponse" and isinstance(value, dict))
        if parent == "CDCResponse" and name == "QueryResponse":
            listed = True
        if listed:
            out.setdefault(name, []).append(value)
        elif name in out:
            previous = out[name]
            out[name] = [*(previous if isinstance(previous, list) else [previous]), value]
        else:
            out[name] = value
    return out


def _faults_by_pattern(text: str) -> dict[str, Any] | None:
    """The Fault of a body ElementTree cannot read: QBO has sent XML that is not well formed
    (an `Error` never closed: github.com/intuit/QuickBooks-V3-PHP-SDK/issues/445)."""
    fault = re.search(r"<(?:\w+:)?Fault\b([^>]*)>", text)
    if fault is None:
        return None
    ftype = re.search(r'\btype="([^"]*)"', fault.group(1))
    errors = []
    for chunk in re.split(r"<(?:\w+:)?Error\b", text[fault.end() :])[1:]:
        attrs, _, body = chunk.partition(">")
        error: dict[str, Any] = {}
        for name in ("code", "element"):
            match = re.search(rf'\b{name}="([^"]*)"', attrs)
            if match:
                error[name] = html.unescape(match.group(1))
        for name in ("Message", "Detail"):
            match = re.search(rf"<(?:\w+:)?{name}>(.*?)</(?:\w+:)?{name}>", body, re.S)
            if match:
                error[name] = html.unescape(match.group(1))
        errors.append(error)
    found: dict[str, Any] = {"Error": errors}
    if ftype:
        found["type"] = ftype.group(1)
    return {"Fault": found}


def parse_xml(text: str) -> dict[str, Any] | None:
    """An `IntuitResponse` (or a bare `Fault`) as the dict of its JSON form; None if the text
    is not XML we can read. Entity values stay strings (`"12.50"`): XML has no numbers."""
    if not looks_like_xml(text):
        return None
    if _UNSAFE.search(text):  # no document types or entities from the network
        return _faults_by_pattern(text)
    try:
        # Safe: without a DOCTYPE (refused above) there are no entities to expand or fetch.
        root = ET.fromstring(text)  # noqa: S314
        converted = _convert(root)
    except (ET.ParseError, RecursionError):  # not well formed, or nested as no answer is
        return _faults_by_pattern(text)
    if not isinstance(converted, dict):
        return None
    if _local(root.tag) == "Fault":
        return {"Fault": converted}
    return converted
