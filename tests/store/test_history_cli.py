"""`history` and `runs` through the CLI on both state backends: what a run did, its
id in the writing command's --json, and the demo's story after the demo."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from invoicesync.cli import app
from tests.helpers import World

RUN_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which backend the CLI's state is on (PostgreSQL through INVOICESYNC_STATE_URL)."""
    if request.param == "postgresql":
        monkeypatch.setenv("INVOICESYNC_STATE_URL", request.getfixturevalue("pg_url"))
    return str(request.param)


def test_a_writing_command_names_its_run_and_runs_tell_what_it_did(
    us: World, state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pushed = us.json("push", "INV-2026-0101", "INV-2026-0102")
    sent = us.json("send", "INV-2026-0101")
    assert RUN_ID.fullmatch(pushed["run_id"]) and RUN_ID.fullmatch(sent["run_id"])
    assert pushed["run_id"] != sent["run_id"]

    listed = us.json("runs")
    assert listed["schema"] == "invoicesync.runs/1"
    assert [(r["run_id"], r["command"], r["exit_code"], r["status"]) for r in listed["runs"]] == [
        (pushed["run_id"], "push --json", 0, "finished"),
        (sent["run_id"], "send --json", 0, "finished"),
    ]
    assert [r["counts"] for r in listed["runs"]] == [
        {"created": 2, "adopted": 0, "updated": 0, "failed": 0, "sent": 0},
        {"created": 0, "adopted": 0, "updated": 0, "failed": 0, "sent": 1},
    ]
    assert all(r["host"] and r["user"] and not r["interrupted"] for r in listed["runs"])

    story = us.json("history", "INV-2026-0101")
    assert story["schema"] == "invoicesync.history/2" and "run_id" not in story
    assert [(e["action"], e["target"]["kind"], e["run_id"]) for e in story["events"]] == [
        ("pushed", "invoice", pushed["run_id"]),
        ("sent", "invoice", sent["run_id"]),
    ]
    assert story["events"][1]["reason"] == "to ap@acme-localization.example"
    assert all(e["request_id"] for e in story["events"])

    one = us.json("runs", "show", pushed["run_id"][:8])
    assert one["schema"] == "invoicesync.run/2" and one["run"]["run_id"] == pushed["run_id"]
    assert [(e["invoice"], e["action"]) for e in one["events"]] == [
        ("INV-2026-0101", "pushed"),
        ("INV-2026-0102", "pushed"),
    ]
    monkeypatch.setenv("COLUMNS", "80")
    for args in (("history", "INV-2026-0101"), ("runs",), ("runs", "show", sent["run_id"])):
        table = us.run(*args)
        assert table.exit_code == 0, table.stderr
        lines = table.stdout.splitlines()
        assert lines and max(len(line) for line in lines) <= 80, table.stdout
    assert sent["run_id"][:8] in us.run("runs").stdout


@pytest.mark.loopback
def test_after_the_demo_history_tells_each_invoice_story_and_runs_count_it(
    tmp_path: Path, state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    keep = tmp_path / "kept"
    demo = CliRunner().invoke(app, ["demo", "--keep", str(keep)])
    assert demo.exit_code == 0, demo.stdout + demo.stderr
    monkeypatch.setenv("INVOICESYNC_HOME", str(keep / "app"))

    def read(*args: str) -> dict[str, object]:
        result = CliRunner().invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.stderr
        return dict(json.loads(result.stdout))

    history = read("history", "INV-2026-0102", "INV-2026-0103", "CN-2026-0001")
    events = history["events"]
    assert isinstance(events, list)
    by_invoice: dict[str, list[tuple[str, str]]] = {}
    for e in events:
        by_invoice.setdefault(e["invoice"], []).append((e["action"], e["target"]["kind"]))
    assert by_invoice == {
        "INV-2026-0102": [("pushed", "invoice"), ("updated", "invoice"), ("sent", "invoice")],
        "INV-2026-0103": [("pushed", "invoice"), ("credited", "credit_note")],
        "CN-2026-0001": [
            ("pushed", "credit_note"),
            ("credit applied", "credit_note"),
            ("sent", "credit_note"),
        ],
    }
    credited = next(e for e in events if e["action"] == "credited")
    assert credited["reason"] == "by CN-2026-0001 55.00"
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)

    listed = read("runs")["runs"]
    assert isinstance(listed, list)
    assert {r["run_id"] for r in listed} >= {e["run_id"] for e in events}
    done = [(r["command"], r["counts"]["created"], r["counts"]["updated"], r["counts"]["sent"])
            for r in listed]  # fmt: skip
    assert done[0] == ("push --all", 8, 0, 0)
    assert ("push --all --update", 0, 1, 0) in done
    assert ("send --to", 0, 0, 1) in done and done[-1] == ("send", 0, 0, 1)
    # The push stopped at a customer QuickBooks spells differently (exit 5, as the demo
    # expects) is a failed run, and the invoice's history says why.
    ended = {(r["exit_code"], r["status"]) for r in listed}
    assert ended == {(0, "finished"), (5, "failed")}
    (stopped,) = [r for r in listed if r["exit_code"] == 5]
    assert (stopped["command"], stopped["counts"]["failed"]) == ("push", 1)
    (refused,) = read("history", "INV-2026-0112")["events"]  # type: ignore[misc]
    assert (refused["action"], refused["target"], refused["run_id"]) == (
        "refused",
        None,
        stopped["run_id"],
    )
    assert "not found" in refused["reason"] and refused["detail"]["exit_code"] == 5
