"""Which unknown fields could change what is owed: those are refused, the others only warned of.

invoicesync cannot hold a field it does not know, so it drops it; dropping one that changes an
amount, a tax, the customer, the currency or a date would send a wrong invoice (a second tax on
an adjustment, such as an IRPF withholding, would leave the e-invoice's total too high). The
rule, as docs/invoice-format.md#unknown-fields states it:

- inside a line, an adjustment, the customer or the totals (the objects that hold money), every
  unknown field is an error;
- anywhere else (the invoice itself, `source`) and for a CSV column the mapping does not know,
  an unknown name is an error when `money_name` says it speaks of money, taxes, the customer,
  the currency or dates, and a warning otherwise.

Names are judged by two lists: STEMS, found anywhere in the name once case and separators are
ignored (`withholdingTax`, `Paid amount`, `subtotal`), and WORDS, which must be a whole word of
the name (`vat_rate`, `VATRate`, `fx`) because as parts of longer words they would catch
harmless names (`private` holds "vat", `updated` holds "date", `imported` holds "importe").
The lists err towards refusing: a harmless name refused costs a rename, a money name
warned of costs a wrong invoice.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Found anywhere in the name (lower case, letters and digits only). English first, then the
# Spanish, French and German words an agency's export uses for the same things.
STEMS = (
    # taxes and withholdings
    "tax", "withhold", "retention", "retenci", "irpf", "impuesto", "steuer",
    # discounts, charges, amounts, totals
    "discount", "descuento", "rabatt", "surcharge", "recargo", "charge", "rebate", "refund",
    "deduct", "allowance", "amount", "montant", "betrag", "total", "price", "precio", "preis",
    "percent", "quantit", "cantidad", "balance", "deposit", "payment", "paid", "adjustment",
    # the customer
    "customer", "client", "kunde", "buyer", "payer", "bill",
    # the currency
    "currenc", "moneda", "waehrung", "währung", "exchange",
    # dates
    "fecha", "datum", "deadline",
)  # fmt: skip
# Whole words of the name (split at anything not a letter or digit, between letters and digits,
# and where a lower-case letter meets a capital); a plural "s" is ignored.
WORDS = (
    # taxes: VAT and its names, sales taxes, tax identifiers of the customer
    "vat", "iva", "tva", "mwst", "ust", "gst", "hst", "pst", "qst", "igic", "ipsi",
    "nif", "cif", "tin",
    # money
    "fee", "rate", "pct", "net", "gross", "sum", "cost", "qty", "grand", "owed", "credit",
    "importe", "remise", "prix", "devise",
    # what the invoice holds
    "line", "item",
    # the customer (B2BRouter matches a contact), the currency
    "contact", "fx",
    # dates and terms
    "date", "dated", "due", "issued", "period", "term",
)  # fmt: skip
_WORDS = frozenset(WORDS)

_SEPARATORS = re.compile(r"[\W_]+")
_STEMS = re.compile("|".join(STEMS))
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")  # taxRate, VATRate
_WORD = re.compile(r"[^\W\d_]+|\d+")  # letters, or digits: vat21 is vat 21


@lru_cache(maxsize=4096)
def money_name(name: str) -> bool:
    """Whether an unknown field called `name` could change what is owed. Cached: an export
    repeats the same few unknown names on every invoice."""
    if _STEMS.search(_SEPARATORS.sub("", name.casefold())):
        return True
    for word in _WORD.findall(_CAMEL.sub(" ", name)):
        word = word.casefold()
        if word in _WORDS or (word.endswith("s") and word[:-1] in _WORDS):
            return True
    return False


UNKNOWN = (
    "unknown field that can change what is owed; invoicesync cannot hold it, so the invoice "
    "could be wrong: remove it or see docs/invoice-format.md#unknown-fields"
)
SEVERAL_TAXES = (
    "several taxes on an adjustment are not supported, and dropping one would make the total "
    "wrong; give the adjustment its one tax as `tax` and `tax_rate`, or bill it as a line, "
    "which takes `taxes` (docs/invoice-format.md#several-taxes-on-a-line)"
)
UNKNOWN_COLUMN = (
    "unknown field that can change what is owed; invoicesync cannot hold it, so the invoices "
    "could be wrong: remove the column, or map it in [csv.columns] if it is one of the fields "
    "in docs/invoice-format.md"
)
IGNORED = "unknown field, ignored"
