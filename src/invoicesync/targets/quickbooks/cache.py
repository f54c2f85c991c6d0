"""A warm pre-flight: company facts and reference ids kept between runs, refreshed by CDC.

A cold pre-flight costs six requests (company info, preferences, customers, items, terms, tax
codes); a `push INV-42` in a shell loop would spend most of its budget on them. The
cache keeps what they returned in a 0600 file in the app dir (`cache/qbo-<realm>.json`), and
each run brings it up to date with one request: `GET /cdc?entities=Customer,Item,Term&
changedSince=<the server time of the last refresh>` (Intuit's change data capture,
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
), which returns
every customer, item and term created, changed or deleted since. It never goes stale silently:

- the look-back is at most 30 days and 1,000 objects an entity: beyond either, a full reload;
- tax codes and company facts are not in CDC: a name the cached catalog cannot resolve makes
  the pre-flight reload everything once before reporting it missing (`QuickBooksLedger`), a
  refusal that names a reference (codes 610, 2500, 6000) drops the cache, and so does a create
  whose answer contradicts the facts (a DocNumber not as sent);
- an unreadable, foreign or future file is ignored and replaced.

Whoever can write the cache can make a push send another customer's Id, so `cache/` must be
a real folder of the user's that nobody else can write to, and the file a regular file of the
user's: a link or a foreign file there is refused (exit 8), never read or written through.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from invoicesync.aliases import Aliases
from invoicesync.errors import InvoiceSyncError
from invoicesync.files import UnsafePath, private_dir, read_text, write_atomic
from invoicesync.models import LocalInvoice
from invoicesync.targets.quickbooks import preflight
from invoicesync.targets.quickbooks.api import QBOClient
from invoicesync.targets.quickbooks.api import errors as qerr
from invoicesync.targets.quickbooks.api.rows import CompanyFacts, NamedRow
from invoicesync.targets.quickbooks.preflight import Catalog

VERSION = 1
CDC_ENTITIES = ("Customer", "Item", "Term")
LOOK_BACK = timedelta(days=29)  # QuickBooks allows 30; a day's margin for clock differences
# Asked from a little before the last answer: LastUpdatedTime has whole seconds, and a change
# committed while that answer was on its way must not fall between two refreshes.
OVERLAP = timedelta(minutes=5)
CDC_MAX = 1000  # objects an entity per CDC answer; a full one may have left some out
# QuickBooks' codes for a reference that is gone, inactive or invalid
# (https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes).
REFERENCE_CODES = frozenset({"610", "2500", "6000"})


class CatalogCache:
    """The cached catalog of one company. `load`/`save`/`drop` are the only file access."""

    def __init__(self, app_dir: Path, realm_id: str, *, root: Path | None = None) -> None:
        self.path = app_dir / "cache" / f"qbo-{realm_id}.json"
        self.realm_id = realm_id
        self.root = root or app_dir  # the app dir, of which `app_dir` may be a profile's folder

    def load(self) -> tuple[Catalog, str] | None:
        """The cached catalog and the server time it is current to, or None. A link or a
        foreign file or folder is refused (exit 8), not ignored: someone planted it."""
        private_dir(self.path.parent, root=self.root, create=False)
        text = read_text(self.path)
        try:
            data = json.loads(text) if text else None
            if not isinstance(data, dict) or data.get("version") != VERSION:
                return None
            if data.get("realm_id") != self.realm_id:
                return None
            catalog = Catalog(CompanyFacts(**data["facts"]))
            for kind in _KINDS:
                setattr(catalog, kind, [NamedRow(**r) for r in data[kind]])
            return catalog, str(data["synced"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, catalog: Catalog, synced: str) -> None:
        data: dict[str, Any] = {
            "version": VERSION,
            "realm_id": self.realm_id,
            "synced": synced,
            "facts": asdict(catalog.facts),
        }
        for kind in _KINDS:
            data[kind] = [asdict(r) for r in getattr(catalog, kind)]
        try:
            private_dir(self.path.parent, root=self.root)
            write_atomic(self.path, json.dumps(data, ensure_ascii=False))
        except UnsafePath:
            raise  # a link or a folder others can write: exit 8, never written through
        except InvoiceSyncError:
            self.drop()  # an unwritable app dir costs requests, never correctness

    def drop(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)


_KINDS = ("customers", "items", "terms", "tax_codes")
_NAME_KEY = {"Customer": "DisplayName", "Item": "Name", "Term": "Name"}
_FIELD = {"Customer": "customers", "Item": "items", "Term": "terms"}


def load_catalog(
    client: QBOClient,
    cache: CatalogCache,
    invoices: Sequence[LocalInvoice],
    aliases: Aliases | None = None,
) -> tuple[Catalog, bool]:
    """The catalog and whether it came from the cache (then it cost one CDC request). The
    aliases are the configuration's, never cached."""
    hit = cache.load()
    fresh = refresh(client, *hit) if hit is not None else None
    if fresh is not None:
        cache.save(*fresh)
        fresh[0].aliases = aliases or Aliases()
        return fresh[0], True
    catalog = preflight.load_catalog(client, invoices, aliases, all_kinds=True)
    if catalog.synced:
        cache.save(catalog, catalog.synced)
    return catalog, False


def refresh(client: QBOClient, catalog: Catalog, synced: str) -> tuple[Catalog, str] | None:
    """The catalog brought up to date with one CDC request, and the new server time; None when
    CDC cannot tell everything (too old, a full answer, no time): reload instead."""
    try:
        since = datetime.fromisoformat(synced)
    except ValueError:
        return None
    server_now = since.tzinfo and datetime.now(since.tzinfo)
    if not server_now or server_now - since > LOOK_BACK:
        return None
    try:
        data = client.request(
            "GET",
            "cdc",
            params={
                "entities": ",".join(CDC_ENTITIES),
                "changedSince": (since - OVERLAP).isoformat(timespec="seconds"),
            },
            kind="cdc",
        )
    except qerr.ValidationError:  # e.g. a look-back QuickBooks finds too long after all
        return None
    now = data.get("time")
    if not isinstance(now, str):
        return None
    for answer in data["CDCResponse"][0]["QueryResponse"]:
        for entity, rows in answer.items():
            if entity not in _FIELD or not isinstance(rows, list):
                continue
            if len(rows) >= CDC_MAX:
                return None
            _merge(catalog, entity, rows)
    return catalog, now


def _merge(catalog: Catalog, entity: str, rows: list[dict[str, Any]]) -> None:
    field = _FIELD[entity]
    by_id = {r.id: r for r in getattr(catalog, field)}
    for row in rows:
        if row.get("status") == "Deleted":
            by_id.pop(str(row["Id"]), None)
        else:
            by_id[str(row["Id"])] = NamedRow.from_row(row, _NAME_KEY[entity])
    setattr(catalog, field, list(by_id.values()))
