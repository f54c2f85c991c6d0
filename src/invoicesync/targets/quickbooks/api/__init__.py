"""QuickBooks Online client. Imports nothing else from invoicesync (docs/architecture.md)."""

from invoicesync.targets.quickbooks.api.client import Limits, QBOClient, RateLimiter, RetryPolicy
from invoicesync.targets.quickbooks.api.errors import QBOError

__all__ = ["Limits", "QBOClient", "QBOError", "RateLimiter", "RetryPolicy"]
