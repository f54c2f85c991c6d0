"""Write docs/commands.md from the CLI's own --help, so the reference cannot drift.

Run `make docs` after changing a command; tests/test_docs.py fails when the file is stale.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from typer.testing import CliRunner

from invoicesync.cli import app

COMMANDS = [
    [],
    ["connect"],
    ["disconnect"],
    ["status"],
    ["ci-seed"],
    ["invoices"],
    ["push"],
    ["prepare"],
    ["list-candidates"],
    ["link"],
    ["unlink"],
    ["void"],
    ["reconcile"],
    ["payments"],
    ["send"],
    ["pdf"],
    ["history"],
    ["runs"],
    ["runs", "show"],
    ["profiles"],
    ["sandbox"],
    ["sandbox", "serve"],
    ["demo"],
]
TARGET = Path(__file__).parents[1] / "docs" / "commands.md"


def render() -> str:
    os.environ.update({"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
    parts = [
        "# Command reference\n",
        "Generated from `invoicesync --help` by `make docs`; a test fails if it is stale.",
        "Exit codes are in [exit-codes.md](exit-codes.md), JSON output in [json.md](json.md).\n",
    ]
    for words in COMMANDS:
        result = CliRunner().invoke(app, [*words, "--help"], prog_name="invoicesync")
        title = " ".join(["invoicesync", *words])
        parts.append(f"## `{title}`\n\n```text\n{result.stdout.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {TARGET}\n")
