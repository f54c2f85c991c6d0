"""The import rule of docs/architecture.md, enforced."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).parents[1] / "src" / "invoicesync"


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def modules(sub: str = "") -> list[Path]:
    return sorted((PKG / sub).rglob("*.py"))


def test_qbo_imports_nothing_else_from_the_package() -> None:
    for path in modules("qbo"):
        own = {n for n in imports(path) if n.startswith("invoicesync")}
        assert all(n.startswith("invoicesync.qbo") for n in own), (path, own)


def test_sandbox_is_independent() -> None:
    for path in modules("sandbox"):
        own = {n for n in imports(path) if n.startswith("invoicesync")}
        assert all(n.startswith("invoicesync.sandbox") for n in own), (path, own)


def test_b2brouter_client_imports_nothing_else_from_the_package() -> None:
    for path in modules("b2brouter"):
        own = {n for n in imports(path) if n.startswith("invoicesync")}
        ok = {
            n for n in own if n == "invoicesync.b2brouter" or n.startswith("invoicesync.b2brouter.")
        }
        assert own == ok, (path, own)


def test_b2brouter_sandbox_is_independent() -> None:
    """A B2BRouter written from its documentation only: not even the client's code."""
    paths = modules("b2brouter_sandbox")
    assert paths
    for path in paths:
        own = {n for n in imports(path) if n.startswith("invoicesync")}
        assert all(n.startswith("invoicesync.b2brouter_sandbox") for n in own), (path, own)


def test_only_the_cli_layer_imports_typer_or_rich() -> None:
    allowed = {"cli.py", "render.py", "demo.py"}
    for path in modules():
        ui = {n for n in imports(path) if n.split(".")[0] in {"typer", "rich"}}
        if ui:
            assert path.name in allowed, (path, ui)


def test_pure_modules_do_no_io() -> None:
    for name in ("mapping.py", "matching.py", "models.py", "qbo/query.py"):
        heavy = {
            n for n in imports(PKG / name) if n.split(".")[0] in {"httpx", "sqlite3", "keyring"}
        }
        assert not heavy, (name, heavy)


def test_no_float_in_money_code() -> None:
    for path in modules():
        text = path.read_text(encoding="utf-8")
        if path.parent.name == "sandbox":
            continue  # the sandbox's clock; no amounts pass through it as floats
        assert "float(" not in text, path
