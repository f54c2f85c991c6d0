"""Invoice numbers that look alike keep their identity when the local state is lost."""

from __future__ import annotations

import json
from typing import Any

import pytest

from invoicesync.marker import marker_of
from tests.helpers import US, World


def _source(world: World, numbers: list[str]) -> None:
    records: list[dict[str, Any]] = [
        {
            "number": n,
            "customer": {"name": "Acme Localization Inc."},
            "issue_date": "2026-10-01",
            "currency": "USD",
            "lines": [{"service": "Translation", "quantity": "10", "unit_price": str(i + 1)}],
        }
        for i, n in enumerate(numbers)
    ]
    path = world.home.parent / "alike.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    world.monkeypatch.setenv("INVOICESYNC_SOURCE", str(path))


@pytest.mark.parametrize("custom_numbers", [True, False])
def test_numbers_with_brackets_spaces_and_unicode_survive_a_lost_database(
    us: World, custom_numbers: bool
) -> None:
    numbers = ["K]x", "K", "[K]", "K x", "Ünï-1", "K%5Dx"]
    us.sandbox.company(US).custom_txn_numbers = custom_numbers
    _source(us, numbers)
    before = len(us.invoices())
    first = us.json("push", "--all")
    assert first["summary"] == {"created": len(numbers)}, first
    ids = {r["invoice"]: r["remote_id"] for r in first["results"]}
    (us.home / "state.db").unlink()  # a CI runner, or a second host: no local state
    again = us.json("push", "--all")
    assert again["summary"] == {"adopted": len(numbers)}, again
    assert {r["invoice"]: r["remote_id"] for r in again["results"]} == ids  # same invoices
    ours = [i for i in us.invoices() if marker_of(i.get("PrivateNote"))]
    assert len(us.invoices()) == before + len(numbers)
    assert sorted(marker_of(i["PrivateNote"]) for i in ours) == sorted(numbers)
