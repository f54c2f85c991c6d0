"""Hostile request bodies get a QuickBooks Fault, never an exception: every writable entity,
every property the rules read, every JSON shape a property could wrongly have."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sandbox.support import Api

WEIRD: list[Any] = [
    None,
    -1,
    "x",
    "",
    [],
    {},
    [1],
    [None],
    {"value": None},
    {"value": 5},
    True,
    "1e400",
    "NaN",
    "Infinity",
    "9999-12-31",
    [{"DetailType": "SalesItemLineDetail"}],
    [{"DetailType": "DiscountLineDetail", "DiscountLineDetail": None}],
    [{"Amount": 5, "LinkedTxn": "x"}],
    [{"EntityRef": None}],
]
LINE = {
    "DetailType": "SalesItemLineDetail",
    "Amount": "25",
    "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": "10", "UnitPrice": "2.5"},
}
BASE: dict[str, dict[str, Any]] = {
    "invoice": {"CustomerRef": {"value": "1"}, "Line": [LINE]},
    "creditmemo": {"CustomerRef": {"value": "1"}, "Line": [LINE]},
    "payment": {"CustomerRef": {"value": "1"}, "TotalAmt": "1"},
    "customer": {"DisplayName": "Zed"},
    "vendor": {"DisplayName": "Ved"},
    "item": {"Name": "I1", "IncomeAccountRef": {"value": "1"}},
    "term": {"Name": "T1"},
    "account": {"Name": "A1", "AccountType": "Income"},
    "attachable": {"Note": "n"},
}
FIELDS = {
    "invoice": [
        "CustomerRef",
        "Line",
        "TxnDate",
        "DueDate",
        "DocNumber",
        "CurrencyRef",
        "ExchangeRate",
        "Deposit",
        "SalesTermRef",
        "TxnTaxDetail",
    ],
    "creditmemo": ["CustomerRef", "Line", "TxnDate", "DocNumber"],
    "payment": ["CustomerRef", "TotalAmt", "Line", "TxnDate", "ExchangeRate"],
    "customer": ["DisplayName", "ParentRef", "CurrencyRef", "SalesTermRef", "Active"],
    "vendor": ["DisplayName", "Active"],
    "item": ["Name", "Type", "IncomeAccountRef", "UnitPrice", "Active"],
    "term": ["Name", "DueDays", "Active"],
    "account": ["Name", "AccountType", "Active"],
    "attachable": ["Note", "AttachableRef"],
}


@pytest.mark.parametrize(("entity", "field"), [(e, f) for e, fs in FIELDS.items() for f in fs])
def test_every_wrong_shape_is_a_fault(api: Api, entity: str, field: str) -> None:
    for value in WEIRD:
        for body in (
            BASE[entity] | {field: value},
            {"Id": "1", "SyncToken": "0", "sparse": True, field: value},
        ):
            r = api.http.post(api.url(entity), headers=api.headers, content=json.dumps(body))
            assert r.status_code in (200, 400), (body, r.text)
            if r.status_code == 400:
                assert r.json()["Fault"]["Error"][0]["code"].isdigit(), r.text
