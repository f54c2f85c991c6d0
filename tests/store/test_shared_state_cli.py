"""The real CLI with `INVOICESYNC_STATE_URL`: two app dirs (two machines) share one state."""

from __future__ import annotations

import json
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
    assert {ln.remote_id for ln in links} <= {str(inv["Id"]) for inv in us.invoices()}
    # `invoices` on the second machine shows the first machine's links, from the server.
    shown = {i["number"]: i["link"] for i in us.json("invoices")["invoices"]}
    assert (
        shown["INV-2026-0101"]["remote_id"]
        == {ln.invoice_number: ln for ln in links}["INV-2026-0101"].remote_id
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
    """An invoice left to another run is work this run did not do: not exit 0. The
    run says which invoice, who holds it, and exits 9 (another run holds the lock)."""
    us.monkeypatch.setenv("INVOICESYNC_STATE_URL", pg_url)
    assert us.run("push", "INV-2026-0101").exit_code == 0  # creates the schema
    other = PostgresStore.open(pg_url)
    assert other is not None
    held = other.claim(US, ["INV-2026-0102"], "another-run", holder="cron-host (pid 4242)")
    assert held == {"INV-2026-0102"}
    result = us.run("push", "--all", "--json")
    assert result.exit_code == 9, result.stdout + result.stderr
    by_number = {r["invoice"]: r for r in json.loads(result.stdout)["results"]}
    assert by_number["INV-2026-0102"]["status"] == "failed"
    message = by_number["INV-2026-0102"]["message"]
    assert "another run (cron-host (pid 4242)) is pushing this invoice now" in message
    assert "--wait" in message
    assert by_number["INV-2026-0104"]["status"] == "created"
    assert [c.run_id for c in other.claims(US)] == ["another-run"]  # ours were released

    alone = us.run("push", "INV-2026-0102", "--json")  # the one invoice: its reason, exit 9
    assert alone.exit_code == 9, alone.stdout + alone.stderr
    history = json.loads(us.run("history", "INV-2026-0102", "--json").stdout)["events"]
    held_events = [e["detail"] for e in history if e["event"] == "refused"]
    assert [(d["stage"], d["exit_code"]) for d in held_events] == [("claim", 9), ("claim", 9)]
    assert "cron-host (pid 4242)" in held_events[0]["error"]
    (only,) = json.loads(alone.stdout)["results"]
    assert only["status"] == "failed" and "cron-host" in only["message"]
    assert len([i for i in us.invoices() if i.get("DocNumber") == "INV-2026-0102"]) == 0

    other.release_claims(US, "another-run")
    other.close()
    again = us.run("push", "--all", "--json")
    assert again.exit_code == 0, again.stdout + again.stderr
    statuses = {r["invoice"]: r["status"] for r in json.loads(again.stdout)["results"]}
    assert statuses["INV-2026-0102"] == "created"


def test_push_wait_takes_the_invoices_once_their_holder_is_done(
    us: World, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--wait` waits for the run holding the invoices (it was ignored with a shared state),
    says so on stderr, and pushes what the holder left; the holder here finishes without
    pushing, at the first pause of the waiting run."""
    from invoicesync.usecases import push as push_usecase

    us.monkeypatch.setenv("INVOICESYNC_STATE_URL", pg_url)
    assert us.run("push", "INV-2026-0101").exit_code == 0
    other = PostgresStore.open(pg_url)
    assert other is not None
    other.claim(US, ["INV-2026-0102", "INV-2026-0104"], "another-run")
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        other.release_claims(US, "another-run")

    monkeypatch.setattr(push_usecase, "_pause", pause)
    result = us.run("push", "--all", "--wait", "300", "--json")
    other.close()
    assert result.exit_code == 0, result.stdout + result.stderr
    assert pauses  # it waited
    assert "waiting up to 300 s for another run" in " ".join(result.stderr.split())
    statuses = {r["invoice"]: r["status"] for r in json.loads(result.stdout)["results"]}
    assert statuses["INV-2026-0102"] == statuses["INV-2026-0104"] == "created"


def test_push_wait_gives_up_after_its_bound_with_exit_9(
    us: World, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from invoicesync.usecases import push as push_usecase

    us.monkeypatch.setenv("INVOICESYNC_STATE_URL", pg_url)
    assert us.run("push", "INV-2026-0101").exit_code == 0
    other = PostgresStore.open(pg_url)
    assert other is not None
    other.claim(US, ["INV-2026-0102"], "another-run", holder="cron-host (pid 4242)")
    clock = [1000.0]

    def pause(seconds: float) -> None:  # time passes without anyone releasing anything
        clock[0] += seconds

    monkeypatch.setattr(push_usecase, "_pause", pause)
    monkeypatch.setattr(push_usecase, "_now", lambda: clock[0])
    result = us.run("push", "INV-2026-0102", "--wait", "5", "--json")
    other.close()
    assert result.exit_code == 9, result.stdout + result.stderr
    assert clock[0] >= 1005.0
    (only,) = json.loads(result.stdout)["results"]
    assert "cron-host" in only["message"] and "waited 5 s" in only["message"]


@pytest.mark.parametrize("bad", ["mysql://db/x", "postgresql://ann:pw-123456@/x?host=/nonexistent"])
def test_a_bad_state_url_is_exit_8(us: World, bad: str) -> None:
    us.monkeypatch.setenv("INVOICESYNC_STATE_URL", bad)
    result = us.run("push", "--all")
    assert result.exit_code == 8, result.stdout + result.stderr
    assert "pw-123456" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_push_interrupted_by_ctrl_c_releases_its_claims(
    us: World, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from invoicesync.usecases import push_plan

    us.monkeypatch.setenv("INVOICESYNC_STATE_URL", pg_url)
    assert us.run("push", "INV-2026-0101").exit_code == 0

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C, or SIGTERM (the CLI turns it into the same)

    monkeypatch.setattr(push_plan, "plan", interrupted)
    result = us.run("push", "--all")
    assert result.exit_code == 130, result.stdout + result.stderr
    other = PostgresStore.open(pg_url)
    assert other is not None
    assert other.claims(US) == []
    other.close()


def test_a_push_that_loses_the_database_is_exit_7_and_its_claims_die_with_it(
    us: World, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claims were left behind when a run exited 7 after losing the database, and
    its release then failed in turn (no push document, only the error). The release is best
    effort now, and the claims end with the session: the next run takes them at once."""
    from invoicesync.usecases import push_plan

    us.monkeypatch.setenv("INVOICESYNC_STATE_URL", pg_url)
    assert us.run("push", "INV-2026-0101").exit_code == 0
    real_plan = push_plan.plan

    def database_lost(session: object, *args: object, **kw: object) -> object:
        store = session.store  # type: ignore[attr-defined]
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (store.conn.info.backend_pid,))
        return real_plan(session, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(push_plan, "plan", database_lost)
    result = us.run("push", "--all", "--json")
    assert result.exit_code == 7, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "invoicesync.push/2"
    assert document["error"]["exit_code"] == 7
    assert "Traceback" not in result.stderr
    other = PostgresStore.open(pg_url)
    assert other is not None
    numbers = [c.invoice_number for c in other.claims(US)]
    assert numbers  # left behind: the database was gone, so nothing could delete them
    assert other.claim(US, numbers, "next-run") == set(numbers)  # ... but free at once
    other.close()
