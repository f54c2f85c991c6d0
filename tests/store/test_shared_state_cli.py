"""The real CLI with `INVOICESYNC_STATE_URL`: two app dirs (two machines) share one state."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from invoicesync.store.postgres import PostgresStore
from tests.helpers import US, World

PASSWORD = "pg-Secret-5b1c"


def test_two_homes_share_links_through_postgresql(us: World, pg_url: str, tmp_path: Path) -> None:
    url = pg_url + f"&password={PASSWORD}"
    us.monkeypatch.setenv("INVOICESYNC_STATE_URL", url)
    first = us.run("push", "INV-2026-0101", "INV-2026-0102")
    assert first.exit_code == 0, first.stdout + first.stderr
    assert not (us.home / "state.db").exists()  # the state is the server's
    before = len(us.invoices())

    # A second machine: its own app dir and connection, the same company and shared state.
    other = tmp_path / "other-home"
    us.monkeypatch.setenv("INVOICESYNC_HOME", str(other))
    us.home = other
    us.connect()
    second = us.json("push", "--all")
    by_number = {r["invoice"]: r["status"] for r in second["results"]}
    assert by_number["INV-2026-0101"] == by_number["INV-2026-0102"] == "skipped"
    assert len(us.invoices()) == before + sum(s == "created" for s in by_number.values())
    assert not (other / "state.db").exists()

    store = PostgresStore.open(pg_url)
    assert store is not None
    links = store.links(US)
    store.close()
    assert len(links) == len(by_number)
    assert {ln.qbo_id for ln in links} <= {str(inv["Id"]) for inv in us.invoices()}
    # `invoices` on the second machine shows the first machine's links, from the server.
    shown = {i["number"]: i["link"] for i in us.json("invoices")["invoices"]}
    assert (
        shown["INV-2026-0101"]["qbo_id"]
        == {ln.invoice_number: ln for ln in links}["INV-2026-0101"].qbo_id
    )
    assert {n for n, link in shown.items() if link} == {ln.invoice_number for ln in links}
    assert all(PASSWORD not in out for out in us.outputs)


def test_a_dry_run_creates_no_tables(us: World, pg_url: str) -> None:
    us.monkeypatch.setenv("INVOICESYNC_STATE_URL", pg_url)
    result = us.run("push", "--all", "--dry-run")
    assert result.exit_code == 0, result.stderr
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('links')").fetchone() == (None,)


def test_a_shared_state_run_holds_the_advisory_lock(us: World, pg_url: str) -> None:
    """link, unlink and reconcile take the shared run lock; a push claims its invoices instead
    and runs beside it (see test_pushes_claim_their_invoices_and_skip_what_another_run_holds)."""
    us.monkeypatch.setenv("INVOICESYNC_STATE_URL", pg_url)
    assert us.run("push", "INV-2026-0101").exit_code == 0
    holder = PostgresStore.open(pg_url)
    assert holder is not None
    with holder.run_lock():
        result = us.run("reconcile")
        pushed = us.run("push", "INV-2026-0102")
    holder.close()
    assert result.exit_code == 9, result.stdout + result.stderr
    assert "another invoicesync run is writing to the shared state" in " ".join(
        result.stderr.split()
    )
    assert pushed.exit_code == 0, pushed.stdout + pushed.stderr


def test_pushes_claim_their_invoices_and_skip_what_another_run_holds(
    us: World, pg_url: str
) -> None:
    us.monkeypatch.setenv("INVOICESYNC_STATE_URL", pg_url)
    assert us.run("push", "INV-2026-0101").exit_code == 0  # creates the schema
    other = PostgresStore.open(pg_url)
    assert other is not None
    held = other.claim(US, ["INV-2026-0102"], "another-run", holder="cron-host:4242")
    assert held == {"INV-2026-0102"}
    result = us.json("push", "--all")
    by_number = {r["invoice"]: r for r in result["results"]}
    assert by_number["INV-2026-0102"]["status"] == "skipped"
    assert "cron-host:4242" in by_number["INV-2026-0102"]["message"]
    assert by_number["INV-2026-0104"]["status"] == "created"
    assert [c.run_id for c in other.claims(US)] == ["another-run"]  # ours were released
    other.release_claims(US, "another-run")
    other.close()
    again = us.json("push", "--all")
    assert {r["invoice"]: r["status"] for r in again["results"]}["INV-2026-0102"] == "created"


@pytest.mark.parametrize("bad", ["mysql://db/x", "postgresql://ann:pw-123456@/x?host=/nonexistent"])
def test_a_bad_state_url_is_exit_8(us: World, bad: str) -> None:
    us.monkeypatch.setenv("INVOICESYNC_STATE_URL", bad)
    result = us.run("push", "--all")
    assert result.exit_code == 8, result.stdout + result.stderr
    assert "pw-123456" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
