"""QuickBooks as a ledger, after the push: payments, send, PDF, attachments.

A component of `QuickBooksLedger`, kept apart so the push half stays small. As there, every
QuickBooks error becomes an `InvoiceSyncError` (`translate`) or a per-invoice `Refusal`, a
write whose outcome is unknown raises `Uncertain`, and rows become typed views.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from invoicesync.ledger.base import Gone, Refusal, Uncertain, Upload
from invoicesync.models import DocKind, DocRef
from invoicesync.targets.quickbooks import errors as qb
from invoicesync.targets.quickbooks.api import QBOClient, documents
from invoicesync.targets.quickbooks.api import errors as qerr
from invoicesync.targets.quickbooks.api import query as qq
from invoicesync.targets.quickbooks.api.followup_rows import QBOAttachable, QBOPayment
from invoicesync.targets.quickbooks.records import QBOBilled, entity_of

# Intuit's Attachable reference: files up to 100 MB of these types (by extension).
MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
ATTACHMENT_TYPES = {
    ".ai": "application/postscript",
    ".csv": "text/csv",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".eps": "application/postscript",
    ".gif": "image/gif",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".rtf": "application/rtf",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".txt": "text/plain",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xml": "text/xml",
}


def content_type(file_name: str) -> str | None:
    return ATTACHMENT_TYPES.get(os.path.splitext(file_name)[1].lower())


class QuickBooksFollowUps:
    """What comes after the push, for one QuickBooks company: a component the ledger holds
    and delegates `FollowsUp`, `ReadsPayments` and `Attaches` to."""

    def __init__(self, client: QBOClient) -> None:
        self.client = client

    def billing(self, kind: DocKind, remote_ids: Sequence[str]) -> dict[str, QBOBilled]:
        """Invoices (or credit memos) by `Id IN (…)`, up to 1000 ids per paged query; deleted
        ones are absent."""
        entity = entity_of(kind)
        found: dict[str, QBOBilled] = {}
        with qb.translating(f"reading {kind.label}s"):
            for part in qq.chunks(remote_ids):
                for row in self._one_page(qq.select(entity, [("Id", "IN", part)])):
                    view = QBOBilled.from_row(row, entity)
                    found[view.id] = view
        return found

    def payments(self, payment_ids: Sequence[str]) -> dict[str, QBOPayment]:
        found: dict[str, QBOPayment] = {}
        with qb.translating("reading payments"):
            for part in qq.chunks(payment_ids):
                for row in self._one_page(qq.select("Payment", [("Id", "IN", part)])):
                    view = QBOPayment.from_row(row)
                    found[view.id] = view
        return found

    def _one_page(self, statement: str) -> list[dict[str, Any]]:
        """An `Id IN (…)` of at most one page of ids has at most one page of rows: no paging,
        so no empty follow-up request after a full page."""
        return self.client.query_page(qq.page(statement, 1, qq.PAGE_SIZE))

    def send(self, ref: DocRef, to: str | None, request_id: str) -> QBOBilled | Refusal:
        """QuickBooks e-mails the document `ref` names, through its own entity's endpoint."""
        entity = entity_of(ref.kind)
        try:
            row = documents.send(self.client, entity, ref.remote_id, to, requestid=request_id)
        except (qerr.QBOConnectionError, qerr.ServerError) as exc:
            raise Uncertain(str(exc)) from None
        except qerr.NotFoundError:
            raise Gone(ref) from None
        except qerr.ValidationError as exc:
            return qb.refusal(exc)
        except qerr.QBOError as exc:
            raise qb.translate(exc, f"sending {ref}") from None
        return QBOBilled.from_row(row, entity)

    document_formats = ("pdf",)  # QuickBooks renders a PDF; it serves no e-invoice formats

    def document(self, ref: DocRef, fmt: str) -> bytes:
        """The PDF QuickBooks renders (`fmt` is "pdf": the use case offers no other)."""
        if fmt != "pdf":
            raise ValueError(f"QuickBooks serves no {fmt} document")
        try:
            return documents.pdf(self.client, entity_of(ref.kind), ref.remote_id)
        except qerr.NotFoundError:
            raise Gone(ref) from None
        except qerr.QBOError as exc:
            raise qb.translate(exc, f"downloading the PDF of {ref}") from None

    def attachment_problem(self, file_name: str, size: int) -> str | None:
        """Why QuickBooks would refuse this file (checked before anything is sent), or None."""
        if content_type(file_name) is None:
            kinds = ", ".join(sorted(k[1:] for k in ATTACHMENT_TYPES))
            return f"QuickBooks does not take this type of file (it takes {kinds})"
        if size > MAX_ATTACHMENT_BYTES:
            return f"{size} bytes is over QuickBooks' limit of {MAX_ATTACHMENT_BYTES} bytes"
        if size == 0:
            return "the file is empty"
        return None

    def attachments(self, ref: DocRef) -> list[QBOAttachable]:
        where = [
            ("AttachableRef.EntityRef.Type", "=", entity_of(ref.kind).path),
            ("AttachableRef.EntityRef.value", "=", ref.remote_id),
        ]
        with qb.translating(f"reading the attachments of {ref}"):
            return [
                QBOAttachable.from_row(r)
                for r in self.client.iter_query(qq.select("Attachable", where))
            ]

    def attach(self, ref: DocRef, upload: Upload, request_id: str) -> QBOAttachable | Refusal:
        entity = entity_of(ref.kind)
        metadata = {
            "AttachableRef": [{"EntityRef": {"type": entity.value, "value": ref.remote_id}}],
            "FileName": upload.file_name,
            "ContentType": upload.content_type,
            "Note": upload.note,
        }
        try:
            row = documents.upload(
                self.client,
                metadata,
                upload.file_name,
                upload.content_type,
                upload.data,
                requestid=request_id,
            )
        except (qerr.QBOConnectionError, qerr.ServerError) as exc:
            raise Uncertain(str(exc)) from None
        except qerr.ValidationError as exc:
            return qb.refusal(exc)
        except qerr.QBOError as exc:
            raise qb.translate(exc, "attaching a file") from None
        return QBOAttachable.from_row(row)
