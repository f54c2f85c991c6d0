"""Fault injection: latency, failed answers, dropped connections and late answers."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field


@dataclass
class Faults:
    """Injected misbehaviour. Latency is real time; rates are per request, from a seeded RNG."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0  # 500/503 before doing any work
    error_next: int = 0  # the next N API requests get a 500/503 (deterministic)
    drop_rate: float = 0.0  # cut the connection after a write committed
    drop_next_writes: int = 0
    drop_requestids: set[str] = field(default_factory=set)
    slow_rate: float = 0.0  # answer `slow_ms` late, after the work committed (client timeouts)
    slow_ms: float = 0.0
    # The next N API requests are throttled, in the form chosen: HTTP 429 (today) or 403 (the
    # gateway before December 2016), a JSON or an XML body, code "3001" or "003001".
    throttle_next: int = 0
    throttle_status: int = 429
    throttle_format: str = "json"
    throttle_code: str = "3001"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.throttle_status not in (429, 403):
            raise ValueError("throttle_status must be 429 or 403")
        if self.throttle_format not in ("json", "xml"):
            raise ValueError("throttle_format must be json or xml")
        if self.throttle_code not in ("3001", "003001"):
            raise ValueError("throttle_code must be 3001 or 003001")


def latency_seconds(faults: Faults, rng: random.Random) -> float:
    """The delay to add to this request (the caller holds the lock while the RNG is used)."""
    delay = faults.latency_ms
    if faults.jitter_ms:
        delay += rng.uniform(-faults.jitter_ms, faults.jitter_ms)
    return max(delay, 0.0) / 1000.0


def sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)


def take_error(faults: Faults, rng: random.Random) -> int | None:
    """The 500/503 status to answer instead of doing the work, or None."""
    if faults.error_next > 0 or (faults.error_rate and rng.random() < faults.error_rate):
        faults.error_next = max(0, faults.error_next - 1)
        return rng.choice([500, 503])
    return None


def take_drop(faults: Faults, rng: random.Random, requestid: str | None) -> bool:
    """Whether to cut the connection after this committed write."""
    if requestid is not None and requestid in faults.drop_requestids:
        faults.drop_requestids.discard(requestid)
        return True
    if faults.drop_next_writes > 0:
        faults.drop_next_writes -= 1
        return True
    return bool(faults.drop_rate) and rng.random() < faults.drop_rate


def take_slow(faults: Faults, rng: random.Random) -> float:
    """Seconds to hold a committed answer back, 0 when not slow."""
    if faults.slow_rate and rng.random() < faults.slow_rate:
        return faults.slow_ms / 1000.0
    return 0.0


def take_throttle(faults: Faults) -> bool:
    """Whether this request is throttled by injection (before any work)."""
    if faults.throttle_next > 0:
        faults.throttle_next -= 1
        return True
    return False
