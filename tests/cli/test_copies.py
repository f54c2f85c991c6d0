"""Copies under attack: a delete needs proof, not a marker; no silent link to an
uncertain outcome. Through the real CLI against the in-process sandbox, with the faults a
transport hook injects at exactly the request that matters."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from invoicesync.cli import AppState
from invoicesync.marker import marker_of
from invoicesync.store import Store
from invoicesync.store.postgres import PostgresStore
from invoicesync.targets.quickbooks.api import wire
from invoicesync.targets.quickbooks.sandbox import SandboxTransport
from tests.helpers import US, World
from tests.store.conftest import pg_url, postgres_server  # noqa: F401 (fixtures)

NUMBER = "INV-2026-0101"
OTHER_HOST = "[invoicesync-origin b0b0b0b0b0b0b0b0]"

Handler = Callable[[httpx.Request, Callable[[], httpx.Response]], httpx.Response]


def hook(world: World, handler: Handler) -> None:
    """Every request of the following runs goes through `handler(request, forward)`."""
    sandbox = world.sandbox

    class Hooked(SandboxTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return handler(request, lambda: SandboxTransport.handle_request(self, request))

    world.monkeypatch.setattr(World, "transport", property(lambda self: Hooked(sandbox)))


def no_waiting(world: World) -> list[float]:
    """Back-offs are recorded, not waited for."""
    from invoicesync.targets.quickbooks import session
    from invoicesync.targets.quickbooks.api import QBOClient, RateLimiter
    from invoicesync.targets.quickbooks.api.client import Limits

    slept: list[float] = []
    pacing = RateLimiter(Limits.off(), sleep=slept.append)
    world.monkeypatch.setattr(
        session, "QBOClient", functools.partial(QBOClient, sleep=slept.append, limiter=pacing)
    )
    return slept


def is_create(request: httpx.Request) -> bool:
    return (
        request.method == "POST"
        and request.url.path.endswith("/invoice")
        and "operation" not in request.url.params
    )


def is_delete(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.params.get("operation") == "delete"


def unavailable(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, text="Service Unavailable", request=request)


def invoices(world: World) -> dict[str, dict[str, Any]]:
    return world.sandbox.company(US).entities["Invoice"]


def marked(world: World, number: str = NUMBER) -> list[str]:
    return sorted(
        (i["Id"] for i in invoices(world).values() if marker_of(i.get("PrivateNote")) == number),
        key=int,
    )


def linked(world: World, number: str = NUMBER) -> str | None:
    store = Store.open(world.home / "state.db")
    try:
        link = store.link(US, number)
        return None if link is None else link.remote_id
    finally:
        store.close()


def events(world: World) -> list[tuple[str, str | None, str, dict[str, Any]]]:
    store = Store.open(world.home / "state.db")
    try:
        return store.events(US)
    finally:
        store.close()


def push_one(world: World, number: str = NUMBER) -> str:
    result = world.run("push", number)
    assert result.exit_code == 0, result.stdout + result.stderr
    remote_id = linked(world, number)
    assert remote_id is not None
    return remote_id


def sales_lines(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(ln) for ln in row["Line"] if ln["DetailType"] == "SalesItemLineDetail"]


def copy_of(world: World, remote_id: str, **fields: Any) -> str:
    """Another record like `remote_id` (its customer, date, memo with our marker, lines), with
    `fields` replaced: a true copy when none are given."""
    row = invoices(world)[remote_id]
    body: dict[str, Any] = {k: row[k] for k in ("CustomerRef", "TxnDate", "PrivateNote")}
    body["Line"] = sales_lines(row)
    body.update(fields)
    return str(world.sandbox.company(US).create("Invoice", body, allow_duplicate_doc=True)["Id"])


def reconcile(world: World, *args: str) -> tuple[int, dict[str, Any]]:
    result = world.run("reconcile", "--remove-copies", *args, "--json")
    return result.exit_code, json.loads(result.stdout)


def finding_of(document: dict[str, Any]) -> dict[str, Any]:
    [finding] = document["copies"]
    return dict(finding)


# --- finding 1: a delete needs proof, not a marker ---------------------------------------------


def test_a_forged_marker_on_a_hand_entered_invoice_is_reported_and_never_deleted(
    us: World,
) -> None:
    company = us.sandbox.company(US)
    acme = company.customer_by_fqn("Acme Localization Inc.")["Id"]
    # An older invoice entered by hand for the same customer and date (a lower Id than ours).
    hand = company.create(
        "Invoice",
        {
            "CustomerRef": {"value": acme},
            "TxnDate": "2026-10-01",
            "DocNumber": "1040",
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": Decimal("420.00"),
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": company.id_by_name("Item", "Translation")},
                        "Qty": Decimal(3500),
                        "UnitPrice": Decimal("0.12"),
                    },
                }
            ],
        },
    )
    ours = push_one(us)
    # Someone pastes our memo, marker and all, into the hand-entered invoice.
    company.update(
        "Invoice",
        {
            "Id": hand["Id"],
            "SyncToken": hand["SyncToken"],
            "sparse": True,
            "PrivateNote": invoices(us)[ours]["PrivateNote"],
        },
    )
    us.run("reconcile", "--remove-copies")  # no terminal, no --yes: a dry run
    assert marked(us) == [hand["Id"], ours]
    code, document = reconcile(us, "--yes")
    assert code == 0
    assert marked(us) == [hand["Id"], ours]  # neither is deleted
    assert linked(us) == ours  # and our link never moves to the forged one
    finding = finding_of(document)
    assert (finding["survivor"], finding["removed"], finding["would_remove"]) == (ours, [], [])
    [held] = finding["held"]
    assert held["remote_id"] == hand["Id"]
    assert held["reasons"][0].startswith(f"not the same invoice as {ours}")
    total = str(invoices(us)[ours]["TotalAmt"])
    assert {"field": "total", "survivor": f"{Decimal(total):.2f}", "copy": "420.00"} in held[
        "differences"
    ]
    assert {"field": "DocNumber", "survivor": NUMBER, "copy": "1040"} in held["differences"]
    [entry] = [d for d in document["links"] if d["invoice"] == NUMBER]
    assert (entry["remote_id"], entry["state"]) == (ours, "copies")
    table = us.run("reconcile")
    assert "420.00" in table.stdout and "not the same invoice" in table.stdout


def test_quickbooks_make_a_copy_for_another_job_is_reported_and_never_deleted(us: World) -> None:
    us.sandbox.company(US).custom_txn_numbers = False  # QuickBooks numbers both records
    ours = push_one(us)
    line = sales_lines(invoices(us)[ours])[0]
    line["Amount"] = Decimal("999.00")
    detail = {**line["SalesItemLineDetail"], "Qty": Decimal(1), "UnitPrice": Decimal(999)}
    line["SalesItemLineDetail"] = detail
    other_job = copy_of(us, ours, Line=[line])
    us.run("reconcile", "--remove-copies")
    assert marked(us) == [ours, other_job]
    code, document = reconcile(us, "--yes")
    assert code == 0
    assert marked(us) == [ours, other_job]
    finding = finding_of(document)
    assert (finding["survivor"], finding["removed"]) == (ours, [])
    [held] = finding["held"]
    assert held["remote_id"] == other_job
    fields = {d["field"]: (d["survivor"], d["copy"]) for d in held["differences"]}
    assert fields["total"][1] == "999.00"
    assert fields["line 1"][1].startswith("Translation")
    assert "999" in fields["line 1"][1]
    assert "DocNumber" not in fields  # QuickBooks numbered both: not part of the identity


def _true_copy(us: World) -> tuple[str, str]:
    """Our invoice and a true copy of it (what a second writer leaves when its copy check
    could not run): same content, same marker and origin, a higher Id."""
    us.sandbox.company(US).custom_txn_numbers = False
    ours = push_one(us)
    return ours, copy_of(us, ours)


def test_the_survivor_is_verified_again_just_before_a_delete(us: World) -> None:
    ours, copy = _true_copy(us)
    company = us.sandbox.company(US)
    edited: list[bool] = []

    def edit_the_survivor_after_the_copy_search(
        request: httpx.Request, forward: Callable[[], httpx.Response]
    ) -> httpx.Response:
        response = forward()
        text = request.url.params.get("query", "") or request.content.decode()
        if request.url.path.endswith("/query") and "TxnDate IN" in text and not edited:
            edited.append(True)  # a person edits the survivor in QuickBooks just now
            row = invoices(us)[ours]
            line = sales_lines(row)[0]
            line["Amount"] = Decimal("1.00")
            detail = {**line["SalesItemLineDetail"], "Qty": Decimal(1), "UnitPrice": Decimal(1)}
            line["SalesItemLineDetail"] = detail
            body = {"Id": ours, "SyncToken": row["SyncToken"], "sparse": True, "Line": [line]}
            company.update("Invoice", body)
        return response

    hook(us, edit_the_survivor_after_the_copy_search)
    code, document = reconcile(us, "--yes")
    assert code == 0
    assert marked(us) == [ours, copy]  # the survivor changed: nothing is deleted
    finding = finding_of(document)
    assert finding["removed"] == []
    [held] = finding["held"]
    assert held["remote_id"] == copy and "re-run" in " ".join(held["reasons"])


def test_remove_copies_is_a_dry_run_unless_confirmed(us: World) -> None:
    ours, copy = _true_copy(us)
    first = us.run("reconcile", "--remove-copies", "--json")
    assert first.exit_code == 2  # nothing deleted without a confirmation
    assert marked(us) == [ours, copy]
    assert finding_of(json.loads(first.stdout))["would_remove"] == [copy]
    assert "--yes" in first.stderr and "nothing was deleted" in first.stderr
    # On a terminal it shows what it would delete and asks.
    us.monkeypatch.setattr(AppState, "interactive", property(lambda self: True))
    declined = us.run("reconcile", "--remove-copies", input="n\n")
    assert declined.exit_code == 2 and marked(us) == [ours, copy]
    assert f"would delete QuickBooks invoice {copy}" in declined.stderr
    assert "declined: nothing was deleted" in declined.stderr
    accepted = us.run("reconcile", "--remove-copies", input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert marked(us) == [ours]
    assert linked(us) == ours


def test_remove_copies_with_yes_deletes_a_proven_copy_in_a_script(us: World) -> None:
    ours, copy = _true_copy(us)
    code, document = reconcile(us, "--yes")
    assert code == 0
    assert marked(us) == [ours] and linked(us) == ours
    finding = finding_of(document)
    assert (finding["removed"], finding["would_remove"], finding["held"]) == ([copy], [], [])


def test_each_delete_is_journaled_with_the_whole_document_before_it_is_sent(us: World) -> None:
    ours, copy = _true_copy(us)
    seen: list[dict[str, Any]] = []

    def check_the_journal_first(
        request: httpx.Request, forward: Callable[[], httpx.Response]
    ) -> httpx.Response:
        if is_delete(request):
            [*_, last] = events(us)
            assert last[2] == "copy removal"
            seen.append(last[3])
            seen.append(wire.loads(wire.dumps(invoices(us)[copy])))
        return forward()

    hook(us, check_the_journal_first)
    code, _ = reconcile(us, "--yes")
    assert code == 0 and marked(us) == [ours]
    detail, before = seen
    assert (detail["remote_id"], detail["survivor"], detail["kind"]) == (copy, ours, "invoice")
    document = wire.loads(detail["document"])
    keys = ("Id", "SyncToken", "CustomerRef", "TxnDate", "DocNumber", "PrivateNote", "Line")
    for key in (*keys, "TotalAmt", "Balance", "CurrencyRef", "DueDate", "SalesTermRef"):
        assert document.get(key) == before.get(key), key  # all of it, exact amounts and all


# --- finding 2: a copy check that cannot run is not a silent success ---------------------------


def test_a_copy_check_that_cannot_run_is_reported_and_exits_3(us: World) -> None:
    us.sandbox.company(US).custom_txn_numbers = False
    no_waiting(us)
    created: list[str] = []

    def fail_queries_after_the_create(
        request: httpx.Request, forward: Callable[[], httpx.Response]
    ) -> httpx.Response:
        if created and request.url.path.endswith("/query"):
            return unavailable(request)
        response = forward()
        if is_create(request):
            created.append(response.json()["Invoice"]["Id"])
        return response

    hook(us, fail_queries_after_the_create)
    result = us.run("push", NUMBER, "--json")
    assert result.exit_code == 3, result.stderr
    [item] = json.loads(result.stdout)["results"]
    assert (item["status"], item["remote_id"], item["exit_code"]) == ("created", created[0], 3)
    assert "the copy check after the create could not run" in item["message"]
    assert linked(us) == created[0]  # its own create, linked, and said so


# --- finding 4: orphans and honest adoption messages ------------------------------------------


def test_an_orphan_left_by_a_lost_answer_is_reported_with_whose_it_is(us: World) -> None:
    """Another host creates the invoice (the lower Id); this host's create commits too, but it
    is killed before the answer. The re-run adopts the other host's invoice, says whose it is,
    and reports this host's orphan (exit 3) instead of leaving it silently."""
    us.sandbox.company(US).custom_txn_numbers = False
    company = us.sandbox.company(US)
    state = {"killed": False}

    def other_host_first_then_killed(
        request: httpx.Request, forward: Callable[[], httpx.Response]
    ) -> httpx.Response:
        if is_create(request) and not state["killed"]:
            state["killed"] = True
            body = json.loads(request.content)
            body["PrivateNote"] = f"[invoicesync {NUMBER}] {OTHER_HOST}"
            company.create("Invoice", body)
            forward()  # our create commits ...
            raise KeyboardInterrupt  # ... and this host dies before it hears the answer
        return forward()

    hook(us, other_host_first_then_killed)
    assert us.run("push", NUMBER).exit_code == 130
    theirs, mine = marked(us)
    rerun = us.run("push", NUMBER, "--json")
    [item] = json.loads(rerun.stdout)["results"]
    assert rerun.exit_code == 3, rerun.stdout + rerun.stderr
    assert (item["status"], item["remote_id"]) == ("adopted", theirs)
    assert "interrupted run of this machine" not in item["message"].split(";")[0]
    assert "another machine" in item["message"]
    assert f"QuickBooks invoice {mine} also carries our marker" in item["message"]
    assert "reconcile --remove-copies" in item["message"]
    code, document = reconcile(us, "--yes")
    assert code == 0
    assert marked(us) == [theirs] and linked(us) == theirs
    assert finding_of(document)["removed"] == [mine]


def test_adoption_says_interrupted_run_of_this_machine_only_when_it_is(us: World) -> None:
    us.sandbox.company(US).custom_txn_numbers = False
    ours = push_one(us)
    store = Store.open(us.home / "state.db")
    store.connection.execute("DELETE FROM links")
    store.connection.execute("UPDATE push_journal SET state = 'pending'")
    store.connection.commit()
    store.close()
    # Our own, with our origin and our pending intent: this machine's interrupted run.
    again = us.json("push", NUMBER)["results"][0]
    assert again["status"] == "adopted"
    assert again["message"].startswith("created by an interrupted run of this machine")
    # The same state, but the record was made elsewhere (another origin in its marker).
    _unlinked_with_note(us, ours, f"[invoicesync {NUMBER}] {OTHER_HOST}", pending=True)
    other = us.json("push", NUMBER)["results"][0]
    assert other["status"] == "adopted"
    assert "interrupted run of this machine" not in other["message"]
    assert "another machine" in other["message"]
    # A marker without an origin (an older version, `link`, or typed in): origin unknown.
    _unlinked_with_note(us, ours, f"[invoicesync {NUMBER}]", pending=False)
    unknown = us.json("push", NUMBER)["results"][0]
    assert "origin unknown" in unknown["message"]


def _unlinked_with_note(us: World, remote_id: str, note: str, *, pending: bool) -> None:
    """The link row gone (its push journaled as still pending, if asked), and the record's memo
    replaced in QuickBooks: what a re-run must then tell about whose record it is."""
    store = Store.open(us.home / "state.db")
    store.connection.execute("DELETE FROM links")
    if pending:
        store.connection.execute("UPDATE push_journal SET state = 'pending'")
    store.connection.commit()
    store.close()
    us.sandbox.company(US).update(
        "Invoice",
        {
            "Id": remote_id,
            "SyncToken": invoices(us)[remote_id]["SyncToken"],
            "sparse": True,
            "PrivateNote": note,
        },
    )


# --- finding 5: never link an invoice whose delete may have committed -------------------------


def _race_then_lose_the_delete_answer(us: World, *, reads_fail: bool) -> dict[str, list[str]]:
    """Another writer's identical invoice appears just before our create (the lower Id); our
    copy check deletes our own; the delete commits but its answer is lost and every retry gets
    a 503; the read-back is answered, or (`reads_fail`) gets 503s too."""
    us.sandbox.company(US).custom_txn_numbers = False
    company = us.sandbox.company(US)
    no_waiting(us)
    ids: dict[str, list[str]] = {"deleted": [], "quiet": []}

    def race(request: httpx.Request, forward: Callable[[], httpx.Response]) -> httpx.Response:
        if ids["quiet"]:
            return forward()
        if is_create(request) and "theirs" not in ids:
            body = json.loads(request.content)
            body["PrivateNote"] = f"[invoicesync {NUMBER}] {OTHER_HOST}"
            ids["theirs"] = [company.create("Invoice", body)["Id"]]
            response = forward()
            ids["mine"] = [response.json()["Invoice"]["Id"]]
            return response
        if is_delete(request):
            if not ids["deleted"]:
                forward()  # it commits ...
                ids["deleted"].append(json.loads(request.content)["Id"])
                raise httpx.ReadError("connection reset by peer", request=request)
            return unavailable(request)  # ... and every retry finds QuickBooks unavailable
        if reads_fail and ids["deleted"] and request.method == "GET":
            return unavailable(request)
        return forward()

    hook(us, race)
    return ids


def test_a_lost_delete_answer_is_read_back_before_anything_is_linked(us: World) -> None:
    ids = _race_then_lose_the_delete_answer(us, reads_fail=False)
    result = us.run("push", NUMBER, "--json")
    assert ids["deleted"] == ids["mine"]
    assert marked(us) == ids["theirs"]
    assert linked(us) == ids["theirs"][0]  # never the Id just deleted
    assert result.exit_code == 0, result.stdout + result.stderr
    [item] = json.loads(result.stdout)["results"]
    assert item["remote_id"] == ids["theirs"][0]


def test_a_delete_that_may_have_committed_is_never_linked_when_it_cannot_be_read(
    us: World,
) -> None:
    ids = _race_then_lose_the_delete_answer(us, reads_fail=True)
    result = us.run("push", NUMBER, "--json")
    assert marked(us) == ids["theirs"]
    assert linked(us) is None  # not linked: its delete may have committed
    assert result.exit_code == 3, result.stdout + result.stderr
    [item] = json.loads(result.stdout)["results"]
    assert item["status"] == "failed" and "re-run" in item["message"]
    ids["quiet"].append("QuickBooks answers again")
    again = us.json("push", NUMBER)
    assert again["results"][0]["status"] == "adopted"
    assert linked(us) == ids["theirs"][0] and marked(us) == ids["theirs"]


def test_a_copy_another_machine_links_is_never_deleted_here(us: World) -> None:
    """Host B's copy check could not run, so B linked its own copy; A's `--remove-copies`
    must not delete B's invoice (B's own run removes it, its link moving first)."""
    _true_copy(us)
    company = us.sandbox.company(US)
    for copy_id in marked(us)[1:]:
        row = invoices(us)[copy_id]
        note = f"[invoicesync {NUMBER}] {OTHER_HOST}"
        company.update(
            "Invoice",
            {"Id": copy_id, "SyncToken": row["SyncToken"], "sparse": True, "PrivateNote": note},
        )
    code, document = reconcile(us, "--yes")
    assert code == 0
    assert len(marked(us)) == 2
    [held] = finding_of(document)["held"]
    assert "another machine" in " ".join(held["reasons"])


def test_with_a_shared_state_the_link_rows_decide_whose_a_copy_is(
    us: World, request: pytest.FixtureRequest
) -> None:
    """Every host's links are in the shared state: a copy no link row names is deleted
    whichever machine made it; one a link row names is never deleted."""
    url: str = request.getfixturevalue("pg_url")
    us.monkeypatch.setenv("INVOICESYNC_STATE_URL", url)
    us.sandbox.company(US).custom_txn_numbers = False
    assert us.run("push", NUMBER, "INV-2026-0102").exit_code == 0
    store = PostgresStore.open(url)
    assert store is not None
    ours = store.link(US, NUMBER)
    assert ours is not None
    elsewhere = copy_of(us, ours.remote_id, PrivateNote=f"[invoicesync {NUMBER}] {OTHER_HOST}")
    named = copy_of(us, ours.remote_id)
    other = store.link(US, "INV-2026-0102")
    assert other is not None
    store.connection.execute(  # a link row (another number's, by hand) names the second copy
        "UPDATE links SET remote_id = %s WHERE invoice_number = %s", (named, "INV-2026-0102")
    )
    store.close()
    code, document = reconcile(us, "--yes")
    assert code == 0
    assert marked(us) == [ours.remote_id, named]
    finding = finding_of(document)
    assert finding["removed"] == [elsewhere]
    [held] = finding["held"]
    assert (held["remote_id"], held["reasons"]) == (named, ["is linked to INV-2026-0102 here"])


def test_a_create_replayed_to_two_writers_and_deleted_by_the_other_links_the_survivor(
    us: World,
) -> None:
    """Two writers sent one requestid: QuickBooks replayed one create to both, and the other
    writer has already deleted it as a copy of an earlier record. Our copy check does not find
    it any more: it reads it back, sees it gone, and links the survivor (exit 0)."""
    us.sandbox.company(US).custom_txn_numbers = False
    company = us.sandbox.company(US)
    ids: dict[str, str] = {}

    def twin(request: httpx.Request, forward: Callable[[], httpx.Response]) -> httpx.Response:
        if is_create(request) and not ids:
            body = json.loads(request.content)
            body["PrivateNote"] = f"[invoicesync {NUMBER}] {OTHER_HOST}"
            ids["theirs"] = company.create("Invoice", body)["Id"]
            response = forward()
            ids["mine"] = response.json()["Invoice"]["Id"]
            company.delete("Invoice", {"Id": ids["mine"], "SyncToken": "0"})  # by the twin
            return response
        return forward()

    hook(us, twin)
    result = us.run("push", NUMBER, "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    [item] = json.loads(result.stdout)["results"]
    assert (item["remote_id"], item["exit_code"]) == (ids["theirs"], 0)
    assert f"{ids['mine']} was deleted as a copy of {ids['theirs']}" in item["message"]
    assert marked(us) == [ids["theirs"]] and linked(us) == ids["theirs"]
