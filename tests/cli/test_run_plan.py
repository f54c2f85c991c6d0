"""One plan for a whole push run (usecases/run_plan.py): frozen, made by reads only, rendered
by `--dry-run`, and carried out as it was shown."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from invoicesync.marker import marker_of
from invoicesync.usecases import push as push_module
from invoicesync.usecases.run_plan import RunPlan
from tests.cli.test_lifecycle import ours, pushed, record, write
from tests.helpers import US, World


def rows(db: Path) -> dict[str, int]:
    """Rows per table of the state: the journals, links, events, runs."""
    with sqlite3.connect(db) as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}


def writes(world: World, since: int) -> list[tuple[str, str]]:
    """The requests to the sandbox since the `since`-th that could change a company (any but
    reads: a GET, a query)."""
    return [
        (e.method, e.path)
        for e in world.sandbox.requests[since:]
        if e.method != "GET" and e.kind not in ("query", "oauth", "admin")
    ]


def capture(monkeypatch: pytest.MonkeyPatch, name: str, index: int) -> list[RunPlan]:
    """Every plan `push.<name>` is given (argument `index`) or returns (index -1)."""
    seen: list[RunPlan] = []
    real = getattr(push_module, name)

    def wrapper(*args: Any, **kw: Any) -> Any:
        out = real(*args, **kw)
        got = out.plan if index < 0 else args[index]
        if got is not None:
            seen.append(got)
        return out

    monkeypatch.setattr(push_module, name, wrapper)
    return seen


@pytest.fixture
def busy(world: World, src: Path) -> World:
    """A state with every kind of step ahead: L-1 edited (update), L-2 cancelled (void), L-3
    unchanged (skip), L-4 new (create), L-5 already in QuickBooks with our marker (adopt)."""
    pushed(world, src, record("L-1"), record("L-2"), record("L-3"))
    write(src, record("L-1", "1200"), record("L-2", status="cancelled"), record("L-3"),
          record("L-4"), record("L-5"))  # fmt: skip
    payload = world.json("push", "L-5", "--dry-run")["results"][0]["payload"]
    world.sandbox.company(US).create("Invoice", payload)  # a run that died after its create
    return world


@pytest.fixture
def src(world: World) -> Path:
    world.connect()
    path = world.home.parent / "lifecycle.json"
    world.monkeypatch.setenv("INVOICESYNC_SOURCE", str(path))
    return path


def test_the_plan_is_frozen(busy: World, monkeypatch: pytest.MonkeyPatch) -> None:
    plans = capture(monkeypatch, "preview", -1)
    assert busy.run("push", "--all", "--update", "--dry-run").exit_code == 0
    [plan] = plans
    assert [d.number for d in plan.push.creates] == ["L-4"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.edits = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.push.batch = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.decided[0].status = "created"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.voids[0].reason = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        plan.push.creates.append(plan.push.creates[0])  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        plan.push.links["L-9"] = plan.push.links["L-1"]  # type: ignore[index]
    with pytest.raises(TypeError):
        plan.push.generations["L-4"] = 7  # type: ignore[index]


def test_a_dry_run_makes_zero_writes(busy: World) -> None:
    db = busy.home / "state.db"
    before, sent = rows(db), len(busy.sandbox.requests)
    result = busy.run("push", "--all", "--update", "--send", "--adopt-existing", "--dry-run")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert rows(db) == before and before["push_journal"] == 3 and before["links"] == 3
    assert len(busy.sandbox.requests) > sent, "the plan reads the target"
    assert writes(busy, sent) == []
    assert "--send would e-mail 1 invoice(s) once created: L-4" in result.stderr


def test_the_plan_shown_is_the_plan_carried_out(
    busy: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = capture(monkeypatch, "preview", -1)
    done = capture(monkeypatch, "execute", 1)
    preview = busy.json("push", "--all", "--update", "--dry-run")
    said = {r["invoice"]: (r["status"], r["message"]) for r in preview["results"]}
    assert said == {
        "L-1": ("planned", "would be updated"),
        "L-2": ("planned", "would be voided (cancelled in the source)"),
        "L-3": ("skipped", said["L-3"][1]),
        "L-4": ("planned", "would be created"),
        "L-5": ("planned", "would adopt the existing QuickBooks invoice"),
    }
    report = busy.json("push", "--all", "--update")
    [planned], [carried] = shown, done
    assert steps(carried) == steps(planned)
    got = {r["invoice"]: r["status"] for r in report["results"]}
    assert got == {"L-1": "updated", "L-2": "voided", "L-3": "skipped", "L-4": "created",
                   "L-5": "adopted"}  # fmt: skip
    assert {r["invoice"]: r["remote_id"] for r in report["results"] if r["invoice"] != "L-4"} == {
        r["invoice"]: r["remote_id"] for r in preview["results"] if r["invoice"] != "L-4"
    }
    quickbooks = ours(busy)
    assert quickbooks["L-2"]["TotalAmt"] == 0 and quickbooks["L-1"]["SyncToken"] == "1"
    marked = [marker_of(r.get("PrivateNote")) for r in busy.invoices()]
    assert sorted(m for m in marked if m) == ["L-1", "L-2", "L-3", "L-4", "L-5"]  # each once


def steps(plan: RunPlan) -> dict[str, list[str]]:
    """What a plan does, by invoice number (the records it read are read again when run)."""
    return {
        "create": [d.number for d in plan.push.creates],
        "adopt": [a.invoice.number for a in plan.push.adoptions],
        "update": [c.invoice.number for c in plan.edits],
        "void": [v.invoice.number for v in plan.voids],
        "decided": sorted(f"{d.invoice}:{d.status}" for d in plan.decided),
    }


def test_push_prepare_dry_run_lists_the_names_in_the_plan(
    world: World, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plans = capture(monkeypatch, "preview", -1)
    new = record("N-1", customer={"name": "Zeta Übersetzungen GmbH"})
    write(src, new)
    result = world.run("push", "N-1", "--prepare", "--dry-run", "--json")
    assert result.exit_code == 5, result.stdout + result.stderr
    [plan] = plans
    assert [(n.kind, n.name) for n in plan.prerequisites] == [
        ("customer", "Zeta Übersetzungen GmbH")
    ]
    assert "prepare would create customer 'Zeta Übersetzungen GmbH' (for N-1)" in result.stderr
    assert json.loads(result.stdout)["results"][0]["status"] == "failed"
    assert not world.sandbox.company(US).entities["Customer"] or all(
        c.get("DisplayName") != "Zeta Übersetzungen GmbH"
        for c in world.sandbox.company(US).entities["Customer"].values()
    )


def test_a_dry_run_does_not_record_a_proved_link_kind(world: World, src: Path) -> None:
    """Planning proves an unknown link's kind by reading (usecases/kinds.py) but records it
    only when the run acts on the link: the dry run used to write it into the state."""
    pushed(world, src, record("L-1"))
    db = world.home / "state.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE links SET kind = 'unknown' WHERE invoice_number = 'L-1'")
    conn.close()
    write(src, record("L-1", "1200"))
    before = db.read_bytes()
    preview = world.json("push", "--all", "--update", "--dry-run")
    assert preview["results"][0]["status"] == "planned", preview
    assert preview["results"][0]["kind"] == "invoice"
    assert db.read_bytes() == before
    assert world.json("push", "--all", "--update")["results"][0]["status"] == "updated"
    assert world.json("invoices")["invoices"][0]["link"]["kind"] == "invoice"
