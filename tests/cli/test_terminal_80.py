"""On a real 80-column terminal (a pty, `COLUMNS=80`): tables fit without cutting identifiers
or amounts, a failure says why once, and Ctrl-C stops the sandbox server normally."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_link_tty import EXTRA, Terminal, drive
from tests.cli.test_link_tty import env as link_env  # noqa: F401  (the sandbox-backed env)
from tests.helpers import SAMPLES

pytestmark = pytest.mark.loopback
BOX = re.compile(r"^[┏┃┡│└].*[┓┃┩│┘]$")
SAMPLE_NUMBERS = [f"INV-2026-{n:04d}" for n in range(101, 111)]


@pytest.fixture
def env(link_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:  # noqa: F811
    """The sandbox env with the US samples plus the hand-typed Contoso invoice, 80 columns."""
    records = json.loads((SAMPLES / "us" / "invoices.json").read_text(encoding="utf-8"))
    source = tmp_path / "all.json"
    source.write_text(json.dumps(records + json.loads(EXTRA)), encoding="utf-8")
    yield {**link_env, "COLUMNS": "80", "INVOICESYNC_SOURCE": str(source)}


def table_lines(screen: str) -> list[str]:
    return [line.rstrip() for line in screen.splitlines() if BOX.match(line.rstrip())]


def assert_fits(screen: str) -> None:
    lines = table_lines(screen)
    assert lines, screen
    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, "\n".join(too_wide)


def test_invoices_table_fits_80_columns_with_whole_numbers_and_amounts(
    env: dict[str, str],
) -> None:
    assert drive(env, "", "push", "--all")[0] == 0
    code, screen = drive(env, "", "invoices")
    assert code == 0, screen
    assert_fits(screen)
    table = "\n".join(table_lines(screen))
    for number in SAMPLE_NUMBERS:
        assert f"│ {number} │" in table, number
    for amount in ("1,740.00 USD", "1,298.00 USD", "850.00 EUR", "864.00 USD"):
        assert amount in table, amount
    assert "Not shown at this width: " in screen  # said, not silently cut


def test_push_candidates_and_reconcile_fit_80_columns(env: dict[str, str]) -> None:
    code, screen = drive(env, "", "push", "--all")
    assert code == 0, screen
    assert_fits(screen)
    assert "│ INV-2026-0101 │ created" in screen
    code, screen = drive(env, "", "list-candidates", "INV-2026-0111")
    assert code == 0, screen
    assert_fits(screen)
    assert re.search(r"│ 2 │ +80 │ 1 +│ 1037 +│ 420\.00 USD │", screen), screen
    code, screen = drive(env, "", "reconcile")
    assert code == 0, screen
    assert_fits(screen)


def test_history_and_runs_fit_80_columns(env: dict[str, str]) -> None:
    assert drive(env, "", "push", "--all")[0] == 0
    assert drive(env, "", "send", "INV-2026-0101")[0] == 0
    for args, expected in (
        (("history", "INV-2026-0101"), r"│ \S+ \S+ │ sent +│ invoice \d+ +│ [0-9a-f]{8} │"),
        (("history", "INV-2026-0101", "INV-2026-0102"), r"│ INV-2026-0102 │ pushed"),
        (("runs",), r"│ [0-9a-f]{8} │ \S+ \S+ │ send +│ 1 sent +│ +0 │"),
    ):
        code, screen = drive(env, "", *args)
        assert code == 0, screen
        assert_fits(screen)
        assert re.search(expected, screen), screen


def test_a_failure_is_explained_once_on_a_terminal(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "nobody.json"
    record = dict(json.loads(EXTRA)[0], number="X-1", customer={"name": "Nobody Inc"})
    source.write_text(json.dumps([record]), encoding="utf-8")
    code, screen = drive({**env, "INVOICESYNC_SOURCE": str(source)}, "", "push", "X-1")
    assert code == 5, screen
    assert_fits(screen)
    assert screen.count("Nobody") == 1, screen  # in the table only, not again on stderr
    assert screen.count("not found") == 1, screen


def test_ctrl_c_stops_the_sandbox_server_with_exit_0(env: dict[str, str]) -> None:
    term = Terminal(["sandbox", "serve", "--port", "0"], env)
    term.expect(b"Ctrl-C to stop.")
    os.killpg(term.proc.pid, signal.SIGINT)
    code, screen = term.finish()
    assert code == 0, screen
    assert "Sandbox stopped." in screen
    assert "error" not in screen.lower() and "Traceback" not in screen


def test_ci_seed_never_prints_the_token_on_a_terminal_unless_asked(env: dict[str, str]) -> None:
    seed = env["INVOICESYNC_REFRESH_TOKEN"]
    code, screen = drive(env, "", "ci-seed")
    assert code == 2, screen
    assert "refusing to print a refresh token to the terminal" in screen
    assert seed not in screen
    code, screen = drive(env, "", "ci-seed", "--to-terminal")
    assert code == 0, screen
    assert seed in screen and "keep it only in a CI secret" in screen
