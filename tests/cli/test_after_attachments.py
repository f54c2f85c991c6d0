"""Attachments on push, against the sandbox: each file attached to the QuickBooks invoice
exactly once (re-runs, crashes, dropped answers, a lost local state), a changed file as a new
version, and files QuickBooks would refuse refused before anything is sent. Upload wire form:
tests/cli/after_wire.py."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock

from tests.cli.after_wire import Wire, run, wire
from tests.helpers import US, World

NUMBER = "INV-2026-0101"


@pytest.fixture
def qbo(us: World, httpx_mock: HTTPXMock) -> Wire:
    return wire(us, httpx_mock)


def with_attachments(world: World, *paths: str) -> Path:
    """The source's invoice NUMBER lists `paths`; returns the source's folder."""
    source = Path(os.environ["INVOICESYNC_SOURCE"])
    records = json.loads(source.read_text(encoding="utf-8"))
    for record in records:
        if record["number"] == NUMBER:
            record["attachments"] = list(paths)
    source.write_text(json.dumps(records), encoding="utf-8")
    return source.parent


def remote_id(world: World) -> str:
    return next(i["Id"] for i in world.invoices() if i.get("DocNumber") == NUMBER)


def test_push_attaches_each_file_once(us: World, qbo: Wire) -> None:
    folder = with_attachments(us, "pdf/INV-2026-0101.pdf")
    (folder / "pdf").mkdir()
    content = b"%PDF-1.4 the source's own invoice"
    (folder / "pdf" / "INV-2026-0101.pdf").write_bytes(content)
    result = run(us, "push", NUMBER, "--json")
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)["results"]
    assert row["message"] == "attached INV-2026-0101.pdf"
    (upload,) = qbo.uploads
    digest = hashlib.sha256(content).hexdigest()
    assert upload["metadata"] == {
        "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": remote_id(us)}}],
        "FileName": "INV-2026-0101.pdf",
        "ContentType": "application/pdf",
        "Note": f"invoicesync {NUMBER} sha256:{digest}",
    }
    assert upload["data"] == content
    again = run(us, "push", NUMBER)
    assert again.exit_code == 0
    assert len(qbo.uploads) == 1


def test_a_changed_file_is_attached_as_a_new_version(us: World, qbo: Wire) -> None:
    folder = with_attachments(us, "a.pdf")
    (folder / "a.pdf").write_bytes(b"%PDF-1.4 v1")
    assert run(us, "push", NUMBER).exit_code == 0
    (folder / "a.pdf").write_bytes(b"%PDF-1.4 v2, corrected")
    assert run(us, "push", NUMBER).exit_code == 0
    assert [u["data"] for u in qbo.uploads] == [b"%PDF-1.4 v1", b"%PDF-1.4 v2, corrected"]
    assert run(us, "push", NUMBER).exit_code == 0
    assert len(qbo.uploads) == 2


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_crash_during_an_upload_never_attaches_twice(us: World, qbo: Wire, when: str) -> None:
    folder = with_attachments(us, "a.pdf")
    (folder / "a.pdf").write_bytes(b"%PDF-1.4 once")
    qbo.crash["upload"] = when
    assert run(us, "push", NUMBER).exit_code == 1
    rerun = run(us, "push", NUMBER, "--json")
    assert rerun.exit_code == 0, rerun.stderr
    assert json.loads(rerun.stdout)["results"][0]["message"].endswith("attached a.pdf")
    assert len(qbo.attachables) == 1


def test_a_dropped_answer_is_resolved_from_the_invoices_attachables(us: World, qbo: Wire) -> None:
    folder = with_attachments(us, "a.pdf")
    (folder / "a.pdf").write_bytes(b"%PDF-1.4 dropped")
    qbo.drop["upload"] = 5
    us.monkeypatch.setattr(
        "invoicesync.targets.quickbooks.api.documents.backoff", lambda *a: 0.0
    )  # no real waits
    result = run(us, "push", NUMBER, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["message"] == "attached a.pdf"
    assert len(qbo.attachables) == 1


def test_a_lost_local_state_does_not_attach_again(us: World, qbo: Wire) -> None:
    folder = with_attachments(us, "a.pdf")
    (folder / "a.pdf").write_bytes(b"%PDF-1.4 kept")
    assert run(us, "push", NUMBER).exit_code == 0
    for name in os.listdir(us.home):
        if name.startswith("state.db"):
            os.remove(us.home / name)
    result = run(us, "push", NUMBER, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["status"] == "adopted"
    assert len(qbo.uploads) == 1


def test_a_file_the_source_refuses_stops_the_push_before_anything_is_sent(
    us: World, qbo: Wire, httpx_mock: HTTPXMock
) -> None:
    os.mkfifo(with_attachments(us, "fifo.pdf") / "fifo.pdf")
    result = run(us, "push", NUMBER)
    assert result.exit_code == 8
    assert "fifo.pdf" in result.stderr
    assert [r for r in httpx_mock.get_requests() if r.method == "POST"] == []


def test_a_type_quickbooks_does_not_take_refuses_the_invoice_before_it_is_created(
    us: World, qbo: Wire, httpx_mock: HTTPXMock
) -> None:
    folder = with_attachments(us, "notes.pages")
    (folder / "notes.pages").write_bytes(b"PK\x03\x04 an Apple Pages file")
    result = run(us, "push", NUMBER, "--json")
    assert result.exit_code == 8
    (row,) = json.loads(result.stdout)["results"]
    assert row["status"] == "failed"
    assert row["message"].startswith(
        "attachments cannot be sent: attachment notes.pages: QuickBooks does not take this type"
    )
    assert [r for r in httpx_mock.get_requests() if r.method == "POST"] == []
    assert [i for i in us.invoices(US) if i.get("DocNumber") == NUMBER] == []
    history = json.loads(run(us, "history", NUMBER, "--json").stdout)["events"]
    (refused,) = [e for e in history if e["event"] == "refused"]
    assert (refused["detail"]["stage"], refused["detail"]["exit_code"]) == ("attachments", 8)
