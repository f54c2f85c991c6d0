"""QuickBooks' clock: MetaData times are Pacific, with the offset of the day (DST included)."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

try:
    from zoneinfo import ZoneInfo

    PACIFIC: Any = ZoneInfo("America/Los_Angeles")
except Exception:  # pragma: no cover - platforms without a tz database
    PACIFIC = timezone(timedelta(hours=-8))
