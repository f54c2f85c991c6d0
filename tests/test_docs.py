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
