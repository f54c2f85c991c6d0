"""invoicesync: push invoices into QuickBooks Online exactly once, and keep them linked."""

__version__ = "0.1.0"
