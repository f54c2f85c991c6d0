"""`invoicesync pdf`: the PDF QuickBooks renders, written atomically, never through a symlink."""

from __future__ import annotations

import json

import pytest
from pytest_httpx import HTTPXMock

from tests.cli.after_wire import Wire, run, wire
from tests.helpers import US, World


@pytest.fixture
def qbo(us: World, httpx_mock: HTTPXMock) -> Wire:
    wired = wire(us, httpx_mock)
    assert run(us, "push", "INV-2026-0101", "INV-2026-0102").exit_code == 0
    return wired


def test_pdf_to_a_file(us: World, qbo: Wire, httpx_mock: HTTPXMock) -> None:
    out = us.home.parent / "inv.pdf"
    out.write_bytes(b"old")
    kept = run(us, "pdf", "INV-2026-0101", "-o", str(out))
    assert kept.exit_code == 8 and f"{out} exists; give --force to replace it" in kept.stdout
    assert out.read_bytes() == b"old"
    result = run(us, "pdf", "INV-2026-0101", "-o", str(out), "--json", "--force")
    assert result.exit_code == 0, result.stderr
    qid = next(i["Id"] for i in us.invoices() if i["DocNumber"] == "INV-2026-0101")
    rendered = us.sandbox.company(US).pdf("Invoice", qid)
    assert rendered.startswith(b"%PDF-")
    assert json.loads(result.stdout) == {
        "schema": "invoicesync.pdf/2",
        "account": US,
        "realm_id": US,
        "results": [
            {
                "invoice": "INV-2026-0101",
                "status": "written",
                "remote_id": qid,
                "qbo_id": qid,
                "kind": "invoice",
                "format": "pdf",
                "path": str(out),
                "bytes": len(rendered),
                "message": "",
            }
        ],
    }
    assert out.read_bytes() == rendered
    (request,) = qbo.requests_to(httpx_mock, r"/pdf")
    assert request.url.path == f"/v3/company/{US}/invoice/{qid}/pdf"
    assert request.headers["accept"] == "application/pdf"
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".inv.pdf")) == []


def test_pdf_of_several_invoices_into_a_folder(us: World, qbo: Wire) -> None:
    folder = us.home.parent / "pdfs"
    folder.mkdir()
    result = run(us, "pdf", "INV-2026-0101", "INV-2026-0102", "-o", str(folder))
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["INV-2026-0101.pdf", "INV-2026-0102.pdf"]
    not_a_dir = run(us, "pdf", "INV-2026-0101", "INV-2026-0102", "-o", str(folder / "x.pdf"))
    assert not_a_dir.exit_code == 2
    assert "is not a folder; with several invoices give -o DIR" in not_a_dir.stderr


def test_pdf_refuses_a_symlink_and_reports_unlinked_and_deleted(us: World, qbo: Wire) -> None:
    target = us.home.parent / "precious.pdf"
    target.write_bytes(b"precious")
    link = us.home.parent / "link.pdf"
    link.symlink_to(target)
    result = run(us, "pdf", "INV-2026-0101", "-o", str(link))
    assert result.exit_code == 8
    assert "is a symbolic link; invoicesync does not write through links" in result.stderr
    assert target.read_bytes() == b"precious"

    unlinked = run(us, "pdf", "INV-2026-0106", "-o", str(us.home.parent / "a.pdf"))
    assert unlinked.exit_code == 2
    assert "INV-2026-0106 is not linked to QuickBooks; push or link it first" in unlinked.stdout

    qid = next(i["Id"] for i in us.invoices() if i["DocNumber"] == "INV-2026-0102")
    del us.sandbox.company(US).entities["Invoice"][qid]
    gone = run(us, "pdf", "INV-2026-0102", "-o", str(us.home.parent / "b.pdf"))
    assert gone.exit_code == 6
    assert f"QuickBooks invoice {qid} no longer exists" in gone.stdout
    assert not (us.home.parent / "b.pdf").exists()


def test_pdf_file_names_keep_letters_and_never_collide() -> None:
    from invoicesync.usecases.pdf import file_stem, stems

    assert file_stem("INV-2026-0101") == "INV-2026-0101"
    assert file_stem("Ünï cødé") == "Ünï_cødé-" + file_stem("Ünï cødé").rsplit("-", 1)[1]
    assert file_stem("Счёт-7") == "Счёт-7"  # letters of any script are kept whole
    assert file_stem("請求書7") == "請求書7"
    lossy = file_stem("INV/2026/7")
    assert lossy.startswith("INV_2026_7-") and lossy != file_stem("INV_2026_7")
    assert file_stem("INV:2026:7") != lossy  # two numbers that map to one name stay apart
    assert not file_stem("../../etc/passwd").startswith(".")
    assert "/" not in file_stem("../../etc/passwd")
    assert len(file_stem("x" * 400)) < 120
    batch = stems(["inv-1", "INV-1", "INV-2"])
    assert len({v.casefold() for v in batch.values()}) == 3  # case-blind file systems too
    assert batch["INV-2"] == "INV-2"


def test_pdf_refuses_a_missing_folder_and_other_formats_on_quickbooks(us: World, qbo: Wire) -> None:
    missing = us.home.parent / "nowhere" / "inv.pdf"
    result = run(us, "pdf", "INV-2026-0101", "-o", str(missing))
    assert result.exit_code == 8
    assert f"the folder {missing.parent} does not exist; create it first" in result.stderr
    assert not missing.parent.exists()
    ubl = run(us, "pdf", "INV-2026-0101", "--format", "ubl")
    assert ubl.exit_code == 2
    assert "QuickBooks has no ubl document: only --format pdf" in ubl.stderr


def test_pdf_into_a_folder_never_replaces_without_force(us: World, qbo: Wire) -> None:
    folder = us.home.parent / "pdfs"
    folder.mkdir()
    (folder / "INV-2026-0102.pdf").write_bytes(b"mine")
    result = run(us, "pdf", "INV-2026-0101", "INV-2026-0102", "-o", str(folder), "--json")
    assert result.exit_code == 3
    assert (folder / "INV-2026-0102.pdf").read_bytes() == b"mine"
    assert (folder / "INV-2026-0101.pdf").read_bytes().startswith(b"%PDF-")
    results = {r["invoice"]: r for r in json.loads(result.stdout)["results"]}
    assert results["INV-2026-0101"]["status"] == "written"
    assert results["INV-2026-0102"]["status"] == "failed"
    assert "exists; give --force to replace it" in results["INV-2026-0102"]["message"]
