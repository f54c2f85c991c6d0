"""A local B2BRouter (e-invoicing network), written from its public API documentation.

API version 2026-04-20; see docs/b2brouter.md ("The sandbox") for the endpoints, the seeds,
the admin hooks and where the sandbox deviates. In-process:
`httpx.Client(transport=B2BRouterTransport(B2BRouterSandbox()))`; over loopback:
`start_in_thread(B2BRouterSandbox())`.
"""

from invoicesync.targets.b2brouter.sandbox.admin import Faults
from invoicesync.targets.b2brouter.sandbox.app import (
    DROP,
    B2BRouterSandbox,
    B2BRouterTransport,
    Request,
    Response,
)
from invoicesync.targets.b2brouter.sandbox.server import B2BRouterServer, start_in_thread

__all__ = [
    "DROP",
    "B2BRouterSandbox",
    "B2BRouterServer",
    "B2BRouterTransport",
    "Faults",
    "Request",
    "Response",
    "start_in_thread",
]
