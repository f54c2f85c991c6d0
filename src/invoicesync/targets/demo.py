"""`invoicesync demo`: the whole story against a throw-away local sandbox, in a few seconds.

It runs the real commands, in-process, against a sandbox served on loopback, with an app dir
and a token file in a temporary folder: nothing touches the user's config or keyring, and
nothing is left behind unless `--keep` names a folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from invoicesync.cli import render
from invoicesync.errors import EXIT_PREREQUISITE, EXIT_UNEXPECTED
from invoicesync.targets.quickbooks.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Sandbox,
    start_in_thread,
)
from invoicesync.targets.quickbooks.settings import local_environment

ENV_KEYS = (
    "INVOICESYNC_HOME",
    "INVOICESYNC_ENVIRONMENT",
    "INVOICESYNC_API_URL",
    "INVOICESYNC_AUTH_URL",
    "INVOICESYNC_TOKEN_URL",
    "INVOICESYNC_REVOKE_URL",
    "INVOICESYNC_CLIENT_ID",
    "INVOICESYNC_CLIENT_SECRET",
    "INVOICESYNC_TOKEN_FILE",
    "INVOICESYNC_SOURCE",
    "INVOICESYNC_REALM_ID",
    "INVOICESYNC_REFRESH_TOKEN",
    "INVOICESYNC_B2BROUTER_API_KEY",
)


@dataclass(frozen=True)
class Step:
    say: str
    args: tuple[str, ...]
    expect: int = 0


def _data(*parts: str) -> Path:
    return Path(str(resources.files("invoicesync").joinpath("data", *parts)))


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    for key in ENV_KEYS:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _browser(url: str) -> str:
    """A headless browser: the sandbox auto-approves, so following redirects is consent."""
    return str(httpx.get(url, follow_redirects=True, timeout=10).url)


def run_demo(invoke: Callable[[list[str], Any], int], keep: Path | None = None) -> int:
    """Run every step; `invoke(args, browser)` runs one CLI command and returns its exit code."""
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="invoicesync-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(["us"], auto_approve=True)
    server = start_in_thread(sandbox)
    try:
        source = work / "invoices.json"
        shutil.copy(_data("samples", "us", "invoices.json"), source)
        extras = work / "extras.json"
        shutil.copy(_data("demo", "extras.json"), extras)
        url = server.url
        env = {
            **local_environment(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            "INVOICESYNC_HOME": str(work / "app"),
            "INVOICESYNC_TOKEN_FILE": str(work / "app" / "tokens.json"),
            "INVOICESYNC_SOURCE": str(source),
        }
        (work / "app").mkdir(mode=0o700, exist_ok=True)  # private, as invoicesync checks
        (work / "app" / "config.toml").write_text(
            '[prepare]\nincome_account = "Services"\n', encoding="utf-8"
        )
        with _environment(env):
            return _run_steps(invoke, sandbox, url, work, extras, keep)
    finally:
        server.shutdown()
        server.server_close()
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _steps(extras: Path) -> list[Step]:
    """The story, in the order a new user meets it."""
    return [
        Step(
            "Connect through the real OAuth code flow (the sandbox approves it for you).",
            ("connect", "--port", "0"),
        ),
        Step("Which company, which tokens, how many links.", ("status",)),
        Step("The month's invoices exported from Protemos (JSON; CSV works too).", ("invoices",)),
        Step(
            "See exactly what would be sent, without writing anything.",
            ("push", "INV-2026-0104", "--dry-run"),
        ),
        Step("Push every sent invoice: one batch request, exactly once.", ("push", "--all")),
        Step("Run it again: nothing is duplicated.", ("push", "--all")),
        Step(
            "QuickBooks e-mails an invoice to the client, once (a second `send` does nothing).",
            ("send", "INV-2026-0101"),
        ),
        Step(
            "A client whose name differs from QuickBooks by an apostrophe: nothing is sent, "
            "and you learn why.",
            ("--source", str(extras), "push", "INV-2026-0112"),
            EXIT_PREREQUISITE,
        ),
        Step(
            "A new client with a new service and terms QuickBooks lacks: create them (exactly "
            "once, like a push; `invoicesync prepare` alone does it too), then push.",
            ("--source", str(extras), "push", "INV-2026-0113", "--prepare", "--yes"),
        ),
        Step(
            "An invoice someone already typed into QuickBooks by hand: find it.",
            ("--source", str(extras), "list-candidates", "INV-2026-0111"),
        ),
        Step(
            "Link it (our marker is written into the QuickBooks invoice).",
            ("--source", str(extras), "link", "INV-2026-0111", "1"),
        ),
        Step(
            "Unlink it: the QuickBooks invoice stays, only the link goes.",
            ("unlink", "INV-2026-0111"),
        ),
    ]


def _lifecycle(work: Path) -> list[Step]:
    """After the push: an edit, and a credit note that is pushed, applied, sent and downloaded."""
    return [
        Step(
            "Push again: the edit is listed as changed (not sent); the credit note becomes a "
            "credit memo applied to INV-2026-0103.",
            ("push", "--all"),
        ),
        Step(
            "The field-by-field difference an update would send.",
            ("push", "INV-2026-0102", "--update", "--dry-run"),
        ),
        Step("Send it: a sparse update at the invoice's SyncToken.", ("push", "--all", "--update")),
        Step(
            "QuickBooks e-mails the credit note. It is credit memo 1, and the company also has "
            "an invoice 1 (Contoso's): QuickBooks numbers them apart, and invoicesync sends "
            "the credit memo.",
            ("send", "CN-2026-0001", "--to", "buchhaltung@mueller.example"),
        ),
        Step(
            "And downloads the credit memo's PDF, as QuickBooks renders it.",
            ("pdf", "CN-2026-0001", "-o", str(work / "CN-2026-0001.pdf")),
        ),
        Step(
            "The credit note in the payments report: credit applied to INV-2026-0103, never a "
            "payment (the CSV for Protemos has no payment row for it).",
            ("payments", "--since", "2000-01-01"),
        ),
        Step("The corrected INV-2026-0102 goes to the client.", ("send", "INV-2026-0102")),
        Step(
            "What happened to them, in order: when, which run (host and user in --json), "
            "which document, and why.",
            ("history", "INV-2026-0102", "INV-2026-0103", "CN-2026-0001"),
        ),
        Step("And what each run did (`runs show RUN` lists one run's events).", ("runs",)),
    ]


def _edit_source(source: Path) -> None:
    """What happens to invoices after they were sent: a correction and a credit note."""
    records = json.loads(source.read_text(encoding="utf-8"))
    by_number = {r["number"]: r for r in records}
    edited = by_number["INV-2026-0102"]
    edited["lines"][0]["quantity"] = "8450"
    edited.pop("totals", None)
    credited = by_number["INV-2026-0103"]
    note = {k: v for k, v in credited.items() if k not in {"totals", "source", "number"}}
    note |= {"number": "CN-2026-0001", "type": "credit_note", "credit_for": "INV-2026-0103"}
    note["lines"] = [
        {"service": "Translation", "description": "Catalogue: 500 words counted twice",
         "quantity": "500", "unit": "words", "unit_price": "0.11"}
    ]  # fmt: skip
    note.pop("payment_terms", None)
    source.write_text(json.dumps([*records, note], ensure_ascii=False), encoding="utf-8")


NEXT_STEPS = (
    "\nNext, against your own company:\n"
    "  1. Create an app at developer.intuit.com and note its client id and secret\n"
    "  2. invoicesync connect --environment sandbox   (or --environment production)\n"
    "  3. invoicesync --source ./export.json push --all --dry-run\n"
    "  4. invoicesync --source ./export.json push --all\n"
    "Docs: docs/getting-started.md"
)


def _run_steps(
    invoke: Callable[[list[str], Any], int],
    sandbox: Sandbox,
    url: str,
    work: Path,
    extras: Path,
    keep: Path | None,
) -> int:
    company = sandbox.company()
    render.info(
        f"invoicesync demo: a local QuickBooks sandbox ({company.name}) is running on {url}; "
        f"working in {work}"
    )
    failures = sum(_step(invoke, step) for step in _steps(extras))
    render.info("\nMeanwhile the customer pays INV-2026-0101 in QuickBooks.")
    links = {inv.get("DocNumber"): inv["Id"] for inv in company.entities["Invoice"].values()}
    if "INV-2026-0101" in links:
        company.record_payment(str(links["INV-2026-0101"]))
    failures += _step(
        invoke, Step("Check every linked invoice for payments and edits.", ("reconcile",))
    )
    failures += _b2brouter_scene(invoke, work)
    failures += _step(
        invoke,
        Step(
            "What was paid, ready to take back to Protemos.", ("payments", "--since", "2000-01-01")
        ),
    )
    _edit_source(work / "invoices.json")
    render.info(
        "\nLater, in Protemos: INV-2026-0102's word count is corrected, and the client of "
        "INV-2026-0103 gets a credit note (CN-2026-0001)."
    )
    failures += sum(_step(invoke, step) for step in _lifecycle(work))
    render.info(NEXT_STEPS)
    if failures:
        render.error(f"{failures} demo step(s) did not behave as expected; please report it")
        return EXIT_UNEXPECTED
    render.success("Demo finished" + (f"; files kept in {work}" if keep else "."))
    return 0


def _b2brouter_scene(invoke: Callable[[list[str], Any], int], work: Path) -> int:
    """The same agency's Spanish office invoices through B2BRouter: a second profile."""
    from invoicesync.config import save_config_values
    from invoicesync.targets.b2brouter.sandbox import B2BRouterSandbox
    from invoicesync.targets.b2brouter.sandbox import start_in_thread as serve_b2brouter

    server = serve_b2brouter(B2BRouterSandbox(["es"]))
    try:
        key, account = server.sandbox.default_connection()
        values = {"target": "b2brouter", "b2brouter_url": server.url, "b2brouter_account": account}
        save_config_values(work / "app" / "config.toml", values, profile="es")
        source = work / "invoices-es.json"
        shutil.copy(_data("samples", "es", "invoices.json"), source)
        os.environ["INVOICESYNC_B2BROUTER_API_KEY"] = key
        render.info(f"\nA local B2BRouter (e-invoicing network) is running on {server.url}.")
        steps = [
            Step(
                "A second profile: the Spanish office's B2BRouter account.",
                ("--profile", "es", "connect"),
            ),
            Step("The profiles (the QuickBooks company above is the top level).", ("profiles",)),
            Step(
                "Push an EU invoice (contact by VAT number, VAT category S 21 %) and queue "
                "its delivery.",
                ("--profile", "es", "--source", str(source), "push", "ES-2026-0101", "--send"),
            ),
        ]
        return sum(_step(invoke, step) for step in steps)
    finally:
        server.shutdown()
        server.server_close()


def _step(invoke: Callable[[list[str], Any], int], step: Step) -> int:
    render.info(f"\n# {step.say}")
    render.info("$ invoicesync " + " ".join(_short(a) for a in step.args))
    code = invoke(list(step.args), _browser)
    if code != step.expect:
        render.warn(f"exit code {code}, expected {step.expect}")
        return 1
    if code:
        render.info(f"(exit code {code}, as documented)")
    return 0


def _short(arg: str) -> str:
    return Path(arg).name if os.sep in arg else arg
