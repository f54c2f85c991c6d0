"""Attachables: files uploaded to QuickBooks and linked to transactions or names.

`POST /upload` takes multipart/form-data with pairs of parts `file_metadata_NN` (the
Attachable as JSON: FileName, ContentType, AttachableRef) and `file_content_NN` (the bytes,
raw or base64 with `Content-Transfer-Encoding: base64`, as python-quickbooks sends them).
A `file_content_NN` part without its metadata part is a file of its own: its name and type
come from the part's headers and it is linked later by an update, as node-quickbooks does
(docs/sandbox.md, "Attachables").
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from invoicesync.targets.quickbooks.sandbox.errors import (
    Fault,
    invalid_property,
    invalid_reference,
    required_missing,
)
from invoicesync.targets.quickbooks.sandbox.values import listing, mapping

if TYPE_CHECKING:
    from invoicesync.targets.quickbooks.sandbox.company import Company

MAX_BYTES = 100 * 1024 * 1024  # QuickBooks' published attachment limit: 100 MB
# Content types QuickBooks accepts for attachments (the common ones).
CONTENT_TYPES = {
    "application/pdf",
    "image/jpeg",
    "image/jpg",
    "image/png",
    "image/gif",
    "image/tiff",
    "image/bmp",
    "text/plain",
    "text/csv",
    "text/xml",
    "application/xml",
    "application/rtf",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
}
_LINKABLE = {
    "invoice": "Invoice",
    "creditmemo": "CreditMemo",
    "payment": "Payment",
    "customer": "Customer",
    "vendor": "Vendor",
    "employee": "Employee",
    "item": "Item",
}


def build_attachable(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    """A note or a file's record; each AttachableRef must name an existing entity."""
    checked = []
    for raw in listing(data.get("AttachableRef"), "AttachableRef"):
        entity_ref = mapping(raw.get("EntityRef"), "EntityRef")
        kind = _LINKABLE.get(str(entity_ref.get("type", "")).lower())
        if kind is None:
            raise invalid_property(f"Invalid EntityRef type: {entity_ref.get('type')}", "EntityRef")
        value = str(entity_ref.get("value", ""))
        if value not in company.entities[kind]:
            raise invalid_reference(kind, value)
        link = dict(raw)
        link["EntityRef"] = {"type": kind, "value": value}
        link.setdefault("IncludeOnSend", False)
        checked.append(link)
    data["AttachableRef"] = checked
    existing = company.entities["Attachable"].get(updating) if updating else None
    if existing is not None and "FileName" in existing:  # the file itself cannot change
        for key in ("FileName", "ContentType", "Size", "FileAccessUri", "TempDownloadUri"):
            data[key] = existing[key]
    elif not updating and not data.get("Note") and not data.get("FileName"):
        raise required_missing("Note")
    return data


def upload(company: Company, content_type: str, body: bytes, base_url: str) -> list[dict[str, Any]]:
    """Create one Attachable per metadata/content pair; the whole upload or nothing."""
    parts = _parts(content_type, body)
    pairs = sorted(k.removeprefix("file_content_") for k in parts if k.startswith("file_content_"))
    if not pairs:
        raise required_missing("file_content_01")
    prepared = [_prepare(parts, suffix) for suffix in pairs]
    created = []
    for meta, content in prepared:
        entity = company.create("Attachable", meta)
        company.files[entity["Id"]] = content
        stored = company.entities["Attachable"][entity["Id"]]
        url = f"{base_url}/_sandbox/realms/{company.realm_id}/attachables/{entity['Id']}/content"
        stored["FileAccessUri"] = f"/v3/company/{company.realm_id}/download/{entity['Id']}"
        stored["TempDownloadUri"] = url
        created.append(dict(stored))
    return created


def _prepare(
    parts: dict[str, tuple[bytes, dict[str, str]]], suffix: str
) -> tuple[dict[str, Any], bytes]:
    """One file's Attachable and bytes, checked; nothing is stored yet."""
    meta_part = parts.get(f"file_metadata_{suffix}")
    try:
        meta = json.loads(meta_part[0] or b"{}", parse_float=Decimal) if meta_part else {}
    except ValueError:
        raise invalid_property(f"file_metadata_{suffix} is not valid JSON") from None
    if not isinstance(meta, dict):
        raise invalid_property(f"file_metadata_{suffix} must be a JSON object")
    content, headers = parts[f"file_content_{suffix}"]
    if meta_part is None:  # the file part alone: its own headers name it
        found = _FILENAME.search(headers.get("content-disposition", ""))
        if found is not None:
            meta["FileName"] = found.group(1)
    if headers.get("content-transfer-encoding", "").lower() == "base64":
        try:
            content = base64.b64decode(b"".join(content.split()), validate=True)
        except (binascii.Error, ValueError):
            raise invalid_property(f"file_content_{suffix} is not valid base64") from None
    kind = str(meta.get("ContentType") or headers.get("content-type", "")).split(";")[0].strip()
    _check_file(meta, kind, content)
    meta["ContentType"] = kind
    meta["Size"] = len(content)
    return meta, content


_FILENAME = re.compile(r'(?:^|[;\s])filename="([^"]*)"', re.IGNORECASE)
_NAME = re.compile(r'(?:^|[;\s])name="([^"]+)"', re.IGNORECASE)


def _check_file(meta: dict[str, Any], kind: str, content: bytes) -> None:
    if not meta.get("FileName"):
        raise required_missing("FileName")
    if kind not in CONTENT_TYPES:
        raise Fault(
            "2010",
            "Request has invalid or unsupported property",
            f"Unsupported ContentType: {kind}",
            element="ContentType",
        )
    if len(content) > MAX_BYTES:
        raise Fault(
            "2050", "Length exceeds limit", "File size exceeds the 100 MB limit", element="Size"
        )


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


def _parts(content_type: str, body: bytes) -> dict[str, tuple[bytes, dict[str, str]]]:
    """A tolerant multipart/form-data reader: CRLF or LF line ends, named parts only."""
    m = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/form-data") or m is None:
        raise invalid_property("Content-Type must be multipart/form-data with a boundary")
    out: dict[str, tuple[bytes, dict[str, str]]] = {}
    for chunk in body.split(b"--" + m.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk.removeprefix(b"\n")
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = chunk.partition(b"\n\n")
        headers = {}
        for line in head.decode("utf-8", "replace").splitlines():
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        name = _NAME.search(headers.get("content-disposition", ""))
        if name is not None:
            out[name.group(1)] = (_trim(content), headers)
    return out


def _trim(content: bytes) -> bytes:
    """Drop the line end that precedes the next boundary."""
    if content.endswith(b"\r\n"):
        return content[:-2]
    return content.removesuffix(b"\n")
