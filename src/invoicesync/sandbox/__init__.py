"""A local QuickBooks Online: Accounting API v3 and Intuit OAuth 2.0, for tests and demos.

See docs/sandbox.md. In-process: `SandboxTransport(Sandbox())`; over loopback:
`invoicesync sandbox serve`.
"""

from invoicesync.sandbox.app import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Faults,
    Limits,
    Request,
    Response,
    Sandbox,
    SandboxTransport,
)
from invoicesync.sandbox.server import SandboxServer, start_in_thread

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "Faults",
    "Limits",
    "Request",
    "Response",
    "Sandbox",
    "SandboxServer",
    "SandboxTransport",
    "start_in_thread",
]
