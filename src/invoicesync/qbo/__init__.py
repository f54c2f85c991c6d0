"""QuickBooks Online client. Imports nothing else from invoicesync (docs/architecture.md)."""

from invoicesync.qbo.client import Limits, QBOClient, RateLimiter, RetryPolicy
from invoicesync.qbo.errors import QBOError

__all__ = ["Limits", "QBOClient", "QBOError", "RateLimiter", "RetryPolicy"]
