"""What scripts rely on: exit codes for drift, quiet ends of pipes, readable usage errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import US, World

INVOICE = {
    "customer": {"name": "Contoso Ltd"},
    "issue_date": "2026-10-22",
    "currency": "USD",
    "lines": [{"service": "Translation", "quantity": "1", "unit_price": "10.00"}],
}


def test_reconcile_exit_code_reports_drift_but_not_payments(us: World) -> None:
    us.source("us")
    assert us.run("push", "--all").exit_code == 0
    links = {
        r["number"]: r["link"]["remote_id"] for r in us.json("invoices")["invoices"] if r["link"]
    }
    company = us.sandbox.company(US)
    company.record_payment(links["INV-2026-0101"])
    paid_only = us.run("reconcile", "--exit-code")
    assert paid_only.exit_code == 0, paid_only.stderr  # being paid is an invoice's normal life
    deleted = links["INV-2026-0104"]
    version = company.entities["Invoice"][deleted]["SyncToken"]
    company.delete("Invoice", {"Id": deleted, "SyncToken": version})
    assert us.run("reconcile").exit_code == 0  # without the flag, drift is only reported
    drift = us.run("reconcile", "--exit-code")
    assert drift.exit_code == 10
    assert "1 deleted" in drift.stderr and "INV-2026-0104" in drift.stdout
    as_json = us.run("reconcile", "--exit-code", "--json")
    assert as_json.exit_code == 10 and json.loads(as_json.stdout)["links"]


def _many_invoices(path: Path, n: int) -> Path:
    records = [dict(INVOICE, number=f"INV-{i:05d}") for i in range(n)]
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def _env(source: Path | None = None, *, buffered: bool = True) -> dict[str, str]:
    """The environment with block-buffered output as in a real pipe (or unbuffered, as some
    CI runners set), and the source."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    if source is not None:
        env["INVOICESYNC_SOURCE"] = str(source)
    return env


def test_output_into_a_pipe_closed_early_exits_quietly(tmp_path: Path) -> None:
    """`invoicesync invoices --json | head -1`: the reader leaves after one line."""
    source = _many_invoices(tmp_path / "many.json", 3000)  # far more than a pipe buffer
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoicesync", "invoices", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(source),
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"{\n"
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert stderr == ""


def test_plain_lines_into_a_pipe_closed_early_exit_quietly(tmp_path: Path) -> None:
    """`invoicesync invoices | head -1` over 1,000 invoices: written as tab-separated lines."""
    source = _many_invoices(tmp_path / "many.json", 3000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoicesync", "invoices"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(source),
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"Invoice\tCustomer\t")
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert stderr == ""


@pytest.mark.parametrize("buffered", [True, False])
def test_a_pipe_with_no_reader_at_all_is_quiet_too(tmp_path: Path, buffered: bool) -> None:
    """The reader is gone before the first write (a table, a document)."""
    source = _many_invoices(tmp_path / "few.json", 2)
    for args in (["invoices"], ["invoices", "--json"]):
        read_end, write_end = os.pipe()
        os.close(read_end)
        done = subprocess.run(
            [sys.executable, "-m", "invoicesync", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=_env(source, buffered=buffered),
            timeout=60,
        )
        os.close(write_end)
        assert (done.returncode, done.stderr.decode()) == (0, ""), args


def test_the_exit_code_survives_a_closed_pipe(tmp_path: Path) -> None:
    """Work with a result keeps its documented code: here an invalid source (8)."""
    bad = tmp_path / "bad.json"
    bad.write_text('[{"number": "X"}]', encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)
    done = subprocess.run(
        [sys.executable, "-m", "invoicesync", "invoices", "--json"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=_env(bad),
        timeout=60,
    )
    os.close(write_end)
    assert done.returncode == 8
    assert "unexpected" not in done.stderr.decode()


def test_flush_at_exit_silences_a_reader_that_left() -> None:
    """Output still buffered when the interpreter exits: no 'Exception ignored' message."""
    code = (
        "import sys\n"
        "from invoicesync.cli import render\n"
        "sys.stdout.write('x' * 100)\n"
        "render.flush_at_exit()\n"
    )
    read_end, write_end = os.pipe()
    os.close(read_end)
    done = subprocess.run(
        [sys.executable, "-c", code],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=_env(),
        timeout=60,
    )
    os.close(write_end)
    assert (done.returncode, done.stderr.decode()) == (0, "")
