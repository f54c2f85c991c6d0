"""Which entities the sandbox knows, their URL names and the properties a query may name."""

from __future__ import annotations

ENTITY_NAMES = {
    "invoice": "Invoice",
    "customer": "Customer",
    "item": "Item",
    "term": "Term",
    "taxcode": "TaxCode",
    "taxrate": "TaxRate",
    "companyinfo": "CompanyInfo",
    "preferences": "Preferences",
}
WRITABLE = {"Invoice", "Customer", "Item", "Term"}
CDC_ENTITIES = {"Invoice", "Customer", "Item", "Term"}
PDF_ENTITIES = {"Invoice"}

CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
    "CHF": "Swiss Franc",
    "JPY": "Japanese Yen",
}

_COMMON = {"Id", "SyncToken", "MetaData", "domain", "sparse"}

KNOWN_FIELDS: dict[str, set[str]] = {
    "Invoice": _COMMON
    | {
        "DocNumber",
        "TxnDate",
        "DueDate",
        "CustomerRef",
        "SalesTermRef",
        "Line",
        "TxnTaxDetail",
        "CurrencyRef",
        "ExchangeRate",
        "CustomerMemo",
        "PrivateNote",
        "BillEmail",
        "TotalAmt",
        "Balance",
        "HomeTotalAmt",
        "HomeBalance",
        "EmailStatus",
        "PrintStatus",
        "GlobalTaxCalculation",
        "LinkedTxn",
        "Deposit",
        "ApplyTaxAfterDiscount",
        "BillAddr",
        "ShipAddr",
        "DeliveryInfo",
    },
    "Customer": _COMMON
    | {
        "DisplayName",
        "CompanyName",
        "GivenName",
        "FamilyName",
        "PrimaryEmailAddr",
        "Active",
        "Job",
        "ParentRef",
        "Level",
        "FullyQualifiedName",
        "CurrencyRef",
        "SalesTermRef",
        "Balance",
        "BalanceWithJobs",
        "Taxable",
        "DefaultTaxCodeRef",
        "PrintOnCheckName",
        "BillAddr",
    },
    "Item": _COMMON
    | {
        "Name",
        "Type",
        "Active",
        "UnitPrice",
        "Description",
        "IncomeAccountRef",
        "Taxable",
        "SalesTaxCodeRef",
        "FullyQualifiedName",
        "Sku",
    },
    "Term": _COMMON | {"Name", "Active", "Type", "DueDays"},
    "TaxCode": _COMMON
    | {"Name", "Description", "Active", "Taxable", "TaxGroup", "SalesTaxRateList", "Hidden"},
    "TaxRate": _COMMON | {"Name", "RateValue", "Active", "AgencyRef", "Description"},
    "CompanyInfo": {"Id", "SyncToken", "MetaData", "CompanyName", "Country", "CompanyAddr"},
    "Preferences": {"Id", "SyncToken", "MetaData", "SalesFormsPrefs", "CurrencyPrefs", "TaxPrefs"},
}
