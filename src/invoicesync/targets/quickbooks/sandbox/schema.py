"""Which entities the sandbox knows, their URL names and the properties a query may name."""

from __future__ import annotations

ENTITY_NAMES = {
    "invoice": "Invoice",
    "creditmemo": "CreditMemo",
    "payment": "Payment",
    "customer": "Customer",
    "vendor": "Vendor",
    "employee": "Employee",
    "item": "Item",
    "term": "Term",
    "account": "Account",
    "attachable": "Attachable",
    "taxcode": "TaxCode",
    "taxrate": "TaxRate",
    "companyinfo": "CompanyInfo",
    "preferences": "Preferences",
}
TRANSACTIONS = {"Invoice", "CreditMemo", "Payment"}
PEOPLE = ("Customer", "Vendor", "Employee")  # DisplayName is unique across the three
WRITABLE = TRANSACTIONS | set(PEOPLE) | {"Item", "Term", "Account", "Attachable"}
CDC_ENTITIES = WRITABLE
# Updated (full or sparse) but never created or deleted.
UPDATE_ONLY = {"CompanyInfo"}
PDF_ENTITIES = {"Invoice", "CreditMemo"}
SENDABLE = {"Invoice", "CreditMemo"}  # `POST /{entity}/{id}/send`: QuickBooks e-mails it
# Whose rows a query returns only when active, unless the WHERE clause names `Active`.
NAME_LISTS = set(PEOPLE) | {"Item", "Term", "Account"}

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
    "CreditMemo": _COMMON
    | {
        "DocNumber",
        "TxnDate",
        "CustomerRef",
        "Line",
        "TxnTaxDetail",
        "CurrencyRef",
        "ExchangeRate",
        "CustomerMemo",
        "PrivateNote",
        "BillEmail",
        "TotalAmt",
        "Balance",
        "RemainingCredit",
        "HomeTotalAmt",
        "HomeBalance",
        "EmailStatus",
        "PrintStatus",
        "GlobalTaxCalculation",
        "LinkedTxn",
        "ApplyTaxAfterDiscount",
        "BillAddr",
    },
    "Payment": _COMMON
    | {
        "TxnDate",
        "CustomerRef",
        "Line",
        "TotalAmt",
        "UnappliedAmt",
        "CurrencyRef",
        "ExchangeRate",
        "PaymentMethodRef",
        "PaymentRefNum",
        "DepositToAccountRef",
        "PrivateNote",
        "LinkedTxn",
        "ProcessPayment",
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
    "Account": _COMMON
    | {
        "Name",
        "AccountType",
        "AccountSubType",
        "Classification",
        "Active",
        "FullyQualifiedName",
        "CurrentBalance",
        "CurrencyRef",
        "SubAccount",
        "ParentRef",
        "AcctNum",
        "Description",
    },
    "Vendor": _COMMON
    | {"DisplayName", "CompanyName", "GivenName", "FamilyName", "PrimaryEmailAddr", "Active"},
    "Employee": _COMMON | {"DisplayName", "GivenName", "FamilyName", "PrimaryEmailAddr", "Active"},
    "Attachable": _COMMON
    | {
        "FileName",
        "ContentType",
        "Size",
        "Note",
        "AttachableRef",
        "FileAccessUri",
        "TempDownloadUri",
        "Category",
    },
    "TaxCode": _COMMON
    | {"Name", "Description", "Active", "Taxable", "TaxGroup", "SalesTaxRateList", "Hidden"},
    "TaxRate": _COMMON | {"Name", "RateValue", "Active", "AgencyRef", "Description"},
    "CompanyInfo": {"Id", "SyncToken", "MetaData", "CompanyName", "Country", "CompanyAddr"},
    "Preferences": {"Id", "SyncToken", "MetaData", "SalesFormsPrefs", "CurrencyPrefs", "TaxPrefs"},
}
