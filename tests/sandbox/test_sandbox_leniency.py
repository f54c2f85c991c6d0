"""What QuickBooks accepts and the sandbox used to refuse, sent the way the clients that hit
it send it (node-quickbooks, form-data, OAuth libraries); docs/sandbox.md cites the sources."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from invoicesync.targets.quickbooks.sandbox import Sandbox
from tests.sandbox.support import BASIC, US, Api, fault, invoice


def _node_query(api: Api, sql: str) -> httpx.Response:
    """node-quickbooks' `find*`: lower-case SQL, `format=json`, its paging clauses."""
    return api.get("query", query=sql, minorversion=75, format="json")


@pytest.mark.parametrize(
    ("entity", "key"),
    [
        ("customer", "Customer"),
        ("CUSTOMER", "Customer"),
        ("item", "Item"),
        ("term", "Term"),
        ("taxcode", "TaxCode"),
        ("taxrate", "TaxRate"),
        ("account", "Account"),
        ("creditmemo", "CreditMemo"),
        ("companyinfo", "CompanyInfo"),
        ("preferences", "Preferences"),
    ],
)
def test_entity_name_in_a_query_is_case_insensitive(api: Api, entity: str, key: str) -> None:
    r = _node_query(api, f"select * from {entity} startposition 1 maxresults 1000")
    assert r.status_code == 200, r.text
    body = r.json()["QueryResponse"]
    assert set(body) <= {key, "startPosition", "maxResults"}  # the entity's own spelling
    canonical = api.query(f"select * from {key} startposition 1 maxresults 1000").json()
    assert body == canonical["QueryResponse"]


def test_lower_case_where_in_like_orderby_and_count(api: Api) -> None:
    rows = _node_query(
        api,
        "select * from customer where DisplayName like '%o%' and Id in ('1','2','4') "
        "orderby DisplayName desc startposition 1 maxresults 2",
    ).json()["QueryResponse"]
    assert [c["DisplayName"] for c in rows["Customer"]] == [
        "O'Brien & Partners LLP",
        "Globex Corporation",
    ]
    for text in ("select count(*) from invoice", "SELECT COUNT(*) FROM Invoice"):
        assert _node_query(api, text).json()["QueryResponse"] == {"totalCount": 1}
    batch = api.post("batch", {"BatchItemRequest": [{"bId": "q", "Query": "select * from term"}]})
    assert [t["Name"] for t in batch.json()["BatchItemResponse"][0]["QueryResponse"]["Term"]]


def test_an_unknown_entity_is_still_4001(api: Api) -> None:
    r = _node_query(api, "select * from widget")
    assert r.status_code == 400
    assert fault(r)["code"] == "4001" and "Entity widget not found" in fault(r)["Detail"]


def _file_only_upload(api: Api, filename: str | None, content_type: str) -> httpx.Response:
    """node-quickbooks' `upload`: one `file_content_01` part, its filename and content type
    in the part's own headers (the form-data package's layout), no metadata part."""
    disposition = 'form-data; name="file_content_01"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    body = (
        "----B\r\n"
        f"Content-Disposition: {disposition}\r\n"
        f"Content-Type: {content_type}\r\n\r\n"
        "%PDF-1.4 node\r\n"
        "----B--\r\n"
    ).encode()
    return api.http.post(
        api.url("upload"),
        params={"minorversion": 75, "format": "json"},
        headers={**api.headers, "Content-Type": "multipart/form-data; boundary=--B"},
        content=body,
    )


def test_upload_with_only_the_file_part_then_linked_by_update(api: Api, sb: Sandbox) -> None:
    inv = api.post("invoice", invoice()).json()["Invoice"]
    r = _file_only_upload(api, "INV 1.pdf", "application/pdf")
    assert r.status_code == 200, r.text
    att = r.json()["AttachableResponse"][0]["Attachable"]
    assert (att["FileName"], att["ContentType"], att["Size"], att["SyncToken"]) == (
        "INV 1.pdf",
        "application/pdf",
        13,
        "0",
    )
    link: dict[str, Any] = {
        "Id": att["Id"],
        "SyncToken": "0",
        "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": inv["Id"]}}],
        "FileName": "INV 1.pdf",
        "ContentType": "application/pdf",
        "sparse": True,
    }
    linked = api.post("attachable", link, operation="update")
    assert linked.status_code == 200, linked.text
    stored = sb.company(US).entities["Attachable"][att["Id"]]
    assert stored["AttachableRef"][0]["EntityRef"] == {"type": "Invoice", "value": inv["Id"]}
    assert sb.company(US).files[att["Id"]] == b"%PDF-1.4 node"


@pytest.mark.parametrize(
    ("filename", "content_type", "code"),
    [(None, "application/pdf", "2020"), ("a.exe", "application/x-msdownload", "2010")],
)
def test_a_file_only_upload_still_needs_a_name_and_an_accepted_type(
    api: Api, sb: Sandbox, filename: str | None, content_type: str, code: str
) -> None:
    r = _file_only_upload(api, filename, content_type)
    assert r.status_code == 400 and fault(r)["code"] == code
    assert not sb.company(US).entities["Attachable"]


def test_revoke_accepts_a_form_encoded_token(api: Api) -> None:
    """RFC 7009's encoding, as node-quickbooks' `revokeAccess` and OAuth libraries post it."""
    r = api.http.post(
        "/v2/oauth2/tokens/revoke",
        headers={"Authorization": BASIC, "Accept": "application/json"},
        data={"token": api.tokens["refresh_token"]},
    )
    assert r.status_code == 200, r.text
    assert api.query("select * from Term").status_code == 401


def test_revoke_with_an_unreadable_body_is_400(api: Api) -> None:
    r = api.http.post(
        "/v2/oauth2/tokens/revoke",
        headers={"Authorization": BASIC, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert api.query("select * from Term").status_code == 200


@pytest.mark.parametrize("metadata", ["[1]", '"FileName"', "null"])
def test_metadata_that_is_not_an_object_is_2010(api: Api, sb: Sandbox, metadata: str) -> None:
    body = (
        "--B\r\n"
        'Content-Disposition: form-data; name="file_metadata_01"\r\n'
        "Content-Type: application/json\r\n\r\n"
        f"{metadata}\r\n"
        "--B\r\n"
        'Content-Disposition: form-data; name="file_content_01"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
        "%PDF\r\n"
        "--B--\r\n"
    ).encode()
    r = api.http.post(
        api.url("upload"),
        headers={**api.headers, "Content-Type": "multipart/form-data; boundary=B"},
        content=body,
    )
    assert r.status_code == 400 and fault(r)["code"] == "2010", r.text
    assert not sb.company(US).entities["Attachable"]
