"""`history` and `runs` as a person meets them: hostile data shown inert, no secret shown, and
every mistake a one-line message with its exit code (both backends: tests/store)."""

from __future__ import annotations

import json

from invoicesync.errors import register_secret
from invoicesync.store import Store
from tests.cli.test_terminal_safety import HOSTILE, RAW
from tests.helpers import US, World

SECRET = "rt-4b1e9c0d7a3f-not-for-your-eyes"


def _plant(us: World, number: str, host: str, error: str) -> None:
    """An event as a hostile peer sharing the state could write it."""
    store = Store.open(us.home / "state.db")
    try:
        with store.transaction():
            store._exec(
                "INSERT INTO runs (run_id, command, started_at, host, username, finished_at, "
                "exit_code, counts) VALUES (?,?,?,?,?,?,?,?)",
                ("abcd" + "1" * 28, "push" + HOSTILE, "2026-12-01T00:00:00+00:00", host,
                 "user" + HOSTILE, "2026-12-01T00:00:01+00:00", 3, '{"failed": 1}'),
            )  # fmt: skip
            store._exec(
                "INSERT INTO events (at, account, invoice_number, kind, detail, run_id, host, "
                "username) VALUES (?,?,?,?,?,?,?,?)",
                ("2026-12-01T00:00:00+00:00", US, number, "refused" + HOSTILE,
                 json.dumps({"error": error, "remote_id": "9" + HOSTILE, "kind": "invoice"}),
                 "abcd" + "1" * 28, host, "user" + HOSTILE),
            )  # fmt: skip
    finally:
        store.close()


def test_hostile_names_are_shown_inert_and_secrets_never(us: World) -> None:
    register_secret(SECRET)
    assert us.run("push", "INV-2026-0101").exit_code == 0
    number = "INV-" + HOSTILE
    _plant(us, number, "host" + HOSTILE, f"QuickBooks said: token {SECRET} is invalid")
    for args in (("history", number), ("runs",), ("runs", "show", "abcd1111")):
        shown = us.run(*args)
        assert shown.exit_code == 0, shown.stderr
        out = shown.stdout + shown.stderr
        assert not [c for c in RAW if c in out], (args, out)
        assert "\\x1b[2J" in out and SECRET not in out
    table = us.run("history", number)
    assert "***" in table.stdout or "Note" not in table.stdout
    document = us.json("history", number)
    (event,) = document["events"]
    assert event["invoice"] == number and event["host"] == "host" + HOSTILE  # data stays exact
    assert event["reason"] == "QuickBooks said: token *** is invalid"
    assert SECRET not in json.dumps(document)


def test_a_state_without_history_says_so_and_exits_0(us: World) -> None:
    result = us.run("history", "INV-2026-0101")
    assert result.exit_code == 0 and result.stdout == ""
    assert "INV-2026-0101: nothing recorded in this state" in result.stderr
    document = us.json("history", "INV-2026-0101")
    assert (document["events"], document["missing"]) == ([], ["INV-2026-0101"])
    listed = us.run("runs")
    assert listed.exit_code == 0 and "No runs recorded." in listed.stderr
    assert us.json("runs")["runs"] == []


def test_mistakes_are_one_line_with_their_exit_code(us: World) -> None:
    assert us.run("push", "INV-2026-0101").exit_code == 0
    since = us.run("runs", "--since", "yesterday")
    assert since.exit_code == 2 and "--since 'yesterday' is not a date (YYYY-MM-DD)" in since.stderr
    unknown = us.run("runs", "show", "ffff0000")
    assert unknown.exit_code == 8
    assert "no run ffff0000 in this state; `invoicesync runs` lists them" in unknown.stderr
    _plant(us, "INV-X", "h", "e")
    store = Store.open(us.home / "state.db")
    try:
        with store.transaction():
            store._exec(
                "INSERT INTO runs (run_id, command, started_at, host, username) VALUES (?,?,?,?,?)",
                ("abcd" + "2" * 28, "push", "2026-12-02T00:00:00+00:00", "h", "u"),
            )
    finally:
        store.close()
    both = us.run("runs", "show", "abcd")
    assert both.exit_code == 2 and "run abcd is ambiguous" in both.stderr
    assert "Traceback" not in both.stderr + unknown.stderr + since.stderr
    listed = us.json("runs", "--since", "2026-12-02")
    first, *_ = listed["runs"]  # oldest first: the planted run of 2026-12-02
    assert (first["run_id"][:5], first["status"]) == ("abcd2", "unknown")  # nothing to judge by


def test_the_verbose_log_names_the_run_that_the_json_names(us: World) -> None:
    result = us.run("-v", "push", "INV-2026-0101", "--json")
    assert result.exit_code == 0, result.stderr
    run_id = json.loads(result.stdout)["run_id"]
    assert f"run {run_id}: push --json on " in result.stderr
    assert f"run {run_id} finished with exit code 0" in result.stderr


def test_runs_record_option_names_never_their_values(us: World) -> None:
    assert us.run("push", "INV-2026-0101", "INV-2026-0102").exit_code == 0
    voided = us.run("void", "INV-2026-0101", "--reason=-looks-like-a-flag", "--json")
    assert voided.exit_code == 0, voided.stderr
    again = us.run("void", "INV-2026-0102", "--reason", "-also-a-value")
    assert again.exit_code == 0, again.stderr
    commands = [r["command"] for r in us.json("runs")["runs"]]
    assert commands == ["push", "void --reason --json", "void --reason"]
    voids = [e["action"] for e in us.json("history", "INV-2026-0102")["events"]]
    assert voids == ["pushed", "voided"]
