"""Shared by the benchmarks: a generated agency, its invoices, and a scaled loopback sandbox.

Benchmarks print figures; they assert nothing about time (tests never do).
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
from pathlib import Path
from typing import Any

REALM = "9130350000000009"
SERVICES = [f"Service {i:02d}" for i in range(30)]
CUSTOMERS = [f"Client {i:03d} Ltd" for i in range(200)]


def company_toml(path: Path) -> Path:
    """A US company with 200 customers and 30 service items."""
    lines = [
        "[company]",
        f'realm_id = "{REALM}"',
        'name = "Benchmark Translations Inc."',
        'country = "US"',
        'home_currency = "USD"',
        "custom_txn_numbers = true",
        "multicurrency = false",
        "",
        '[[terms]]\nname = "Net 30"\ndue_days = 30\n',
        '[[tax_codes]]\nid = "TAX"\nname = "TAX"\n',
        '[[tax_codes]]\nid = "NON"\nname = "NON"\n',
    ]
    for name in SERVICES:
        lines.append(f'[[items]]\nname = "{name}"\nunit_price = "1"\n')
    for name in CUSTOMERS:
        lines.append(f'[[customers]]\nname = "{name}"\nterms = "Net 30"\n')
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def invoices(n: int, seed: int = 1, prefix: str = "B") -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        lines = [
            {
                "service": rng.choice(SERVICES),
                "quantity": str(rng.randint(1, 9000)),
                "unit_price": rng.choice(["0.08", "0.12", "0.15", "35", "42.50"]),
                "unit": "words",
            }
            for _ in range(rng.randint(1, 4))
        ]
        out.append(
            {
                "number": f"{prefix}-{i:06d}",
                "customer": {"name": rng.choice(CUSTOMERS)},
                "issue_date": f"2026-10-{rng.randint(1, 28):02d}",
                "currency": "USD",
                "payment_terms": "Net 30",
                "lines": lines,
                "source": {"system": "protemos", "id": f"CI-{i}"},
            }
        )
    return out


def write_json(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def machine() -> str:
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}"
    )


def table(headers: list[str], rows: list[list[Any]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    fmt = " | ".join(f"{{:>{w}}}" for w in widths)
    sep = "-|-".join("-" * w for w in widths)
    return "\n".join([fmt.format(*headers), sep, *(fmt.format(*map(str, r)) for r in rows)])
