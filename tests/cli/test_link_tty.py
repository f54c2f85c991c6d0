"""`link INV` on a terminal: the candidate table, a prompt, and the pick, through a real pty."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from invoicesync.config import local_environment
from invoicesync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, start_in_thread
from invoicesync.store import Store

pytestmark = pytest.mark.loopback
EXTRA = """[{"number": "INV-2026-0111", "customer": {"name": "Contoso Ltd"}, "issue_date": "2026-10-22",
"currency": "USD", "lines": [{"service": "Translation", "quantity": "3500", "unit_price": "0.12"}]}]"""


@pytest.fixture
def env(tmp_path: Path, isolated_env: Path) -> Iterator[dict[str, str]]:
    sandbox = Sandbox(["us"])
    server = start_in_thread(sandbox)
    grant = sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, "9130350000000001")
    (tmp_path / "extra.json").write_text(EXTRA)
    url = server.url
    yield {
        **os.environ,
        "INVOICESYNC_HOME": str(isolated_env),
        **local_environment(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        "INVOICESYNC_REALM_ID": "9130350000000001",
        "INVOICESYNC_REFRESH_TOKEN": grant.refresh_token,
        "INVOICESYNC_TOKEN_FILE": str(tmp_path / "tokens.json"),
        "INVOICESYNC_SOURCE": str(tmp_path / "extra.json"),
        "COLUMNS": "160",
    }
    server.shutdown()
    server.server_close()


def drive(env: dict[str, str], answer: str, *args: str) -> tuple[int, str]:
    """Run a command (default `link INV-2026-0111`) on a pty, answer the prompt, return
    (exit code, screen)."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoicesync", *(args or ("link", "INV-2026-0111"))],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        close_fds=True,
    )
    os.close(child)
    screen = b""
    deadline = time.time() + 60
    answered = False
    while time.time() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
            if not answered and b"Link to which row" in screen:
                os.write(main, answer.encode() + b"\n")
                answered = True
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(main)
    return proc.returncode, screen.decode("utf-8", "replace")


def test_pick_a_row_on_a_terminal(env: dict[str, str]) -> None:
    code, screen = drive(env, "1")
    assert code == 0, screen
    assert "Candidates for INV-2026-0111" in screen and "1037" in screen
    assert "Linked INV-2026-0111 to QuickBooks invoice 1" in screen
    store = Store.open(Path(env["INVOICESYNC_HOME"]) / "state.db")
    link = store.link("9130350000000001", "INV-2026-0111")
    store.close()
    assert link is not None and link.qbo_id == "1"


def test_empty_answer_cancels(env: dict[str, str]) -> None:
    code, screen = drive(env, "")
    assert code == 2, screen
    assert "nothing chosen; no link was made" in screen


def test_push_shows_progress_only_on_a_terminal(env: dict[str, str]) -> None:
    samples = Path(__file__).parents[2] / "src" / "invoicesync" / "data" / "samples" / "us"
    env = {**env, "INVOICESYNC_SOURCE": str(samples / "invoices.json"), "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    code, screen = drive(env, "", "push", "--all")
    assert code == 0, screen
    assert "Pushing invoices" in screen
    piped = subprocess.run(
        [sys.executable, "-m", "invoicesync", "push", "--all"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert piped.returncode == 0
    assert "Pushing invoices" not in piped.stderr + piped.stdout
    assert "\x1b[" not in piped.stdout  # no colour codes when piped
