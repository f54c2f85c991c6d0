"""The B2BRouter client (API 2026-04-20): httpx, typed errors and views. Imports nothing else
from invoicesync, like `qbo/`; see docs/b2brouter.md."""

from invoicesync.targets.b2brouter.api.client import (
    API_VERSION,
    PRODUCTION_URL,
    STAGING_URL,
    B2BRouterClient,
    ContactMatch,
    RetryPolicy,
    choose_contact,
    is_test_key,
)
from invoicesync.targets.b2brouter.api.models import (
    DELIVERY_STATES,
    Account,
    Contact,
    Credited,
    Invoice,
    InvoiceTax,
    LineDraft,
    Payment,
    Rounding,
    TaxDraft,
    invoice_payload,
)

__all__ = [
    "API_VERSION",
    "DELIVERY_STATES",
    "PRODUCTION_URL",
    "STAGING_URL",
    "Account",
    "B2BRouterClient",
    "Contact",
    "ContactMatch",
    "Credited",
    "Invoice",
    "InvoiceTax",
    "LineDraft",
    "Payment",
    "RetryPolicy",
    "Rounding",
    "TaxDraft",
    "choose_contact",
    "invoice_payload",
    "is_test_key",
]
