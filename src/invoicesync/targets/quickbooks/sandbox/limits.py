"""QBO's per-realm request limits, counted on the sandbox clock.

The limits: https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass


@dataclass
class RateLimits:
    """QBO's published per-realm limits; `enabled=False` turns all off.

    Named apart from the client's `qbo.Limits`: these are what the service enforces, those are
    what the client paces itself to.
    """

    enabled: bool = True
    concurrent: int = 10
    per_second: int = 10
    per_minute: int = 500
    batch_per_minute: int = 40
    xml_rate: float = 0.0  # share of 429s served as XML, as the real gateway sometimes does


class RateLimiter:
    """Sliding windows and in-flight counts per realm. Callers hold the sandbox lock."""

    def __init__(self) -> None:
        self._inflight: dict[str, int] = {}
        self._windows: dict[tuple[str, str], deque[float]] = {}

    def admit(self, limits: RateLimits, realm: str, is_batch: bool, now: float) -> bool:
        """Count a request in; False (and not counted) when it is over any limit."""
        self._inflight[realm] = self._inflight.get(realm, 0) + 1
        if not limits.enabled:
            return True
        windows = [("second", 1.0, limits.per_second), ("minute", 60.0, limits.per_minute)]
        if is_batch:
            windows.append(("batch", 60.0, limits.batch_per_minute))
        over = self._inflight[realm] > limits.concurrent
        for name, span, cap in windows:
            q = self._windows.setdefault((realm, name), deque())
            while q and q[0] <= now - span:
                q.popleft()
            over = over or len(q) >= cap
        if over:
            self._inflight[realm] -= 1
            return False
        for name, _, _ in windows:
            self._windows[(realm, name)].append(now)
        return True

    def release(self, realm: str) -> None:
        self._inflight[realm] -= 1


def throttle_as_xml(limits: RateLimits, rng: random.Random) -> bool:
    return bool(limits.xml_rate) and rng.random() < limits.xml_rate
