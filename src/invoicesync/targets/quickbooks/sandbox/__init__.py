"""A local QuickBooks Online: Accounting API v3 and Intuit OAuth 2.0, for tests and demos.

See docs/sandbox.md and the sandbox section of docs/architecture.md. In-process:
`SandboxTransport(Sandbox())`; over loopback: `invoicesync sandbox serve`.
"""

from invoicesync.targets.quickbooks.sandbox.app import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Sandbox,
    SandboxTransport,
)
from invoicesync.targets.quickbooks.sandbox.injection import Faults
from invoicesync.targets.quickbooks.sandbox.limits import RateLimits
from invoicesync.targets.quickbooks.sandbox.seeding import CompanyFileError
from invoicesync.targets.quickbooks.sandbox.server import SandboxServer, start_in_thread
from invoicesync.targets.quickbooks.sandbox.wire import Request, Response

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "CompanyFileError",
    "Faults",
    "RateLimits",
    "Request",
    "Response",
    "Sandbox",
    "SandboxServer",
    "SandboxTransport",
    "start_in_thread",
]
