"""The test harness itself: what makes the suite hold in parallel and on any machine."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.conftest

ROOT = Path(__file__).parents[1]
COUNTING = """
from tests.figures import count

def test_one():
    count("kills that landed mid-run", 2)
    count("kills before any write", 0)

def test_two():
    count("kills that landed mid-run")
"""


@pytest.mark.parametrize("workers", [["-n", "2"], ["-p", "no:xdist"]], ids=["xdist", "serial"])
def test_figures_are_summed_and_printed_with_and_without_xdist(
    tmp_path: Path, workers: list[str]
) -> None:
    """pytest-xdist swallows what workers print: the figures travel on the reports and the
    controller prints their sum. A figure counted 0 times shows too."""
    (tmp_path / "test_counting.py").write_text(COUNTING, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.figures", *workers, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    block = done.stdout.split("reliability figures", 1)[1]
    assert "kills that landed mid-run: 3\n" in block
    assert "kills before any write: 0\n" in block


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def child_sigint() -> str:
    code = "import signal; h = signal.getsignal(signal.SIGINT); print(getattr(h, 'name', h))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.usefixtures("sigint_ignored")
def test_programs_started_by_tests_get_ctrl_c_even_when_pytest_ignores_it() -> None:
    """pytest started in the background (`make test &`, nohup, some CI runners) ignores
    SIGINT, and its children inherited that: the Ctrl-C tests then hung (`sandbox serve`) or
    passed without testing anything (`push` ran to its end)."""
    assert child_sigint() == "SIG_IGN"  # the situation, reproduced
    tests.conftest.restore_sigint()
    assert child_sigint() == "<built-in function default_int_handler>"
