"""Errors a user can cause or meet, each carrying the exit code documented in docs/exit-codes.md.

`cli.py` is the only place that turns these into a one-line message and an exit status, so
every other module raises and never prints. The tree:

    InvoiceSyncError (1, a bug or an unexpected failure)
    ├── UsageError (2)
    ├── Refused (3, 5 or 6)          the target refused a request for a reason of its own
    ├── NotConnected (4)             missing credentials, invalid_grant, revoked
    ├── PrerequisiteMissing (5)      customer, item, term, tax code or currency absent at the target
    ├── Conflict (6)                 already linked elsewhere, DocNumber owned by another txn
    ├── TargetUnavailable (7)        throttled or down after retries; safe to re-run
    ├── InvalidInput (8)             source file or config; nothing was sent
    │   ├── ConfigError
    │   └── SourceError
    ├── LockHeld (9)
    │   (10: `reconcile --exit-code` found drift; a result, not an error)
    └── Interrupted (130)
"""

from __future__ import annotations

import re
import threading

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_NOT_CONNECTED = 4
EXIT_PREREQUISITE = 5
EXIT_CONFLICT = 6
EXIT_UNAVAILABLE = 7
EXIT_INVALID_INPUT = 8
EXIT_LOCKED = 9
EXIT_DRIFT = 10
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[int, str] = {
    EXIT_OK: 'success, including "nothing to do"',
    EXIT_UNEXPECTED: "unexpected error (a bug: rerun with --verbose and report it)",
    EXIT_USAGE: "usage error",
    EXIT_PARTIAL: "batch finished, but some invoices failed (details per invoice)",
    EXIT_NOT_CONNECTED: "not connected / re-authorisation needed",
    EXIT_PREREQUISITE: "prerequisites missing at the target (customer, item, term, tax code, "
    "currency)",
    EXIT_CONFLICT: "conflict (already linked elsewhere, DocNumber owned by another transaction)",
    EXIT_UNAVAILABLE: "the target unavailable or throttled after retries; safe to re-run later",
    EXIT_INVALID_INPUT: "invalid input (source file, config); nothing was sent",
    EXIT_LOCKED: "another invoicesync run holds the lock",
    EXIT_DRIFT: "`reconcile --exit-code` found linked invoices changed, voided or deleted at "
    "the target",
    EXIT_INTERRUPTED: "interrupted",
}


class InvoiceSyncError(Exception):
    """Base error: `str(error)` is the one-line message, `details` optional extra lines."""

    exit_code = EXIT_UNEXPECTED

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class UsageError(InvoiceSyncError):
    exit_code = EXIT_USAGE


class NotConnected(InvoiceSyncError):
    exit_code = EXIT_NOT_CONNECTED


class PrerequisiteMissing(InvoiceSyncError):
    exit_code = EXIT_PREREQUISITE


class Conflict(InvoiceSyncError):
    exit_code = EXIT_CONFLICT


class TargetUnavailable(InvoiceSyncError):
    exit_code = EXIT_UNAVAILABLE


class InvalidInput(InvoiceSyncError):
    exit_code = EXIT_INVALID_INPUT


class ConfigError(InvalidInput):
    pass


class SourceError(InvalidInput):
    pass


class LockHeld(InvoiceSyncError):
    exit_code = EXIT_LOCKED


class Refused(InvoiceSyncError):
    """QuickBooks (or another target) refused the request with its own reason: a missing
    reference (5), a conflict (6), or any other business rule (3)."""

    def __init__(self, message: str, exit_code: int = EXIT_PARTIAL) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Interrupted(InvoiceSyncError):
    exit_code = EXIT_INTERRUPTED


# --- secret redaction ---------------------------------------------------------------------
# Every token or client secret the process learns is registered here, and everything the CLI
# prints or logs passes through `redact`. Belt and braces: code should never format a secret
# in the first place, but a third-party exception message might.

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_MIN_SECRET_LEN = 6


def register_secret(value: str | None) -> None:
    """Remember a secret so `redact` can blank it out of any later output."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Replace every registered secret (and any bearer/basic credential) with `***`."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "***")
    if "Bearer" not in text and "Basic" not in text:
        return text  # the regex costs 2 s over a 70 MB document; a substring test does not
    return _AUTH_HEADER.sub(r"\1 ***", text)


_AUTH_HEADER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}")
