"""`history`, `runs` and `runs show`: their `--json` documents and their tables (pure).

An event's stored kind is what the store wrote (`created`, `update done`, `send-done`, …);
people read a verb (`pushed`, `updated`, `sent`), so both are in the JSON and the table shows
the verb. What no event recorded (older versions' events have no run, host or
user, and the oldest no document kind) is "unknown", never guessed.
"""

from __future__ import annotations

from typing import Any

from invoicesync.cli.views import Column, Document, TableView
from invoicesync.store.runs import COUNTED, Event, RunRecord, action
from invoicesync.usecases.history import HistoryReport, RunReport

HISTORY_SCHEMA = "invoicesync.history/2"
RUNS_SCHEMA = "invoicesync.runs/1"
RUN_SCHEMA = "invoicesync.run/2"
UNKNOWN = "unknown"
SHORT_ID = 8  # characters of a run id a table shows (`runs show` takes any unique prefix)

_KIND_NAMES = {"invoice": "invoice", "credit_note": "credit memo", "unknown": "document"}
_REASONS = ("error", "why", "reason", "message")


def verb(e: Event) -> str:
    return action(e.kind, e.detail.get("adopted") is True)


def target(e: Event) -> dict[str, str] | None:
    """The remote document an event names (kind and id), or None when it names none."""
    # Events written before the neutral names call it `qbo_id` (store/neutral.py).
    remote = e.detail.get("remote_id", e.detail.get("qbo_id"))
    if remote is None:
        return None
    kind = e.detail.get("kind")
    return {"kind": str(kind) if kind else UNKNOWN, "id": str(remote)}


def note(e: Event) -> str:
    """The reason, or what a person wants to know beside the verb."""
    d = e.detail
    for key in _REASONS:
        if d.get(key):
            return str(d[key])
    if e.kind == "credited":
        amount = f" {d['amount']}" if d.get("amount") else ""
        return f"by {d.get('credit_note', UNKNOWN)}{amount}"
    if e.kind == "apply done" and d.get("invoice"):
        return f"to {d['invoice']}" + (f" {d['amount']}" if d.get("amount") else "")
    if d.get("changes") and isinstance(d["changes"], list):
        return "; ".join(str(c) for c in d["changes"])
    if d.get("to"):
        return f"to {d['to']}"
    if d.get("adopted") is True:
        return "ours, from an earlier run" if d.get("ours") else "found in the target, not ours"
    return ""


def _event_item(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at,
        "invoice": e.invoice_number,
        "account": e.account,
        "event": e.kind,
        "action": verb(e),
        "target": target(e),
        "reason": note(e) or None,
        "request_id": e.detail.get("request_id"),
        "run_id": e.run_id,
        "host": e.host,
        "user": e.user,
        "detail": e.detail,
    }


def history_document(r: HistoryReport) -> Document:
    return {
        "schema": HISTORY_SCHEMA,
        "account": r.account,
        "invoices": list(r.numbers),
        "missing": list(r.missing),
        "events": [_event_item(e) for e in r.events],
    }


def when(at: str) -> str:
    """An ISO time as a table shows it: date, hours and minutes (UTC, as stored)."""
    return at[:16].replace("T", " ") if len(at) >= 16 else at


def _short(run_id: str | None) -> str:
    return run_id[:SHORT_ID] if run_id else UNKNOWN


def _document(e: Event) -> str:
    t = target(e)
    return "" if t is None else f"{_KIND_NAMES.get(t['kind'], t['kind'])} {t['id']}"


def history_table(r: HistoryReport) -> TableView:
    several = len(r.numbers) > 1
    columns = [
        Column("When (UTC)"),
        *([Column("Invoice")] if several else []),
        Column("What"),
        Column("Document"),
        Column("Run", drop=1),
        Column("Note", drop=2, fold=True),
        Column("Host", drop=3),
        Column("User", drop=4),
        Column("Request id", drop=5),
    ]
    rows = [
        (
            when(e.at),
            *([e.invoice_number or ""] if several else []),
            verb(e),
            _document(e),
            _short(e.run_id),
            note(e),
            e.host or UNKNOWN,
            e.user or UNKNOWN,
            str(e.detail.get("request_id") or ""),
        )
        for e in r.events
    ]
    title = None if several else f"History of {r.numbers[0]}" if r.numbers else None
    return TableView(title, columns, rows)


def _run_item(r: RunRecord) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "command": r.command,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "host": r.host,
        "user": r.user,
        "exit_code": r.exit_code,
        "status": r.status,
        "interrupted": r.status == "interrupted",
        "counts": {name: r.counts.get(name, 0) for name in COUNTED},
        "actions": {k: v for k, v in sorted(r.counts.items()) if k not in COUNTED},
    }


def runs_document(runs: list[RunRecord]) -> Document:
    return {"schema": RUNS_SCHEMA, "runs": [_run_item(r) for r in runs]}


def did(r: RunRecord) -> str:
    """What a run did, in a few words: its non-zero counts (then its other events: linked,
    voided, …), and how it ended if not well."""
    counted = {k for kinds in COUNTED.values() for k in kinds}
    done = [f"{r.counts[n]} {n}" for n in COUNTED if r.counts.get(n)]
    done += [f"{n} {k}" for k, n in sorted(r.counts.items()) if k not in counted | set(COUNTED)]
    if r.status not in ("finished", "failed"):
        done.insert(0, r.status)
    return ", ".join(done) or "no events"


def runs_table(runs: list[RunRecord]) -> TableView:
    columns = [
        Column("Run"),
        Column("Started (UTC)"),
        Column("Command", fold=True),
        Column("Did", fold=True),
        Column("Exit", right=True),
        Column("Host", drop=1),
        Column("User", drop=2),
    ]
    rows = [
        (
            _short(r.run_id),
            when(r.started_at),
            r.command,
            did(r),
            "" if r.exit_code is None else str(r.exit_code),
            r.host,
            r.user,
        )
        for r in runs
    ]
    return TableView(None, columns, rows)


def run_document(r: RunReport) -> Document:
    return {
        "schema": RUN_SCHEMA,
        "run": _run_item(r.run),
        "events": [_event_item(e) for e in r.events],
    }


def run_table(r: RunReport) -> TableView:
    columns = [
        Column("When (UTC)"),
        Column("Invoice"),
        Column("What"),
        Column("Document"),
        Column("Note", drop=1, fold=True),
        Column("Request id", drop=2),
    ]
    rows = [
        (
            when(e.at),
            e.invoice_number or "",
            verb(e),
            _document(e),
            note(e),
            str(e.detail.get("request_id") or ""),
        )
        for e in r.events
    ]
    head = r.run
    title = f"Run {head.run_id}: {head.command} on {head.host} as {head.user}, {head.status}"
    return TableView(title, columns, rows)
