"""The recipes in the docs work as printed: cron's script under `env -i`, the Protemos map."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from invoicesync.cli import AppState
from invoicesync.cli import app as app_cli
from invoicesync.targets.quickbooks.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Sandbox,
    start_in_thread,
)
from invoicesync.targets.quickbooks.settings import local_environment
from tests.cli.test_connection import Live
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


def connect_as_documented(qbo: Sandbox, url: str, env: dict[str, str], app: Path) -> None:
    """docs/connecting.md's connect, with the variables it exports (the client id and secret in
    the environment), in-process through the sandbox's consent page; then the endpoints of the
    local sandbox in config.toml, which stand for Intuit's built-in production endpoints."""
    connect = block("connecting.md", "sh", "export INVOICESYNC_CLIENT_SECRET=")
    assert "export INVOICESYNC_CLIENT_ID=" in connect and "invoicesync connect" in connect
    local = local_environment(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    mp = pytest.MonkeyPatch()
    try:
        for key, value in {**local, **env}.items():
            mp.setenv(key, value)
        connected = CliRunner().invoke(
            app_cli, ["connect", "--port", "0"], obj=AppState(browser=Live.browser)
        )
    finally:
        mp.undo()
    assert connected.exit_code == 0, connected.stderr
    assert DEFAULT_CLIENT_SECRET not in (app / "config.toml").read_text(encoding="utf-8")
    endpoints = {k.removeprefix("INVOICESYNC_").lower(): v for k, v in local.items()}
    with (app / "config.toml").open("a", encoding="utf-8") as config:
        for key, value in endpoints.items():
            if key.endswith("_url"):
                config.write(f"{key} = {json.dumps(value)}\n")


def exported(script: str) -> dict[str, str]:
    """The variables a script exports, as `export NAME=value` lines (comments stripped)."""
    found = re.findall(r"^export (INVOICESYNC_\w+)=(\S+)", script, re.M)
    return dict(found)


@pytest.mark.loopback
def test_the_cron_script_runs_under_env_i_after_the_documented_connect(
    tmp_path: Path,
) -> None:
    qbo = Sandbox(["us"], auto_approve=True)
    server = start_in_thread(qbo)
    try:
        run_the_cron_recipe(qbo, server.url, tmp_path)
    finally:
        server.shutdown()
        server.server_close()


def run_the_cron_recipe(qbo: Sandbox, url: str, tmp_path: Path) -> None:
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
    # "Connect once as the same user with the same two variables set": HOME and TOKEN_FILE.
    variables = exported(script)
    same = {k: variables[k] for k in ("INVOICESYNC_HOME", "INVOICESYNC_TOKEN_FILE")}
    connect_as_documented(qbo, url, same, app)
    nightly = srv / "nightly.sh"
    nightly.write_text(script, encoding="utf-8")
    nightly.chmod(0o700)

    def cron() -> int:
        done = subprocess.run(["env", "-i", str(nightly)], capture_output=True, timeout=120)
        assert done.stdout == b"" and b"Traceback" not in done.stderr, done.stderr
        assert DEFAULT_CLIENT_SECRET.encode() not in done.stderr
        return done.returncode

    assert cron() == 0
    pushed = json.loads((srv / "last-push.json").read_text(encoding="utf-8"))
    assert pushed["summary"] == {"created": 8}
    assert json.loads((srv / "last-reconcile.json").read_text(encoding="utf-8"))["links"]
    (paid,) = srv.glob("paid-*.csv")  # the payments export for Protemos
    assert paid.read_text(encoding="utf-8").startswith("source_number,remote_id,")
    company = qbo.company(US)
    first = pushed["results"][0]["remote_id"]
    company.delete(
        "Invoice", {"Id": first, "SyncToken": company.entities["Invoice"][first]["SyncToken"]}
    )
    assert cron() == 10  # the next night notices: drift


def test_the_protemos_column_map_reads_a_list_export(world: World, tmp_path: Path) -> None:
    mapping = block("invoice-format.md", "toml", 'number = "Code"')
    world.home.mkdir(parents=True, exist_ok=True)
    (world.home / "config.toml").write_text(mapping, encoding="utf-8")
    export = tmp_path / "client-invoices.csv"
    export.write_text(  # a European export of the list, as docs/invoice-format.md describes it
        "Code;Client;Creation date;Due date;Currency;Net total;Tax;Total;Note;Status;Created by\n"
        "INV-2026-0101;Acme Localization Inc.;2026-10-01;2026-10-31;USD;1.740,00;365,40;"
        "2.105,40;Thanks!;Unpaid;Anna\n",
        encoding="utf-8",
    )
    world.monkeypatch.setenv("INVOICESYNC_SOURCE", str(export))
    result = world.run("invoices", "--json")
    assert result.exit_code == 0, result.stderr
    (invoice,) = json.loads(result.stdout)["invoices"]
    assert (invoice["number"], invoice["customer"], invoice["total"]) == (
        "INV-2026-0101",
        "Acme Localization Inc.",
        "2105.40",  # net 1740.00 + 21 % tax, checked against the list's own totals
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
        for ref in re.findall(r"[\w.:/-]+\.(?:md|py)\b", page.read_text(encoding="utf-8"))
    }
    missing = sorted(
        (page, ref)
        for page, ref in named
        if ref not in names and Path(ref).name not in names and not ref.startswith("http")
    )
    assert not missing


def yaml_step(page: str, containing: str) -> tuple[dict[str, str], str]:
    """One pipeline step of a YAML block, read as text (the suite has no YAML parser): its
    `INVOICESYNC_*: value` variables and its one-line `run:` or `- invoicesync` script."""
    text = block(page, "yaml", containing)
    variables = dict(re.findall(r"^\s+(INVOICESYNC_\w+): (\S+)", text, re.M))
    (command,) = re.findall(r"^\s+(?:run:|-) (invoicesync push .*)$", text, re.M)
    return variables, command


def ci_run(
    command: str, variables: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    """A step as a runner runs it: only its variables and a PATH with invoicesync on it."""
    path = f"{EXECUTABLE.parent}:/usr/bin:/bin"
    pairs = [f"{k}={v}" for k, v in {"PATH": path, **variables}.items()]
    done = subprocess.run(
        ["env", "-i", *pairs, "sh", "-c", command], cwd=cwd, capture_output=True, timeout=120
    )
    assert b"Traceback" not in done.stderr and DEFAULT_CLIENT_SECRET.encode() not in done.stderr
    return done


@pytest.mark.loopback
@pytest.mark.parametrize("pipeline", ["name: push-invoices", "push-invoices:"])
def test_the_ci_pipelines_push_as_written_under_env_i(
    sandbox: tuple[Sandbox, str], tmp_path: Path, pipeline: str
) -> None:
    qbo, url = sandbox
    variables, command = yaml_step("ci.md", pipeline)
    assert variables.pop("INVOICESYNC_ENVIRONMENT") == "production"
    grant = qbo.oauth.issue_grant(DEFAULT_CLIENT_ID, US)
    secrets = {  # the secret store's values; the local sandbox stands for Intuit
        **local_environment(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        "INVOICESYNC_REALM_ID": US,
        "INVOICESYNC_REFRESH_TOKEN": grant.refresh_token,
    }
    documented = {k: v for k, v in variables.items() if not v.startswith("${{")}
    named = set(variables) | {
        "INVOICESYNC_CLIENT_ID",
        "INVOICESYNC_CLIENT_SECRET",
        "INVOICESYNC_REALM_ID",
        "INVOICESYNC_REFRESH_TOKEN",
    }
    assert named <= set(secrets) | set(documented)  # every variable the doc names is set
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "invoices.json").write_bytes(
        (SAMPLES / "us" / "invoices.json").read_bytes()
    )
    env = {**secrets, **documented}
    first = ci_run(command, env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads((tmp_path / "push.json").read_bytes())["summary"] == {"created": 8}
    again = ci_run(command, env, tmp_path)  # the next run: the rotated token from the cache
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "push.json").read_bytes())["summary"] == {"skipped": 8}


@pytest.mark.loopback
def test_the_ci_sandbox_recipe_runs_as_written_under_env_i(tmp_path: Path) -> None:
    text = block("ci.md", "yaml", "sandbox serve")
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip() == "- run: |") + 1
    script = textwrap.dedent("\n".join(lines[start:]))
    assert "sleep 1" not in script  # a guess at when the server is up is a race
    script = script.replace("tests/fixtures/invoices.json", str(SAMPLES / "us" / "invoices.json"))
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    pairs = [f"PATH={EXECUTABLE.parent}:/usr/bin:/bin", f"RUNNER_TEMP={runner_temp}"]
    out_file, err_file = tmp_path / "out", tmp_path / "err"
    with out_file.open("wb") as out_f, err_file.open("wb") as err_f:
        proc = subprocess.Popen(  # files, not pipes: the sandbox left serving holds them open
            ["env", "-i", *pairs, "sh", "-ec", script],
            cwd=tmp_path,
            stdout=out_f,
            stderr=err_f,
            start_new_session=True,  # the script leaves its sandbox serving: stop the group
        )
        try:
            code = proc.wait(timeout=120)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
    out, err = out_file.read_bytes(), err_file.read_bytes()
    assert code == 0, err
    assert b"Traceback" not in err
    assert b"Lingua Franca Translations LLC" in out  # status, connected through the env file
    assert b"8 planned" in err
