"""The fake target registered for one test: one line in the registry and a config naming it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from invoicesync import targets
from invoicesync.cli import AppState, app
from tests.fake_target import target as fake_module
from tests.fake_target.ledger import Books
from tests.helpers import SAMPLES


@dataclass
class FakeWorld:
    books: Books
    home: Path

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), obj=AppState())

    def json(self, *args: str) -> dict[str, object]:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, result.stderr
        document: dict[str, object] = json.loads(result.stdout)
        return document


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> Iterator[FakeWorld]:
    """`target = "fake"`: the registry gains one line; its books know the sample's customers."""
    monkeypatch.setitem(targets.REGISTRY, "fake", "tests.fake_target.target")
    books = Books()
    monkeypatch.setattr(fake_module.TARGET, "books", books)
    source = isolated_env.parent / "invoices.json"
    shutil.copy(SAMPLES / "us" / "invoices.json", source)
    for row in json.loads(source.read_text(encoding="utf-8")):
        books.customers.setdefault(row["customer"]["name"], str(100 + len(books.customers)))
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(
        f'target = "fake"\nsource = "{source}"\n', encoding="utf-8"
    )
    yield FakeWorld(books, isolated_env)
