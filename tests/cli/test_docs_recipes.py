"""The recipes in the docs work as printed: cron's script under `env -i`, the Protemos map."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from invoicesync.config import local_environment
from invoicesync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, start_in_thread
from tests.helpers import SAMPLES, US, World

DOCS = Path(__file__).parents[2] / "docs"
EXECUTABLE = Path(sys.executable).parent / "invoicesync"


def block(page: str, language: str, containing: str) -> str:
    text = (DOCS / page).read_text(encoding="utf-8")
    found = [b for b in re.findall(rf"```{language}\n(.*?)```", text, re.S) if containing in b]
    assert len(found) == 1, f"{page}: one ```{language} block with {containing!r}"
    return found[0]


@pytest.fixture
def sandbox() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(["us"])
    server = start_in_thread(sandbox)
    yield sandbox, server.url
    server.shutdown()
    server.server_close()


@pytest.mark.loopback
def test_the_cron_script_runs_under_env_i(sandbox: tuple[Sandbox, str], tmp_path: Path) -> None:
    qbo, url = sandbox
    srv, exports = tmp_path / "srv", tmp_path / "exports"
    exports.mkdir()
    (exports / "invoices.json").write_bytes((SAMPLES / "us" / "invoices.json").read_bytes())
    script = block("cron.md", "sh", "#!/bin/sh")
    assert "/srv/invoicesync/venv/bin/invoicesync" in script
    script = script.replace("/srv/invoicesync/venv/bin/invoicesync", str(EXECUTABLE))
    script = script.replace("/srv/exports/invoices", str(exports))
    script = script.replace("/srv/invoicesync", str(srv))
    app = srv / "app"
    app.mkdir(parents=True)
    # What `connect` leaves behind for that user: config.toml and the token file.
    env = local_environment(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    endpoints = {k.removeprefix("INVOICESYNC_").lower(): v for k, v in env.items()}
    settings = {
        "environment": "local",
        "realm_id": US,
        "client_id": DEFAULT_CLIENT_ID,
        "token_file": str(app / "tokens.json"),
        **{k: v for k, v in endpoints.items() if k.endswith("_url")},
    }
    (app / "config.toml").write_text(
        "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()), encoding="utf-8"
    )
    grant = qbo.oauth.issue_grant(DEFAULT_CLIENT_ID, US)
    tokens = {f"local:{US}:refresh_token": grant.refresh_token}
    tokens[f"local:{US}:client_secret"] = DEFAULT_CLIENT_SECRET
    (app / "tokens.json").write_text(json.dumps(tokens), encoding="utf-8")
    nightly = srv / "nightly.sh"
    nightly.write_text(script, encoding="utf-8")
    nightly.chmod(0o700)

    def cron() -> int:
        done = subprocess.run(["env", "-i", str(nightly)], capture_output=True, timeout=120)
        assert done.stdout == b"" and b"Traceback" not in done.stderr, done.stderr
        return done.returncode

    assert cron() == 0
    pushed = json.loads((srv / "last-push.json").read_text(encoding="utf-8"))
    assert pushed["summary"] == {"created": 8}
    assert json.loads((srv / "last-reconcile.json").read_text(encoding="utf-8"))["links"]
    (paid,) = srv.glob("paid-*.csv")  # the payments export for Protemos
    assert paid.read_text(encoding="utf-8").startswith("source_number,qbo_id,")
    company = qbo.company(US)
    first = pushed["results"][0]["qbo_id"]
    company.delete(
        "Invoice", {"Id": first, "SyncToken": company.entities["Invoice"][first]["SyncToken"]}
    )
    assert cron() == 10  # the next night notices: drift


def test_the_protemos_column_map_reads_a_list_export(world: World, tmp_path: Path) -> None:
    mapping = block("invoice-format.md", "toml", 'number = "Code"')
    world.home.mkdir(parents=True, exist_ok=True)
    (world.home / "config.toml").write_text(mapping, encoding="utf-8")
    export = tmp_path / "client-invoices.csv"
    # The invoice list as docs/invoice-format.md shapes it: one row per invoice, a European
    # export (`;`, decimal commas), what the list does not say set once in [csv.defaults].
    export.write_text(
        "Code;Client;Creation date;Due date;Currency;Net total;Tax;Total;Note;Status;Created by\n"
        "INV-2026-0101;Acme Localization Inc.;2026-10-01;2026-10-31;USD;1.740,00;365,40;"
        "2.105,40;Thanks!;Sent;Anna\n",
        encoding="utf-8",
    )
    world.monkeypatch.setenv("INVOICESYNC_SOURCE", str(export))
    result = world.run("invoices", "--json")
    assert result.exit_code == 0, result.stderr
    (invoice,) = json.loads(result.stdout)["invoices"]
    assert (invoice["number"], invoice["customer"], invoice["total"]) == (
        "INV-2026-0101",
        "Acme Localization Inc.",
        "2105.40",
    )
    assert invoice["invoice"]["due_date"] == "2026-10-31"
    assert invoice["invoice"]["note"] == "Thanks!"
    assert "column 'Created by' is not a known field, ignored" in result.stderr


def test_docs_name_only_files_that_are_in_the_repository() -> None:
    root = DOCS.parent
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    names = {Path(p).name for p in tracked} | {p for p in tracked}
    pages = [root / "README.md", *DOCS.glob("*.md")]
    named = {
        (page.name, ref)
        for page in pages
        for ref in re.findall(r"[\w./-]+\.(?:md|py)\b", page.read_text(encoding="utf-8"))
    }
    missing = sorted(
        (page, ref)
        for page, ref in named
        if ref not in names and Path(ref).name not in names and not ref.startswith("http")
    )
    assert not missing
