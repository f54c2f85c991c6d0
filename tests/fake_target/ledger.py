"""An in-memory ledger implementing only the core seam (`ledger.base.Ledger`): no edits, voids,
credits, follow-ups, attachments, prerequisites, copies or batching. It keeps its documents in
`Books`, which the test holds, so several CLI runs of one test see the same target."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from invoicesync.ledger.base import (
    Company,
    Created,
    Draft,
    Facts,
    Found,
    Gone,
    Preparation,
    Problem,
    RemoteInvoice,
)
from invoicesync.marker import marker_of, origin_of, origin_tag, with_marker, without_marker
from invoicesync.models import DocKind, DocRef, LocalInvoice

NAME = "FakeBooks"


@dataclass(frozen=True)
class FakeDoc:
    """A document the fake books hold: the fields `RemoteInvoice` asks for, and its `ref`."""

    ref: DocRef
    doc_number: str | None
    customer_id: str | None
    customer_name: str | None
    total: Decimal | None
    currency: str | None
    txn_date: str | None
    private_note: str | None
    edits: int = 0  # how many times it was written: its version
    voided: bool = False
    status: str = "open"
    payments: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.ref.remote_id

    @property
    def balance(self) -> Decimal | None:
        return self.total

    @property
    def version(self) -> str | None:
        return str(self.edits)

    @property
    def marker(self) -> str | None:
        return marker_of(self.private_note)

    @property
    def origin(self) -> str | None:
        return origin_of(self.private_note)


@dataclass
class Books:
    """The fake target's state: its customers and documents, and every write it took."""

    customers: dict[str, str] = field(default_factory=dict)  # name → id
    docs: dict[DocRef, FakeDoc] = field(default_factory=dict)
    by_request: dict[str, DocRef] = field(default_factory=dict)  # request id replay
    writes: list[tuple[str, str]] = field(default_factory=list)  # (operation, request id)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, doc: FakeDoc) -> FakeDoc:
        self.docs[doc.ref] = doc
        return doc


class FakeLedger:
    """The core seam over `Books`, and nothing more."""

    name = NAME
    account_id = "fake:books"
    facts = Facts(kinds=(DocKind.INVOICE, DocKind.CREDIT_MEMO))

    def __init__(self, books: Books) -> None:
        self.books = books

    def company(self) -> Company:
        return Company("Fake Books Ltd", "GB")

    def prepare(self, invoices: Sequence[LocalInvoice], origin: str | None = None) -> Preparation:
        prep = Preparation(sends_numbers=True, heading=f"missing in {NAME}")
        for inv in invoices:
            customer_id = self.books.customers.get(inv.customer.name)
            if customer_id is None:
                prep.problems[inv.number] = [
                    Problem("customer", inv.customer.name, f"not in {NAME}")
                ]
                continue
            note = with_marker(None, inv.number)
            if origin:
                note = f"{note} {origin_tag(origin)}"
            payload = {
                "number": inv.number,
                "date": inv.issue_date.isoformat(),
                "currency": inv.currency,
                "total": str(inv.total),
                "note": note,
            }
            prep.drafts.append(Draft(inv, payload, customer_id, inv.number))
        return prep

    def find_existing(self, drafts: Sequence[Draft], *, by_number: bool) -> dict[str, Found]:
        wanted = {d.number: DocKind.of(d.invoice) for d in drafts}
        found: dict[str, Found] = {}
        for doc in self.books.docs.values():
            if doc.marker in wanted and wanted[doc.marker] is doc.ref.kind:
                found[doc.marker] = Found(doc)
        for doc in self.books.docs.values():
            number = doc.doc_number or ""
            if by_number and number in wanted and wanted[number] is doc.ref.kind:
                found.setdefault(number, Found(doc))
        return found

    def create(
        self, drafts: Sequence[Draft], request_ids: Mapping[str, str], *, batch: bool
    ) -> dict[str, Created]:
        out: dict[str, Created] = {}
        for draft in drafts:
            rid = request_ids[draft.number]
            self.books.writes.append(("create", rid))
            if rid in self.books.by_request:  # a replayed request creates nothing
                out[draft.number] = self.books.docs[self.books.by_request[rid]]
                continue
            ref = DocRef(DocKind.of(draft.invoice), str(next(self.books.ids)))
            names = {v: k for k, v in self.books.customers.items()}
            doc = FakeDoc(
                ref,
                draft.doc_number,
                draft.customer_id,
                names.get(draft.customer_id),
                Decimal(draft.payload["total"]),
                draft.payload["currency"],
                draft.payload["date"],
                draft.payload["note"],
            )
            self.books.by_request[rid] = ref
            out[draft.number] = self.books.add(doc)
        return out

    def read(self, ref: DocRef) -> FakeDoc:
        doc = self.books.docs.get(ref)
        if doc is None:
            raise Gone(ref)
        return doc

    def read_many(self, kind: DocKind, remote_ids: Sequence[str]) -> dict[str, FakeDoc]:
        docs = (self.books.docs.get(DocRef(kind, i)) for i in remote_ids)
        return {d.id: d for d in docs if d is not None}

    def search(
        self,
        kind: DocKind,
        *,
        number: str | None = None,
        customer_id: str | None = None,
        lo: str | None = None,
        hi: str | None = None,
    ) -> list[FakeDoc]:
        return [
            d
            for d in self.books.docs.values()
            if d.ref.kind is kind
            and (number is None or d.doc_number == number)
            and (customer_id is None or d.customer_id == customer_id)
            and (lo is None or (d.txn_date or "") >= lo)
            and (hi is None or (d.txn_date or "~") <= hi)
        ]

    def customers(self, name: str | None = None) -> dict[str, str]:
        if name is None:
            return dict(self.books.customers)
        found = self.books.customers.get(name)
        return {name: found} if found else {}

    def set_marker(self, remote: RemoteInvoice, number: str | None, request_id: str) -> FakeDoc:
        doc = self.read(remote.ref)
        self.books.writes.append(("mark", request_id))
        note = with_marker(doc.private_note, number) if number else without_marker(doc.private_note)
        return self.books.add(replace(doc, private_note=note, edits=doc.edits + 1))
