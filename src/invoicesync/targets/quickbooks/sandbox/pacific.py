"""QuickBooks' clock: MetaData times are Pacific, with the offset of the day (DST included),
and timestamps compare as instants."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

try:
    from zoneinfo import ZoneInfo

    PACIFIC: Any = ZoneInfo("America/Los_Angeles")
except Exception:  # pragma: no cover - platforms without a tz database
    PACIFIC = timezone(timedelta(hours=-8))


_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
)


def instant(text: str) -> Decimal | None:
    """Seconds on one axis for an ISO timestamp (None if `text` is not one).

    Computed from day ordinals, not `datetime` arithmetic, so 9999-12-31 with a negative
    offset does not overflow. No offset means Pacific time, the company's clock.
    """
    m = _DATETIME.fullmatch(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute = (int(g) for g in m.groups()[:5])
    second = int(m.group(6) or 0)
    try:
        wall = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    zone = m.group(8)
    if zone is None:
        offset = PACIFIC.utcoffset(wall)
        shift = int(offset.total_seconds()) if offset is not None else 0
    elif zone == "Z":
        shift = 0
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        shift = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    seconds = wall.toordinal() * 86400 + hour * 3600 + minute * 60 + second - shift
    return Decimal(seconds) + Decimal(m.group(7) or "0")
