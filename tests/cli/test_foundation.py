"""The CLI's contract: version, help, exit codes, config resolution, error messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from invoicesync import __version__
from invoicesync.cli import app
from invoicesync.config import load_settings
from invoicesync.errors import ConfigError
from invoicesync.targets.quickbooks import settings as qbo
from invoicesync.targets.quickbooks.settings import DEFAULT_ENDPOINTS
from invoicesync.usecases import invoices as invoices_usecase
from tests.helpers import World

COMMANDS = [
    "connect",
    "disconnect",
    "status",
    "ci-seed",
    "invoices",
    "push",
    "prepare",
    "list-candidates",
    "link",
    "unlink",
    "void",
    "payments",
    "send",
    "pdf",
    "history",
    "runs",
    "profiles",
    "reconcile",
    "sandbox",
    "demo",
]


def run(*args: str, input: str | None = None) -> object:
    return CliRunner().invoke(app, list(args), input=input)


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"invoicesync {__version__}\n")
    module = subprocess.run(
        [sys.executable, "-m", "invoicesync", "--version"], capture_output=True, text=True
    )
    assert module.stdout == f"invoicesync {__version__}\n"


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    section = result.stdout.split("Commands:", 1)[1]
    listed = [
        line.split()[0] for line in section.splitlines() if line.startswith("  ") and line.strip()
    ]
    assert sorted(listed) == sorted(COMMANDS)


def test_unknown_command_and_bad_option_exit_2() -> None:
    assert CliRunner().invoke(app, ["frobnicate"]).exit_code == 2
    assert CliRunner().invoke(app, ["push", "--nope"]).exit_code == 2
    assert CliRunner().invoke(app, ["--verbose", "--quiet", "invoices"]).exit_code == 2


def test_not_connected_exits_4(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 4
    assert result.stderr.startswith("error: not connected to QuickBooks: run `invoicesync connect`")


def test_malformed_config_exits_8_with_file_and_line(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True)
    config = isolated_env / "config.toml"
    config.write_text('environment = "sandbox"\nrealm_id = \n')
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 8
    assert f"{config}:2: invalid TOML" in result.stderr


def test_secret_in_config_is_refused(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "config.toml").write_text('client_secret = "abc"\n')
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 8
    assert "client_secret must not be stored in config.toml" in result.stderr


def test_missing_config_flag_file_exits_8(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--config", str(tmp_path / "nope.toml"), "status"])
    assert result.exit_code == 8


def test_unexpected_error_exits_1_without_traceback_unless_verbose(
    us: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("kaboom token=RT1-secret-value")

    from invoicesync.errors import register_secret

    register_secret("RT1-secret-value")
    monkeypatch.setattr(invoices_usecase, "invoice_rows", boom)
    quiet = us.run("invoices")
    assert quiet.exit_code == 1
    assert "unexpected error (RuntimeError)" in quiet.stderr and "--verbose" in quiet.stderr
    assert "Traceback" not in quiet.stderr and "RT1-secret-value" not in quiet.stderr
    loud = us.run("--verbose", "invoices")
    assert loud.exit_code == 1 and "Traceback" in loud.stderr
    assert "RT1-secret-value" not in loud.stderr


def test_interrupt_exits_130(us: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(invoices_usecase, "invoice_rows", interrupted)
    result = us.run("invoices")
    assert result.exit_code == 130
    assert "interrupted" in result.stderr


def test_non_interactive_never_prompts(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INVOICESYNC_CLIENT_ID")
    result = world.run("--non-interactive", "connect", input="should-not-be-read\n")
    assert result.exit_code == 4
    assert "no client id: pass --client-id or set INVOICESYNC_CLIENT_ID" in result.stderr


def test_settings_precedence(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "config.toml").write_text(
        'environment = "production"\nrealm_id = "from-file"\nsource = "file.json"\n'
        '[csv.columns]\nnumber = "Invoice #"\n'
    )
    s = load_settings(env={"INVOICESYNC_HOME": str(isolated_env)})
    own = qbo.of(s)
    assert (own.environment, own.realm_id, own.endpoints) == (
        "production",
        "from-file",
        DEFAULT_ENDPOINTS["production"],
    )
    assert s.csv.columns == {"number": "Invoice #"}
    env = {
        "INVOICESYNC_HOME": str(isolated_env),
        "INVOICESYNC_REALM_ID": "from-env",
        "INVOICESYNC_ENVIRONMENT": "sandbox",
        "INVOICESYNC_API_URL": "http://override",
    }
    s = load_settings(env=env, source=tmp_path / "flag.json")
    own = qbo.of(s)
    assert (own.environment, own.realm_id, s.source) == (
        "sandbox",
        "from-env",
        tmp_path / "flag.json",
    )
    assert own.endpoints.api_url == "http://override"
    assert own.endpoints.token_url == DEFAULT_ENDPOINTS["sandbox"].token_url
    with pytest.raises(ConfigError, match="unknown environment 'staging'"):
        load_settings(env={**env, "INVOICESYNC_ENVIRONMENT": "staging"})
    assert load_settings(env={**env, "INVOICESYNC_NON_INTERACTIVE": "1"}).non_interactive


def test_no_source_configured_exits_8(world: World) -> None:
    result = world.run("invoices")
    assert result.exit_code == 8
    assert "no source invoices configured: pass --source PATH" in result.stderr


def test_invoices_lists_source_with_link_state(us: World) -> None:
    assert us.run("push", "INV-2026-0101").exit_code == 0
    table = us.run("invoices")
    assert table.exit_code == 0
    assert "INV-2026-0101" in table.stdout and "1,740.00" in table.stdout
    unlinked = us.json("invoices", "--unlinked")
    numbers = [r["number"] for r in unlinked["invoices"]]
    assert "INV-2026-0101" not in numbers and "INV-2026-0108" in numbers
    assert unlinked["schema"] == "invoicesync.invoices/2"


def test_verbose_logs_each_quickbooks_answer_with_its_intuit_tid(us: World) -> None:
    result = us.run("--verbose", "status")
    assert result.exit_code == 0
    assert "GET companyinfo/9130350000000001 -> 200 (intuit_tid " in result.stderr
    quiet = us.run("status")
    assert "intuit_tid" not in quiet.stderr


def test_unknown_fields_are_shown_as_warnings(us: World) -> None:
    path = us.home.parent / "extra-fields.json"
    path.write_text(
        '[{"number": "W-1", "customer": {"name": "Contoso Ltd"}, "colour": "red",'
        ' "issue_date": "2026-10-01", "currency": "USD", "project_manager": "Ana",'
        ' "source": {"system": "s", "id": "1", "imported_by": "x"},'
        ' "lines": [{"service": "Translation", "quantity": "1", "unit_price": "1"}]}]'
    )
    result = us.run("--source", str(path), "invoices")
    assert result.exit_code == 0
    for field in ("colour", "project_manager", "source.imported_by"):
        assert f"invoice W-1: {field}: unknown field, ignored" in result.stderr, field


def test_unknown_fields_where_money_is_are_errors(us: World) -> None:
    """Inside the customer, a line or the totals any unknown field is refused."""
    path = us.home.parent / "extra-fields.json"
    path.write_text(
        '[{"number": "W-1", "customer": {"name": "Contoso Ltd", "vat": "x"}, "colour": "red",'
        ' "issue_date": "2026-10-01", "currency": "USD", "totals": {"grand": "1"},'
        ' "lines": [{"service": "Translation", "quantity": "1", "unit_price": "1", "note": "?"}]}]'
    )
    result = us.run("--source", str(path), "invoices")
    assert result.exit_code == 8
    for field in ("customer.vat", "lines[1].note", "totals.grand"):
        assert f"invoice W-1: {field}: unknown field that can change what is owed;" in (
            result.stderr
        ), field


def test_status_warns_when_the_refresh_token_expires_soon(us: World) -> None:
    import json as _json

    from invoicesync.errors import EXIT_OK

    path = us.home / "connection.json"
    data = _json.loads(path.read_text())
    data["refresh_expires_at"] = "2000-01-01T00:00:00+00:00"
    path.write_text(_json.dumps(data))
    # The refresh in `status` renews it; a connection whose expiry stays near must warn:
    from invoicesync.targets.quickbooks import auth

    original = auth.TokenManager._refresh_under_lock

    def keep_old_expiry(self: auth.TokenManager) -> None:
        original(self)
        self.connection.refresh_expires_at = "2000-01-01T00:00:00+00:00"

    us.monkeypatch.setattr(auth.TokenManager, "_refresh_under_lock", keep_old_expiry)
    result = us.run("status")
    assert result.exit_code == EXIT_OK
    assert (
        "the refresh token expires in 0 days; run `invoicesync connect` to reconnect"
        in result.stderr
    )


def test_settings_never_show_a_secret_in_their_repr(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repr ends up in --verbose tracebacks and debugger sessions: no secret may be in it."""
    isolated_env.mkdir(parents=True)
    env = {
        "INVOICESYNC_HOME": str(isolated_env),
        "INVOICESYNC_CLIENT_SECRET": "client-secret-value-1234",
        "INVOICESYNC_REFRESH_TOKEN": "refresh-token-seed-5678",
        "INVOICESYNC_B2BROUTER_API_KEY": "b2b-api-key-9012",
        "INVOICESYNC_STATE_URL": "postgresql://ann:pw-3456@db/books",
    }
    shown = repr(load_settings(env=env))
    for secret in ("client-secret-value-1234", "refresh-token-seed-5678", "pw-3456"):
        assert secret not in shown
    assert "b2b-api-key-9012" not in repr(
        load_settings(env={**env, "INVOICESYNC_PROFILE": "es"}, config_path=_es(isolated_env))
    )


def _es(home: Path) -> Path:
    path = home / "config.toml"
    path.write_text('[profiles.es]\ntarget = "b2brouter"\nb2brouter_account = "211"\n')
    return path
