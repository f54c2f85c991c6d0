"""Help and messages say what is true: global options anywhere, readable help with examples,
push/unlink/adopt messages that match what happened."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from invoicesync.cli import app
from tests.cli.test_link import CONTOSO_EXTRA, qbo, with_extra
from tests.cli.test_push import invoice, write_source
from tests.helpers import US, World
from tests.test_docs import _reference_module

# The commands docs/commands.md documents (scripts/command_reference.py), less the root and
# the `sandbox` group: one list, so a new command cannot be documented but untested or back.
COMMANDS = [w for w in _reference_module().COMMANDS if w and w != ["sandbox"]]


def help_of(*words: str, flag: str = "--help") -> str:
    result = CliRunner().invoke(app, [*words, flag], prog_name="invoicesync")
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_help_is_readable_and_has_an_example(words: list[str]) -> None:
    text = help_of(*words)
    assert help_of(*words, flag="-h") == text
    assert not re.search(r"<(list\[\w+\]|str|int|float|path|bool)>", text), text
    assert re.search(r"^  Examples?:\n {4}invoicesync ", text, re.M), text


def test_every_command_is_covered_here() -> None:
    root = typer.main.get_command(app)
    names = {name for name in getattr(root, "commands", {}) if name != "sandbox"}
    assert names == {w[0] for w in COMMANDS if w[0] != "sandbox"}


def test_global_options_work_after_the_command(us: World) -> None:
    source = us.source("us")
    us.monkeypatch.delenv("INVOICESYNC_SOURCE")
    after = us.run("invoices", "--source", str(source), "--json", "-q")
    before = us.run("-q", "--source", str(source), "invoices", "--json")
    assert after.exit_code == 0, after.stderr
    assert after.stdout == before.stdout and '"INV-2026-0101"' in after.stdout
    listed = us.run("invoices", f"--source={source}", "--unlinked")
    assert listed.exit_code == 0 and "INV-2026-0101" in listed.stdout
    assert us.run("invoices", "--", "--source").exit_code == 2  # after `--`, not an option


def test_wait_must_not_be_negative(us: World) -> None:
    us.source("us")
    result = us.run("push", "--all", "--wait", "-5")
    assert result.exit_code == 2
    assert "Invalid value for '--wait': Input should be greater than or equal to 0" in result.stderr


def test_push_with_neither_invoices_nor_all_says_which(us: World) -> None:
    us.source("us")
    neither = us.run("push")
    assert neither.exit_code == 2
    assert "not both" not in neither.stderr
    assert "name the invoices to push" in neither.stderr
    both = us.run("push", "INV-2026-0101", "--all")
    assert both.exit_code == 2 and "not both" in both.stderr


def test_skipped_drafts_show_their_total(us: World) -> None:
    us.source("us")
    result = us.json("push", "INV-2026-0108")
    assert result["results"][0]["status"] == "skipped"
    assert (result["results"][0]["total"], result["results"][0]["currency"]) == ("120.00", "USD")
    assert "120.00 USD" in us.run("push", "INV-2026-0108").stdout


def test_unlink_of_an_unknown_number_is_a_usage_error(us: World) -> None:
    us.source("us")
    typo = us.run("unlink", "INV-2026-999")
    assert typo.exit_code == 2
    assert "INV-2026-999 is neither linked nor in the source" in typo.stderr
    known = us.run("unlink", "INV-2026-0101")
    assert known.exit_code == 0 and "INV-2026-0101 is not linked; nothing to do." in known.stderr


def test_adopted_invoices_say_where_they_came_from(us: World) -> None:
    with_extra(us, CONTOSO_EXTRA)
    assert us.run("push", "INV-2026-0111", "INV-2026-0106").exit_code == 0
    (us.home / "state.db").unlink()  # a new machine, or a lost database
    again = us.json("push", "INV-2026-0106")["results"][0]
    assert again["status"] == "adopted"
    # The lost database took this state's origin with it: the marker's origin is another's.
    assert re.fullmatch(
        r"carries our marker, created by another machine or by a state since lost "
        r"\(origin [0-9a-f]{16}\); linked",
        again["message"],
    ), again["message"]
    # Made outside invoicesync (no marker), then voided in QuickBooks:
    company = us.sandbox.company(US)
    pushed = next(i for i in us.invoices() if i.get("DocNumber") == "INV-2026-0111")
    body = dict(pushed, PrivateNote="")
    company.update("Invoice", body)
    company.void({"Id": pushed["Id"], "SyncToken": qbo(us, pushed["Id"])["SyncToken"]})
    adopted = us.json("push", "INV-2026-0111", "--adopt-existing")["results"][0]
    assert adopted["status"] == "adopted"
    assert adopted["message"].startswith("made outside invoicesync; linked as asked")
    assert f"QuickBooks invoice {pushed['Id']} is VOIDED" in adopted["message"]
    voided = f"QuickBooks invoice {pushed['Id']} is VOIDED: check it there"
    assert adopted["warnings"][0] == voided


def test_a_typo_in_a_config_key_names_the_closest_key(us: World) -> None:
    us.source("us")
    us.home.mkdir(parents=True, exist_ok=True)
    (us.home / "config.toml").write_text('tokenfile = "/x"\nsorce = "y"\nzzz = 1\n')
    result = us.run("invoices")
    assert result.exit_code == 8
    assert (
        "unknown setting(s): sorce (did you mean source?), tokenfile (did you mean "
        "token_file?), zzz" in result.stderr
    )


@pytest.mark.parametrize(
    ("target", "server", "port"),
    [
        ("quickbooks", "invoicesync.targets.quickbooks.sandbox.server.SandboxServer", 8770),
        ("b2brouter", "invoicesync.targets.b2brouter.sandbox.B2BRouterServer", 8771),
    ],
)
def test_the_two_sandboxes_default_to_different_ports(
    monkeypatch: pytest.MonkeyPatch, target: str, server: str, port: int
) -> None:
    asked: list[int] = []

    def taken(*args: object, port: int) -> None:
        asked.append(port)
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(server, taken)
    result = CliRunner().invoke(app, ["sandbox", "serve", "--target", target])
    assert result.exit_code == 2
    assert asked == [port]
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_help_usage_names_repeatable_arguments_once(words: list[str]) -> None:
    usage = help_of(*words).split("\n\n")[0]
    assert "...." not in usage, usage  # `INV......` was the metavar and click's ellipsis


def test_a_customer_missing_in_quickbooks_points_at_prepare(us: World) -> None:
    write_source(us, [invoice("X-1", "Brand New Client GmbH")])
    result = us.run("push", "X-1", "--json")
    assert result.exit_code == 5, result.stderr
    (row,) = json.loads(result.stdout)["results"]
    assert "customer 'Brand New Client GmbH': not found in QuickBooks" in row["message"]
    assert "`invoicesync prepare X-1` creates them" in row["message"]
    assert us.run("prepare", "X-1").exit_code == 0  # the hint works as said
    assert us.run("push", "X-1").exit_code == 0


def test_send_of_a_number_in_no_source_says_it_is_neither_linked_nor_there(us: World) -> None:
    us.source("us")
    result = us.run("send", "NOPE", "--json")
    assert result.exit_code == 2
    (row,) = json.loads(result.stdout)["results"]
    assert row["message"] == (
        "NOPE is neither linked nor in the source; `invoicesync invoices` lists the numbers"
    )
    unpushed = us.run("send", "INV-2026-0101", "--json")
    assert unpushed.exit_code == 2
    (row,) = json.loads(unpushed.stdout)["results"]
    assert row["message"] == "INV-2026-0101 is not linked to QuickBooks; push or link it first"


def test_push_without_a_source_exits_as_exit_codes_md_says(world: World) -> None:
    result = world.run("push", "--all")
    assert result.exit_code == 8
    assert "no source invoices configured: pass --source PATH" in result.stderr
    doc = (Path(__file__).parents[2] / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    (row,) = re.findall(r"^\| 8 \|.*$", doc, re.M)
    assert "no source configured" in row
    (usage,) = re.findall(r"^\| 2 \|.*$", doc, re.M)
    assert "source" not in usage.replace("not in the source", "")


@pytest.mark.loopback
@pytest.mark.parametrize(
    ("target", "server", "variable"),
    [
        (
            "quickbooks",
            "invoicesync.targets.quickbooks.sandbox.server.SandboxServer",
            "INVOICESYNC_REFRESH_TOKEN",
        ),
        (
            "b2brouter",
            "invoicesync.targets.b2brouter.sandbox.B2BRouterServer",
            "INVOICESYNC_B2BROUTER_URL",
        ),
    ],
)
def test_sandbox_serve_writes_its_env_file_whole_once_it_listens(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, target: str, server: str, variable: str
) -> None:
    env_file = tmp_path / "sandbox.env"
    seen: list[bool] = []

    def serve_forever(self: object, *args: object, **kwargs: object) -> None:
        seen.append(env_file.exists())  # listening: the file is there before any request

    monkeypatch.setattr(f"{server}.serve_forever", serve_forever)
    result = CliRunner().invoke(
        app, ["sandbox", "serve", "--port", "0", "--target", target, "--env-file", str(env_file)]
    )
    assert result.exit_code == 0, result.stderr
    assert seen == [True]
    written = env_file.read_text(encoding="utf-8").splitlines()
    shown = result.stdout.splitlines()  # redacts a secret this process has seen before
    assert len(shown) == len(written)
    for out, line in zip(shown, written, strict=True):
        assert out == line or (out.endswith("=***") and line.startswith(out[:-3])), (out, line)
    assert f"export {variable}=" in result.stdout
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"  # it holds sandbox credentials


def test_send_with_a_broken_source_keeps_its_own_message(us: World) -> None:
    broken = us.home.parent / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    us.monkeypatch.setenv("INVOICESYNC_SOURCE", str(broken))
    result = us.run("send", "NOPE", "--json")
    assert result.exit_code == 2, result.stderr
    (row,) = json.loads(result.stdout)["results"]
    assert row["message"] == "NOPE is not linked to QuickBooks; push or link it first"
