"""Attachments on push: each file attached to the QuickBooks invoice exactly once (re-runs,
crashes, dropped answers, a lost local state), a changed file as a new version, and bad files
refused before anything is sent. Upload wire form: tests/cli/after_wire.py.

The source formats learn `attachments` on their own branch; until then the source invoices are
given to the real `push` command with their attachments set.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock

from invoicesync.models import LocalInvoice
from invoicesync.sources import open_source
from invoicesync.usecases import invoices as invoices_uc
from tests.cli.after_wire import Wire, run, wire
from tests.helpers import US, World

NUMBER = "INV-2026-0101"


@pytest.fixture
def qbo(us: World, httpx_mock: HTTPXMock) -> Wire:
    return wire(us, httpx_mock)


def with_attachments(world: World, *paths: str) -> Path:
    """The source's invoices, NUMBER listing `paths`; returns the source's folder."""
    source = Path(os.environ["INVOICESYNC_SOURCE"])
    loaded = open_source(source).invoices()

    def load(settings: object, warn: object = None) -> list[LocalInvoice]:
        return [
            dataclasses.replace(i, attachments=paths) if i.number == NUMBER else i for i in loaded
        ]

    world.monkeypatch.setattr(invoices_uc, "load_invoices", load)
    return source.parent


def qbo_id(world: World) -> str:
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
        "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": qbo_id(us)}}],
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
    us.monkeypatch.setattr("invoicesync.qbo.client.backoff", lambda *a: 0.0)  # no real waits
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


def sparse(path: Path, size: int) -> None:
    path.touch()
    os.truncate(path, size)


@pytest.mark.parametrize(
    ("name", "make", "why"),
    [
        ("a.exe", lambda p: p.write_bytes(b"MZ"), "QuickBooks does not take this type of file"),
        ("empty.pdf", lambda p: p.write_bytes(b""), "the file is empty"),
        ("big.pdf", lambda p: sparse(p, 100 * 1024 * 1024 + 1), "over QuickBooks' limit"),
        ("missing.pdf", lambda p: None, "not a readable file"),
        ("fifo.pdf", os.mkfifo, "not a readable file"),
    ],
)
def test_bad_attachments_refuse_the_invoice_before_anything_is_sent(
    us: World, qbo: Wire, httpx_mock: HTTPXMock, name: str, make: object, why: str
) -> None:
    folder = with_attachments(us, name)
    make(folder / name)  # type: ignore[operator]
    result = run(us, "push", NUMBER, "--json")
    assert result.exit_code == 8
    (row,) = json.loads(result.stdout)["results"]
    assert row["status"] == "failed"
    assert row["message"].startswith(f"attachments cannot be sent: attachment {name}: ")
    assert why in row["message"]
    assert [r for r in httpx_mock.get_requests() if r.method == "POST"] == []
    assert [i for i in us.invoices(US) if i.get("DocNumber") == NUMBER] == []
