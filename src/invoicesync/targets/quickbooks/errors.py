"""QuickBooks errors as the use cases see them: an `InvoiceSyncError` with its exit code
(`translate`), a per-invoice `Refusal`, or `Uncertain` for a write whose outcome is unknown."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from invoicesync.errors import (
    EXIT_CONFLICT,
    EXIT_PARTIAL,
    EXIT_PREREQUISITE,
    InvoiceSyncError,
    NotConnected,
    Refused,
    TargetUnavailable,
)
from invoicesync.ledger.base import Refusal, Uncertain
from invoicesync.models import DocKind, DocRef
from invoicesync.targets.quickbooks.api import errors as qerr


def translate(exc: qerr.QBOError, what: str) -> InvoiceSyncError:
    """A QuickBooks error as the user-facing error with the documented exit code."""
    if isinstance(exc, qerr.AuthError):
        return NotConnected(
            f"QuickBooks refused the token while {what} ({exc}); "
            "run `invoicesync connect` to reconnect"
        )
    if isinstance(exc, qerr.ForbiddenError):
        return NotConnected(
            f"QuickBooks refused access while {what} ({exc}): the token belongs to another "
            "environment or company; check INVOICESYNC_ENVIRONMENT and reconnect"
        )
    if isinstance(exc, (qerr.ThrottledError, qerr.ServerError, qerr.QBOConnectionError)):
        return TargetUnavailable(
            f"QuickBooks is unavailable while {what}: {exc}; safe to re-run later"
        )
    if exc.definitive:  # QuickBooks refused it, with its reason: not a bug of ours
        found = refusal(exc)
        return Refused(f"QuickBooks refused a request while {what}: {exc}", found.exit_code)
    return InvoiceSyncError(f"QuickBooks rejected a request while {what}: {exc}")


def refusal(exc: qerr.QBOError) -> Refusal:
    """A definitive refusal of one invoice, with QuickBooks' own reason and our exit code."""
    owner, ref = None, None
    if isinstance(exc, qerr.DuplicateDocNumber):
        code, owner = EXIT_CONFLICT, exc.txn_id
        kind = _TXN_KINDS.get(exc.txn_type or "")
        ref = DocRef(kind, owner) if kind is not None and owner is not None else None
    elif isinstance(exc, (qerr.NotFoundError, qerr.InvalidReferenceError)):
        code = EXIT_PREREQUISITE
    elif isinstance(exc, qerr.StaleObjectError):
        code = EXIT_CONFLICT
    else:
        code = EXIT_PARTIAL
    return Refusal(
        message=str(exc),
        exit_code=code,
        code=exc.code,
        detail=exc.detail,
        element=exc.element,
        request_id=exc.intuit_tid,
        owner_id=owner,
        owner=ref,
    )


# 6140's Detail names the owner's type as QuickBooks' UI does ("TxnType=Credit Memo with
# TxnId=111", quoted at https://support.clio.com/hc/en-us/articles/115003454593);
# other types (a bill, say) are not ours to read.
_TXN_KINDS = {"Invoice": DocKind.INVOICE, "Credit Memo": DocKind.CREDIT_MEMO}


@contextlib.contextmanager
def translating(what: str) -> Iterator[None]:
    try:
        yield
    except qerr.QBOError as exc:
        raise translate(exc, what) from None


def write(what: str, action: Callable[[], dict[str, Any]]) -> dict[str, Any] | Refusal:
    """One lifecycle write: the row QuickBooks answered, a refusal, `Uncertain`, or the run's
    fatal error."""
    try:
        return action()
    except (qerr.QBOConnectionError, qerr.ServerError) as exc:
        raise Uncertain(str(exc)) from None
    except qerr.ValidationError as exc:
        return refusal(exc)
    except qerr.QBOError as exc:
        raise translate(exc, what) from None
