"""The warm pre-flight (ledger/qbo_cache.py): a single push on a warm home costs at most four
requests, and every way the cache could go stale makes it re-read QuickBooks instead."""

from __future__ import annotations

import json
import stat
from types import SimpleNamespace
from typing import Any

from invoicesync.ledger.base import Draft
from invoicesync.targets.quickbooks import cache as qbo_cache
from invoicesync.targets.quickbooks.api.rows import Entity
from invoicesync.targets.quickbooks.ledger import QuickBooksLedger
from invoicesync.targets.quickbooks.records import QBORecord
from tests.helpers import US, World


def api(world: World) -> list[Any]:
    return [e for e in world.sandbox.requests if e.kind not in ("oauth", "admin", "other")]


def cache_file(world: World) -> Any:
    return world.home / "cache" / f"qbo-{US}.json"


def unseen_by_cdc(entity: dict[str, Any]) -> None:
    """Date an entity's last change long ago: what a change CDC cannot report looks like."""
    entity["MetaData"]["LastUpdatedTime"] = "2026-01-01T00:00:00-08:00"


def warm(world: World) -> None:
    assert world.run("push", "INV-2026-0101").exit_code == 0
    world.sandbox.requests.clear()


def test_a_single_push_on_a_warm_home_makes_at_most_four_requests(us: World) -> None:
    warm(us)
    path = cache_file(us)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    result = us.run("push", "INV-2026-0102")
    assert result.exit_code == 0, result.stderr
    kinds = [e.kind for e in api(us)]
    # One CDC refresh, one duplicate guard, the create; no company info, preferences or
    # reference queries.
    assert len(kinds) <= 4 and kinds.count("cdc") == 1, kinds
    assert "companyinfo" not in kinds and "preferences" not in kinds
    cdc = next(e for e in api(us) if e.kind == "cdc")
    assert cdc.query["entities"] == "Customer,Item,Term"


def test_a_customer_made_inactive_in_quickbooks_is_seen_through_cdc(us: World) -> None:
    warm(us)
    company = us.sandbox.company(US)
    customer = company.customer_by_fqn("O'Brien & Partners LLP")
    customer["Active"] = False
    company.touch(customer)
    report = us.json("push", "INV-2026-0102")
    assert report["summary"] == {"failed": 1}
    assert "is inactive in QuickBooks" in json.dumps(report)
    assert not [e for e in api(us) if e.kind in ("invoice", "batch") and e.method == "POST"]


def test_a_name_the_cache_cannot_resolve_reloads_everything_once(us: World) -> None:
    warm(us)
    path = cache_file(us)
    data = json.loads(path.read_text())
    data["customers"] = [c for c in data["customers"] if not c["name"].startswith("O'Brien")]
    path.write_text(json.dumps(data))  # stale in a way CDC cannot see (as tax codes can be)
    unseen_by_cdc(us.sandbox.company(US).customer_by_fqn("O'Brien & Partners LLP"))
    result = us.run("push", "INV-2026-0102")
    assert result.exit_code == 0, result.stderr
    kinds = [e.kind for e in api(us)]
    assert kinds.count("cdc") == 1 and kinds.count("companyinfo") == 1
    names = [c["name"] for c in json.loads(path.read_text())["customers"]]
    assert "O'Brien & Partners LLP" in names


def test_a_broken_or_foreign_cache_file_is_replaced_by_a_full_read(us: World) -> None:
    warm(us)
    path = cache_file(us)
    for text in ("{not json", json.dumps({"version": 1, "realm_id": "other"}), ""):
        path.write_text(text)
        us.sandbox.requests.clear()
        number = {"{not json": "INV-2026-0102", "": "INV-2026-0104"}.get(text, "INV-2026-0103")
        result = us.run("push", number)
        assert result.exit_code == 0, result.stderr
        kinds = [e.kind for e in api(us)]
        assert "cdc" not in kinds and kinds.count("companyinfo") == 1
        assert json.loads(path.read_text())["realm_id"] == US


def test_a_refusal_naming_a_reference_drops_the_cache(us: World) -> None:
    warm(us)
    company = us.sandbox.company(US)
    item = company.entities["Item"][company.id_by_name("Item", "Translation")]
    item["Active"] = False
    unseen_by_cdc(item)
    result = us.run("push", "INV-2026-0102")
    assert result.exit_code == 5, result.stderr
    refused = [e for e in api(us) if e.kind == "batch" or e.method == "POST"]
    assert refused and not cache_file(us).exists()
    us.sandbox.requests.clear()
    assert us.run("push", "INV-2026-0103").exit_code == 5  # the next pre-flight reads afresh
    kinds = [e.kind for e in api(us)]
    assert "cdc" not in kinds and kinds.count("companyinfo") == 1


def test_a_docnumber_not_as_sent_drops_the_cache(us: World) -> None:
    warm(us)
    ledger = QuickBooksLedger(
        None,  # type: ignore[arg-type]  # _check_cache reads answers only
        US,
        send_numbers=True,
        cache=qbo_cache.CatalogCache(us.home, US),
    )
    invoice = SimpleNamespace(number="INV-2026-0102")
    draft = Draft(invoice, {}, "1", "INV-2026-0102")  # type: ignore[arg-type]
    as_sent = QBORecord.from_row({"Id": "9", "DocNumber": "INV-2026-0102"}, Entity.INVOICE)
    ledger._check_cache([draft], {"INV-2026-0102": as_sent})
    assert cache_file(us).exists()
    renumbered = QBORecord.from_row({"Id": "9", "DocNumber": "1042"}, Entity.INVOICE)
    ledger._check_cache([draft], {"INV-2026-0102": renumbered})
    assert not cache_file(us).exists()


def test_cdc_beyond_its_look_back_is_not_asked(us: World) -> None:
    warm(us)
    path = cache_file(us)
    data = json.loads(path.read_text())
    data["synced"] = "2020-01-01T00:00:00-08:00"
    path.write_text(json.dumps(data))
    assert us.run("push", "INV-2026-0102").exit_code == 0
    kinds = [e.kind for e in api(us)]
    assert "cdc" not in kinds and kinds.count("companyinfo") == 1
    assert qbo_cache.CDC_ENTITIES == ("Customer", "Item", "Term")
