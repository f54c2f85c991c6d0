"""`invoicesync demo` end to end: the newcomer's first five seconds."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from invoicesync.cli import app


@pytest.mark.loopback
def test_demo_runs_the_whole_story_and_leaves_nothing(
    tmp_path: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo's scratch folder goes into a temp dir of this test's own, so "leaves nothing"
    # is checked without looking at (or racing with) other runs in the shared /tmp.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(*args: Any, **kwargs: Any) -> str:
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.stdout + result.stderr
    out = result.stdout + result.stderr
    for expected in (
        "Connected to Lingua Franca Translations LLC",
        "8 created",
        "8 skipped",
        "differs by typographic apostrophe ’ where QuickBooks has '",
        "(exit code 5, as documented)",
        "prepare would create term 'Net 45' (for INV-2026-0113)",
        "created customer 'Nordlicht Medien GmbH'",
        "created service 'Voice-over'",
        "Linked INV-2026-0111 to QuickBooks invoice 1",
        "Unlinked INV-2026-0111",
        "8 ok, 1 paid",
        "1 changed, 1 created, 7 skipped",
        "credit 55.00 applied to INV-2026-0103",
        "INV-2026-0102: line 1 quantity: 8200 → 8450",
        "8 skipped, 1 updated",
        "credit CN-2026-0001 55.00",
        "applied to INV-2026-0103 55.00",
        "│ CN-2026-0001 │ sent   │ 1 (credit memo) │ buchhaltung@mueller.example │",
        "CN-2026-0001.pdf",
        "│ INV-2026-0101 │ sent   │ 2         │ ap@acme-localization.example │",
        "│ INV-2026-0101 │ 2         │ INV-2026-0101 │ 1,740.00 USD │ 1,740.00 │    0.00 │ paid  │",
        "Connected to B2BRouter account Traducciones Babel S.L. (211, test key)",
        "│ es      │ b2brouter │ 211",
        "invoicesync connect --environment sandbox",
        "Demo finished.",
    ):
        assert expected in out, expected
    assert [Path(p).parent for p in made] == [scratch]  # its one scratch folder, now gone
    assert list(scratch.iterdir()) == []
    assert not isolated_env.exists()  # the user's app dir was never touched


@pytest.mark.loopback
def test_demo_keep_leaves_the_files(tmp_path: Path) -> None:
    keep = tmp_path / "kept"
    result = CliRunner().invoke(app, ["demo", "--keep", str(keep)])
    assert result.exit_code == 0
    assert (keep / "app" / "state.db").exists() and (keep / "invoices.json").exists()
