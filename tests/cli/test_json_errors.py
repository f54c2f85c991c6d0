"""Under --json, every failure still answers with one JSON document on stdout."""

from __future__ import annotations

import json

from tests.helpers import World


def test_a_failure_before_any_output_writes_the_error_document(world: World) -> None:
    result = world.run("status", "--json")  # not connected
    assert result.exit_code == 4
    document = json.loads(result.stdout)
    assert document["schema"] == "invoicesync.error/1"
    assert document["exit_code"] == 4
    assert "not connected" in document["error"]
    assert "not connected" in result.stderr


def test_invalid_source_under_json_is_exit_8_with_a_document(us: World) -> None:
    bad = us.home.parent / "bad.json"
    bad.write_text("[{]", encoding="utf-8")
    us.monkeypatch.setenv("INVOICESYNC_SOURCE", str(bad))
    result = us.run("push", "--all", "--json")
    assert result.exit_code == 8
    document = json.loads(result.stdout)
    assert (document["schema"], document["exit_code"]) == ("invoicesync.error/1", 8)


def test_a_command_that_wrote_its_document_is_not_followed_by_a_second(us: World) -> None:
    source = us.home.parent / "unknown-client.json"
    record = {
        "number": "X-1",
        "customer": {"name": "Nobody We Know Ltd"},
        "issue_date": "2026-10-01",
        "currency": "USD",
        "lines": [{"service": "Translation", "quantity": "1", "unit_price": "10"}],
    }
    source.write_text(json.dumps([record]), encoding="utf-8")
    us.monkeypatch.setenv("INVOICESYNC_SOURCE", str(source))
    result = us.run("push", "X-1", "--json")
    assert result.exit_code == 5
    document = json.loads(result.stdout)  # exactly one document, or this would not parse
    assert document["schema"] == "invoicesync.push/2"
    assert document["error"] is None
    assert document["results"][0]["status"] == "failed"


def test_without_json_nothing_is_written_to_stdout_on_failure(world: World) -> None:
    result = world.run("status")
    assert result.exit_code == 4
    assert result.stdout == ""
