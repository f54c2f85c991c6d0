"""The docs cannot drift from the code: generated reference, and everything enumerable."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import jsonschema
import pytest
import typer

from invoicesync.cli import app
from invoicesync.errors import EXIT_CODES

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
ALL_DOCS = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))


def _reference_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "command_reference", ROOT / "scripts" / "command_reference.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_command_reference_is_current() -> None:
    expected = _reference_module().render()
    current = (DOCS / "commands.md").read_text(encoding="utf-8")
    assert current == expected, "docs/commands.md is stale: run `make docs`"


def _commands() -> list[tuple[str, object]]:
    root = typer.main.get_command(app)
    found = []

    def walk(cmd: object, path: str) -> None:
        found.append((path, cmd))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}".strip())

    walk(root, "")
    return found


def test_every_command_and_option_is_documented() -> None:
    generated = (DOCS / "commands.md").read_text(encoding="utf-8")
    for path, cmd in _commands():
        if path:
            assert f"`invoicesync {path}`" in generated, path
            assert path.split()[-1] in ALL_DOCS.replace("commands.md", "")
        for param in getattr(cmd, "params", []):
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in generated, f"{path} {opt}"


def test_every_env_var_is_documented() -> None:
    used = set()
    for path in (ROOT / "src").rglob("*.py"):
        used |= set(re.findall(r"INVOICESYNC_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    config_doc = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = sorted(v for v in used if f"`{v}`" not in config_doc)
    assert not missing


def test_every_exit_code_is_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    exit_doc = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    for code in EXIT_CODES:
        assert re.search(rf"^\| {code} \|", readme, re.M), code
        assert re.search(rf"^\| {code} \|", exit_doc, re.M), code


def test_links_in_readme_and_docs_resolve() -> None:
    for page in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} → {target}"


@pytest.mark.parametrize("company", ["us", "uk", "es"])
def test_samples_follow_the_shipped_schema(company: str) -> None:
    data = ROOT / "src" / "invoicesync" / "data"
    schema = json.loads((data / "invoice.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    for invoice in json.loads(
        (data / "samples" / company / "invoices.json").read_text(encoding="utf-8")
    ):
        jsonschema.validate(invoice, schema)


def test_readme_has_exactly_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


# --- statements of numbers, states, commands and options, held against the code -------------


def _sentence(page: str, pattern: str) -> tuple[str, ...]:
    text = re.sub(r"\s+", " ", (DOCS / page).read_text(encoding="utf-8"))
    found = re.search(pattern, text)
    assert found, f"{page}: {pattern!r} not found"
    return found.groups()


def test_candidate_weights_and_the_best_threshold_are_the_codes() -> None:
    from invoicesync.matching import MARGIN, NEAR_DAYS, STRONG, WEIGHTS

    doc, customer, total, day, near_days, near, currency = map(
        int,
        _sentence(
            "json.md",
            r"same DocNumber (\d+), same customer (\d+), same total (\d+), same date (\d+) "
            r"\(within (\d+) days (\d+)\), same currency (\d+)",
        ),
    )
    assert (doc, customer, total, day, currency) == (
        WEIGHTS["doc_number"],
        WEIGHTS["customer"],
        WEIGHTS["total"],
        WEIGHTS["date"],
        WEIGHTS["currency"],
    )
    assert (near_days, near) == (NEAR_DAYS, WEIGHTS["date"] // 2)
    json_best = _sentence("json.md", r"scores at least (\d+) and leads the next by (\d+)")
    faq_best = _sentence(
        "faq.md", r"at least \*\*(\d+)\*\* and leads the next by at least \*\*(\d+)\*\*"
    )
    assert tuple(map(int, json_best)) == tuple(map(int, faq_best)) == (STRONG, MARGIN)
    faq = (DOCS / "faq.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| (same [^|]+?) \| ([\d / ]+) \|$", faq, re.M))
    assert {k: v.strip() for k, v in table.items()} == {
        "same customer": str(WEIGHTS["customer"]),
        "same total (within a cent, and only in the same currency)": str(WEIGHTS["total"]),
        f"same date / 1–{NEAR_DAYS} days apart": f"{WEIGHTS['date']} / {WEIGHTS['date'] // 2}",
        "same DocNumber": str(WEIGHTS["doc_number"]),
        "same currency": str(WEIGHTS["currency"]),
    }


def test_the_candidate_example_scores_what_the_code_would() -> None:
    from invoicesync.matching import WEIGHTS

    text = (DOCS / "json.md").read_text(encoding="utf-8")
    example = json.loads(
        re.search(r'```json\n(\{"schema": "invoicesync.candidates/2".*?)```', text, re.S)[1]
    )  # type: ignore[index]
    points = {"same customer": "customer", "same total": "total", "same date": "date"}
    for candidate in example["candidates"]:
        expected = sum(WEIGHTS[points[r]] for r in candidate["reasons"]) + WEIGHTS["currency"]
        assert candidate["score"] == expected


def _backticked(words: str) -> list[str]:
    return re.findall(r"`([^`]+)`", words)


def test_payment_states_in_the_docs_are_what_the_code_reports() -> None:
    from decimal import Decimal

    from invoicesync.targets.b2brouter.api.models import DELIVERY_STATES
    from invoicesync.targets.quickbooks.api.rows import Entity, QBOInvoice

    (json_states,) = _sentence("json.md", r"\*\*An invoice\.\*\* `state`: (.*?) \(no longer")
    (csv_states,) = _sentence("after-push.md", r"\| `state` \| (.*?); for a credit note")
    produced = {
        QBOInvoice.from_row(
            {"Id": "1", "TotalAmt": str(total), "Balance": str(balance), "PrivateNote": note},
            Entity.INVOICE,
        ).status
        for total in (Decimal(0), Decimal(10))
        for balance in (Decimal(0), Decimal(5), Decimal(10))
        for note in ("", "Voided")
        if balance <= total
    }
    assert set(_backticked(json_states)) == set(_backticked(csv_states)) == produced | {"deleted"}
    (b2b,) = _sentence("json.md", r"the invoice's B2BRouter state: (.*?), or `deleted`")
    assert _backticked(b2b) == list(DELIVERY_STATES)


def test_a_voided_invoice_has_no_amount_paid_in_the_docs_as_in_the_code() -> None:
    row = _sentence("after-push.md", r"\| `amount_paid` \| ([^|]*) \|")[0]
    assert "`0.00` when voided" not in row and "deleted or voided" in row
    assert "voided invoice's `amount_paid` is `null`" in re.sub(
        r"\s+", " ", (DOCS / "json.md").read_text(encoding="utf-8")
    )


def test_the_readme_command_table_names_every_command_with_real_options() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    root = typer.main.get_command(app)
    commands = dict(_commands())
    rows = re.findall(r"^\| `([^`]+)` \| [^|]", readme, re.M)
    named = set()
    for row in rows:
        words = row.split()
        path = " ".join(words[:2]) if words[0] == "sandbox" else words[0]
        assert path in commands, row
        named.add(path.split()[0])
        opts = {o for p in getattr(commands[path], "params", []) for o in p.opts}
        for opt in re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", row):
            assert opt in opts, f"README: {path} has no {opt}"
    assert named == set(getattr(root, "commands", {}))
    (globals_,) = _sentence("../README.md", r"Global options, before or after the command: (.*?);")
    root_opts = {o for p in root.params for o in p.opts}
    for opt in re.findall(r"--?[a-z][\w-]*", globals_):
        assert opt in root_opts, opt
    shown = {o for o in re.findall(r"--[a-z][\w-]*", globals_)}
    assert shown == {o for o in root_opts if o.startswith("--") and "completion" not in o}


def test_the_faq_says_prepare_creates_what_a_push_lacks() -> None:
    (answer,) = _sentence("faq.md", r"create customers, items, terms or tax codes\?\*\* (.*?)\*\*")
    assert not answer.startswith("No.")
    assert "`invoicesync prepare INV… | --all`" in answer and "prepare" in dict(_commands())
    assert "tax codes are listed, never created" in answer


def test_reconcile_states_in_json_md_are_the_codes() -> None:
    from invoicesync.ledger.base import DELIVERY_PROBLEMS
    from invoicesync.usecases.reconcile import DRIFT_STATES

    (listed,) = _sentence("json.md", r"`state`: `ok`; (.*?) The `details` name")
    documented = {"ok", *_backticked(listed)}
    code = (ROOT / "src" / "invoicesync" / "usecases" / "reconcile.py").read_text("utf-8")
    assigned = set(re.findall(r'state, details = "([a-z ]+)"', code))
    assigned |= set(re.findall(r'state = "([a-z ]+)"', code))
    states = assigned | set(DRIFT_STATES) | set(DELIVERY_PROBLEMS)
    assert states <= documented, states - documented
    assert documented - states <= {"details"}, documented - states  # the field, named


def test_the_sandbox_ports_in_the_docs_are_the_defaults() -> None:
    from invoicesync.targets.b2brouter.commands import DEFAULT_PORT
    from invoicesync.targets.quickbooks.settings import DEFAULT_LOCAL_PORT

    ports = _sentence("sandbox.md", r"default (\d+), and (\d+) for `--target b2brouter`")
    assert tuple(map(int, ports)) == (DEFAULT_LOCAL_PORT, DEFAULT_PORT)
    assert DEFAULT_LOCAL_PORT != DEFAULT_PORT
    (b2b,) = _sentence(
        "b2brouter.md", r"`invoicesync sandbox serve --target b2brouter` \(127\.0\.0\.1:(\d+)"
    )
    assert int(b2b) == DEFAULT_PORT


def test_push_statuses_in_json_md_are_the_codes() -> None:
    """Every status a push result can have is listed in docs/json.md, and nothing else; a
    result with any other status cannot be built (`PushResult.__post_init__`)."""
    from invoicesync.usecases.push_report import STATUSES, PushResult

    (listed,) = _sentence("json.md", r"`status` is one of (.*?)\. `problems` lists")
    while (bare := re.sub(r"\([^()]*\)", "", listed)) != listed:  # what each one means
        listed = bare
    named = _backticked(listed)
    assert set(named) == set(STATUSES), set(named) ^ set(STATUSES)
    with pytest.raises(ValueError, match="'sent' is not a push status"):
        PushResult("INV-1", "sent")
