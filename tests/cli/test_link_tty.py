"""`link INV` on a terminal: the candidate table, a prompt, and the pick, through a real pty."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from invoicesync.store import Store
from invoicesync.targets.quickbooks.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Sandbox,
    start_in_thread,
)
from invoicesync.targets.quickbooks.settings import local_environment

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


class Terminal:
    """A command on a pseudo-terminal, driven like a person: wait for text, then type."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.main, child = pty.openpty()
        # A session of its own with the pty as controlling terminal, as in a real terminal:
        # that is what lets getpass turn echo off for the secret.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "invoicesync", *args],
            stdin=child,
            stdout=child,
            stderr=child,
            env=env,
            close_fds=True,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(child)
        self.screen = b""

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.main], [], [], wait)
        if not ready:
            return True
        try:
            chunk = os.read(self.main, 65536)
        except OSError:
            return False
        self.screen += chunk
        return bool(chunk)

    def expect(self, text: bytes, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while text not in self.screen.replace(b"\r\n", b"\n"):
            assert time.time() < deadline and self.proc.poll() is None, self.screen.decode()
            self._read(0.2)

    def wait_for_echo_off(self, timeout: float = 10) -> None:
        """Until the program has turned terminal echo off (getpass, for a secret)."""
        deadline = time.time() + timeout
        while termios.tcgetattr(self.main)[3] & termios.ECHO:
            assert time.time() < deadline, "echo was never turned off: the secret would show"
            self._read(0.05)

    def type(self, text: str) -> None:
        os.write(self.main, text.encode() + b"\n")

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        deadline = time.time() + timeout
        while self.proc.poll() is None and time.time() < deadline:
            self._read(0.2)
        while (
            self._read(0.1)
            and self.proc.poll() is not None
            and select.select([self.main], [], [], 0)[0]
        ):
            pass
        screen = self.screen.decode("utf-8", "replace").replace("\r\n", "\n")
        if self.proc.poll() is None:  # say what the program had shown, not just "timed out"
            self.proc.kill()
            self.proc.wait()
            os.close(self.main)
            pytest.fail(f"still running {timeout:.0f} s later; its terminal showed:\n{screen}")
        os.close(self.main)
        return self.proc.returncode, screen


def drive(env: dict[str, str], answer: str, *args: str) -> tuple[int, str]:
    """Run a command (default `link INV-2026-0111`, answering its prompt) on a terminal."""
    term = Terminal(list(args) or ["link", "INV-2026-0111"], env)
    if not args:
        term.expect(b"Link to which row")
        term.type(answer)
    return term.finish()


def test_pick_a_row_on_a_terminal(env: dict[str, str]) -> None:
    code, screen = drive(env, "1")
    assert code == 0, screen
    assert "Candidates for INV-2026-0111" in screen and "1037" in screen
    assert "Linked INV-2026-0111 to QuickBooks invoice 1" in screen
    store = Store.open(Path(env["INVOICESYNC_HOME"]) / "state.db")
    link = store.link("9130350000000001", "INV-2026-0111")
    store.close()
    assert link is not None and link.remote_id == "1"


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


def test_connect_prompts_on_a_terminal_and_never_echoes_the_secret(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`connect --manual` with nothing configured: prompts for the client id and the secret
    (not echoed), prints the authorize URL, and takes the pasted redirect."""
    import re

    import httpx

    env = {
        k: v
        for k, v in env.items()
        if k
        not in {
            "INVOICESYNC_CLIENT_ID",
            "INVOICESYNC_CLIENT_SECRET",
            "INVOICESYNC_REALM_ID",
            "INVOICESYNC_REFRESH_TOKEN",
        }
    }
    env["INVOICESYNC_HOME"] = str(tmp_path / "fresh-home")
    term = Terminal(["connect", "--manual"], env)
    term.expect(b"client id")
    term.type("local-client-id")
    term.expect(b"client secret")
    term.wait_for_echo_off()
    term.type("local-client-secret")
    term.expect(b"Paste the full address")
    found = re.search(rb"(http://127\.0\.0\.1:\d+/connect/oauth2\?\S+)", term.screen)
    assert found, term.screen
    authorize = found.group(1).decode()
    # The sandbox shows a consent page; approving it redirects with code, state and realmId.
    approve = httpx.post(
        authorize.split("/connect/")[0] + "/connect/oauth2/decide",
        data={**dict(httpx.URL(authorize).params), "realm_id": "9130350000000001", "approve": "1"},
    )
    term.type(approve.headers["location"])
    code, text = term.finish()
    assert code == 0, text
    assert "Connected to Lingua Franca Translations LLC" in text
    assert "local-client-secret" not in text  # typed, never echoed
