"""Profiles: a QuickBooks company and a B2BRouter account side by side, each with its own
state, chosen with --profile or INVOICESYNC_PROFILE."""

from __future__ import annotations

import dataclasses
import json
import tomllib

from invoicesync.store import SQLiteStore
from invoicesync.targets.quickbooks.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from invoicesync.targets.quickbooks.settings import local_environment
from tests.b2brouter.world import CONFIG, QBO_URL, SAMPLES, B2BWorld, make_world

US_REALM = "9130350000000001"


def two_profiles(world: B2BWorld) -> None:
    for key, value in local_environment(QBO_URL, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).items():
        world.monkeypatch.setenv(key, value)
    us_source = SAMPLES / "us" / "invoices.json"
    es_source = SAMPLES / "es" / "invoices.json"
    world.config(
        f'timeout = 30\n\n[profiles.us]\ntarget = "quickbooks"\nsource = "{us_source}"\n\n'
        + CONFIG
        + f'source = "{es_source}"\n'
    )


def test_switching_between_a_quickbooks_company_and_a_b2brouter_account(
    monkeypatch, isolated_env
) -> None:
    world = make_world(monkeypatch, isolated_env)
    two_profiles(world)
    listed = json.loads(world.run("profiles", "--json").stdout)["profiles"]
    assert [(p["name"], p["target"], p["connected"]) for p in listed] == [
        ("es", "b2brouter", False),
        ("us", "quickbooks", False),
    ]
    assert world.run("--profile", "us", "connect", "--manual").exit_code == 0
    world.connect()
    listed = json.loads(world.run("--profile", "es", "profiles", "--json").stdout)["profiles"]
    assert [(p["name"], p["account"], p["environment"], p["selected"]) for p in listed] == [
        ("es", "211", "test", True),
        ("us", US_REALM, "local", False),
    ]
    table = world.run("profiles")
    assert "Traducciones Babel S.L." in table.stdout and "* es" not in table.stdout

    us = world.run("--profile", "us", "push", "--all", "--json")
    assert us.exit_code == 0, us.stderr
    assert json.loads(us.stdout)["realm_id"] == US_REALM
    monkeypatch.setenv("INVOICESYNC_PROFILE", "es")
    es = world.run("push", "--all", "--json")
    assert es.exit_code == 0, es.stderr
    assert json.loads(es.stdout)["realm_id"] == "b2brouter:211"
    monkeypatch.delenv("INVOICESYNC_PROFILE")

    # Each profile has its own state folder, holding only its own links.
    linked = {}
    for name, realm in (("us", US_REALM), ("es", "b2brouter:211")):
        store = SQLiteStore.open(world.home / "profiles" / name / "state.db")
        linked[name] = {ln.invoice_number for ln in store.links(realm)}
        store.close()
    assert linked["es"] == {"ES-2026-0101", "ES-2026-0102", "ES-2026-0103"}
    assert linked["us"] and not any(n.startswith("ES-") for n in linked["us"])
    assert not (world.home / "state.db").exists()
    es_numbers = {i["number"] for i in world.invoices()}
    assert {"ES-2026-0101", "ES-2026-0102", "ES-2026-0103"} <= es_numbers
    qbo_docs = {
        i.get("DocNumber") for i in world.qbo.company(US_REALM).entities["Invoice"].values()
    }
    assert not any(str(d).startswith("ES-") for d in qbo_docs)

    # connect wrote into each profile's table, never the top level.
    config = tomllib.loads((world.home / "config.toml").read_text(encoding="utf-8"))
    assert config["profiles"]["us"]["realm_id"] == US_REALM
    assert config["profiles"]["es"]["b2brouter_account"] == "211"
    assert "realm_id" not in config and config["timeout"] == 30
    # Without a profile: the top level, which is not connected.
    assert world.run("status").exit_code == 4
    assert world.run("--profile", "us", "status").exit_code == 0
    assert world.run("--profile", "es", "disconnect").exit_code == 0
    assert world.run("--profile", "es", "status").exit_code == 4
    assert world.run("--profile", "us", "status").exit_code == 0


def test_profile_errors_are_config_errors(monkeypatch, isolated_env) -> None:
    world = make_world(monkeypatch, isolated_env)
    unknown = world.run("--profile", "nope", "status")
    assert unknown.exit_code == 8 and "no profile 'nope' (profiles: es)" in unknown.stderr
    world.config(CONFIG + 'api_key = "test_local_es_key"\n')
    leaked = world.run("--profile", "es", "status")
    assert leaked.exit_code == 8 and "must not hold secrets (api_key)" in leaked.stderr
    assert "test_local_es_key" not in leaked.stderr
    world.config('[profiles.es]\ntarget = "xero"\n')
    bad = world.run("--profile", "es", "status")
    assert bad.exit_code == 8 and 'target must be "quickbooks" or "b2brouter"' in bad.stderr
    world.config('[profiles."../x"]\ntarget = "b2brouter"\n')
    assert world.run("profiles").exit_code == 8


def test_b2brouter_connect_needs_a_key_from_the_environment_or_a_terminal(
    monkeypatch, isolated_env
) -> None:
    world = make_world(monkeypatch, isolated_env)
    no_key = world.run("--profile", "es", "connect")
    assert no_key.exit_code == 4
    assert "set INVOICESYNC_B2BROUTER_API_KEY (it is never a flag)" in no_key.stderr
    monkeypatch.setenv("INVOICESYNC_B2BROUTER_API_KEY", "local_fr_live_key")
    wrong = world.run("--profile", "es", "connect")
    assert wrong.exit_code == 4 and "environment matches the account" in wrong.stderr
    assert not (world.home / "profiles" / "es" / "b2brouter.json").exists()
    monkeypatch.setenv("INVOICESYNC_B2BROUTER_ACCOUNT", "212")
    prod = world.run("--profile", "es", "connect")
    assert prod.exit_code == 0, prod.stderr
    assert "Lingua Franca SAS (212, production key)" in prod.stderr
    monkeypatch.delenv("INVOICESYNC_B2BROUTER_API_KEY")
    status = json.loads(world.run("--profile", "es", "status", "--json").stdout)
    assert (status["account"], status["environment"]) == ("212", "production")


def test_hostile_keys_urls_and_accounts_are_clear_errors(monkeypatch, isolated_env) -> None:
    world = make_world(monkeypatch, isolated_env)
    monkeypatch.setenv("INVOICESYNC_B2BROUTER_API_KEY", "test_local\nes key")
    bad_key = world.run("--profile", "es", "connect")
    assert bad_key.exit_code == 2 and "has characters a key cannot have" in bad_key.stderr
    assert "es key" not in bad_key.stderr
    monkeypatch.setenv("INVOICESYNC_B2BROUTER_API_KEY", "test_local_es_key")
    monkeypatch.setenv("INVOICESYNC_B2BROUTER_ACCOUNT", "211; DROP")
    bad_account = world.run("--profile", "es", "connect")
    assert bad_account.exit_code == 2 and "account id is a number" in bad_account.stderr
    monkeypatch.delenv("INVOICESYNC_B2BROUTER_ACCOUNT")
    monkeypatch.setenv("INVOICESYNC_B2BROUTER_URL", "ftp://b2b.test")
    bad_url = world.run("--profile", "es", "status")
    assert bad_url.exit_code == 8 and "b2brouter_url must be an http(s) address" in bad_url.stderr
    assert "Traceback" not in bad_key.stderr + bad_account.stderr + bad_url.stderr


def test_a_profile_has_its_own_aliases_and_income_account(tmp_path) -> None:
    from invoicesync.config import load_settings
    from invoicesync.targets.quickbooks import settings as qbo

    path = tmp_path / "config.toml"
    path.write_text(
        '[aliases.customers]\n"ACME" = "Acme Inc"\n\n'
        '[profiles.de]\n[profiles.de.aliases.customers]\n"ACME" = "Acme GmbH (DE)"\n'
        '[profiles.de.prepare]\nincome_account = "Erlöse"\n',
        encoding="utf-8",
    )
    env = {"INVOICESYNC_HOME": str(tmp_path / "home")}
    top = load_settings(env=env, config_path=path)
    de = load_settings(env=env, config_path=path, profile="de")
    assert dict(top.aliases.customers) == {"ACME": "Acme Inc"}
    assert qbo.of(top).prepare_income_account is None
    assert dict(de.aliases.customers) == {"ACME": "Acme GmbH (DE)"}
    assert qbo.of(de).prepare_income_account == "Erlöse"


def test_connect_and_status_show_the_calculation_settings_against_the_source(
    monkeypatch, isolated_env
) -> None:
    """As Protemos, the account's rounding settings against what the source
    computes (half up, round before sum on, taxes per line off), and where to change them."""
    world = make_world(monkeypatch, isolated_env)
    connected = world.connect()
    assert "round before sum is off, the source needs on" in connected.stderr
    assert "B2BRouter → Settings → Invoices and quotes" in connected.stderr
    status = json.loads(world.es("status", "--json").stdout)
    assert status["calculation"] == [
        {
            "setting": "rounding method",
            "required": "half_up",
            "current": "half_up",
            "matches": True,
        },
        {"setting": "round before sum", "required": "on", "current": "off", "matches": False},
        {"setting": "taxes per line", "required": "off", "current": "off", "matches": True},
    ]
    with world.b2b.lock:
        account = world.b2b.network.accounts[211]
        account.calc = dataclasses.replace(account.calc, round_before_sum=True)
    table = world.es("status")
    assert "off (the source needs on)" not in table.stdout
    assert "Calculation: round before sum" in table.stdout and table.stderr.count("needs") == 0
    again = world.connect()
    assert "Calculation settings match the source" in again.stderr


def test_each_target_reads_only_its_own_settings_section(tmp_path) -> None:
    """A profile's settings carry its target's section; the other target's accessor refuses
    it (exit 2) rather than reading B2BRouter's settings as a QuickBooks company's."""
    import pytest

    from invoicesync.config import load_settings
    from invoicesync.errors import ConfigError, UsageError
    from invoicesync.targets.b2brouter import settings as b2brouter
    from invoicesync.targets.quickbooks import settings as qbo

    path = tmp_path / "config.toml"
    path.write_text(
        'realm_id = "123"\n\n[profiles.es]\ntarget = "b2brouter"\nb2brouter_account = "211"\n',
        encoding="utf-8",
    )
    env = {"INVOICESYNC_HOME": str(tmp_path / "home"), "INVOICESYNC_B2BROUTER_URL": "http://x"}
    top = load_settings(env=env, config_path=path)
    es = load_settings(env=env, config_path=path, profile="es")
    assert qbo.of(top).realm_id == "123"
    assert (b2brouter.of(es).account, b2brouter.of(es).url) == ("211", "http://x")
    with pytest.raises(UsageError, match="the b2brouter target has no QuickBooks settings") as e:
        qbo.of(es)
    assert e.value.exit_code == 2
    with pytest.raises(UsageError, match="the quickbooks target has no B2BRouter settings"):
        b2brouter.of(top)
    # QuickBooks' environment is checked where it is used, not on a B2BRouter profile.
    staging = {**env, "INVOICESYNC_ENVIRONMENT": "staging"}
    assert b2brouter.of(load_settings(env=staging, config_path=path, profile="es")).account
    with pytest.raises(ConfigError, match="unknown environment 'staging'"):
        load_settings(env=staging, config_path=path)
