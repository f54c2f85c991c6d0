"""B2BRouter's errors as the user's: each becomes an `InvoiceSyncError` with its documented exit
code here, for the ledger and its components alike."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from invoicesync.errors import Conflict, InvoiceSyncError, NotConnected, TargetUnavailable
from invoicesync.targets.b2brouter.api import errors as berr


def translate(exc: berr.B2BRouterError, what: str) -> InvoiceSyncError:
    """A B2BRouter error as the user-facing error with the documented exit code."""
    if isinstance(exc, berr.AuthError):
        return NotConnected(
            f"B2BRouter refused the API key while {what} ({exc}); check the key and that its "
            "environment matches the account (a test_ key only opens test accounts, a "
            "production key only production ones), then run `invoicesync connect`"
        )
    if isinstance(exc, berr.PermissionDeniedError):
        return NotConnected(
            f"B2BRouter refused access while {what} ({exc}); ask B2BRouter to give the key's "
            "group API permissions"
        )
    if isinstance(exc, berr.NotFoundError):
        return NotConnected(
            f"B2BRouter found no such account while {what} ({exc}); check the account id and "
            "that the key's environment (test_ or production) matches the account"
        )
    if isinstance(exc, berr.ConflictError):
        return Conflict(f"B2BRouter refused while {what}: {exc}")
    if isinstance(exc, berr.ThrottledError | berr.ServerError | berr.B2BRouterConnectionError):
        return TargetUnavailable(
            f"B2BRouter is unavailable while {what}: {exc}; safe to re-run later"
        )
    return InvoiceSyncError(f"B2BRouter rejected a request while {what}: {exc}")


@contextlib.contextmanager
def translating(what: str) -> Iterator[None]:
    try:
        yield
    except berr.B2BRouterError as exc:
        raise translate(exc, what) from None
