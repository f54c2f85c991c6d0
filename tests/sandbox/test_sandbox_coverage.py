"""docs/sandbox.md's table of operations per entity is complete and true: every ✓ is served,
every — answers as QuickBooks answers an unsupported operation. Also CompanyInfo updates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from invoicesync.targets.quickbooks.sandbox.schema import ENTITY_NAMES
from tests.sandbox.support import US, Api, fault

DOC = Path(__file__).parents[2] / "docs" / "sandbox.md"
HEADER = (
    "| entity | path | create | read | update | delete | void | query | cdc | batch | pdf | send |"
)


def _table() -> dict[str, dict[str, str]]:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER)
    columns = [c.strip() for c in HEADER.strip("|").split("|")]
    rows: dict[str, dict[str, str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = dict(zip(columns, (c.strip() for c in line.strip("|").split("|")), strict=True))
        rows[cells["entity"]] = cells
    return rows


TABLE = _table()
# Every POST to /preferences updates the company's one Preferences object: no create to probe.
CELLS = [
    (entity, op)
    for entity in TABLE
    for op in list(TABLE[entity])[2:]
    if op != "query" and (entity, op) != ("Preferences", "create")
]


def test_the_table_names_every_entity_the_sandbox_knows() -> None:
    assert {row["path"]: entity for entity, row in TABLE.items()} == ENTITY_NAMES
    assert all(row["query"] == "✓" for row in TABLE.values())
    assert {v for row in TABLE.values() for v in list(row.values())[2:]} == {"✓", "—"}


def _unsupported(r: httpx.Response) -> bool:
    """QuickBooks' answer to an operation it does not serve: HTTP 400, Fault 500."""
    if r.status_code != 400:
        return False
    body = r.json()
    error = body["Fault"]["Error"][0]
    return (error["code"], error["Message"], body["Fault"]["type"]) == (
        "500",
        "Unsupported Operation",
        "ValidationFault",
    )


def _first_id(api: Api, entity: str, path: str) -> str:
    if entity == "CompanyInfo":
        return US
    rows = api.rows(f"select * from {entity}", entity)
    return str(rows[0]["Id"]) if rows else "1"


def _probe(api: Api, entity: str, path: str, op: str) -> httpx.Response:
    """One request of `op` on `entity`: a stale SyncToken or an empty body, so a served
    operation answers with its own validation (5010, 610, 2020…), never with success."""
    stale = {"Id": _first_id(api, entity, path), "SyncToken": "999", "sparse": True}
    requests: dict[str, Callable[[], httpx.Response]] = {
        "create": lambda: api.post(path, {}),
        "read": lambda: api.get(path if entity == "Preferences" else f"{path}/{stale['Id']}"),
        "update": lambda: api.post(path, stale, operation="update"),
        "delete": lambda: api.post(path, stale, operation="delete"),
        "void": lambda: (
            api.post(path, stale, operation="update", include="void")
            if entity == "Payment"
            else api.post(path, stale, operation="void")
        ),
        "pdf": lambda: api.get(f"{path}/{stale['Id']}/pdf"),
        "send": lambda: api.post(f"{path}/{stale['Id']}/send", {}),
    }
    return requests[op]()


@pytest.mark.parametrize(("entity", "op"), [c for c in CELLS if c[1] not in {"cdc", "batch"}])
def test_each_operation_is_served_or_unsupported_as_the_table_says(
    api: Api, entity: str, op: str
) -> None:
    r = _probe(api, entity, TABLE[entity]["path"], op)
    served = TABLE[entity][op] == "✓"
    assert _unsupported(r) is not served, f"{entity} {op}: {r.status_code} {r.text[:300]}"
    if served:
        assert r.status_code == 200 or fault(r)["code"] != "500", r.text


@pytest.mark.parametrize("entity", list(TABLE))
def test_cdc_and_batch_as_the_table_says(api: Api, entity: str) -> None:
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    cdc = api.get("cdc", entities=entity, changedSince=since)
    assert (cdc.status_code == 200) is (TABLE[entity]["cdc"] == "✓"), cdc.text
    batch = api.post(
        "batch", {"BatchItemRequest": [{"bId": "1", "operation": "create", entity: {}}]}
    )
    [item] = batch.json()["BatchItemResponse"]
    refused = (
        item.get("Fault", {}).get("Error", [{}])[0].get("Detail") == "Batch item has no entity"
    )
    assert refused is (TABLE[entity]["batch"] == "—"), item


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "reports/ProfitAndLoss"),
        ("POST", "estimate"),
        ("GET", "bill/1"),
        ("POST", "taxservice/taxcode"),
        ("GET", "invoice/1/history"),
        ("GET", "download"),
    ],
)
def test_what_the_sandbox_does_not_serve_is_an_unsupported_operation(
    api: Api, method: str, path: str
) -> None:
    r = api.http.request(method, api.url(path), headers=api.headers, content=b"{}")
    assert _unsupported(r), r.text


def test_a_post_to_preferences_is_always_an_update(api: Api) -> None:
    r = api.post("preferences", {})
    assert r.status_code == 400 and fault(r)["code"] == "2020"
    assert "SyncToken" in fault(r)["Detail"]


def test_company_info_sparse_and_full_update(api: Api) -> None:
    info = api.get(f"companyinfo/{US}").json()["CompanyInfo"]
    sparse = {"Id": "1", "SyncToken": info["SyncToken"], "sparse": True, "LegalName": "LF L.L.C."}
    r = api.post("companyinfo", sparse, operation="update")
    assert r.status_code == 200, r.text
    updated = r.json()["CompanyInfo"]
    assert (updated["LegalName"], updated["CompanyName"]) == ("LF L.L.C.", info["CompanyName"])
    assert updated["SyncToken"] == str(int(info["SyncToken"]) + 1)
    full = {k: v for k, v in updated.items() if k not in {"CompanyAddr", "MetaData"}}
    missing = api.post("companyinfo", full | {"sparse": False})
    assert missing.status_code == 400 and fault(missing)["code"] == "2020"
    assert "CompanyAddr" in fault(missing)["Detail"]
    renamed = updated | {"CompanyName": "Babel & Co", "Country": "FR", "sparse": False}
    r = api.post("companyinfo", renamed)
    assert r.json()["CompanyInfo"]["CompanyName"] == "Babel & Co"
    assert r.json()["CompanyInfo"]["Country"] == info["Country"]  # QuickBooks' own
    stale = api.post("companyinfo", renamed)
    assert fault(stale)["code"] == "5010"
    rows = api.rows("select * from companyinfo", "CompanyInfo")
    assert [row["CompanyName"] for row in rows] == ["Babel & Co"]
