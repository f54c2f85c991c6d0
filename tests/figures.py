"""Figures the reliability tests count (kills that landed mid-run, faults injected, invoices
verified exactly once) for docs/reliability.md, summed over the run and printed at its end.

pytest-xdist runs tests in worker processes and swallows their output, so a worker cannot print
them: each test's counts ride to the controller on its report (`user_properties`), and the
controller, or the only process without xdist, adds them up and prints them.
"""

from __future__ import annotations

from typing import Any

import pytest

KEY = "invoicesync-figures"
SECTION = "reliability figures"
# Counted by the tests running in this process (a worker, or the only process).
STATS: dict[str, int] = {}
# Summed from every test's report, where the terminal summary is printed.
TOTALS: dict[str, int] = {}


def count(key: str, n: int = 1) -> None:
    STATS[key] = STATS.get(key, 0) + n


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    before = dict(STATS)
    try:
        return (yield)
    finally:  # a failed test's figures count too: they say what it did before failing
        # A figure counted 0 times still shows (as 0): "no kill landed mid-run" is a finding.
        delta = {k: v - before.get(k, 0) for k, v in STATS.items() if before.get(k) != v}
        if delta:
            item.user_properties.append((KEY, delta))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == KEY:
            for key, n in dict(value).items():
                TOTALS[key] = TOTALS.get(key, 0) + int(n)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TOTALS:
        terminalreporter.section(SECTION)
        for key, value in sorted(TOTALS.items()):
            terminalreporter.write_line(f"{key}: {value}")
