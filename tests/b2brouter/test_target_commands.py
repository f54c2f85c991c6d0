"""The connection commands reach the configured target through the registry; a flag the
target has no use for is refused by name, never silently ignored."""

from __future__ import annotations

from tests.b2brouter.world import ES_KEY, make_world


def test_a_quickbooks_flag_given_to_a_b2brouter_connect_is_refused_by_name(
    monkeypatch, isolated_env
) -> None:
    world = make_world(monkeypatch, isolated_env)
    monkeypatch.setenv("INVOICESYNC_B2BROUTER_API_KEY", ES_KEY)
    result = world.es("connect", "--manual", "--client-id", "abc")
    assert result.exit_code == 2, result.stderr
    assert "--manual, --client-id: not for a B2BRouter profile" in result.stderr
    assert "Traceback" not in result.stderr
    listed = world.run("--profile", "es", "profiles", "--json")
    assert '"company": null' in listed.stdout  # no connection was stored
    assert world.es("connect").exit_code == 0
    listed = world.run("--profile", "es", "profiles", "--json")
    assert '"company": "Traducciones Babel S.L."' in listed.stdout


def test_ci_seed_on_a_b2brouter_profile_says_there_is_no_refresh_token(
    monkeypatch, isolated_env
) -> None:
    world = make_world(monkeypatch, isolated_env)
    world.connect()
    result = world.es("ci-seed", "--to-terminal")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "a B2BRouter profile has no refresh token to seed" in result.stderr
    assert ES_KEY not in result.stderr


def test_sandbox_serve_refuses_quickbooks_sandbox_flags_for_b2brouter(
    monkeypatch, isolated_env
) -> None:
    world = make_world(monkeypatch, isolated_env)
    result = world.run("sandbox", "serve", "--target", "b2brouter", "--limits", "off")
    assert result.exit_code == 2
    assert "--limits: only for the QuickBooks sandbox (--target quickbooks)" in result.stderr


def test_sandbox_serve_names_the_known_targets_for_an_unknown_one(
    monkeypatch, isolated_env
) -> None:
    world = make_world(monkeypatch, isolated_env)
    result = world.run("sandbox", "serve", "--target", "xero")
    assert result.exit_code == 2
    assert "unknown target 'xero': use one of quickbooks, b2brouter" in result.stderr
