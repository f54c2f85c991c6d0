"""The accounting target behind the use cases (`base.Ledger`), and its QuickBooks adapter."""
