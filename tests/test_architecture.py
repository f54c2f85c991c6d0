"""The layout of docs/architecture.md, enforced: import rules, pure modules, small rooms."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PKG = Path(__file__).parents[1] / "src" / "invoicesync"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Rooms still over the limits, each with the reason it is allowed to be (keep this short).
OVERSIZE: dict[str, str] = {}


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


def own_imports(path: Path) -> set[str]:
    return {n for n in imports(path) if n.startswith("invoicesync")}


def test_qbo_imports_nothing_else_from_the_package() -> None:
    for path in modules("qbo"):
        own = own_imports(path)
        assert all(n.startswith("invoicesync.qbo") for n in own), (path, own)


def test_sandbox_is_independent() -> None:
    for path in modules("sandbox"):
        own = own_imports(path)
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


def test_only_the_cli_package_imports_typer_or_rich() -> None:
    for path in modules():
        ui = {n for n in imports(path) if n.split(".")[0] in {"typer", "rich"}}
        if ui:
            assert path.parent.name == "cli", (path, ui)


def test_use_cases_reach_the_target_only_through_the_ledger() -> None:
    """No raw QuickBooks rows or errors in the use cases: `ledger/` is the one adapter."""
    for path in modules("usecases"):
        own = own_imports(path)
        assert not {n for n in own if n.startswith("invoicesync.cli")}, path
        if path.name in {"session.py", "b2b_session.py"}:
            continue  # the composition roots: they build the clients and the ledgers
        clients = ("invoicesync.qbo", "invoicesync.b2brouter")
        assert not {n for n in own if n.startswith(clients)}, (path, own)
        assert "invoicesync.ledger.quickbooks" not in own, path
        assert "invoicesync.ledger.b2brouter" not in own, path


def test_lower_layers_never_import_upper_ones() -> None:
    upper = {
        "ledger": ("invoicesync.usecases", "invoicesync.cli"),
        "sources": ("invoicesync.usecases", "invoicesync.cli", "invoicesync.ledger"),
    }
    for sub, banned in upper.items():
        for path in modules(sub):
            assert not {n for n in own_imports(path) if n.startswith(banned)}, path
    lower = ("models.py", "mapping.py", "matching.py", "errors.py", "config.py", "aliases.py")
    for path in [PKG / name for name in lower] + modules("store"):
        own = own_imports(path)
        assert not {n for n in own if n.startswith(("invoicesync.usecases", "invoicesync.cli"))}


def test_pure_modules_do_no_io() -> None:
    pure = ("mapping.py", "matching.py", "models.py", "qbo/query.py", "qbo/rows.py")
    for name in (*pure, "qbo/marker.py", "cli/views.py", "cli/link_views.py", "cli/plan_views.py"):
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


def test_exit_codes_are_named_only_in_errors() -> None:
    literal = re.compile(r"(exit_code\s*=\s*\d|Exit\(\s*[1-9]|sys\.exit\(\s*[1-9])")
    for path in modules():
        if path.name == "errors.py" or path.parent.name == "sandbox":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not literal.search(line), f"{path}:{number}: {line.strip()}"


def test_rooms_are_small() -> None:
    """No module over ~400 lines, no function over ~60, unless OVERSIZE says why."""
    big = []
    for path in modules():
        rel = str(path.relative_to(PKG))
        if rel in OVERSIZE:
            continue
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            big.append(f"{rel}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    big.append(f"{rel}:{node.lineno} {node.name}: {length} lines")
    assert not big, big
