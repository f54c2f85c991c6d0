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


TARGETS = PKG / "targets"
TARGET_FOLDERS = sorted(p.name for p in TARGETS.iterdir() if (p / "target.py").is_file())


def test_every_target_folder_is_registered_and_every_registered_target_has_a_folder() -> None:
    from invoicesync import targets

    assert sorted(targets.REGISTRY) == TARGET_FOLDERS
    for key in targets.known():
        assert targets.get(key).key == key


def test_each_target_folder_holds_its_settings_section() -> None:
    """`config.py` keeps what every target shares; a target's own keys are read by its folder."""
    for name in TARGET_FOLDERS:
        assert (TARGETS / name / "settings.py").is_file(), name
        assert not {
            n for n in own_imports(PKG / "config.py") if n.startswith(f"invoicesync.targets.{name}")
        }


def test_a_target_client_imports_nothing_else_from_the_package() -> None:
    """`targets/<t>/api/` is the bare client: it could be published on its own (our marker's
    format, `invoicesync.marker`, is the one shared piece: every target writes the same)."""
    for name in TARGET_FOLDERS:
        paths = modules(f"targets/{name}/api")
        assert paths, name
        for path in paths:
            own = own_imports(path) - {"invoicesync.marker", "invoicesync.exactjson"}
            assert all(n.startswith(f"invoicesync.targets.{name}.api") for n in own), (path, own)


def test_each_sandbox_is_independent() -> None:
    """A service written from its documentation only: not even its client's code."""
    for name in TARGET_FOLDERS:
        paths = modules(f"targets/{name}/sandbox")
        assert paths, name
        for path in paths:
            own = own_imports(path)
            prefix = f"invoicesync.targets.{name}.sandbox"
            assert all(n.startswith(prefix) for n in own), (path, own)


def test_targets_never_import_each_other() -> None:
    for name in TARGET_FOLDERS:
        others = tuple(f"invoicesync.targets.{o}" for o in TARGET_FOLDERS if o != name)
        for path in modules(f"targets/{name}"):
            assert not {n for n in own_imports(path) if n.startswith(others)}, path


def test_nothing_outside_the_targets_imports_a_target() -> None:
    """The CLI, the use cases, the store and the rest reach a target through the registry
    (`invoicesync.targets`) and its protocol (`targets/target.py`) only."""
    allowed = {"invoicesync.targets", "invoicesync.targets.target", "invoicesync.targets.demo"}
    for path in modules():
        if path.is_relative_to(TARGETS):
            continue
        own = {n for n in own_imports(path) if n.startswith("invoicesync.targets")}
        assert own <= allowed, (path, own - allowed)


def test_only_the_cli_imports_typer_or_rich() -> None:
    """The CLI package, and each target's CLI side (`targets/<t>/commands.py`; the demo)."""
    for path in modules():
        ui = {n for n in imports(path) if n.split(".")[0] in {"typer", "rich"}}
        if ui:
            cli_side = path.name == "commands.py" and path.parent.parent == TARGETS
            assert path.parent.name == "cli" or cli_side or path == TARGETS / "demo.py", (
                path,
                ui,
            )


def test_use_cases_never_import_the_cli() -> None:
    for path in modules("usecases"):
        assert not {n for n in own_imports(path) if n.startswith("invoicesync.cli")}, path


def test_lower_layers_never_import_upper_ones() -> None:
    upper = {
        "ledger": ("invoicesync.usecases", "invoicesync.cli", "invoicesync.targets"),
        "sources": ("invoicesync.usecases", "invoicesync.cli", "invoicesync.ledger"),
    }
    for sub, banned in upper.items():
        for path in modules(sub):
            assert not {n for n in own_imports(path) if n.startswith(banned)}, path
    lower = ("models.py", "marker.py", "matching.py", "errors.py", "config.py", "aliases.py")
    for path in [PKG / name for name in lower] + modules("store"):
        own = own_imports(path)
        assert not {n for n in own if n.startswith(("invoicesync.usecases", "invoicesync.cli"))}


def test_pure_modules_do_no_io() -> None:
    qbo = "targets/quickbooks"
    pure = ("matching.py", "models.py", "marker.py", f"{qbo}/mapping.py")
    views = ("cli/views.py", "cli/plan_views.py")
    for name in (*pure, f"{qbo}/api/query.py", f"{qbo}/api/rows.py", *views):
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
