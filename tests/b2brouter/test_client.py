"""The B2BRouter client against the sandbox in-process: headers, paths, paging, views, errors."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest

from invoicesync.targets.b2brouter.api import (
    B2BRouterClient,
    Contact,
    LineDraft,
    Rounding,
    choose_contact,
    invoice_payload,
    is_test_key,
)
from invoicesync.targets.b2brouter.api import errors as berr
from invoicesync.targets.b2brouter.sandbox import B2BRouterSandbox, B2BRouterTransport
from tests.b2brouter.conftest import BASE, FR_KEY


def draft(number: str = "INV-9", contact_id: int = 5001, **kw: object) -> dict[str, object]:
    lines = [
        LineDraft("Sworn translation", Decimal("1.5"), Decimal("33.33"), "S", Decimal("21"), "IVA"),
        LineDraft("Proofreading", Decimal("2"), Decimal("10.00"), "S", Decimal("21"), "IVA"),
    ]
    return invoice_payload(
        number=number,
        date=dt.date(2026, 5, 4),
        contact_id=contact_id,
        lines=lines,
        currency="EUR",
        due_date=dt.date(2026, 6, 3),
        file_reference="[invoicesync INV-9]",
        **kw,  # type: ignore[arg-type]
    )


def test_headers_paths_and_no_secret_in_repr(
    client: B2BRouterClient, sandbox: B2BRouterSandbox
) -> None:
    account = client.get_account()
    assert (account.id, account.currency) == (211, "EUR")
    assert account.rounding == Rounding("half_up", False, False)
    entry = sandbox.log()[-1]
    assert (entry["method"], entry["path"], entry["api_version"]) == (
        "GET",
        "/accounts/211",
        "2026-04-20",
    )
    assert client.is_test and is_test_key("test_x") and not is_test_key("live")
    assert "test_local_es_key" not in repr(client)


def test_create_sends_exact_decimals_and_reads_the_view(
    client: B2BRouterClient, sandbox: B2BRouterSandbox
) -> None:
    inv = client.create_invoice(draft())
    body = json.loads(sandbox.log()[-1]["body"])
    assert body["send_after_import"] is False
    assert '"quantity": 1.5, "price": 33.33' in sandbox.log()[-1]["body"]
    assert body["invoice"]["invoice_lines_attributes"][0]["taxes_attributes"] == [
        {"name": "IVA", "category": "S", "percent": 21}
    ]
    assert (inv.number, inv.state, inv.contact_id, inv.contact_tin) == (
        "INV-9",
        "new",
        5001,
        "ESA28000000",
    )
    assert (inv.subtotal, inv.total) == (Decimal("70.00"), Decimal("84.70"))
    assert inv.taxes[0].amount == Decimal("14.70") and inv.taxes[0].base == Decimal("70.00")
    assert (inv.date, inv.due_date, inv.file_reference) == (
        dt.date(2026, 5, 4),
        dt.date(2026, 6, 3),
        "[invoicesync INV-9]",
    )
    assert client.get_invoice(inv.id) == inv


def test_create_with_send_queues_delivery(client: B2BRouterClient) -> None:
    assert client.create_invoice(draft(), send=True).state == "sending"


def test_send_update_delete(client: B2BRouterClient, sandbox: B2BRouterSandbox) -> None:
    inv = client.create_invoice(draft())
    assert client.update_invoice(inv.id, {"extra_info": "note"}).extra_info == "note"
    assert client.send_invoice(inv.id).state == "sending"
    with pytest.raises(berr.ConflictError) as exc:
        client.delete_invoice(inv.id)
    assert (exc.value.status, exc.value.code) == (409, "conflict")
    other = client.create_invoice(draft("INV-10"))
    client.delete_invoice(other.id)
    with pytest.raises(berr.NotFoundError):
        client.get_invoice(other.id)


def test_duplicate_number_is_typed_with_the_apis_reason(client: B2BRouterClient) -> None:
    with pytest.raises(berr.DuplicateNumberError) as exc:
        client.create_invoice(draft("2026-0007"))
    assert exc.value.code == "parameter_taken"
    assert "already been taken" in str(exc.value)
    assert "HTTP 422" in str(exc.value) and exc.value.request_id


def test_validation_error_keeps_the_field(client: B2BRouterClient) -> None:
    bad = draft()
    bad["invoice_lines_attributes"][0]["taxes_attributes"][0]["category"] = "XX"  # type: ignore[index]
    with pytest.raises(berr.ValidationError) as exc:
        client.create_invoice(bad)
    assert exc.value.code == "parameter_inclusion"
    assert "invoice_lines_attributes[0].taxes_attributes[0].category" in exc.value.message


@pytest.mark.parametrize(
    ("key", "account", "error", "code"),
    [
        ("test_unknown", "211", berr.AuthError, "invalid_api_key"),
        ("test_local_expired_key", "211", berr.AuthError, "expired_api_key"),
        ("test_local_nogroup_key", "211", berr.PermissionDeniedError, "no_account_group"),
        (FR_KEY, "211", berr.AuthError, "invalid_api_key"),  # the other environment: 401
        ("test_local_es_key", "../invoices", berr.NotFoundError, "resource_missing"),
    ],
)
def test_auth_errors_are_typed(
    sandbox: B2BRouterSandbox, key: str, account: str, error: type[Exception], code: str
) -> None:
    transport = B2BRouterTransport(sandbox)
    with (
        B2BRouterClient(key, account, base_url=BASE, transport=transport) as c,
        pytest.raises(error) as exc,
    ):
        c.get_account()
    assert getattr(exc.value, "code", None) == code
    assert key not in str(exc.value)


def test_unsupported_version_is_a_validation_error(sandbox: B2BRouterSandbox) -> None:
    with (
        B2BRouterClient(
            "test_local_es_key",
            "211",
            base_url=BASE,
            api_version="2030-01-01",
            transport=B2BRouterTransport(sandbox),
        ) as c,
        pytest.raises(berr.ValidationError) as exc,
    ):
        c.get_account()
    assert exc.value.code == "invalid_api_version"


def test_paging_reads_every_page(client: B2BRouterClient, sandbox: B2BRouterSandbox) -> None:
    for n in range(7):
        client.create_invoice(draft(f"P-{n}"))
    client.page_limit = 3
    numbers = [i.number for i in client.invoices()]
    assert numbers == ["2026-0007"] + [f"P-{n}" for n in range(7)]
    offsets = [
        e["query"]["offset"]
        for e in sandbox.log()
        if e["method"] == "GET" and e["path"].endswith("/invoices")
    ]
    assert offsets[-3:] == ["0", "3", "6"]


def test_find_by_number_and_payments(client: B2BRouterClient, sandbox: B2BRouterSandbox) -> None:
    assert [i.id for i in client.find_by_number("2026-0007")] == [100001]
    assert client.find_by_number("2026-000") == []
    assert list(client.payments()) == []
    sandbox.network.force_state(sandbox.network.invoices[100001], "paid", "2026-04-10")
    [payment] = client.payments(date_from=dt.date(2026, 3, 1))
    assert (payment.invoice_id, payment.number, payment.date, payment.amount) == (
        100001,
        "2026-0007",
        dt.date(2026, 4, 10),
        Decimal("508.20"),
    )
    # date_from is the submission date (the seed was submitted today), not the invoice's
    assert list(client.payments(date_from=dt.date(2026, 3, 3))) == [payment]
    assert list(client.payments(date_to=dt.date(2026, 3, 3))) == []


def test_states_filter(client: B2BRouterClient) -> None:
    client.create_invoice(draft())
    assert [i.number for i in client.invoices(states=["new"])] == ["INV-9"]
    assert [i.number for i in client.invoices(states=["sent", "new"])] == ["2026-0007", "INV-9"]


def test_match_contact_by_tax_id_then_exact_name(client: B2BRouterClient) -> None:
    by_tin = client.match_contact(tax_id="es-a28000000", country="ES", name="Whatever")
    assert (by_tin.reason, by_tin.contact and by_tin.contact.id) == ("tax_id", 5001)
    quoted = client.match_contact(
        tax_id=None, country=None, name='Ediciones "El Quijote" [Madrid] S.L.'
    )
    assert (quoted.reason, quoted.contact and quoted.contact.id) == ("name", 5003)
    globex = client.match_contact(tax_id=None, country="es", name="Globex")
    assert (globex.reason, globex.contact, len(globex.candidates)) == ("ambiguous", None, 2)
    assert client.match_contact(tax_id=None, country=None, name="globex").reason == "none"
    # The tax id decides even when the name differs; a wrong country does not match.
    pt = client.match_contact(tax_id="PT501234567", country="pt", name="Globex")
    assert pt.contact is not None and pt.contact.country == "pt"
    assert client.match_contact(tax_id="DE123456789", country="FR", name="x").reason == "none"


def test_choose_contact_is_pure() -> None:
    a = Contact(1, "A", "ES 1", None, None, None)
    b = Contact(2, "A", "ES1", None, "es", None)
    assert choose_contact([a, b], tax_id="es1", country=None, name="A").reason == "ambiguous"
    assert choose_contact([a, b], tax_id="", country=None, name="B").reason == "none"


def test_create_contact_then_match(client: B2BRouterClient) -> None:
    made = client.create_contact(
        name="Nuevo S.L.", email="n@x.example", tax_id="ESB2", country="es"
    )
    assert client.match_contact(tax_id="ESB2", country="ES", name="Nuevo S.L.").contact == made


def test_a_success_that_is_not_json_is_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>maintenance</html>")

    with (
        B2BRouterClient("test_k", "1", base_url=BASE, transport=httpx.MockTransport(handler)) as c,
        pytest.raises(berr.B2BRouterError) as exc,
    ):
        c.get_account()
    assert str(exc.value) == ("B2BRouter answered HTTP 200 with a body that is not JSON (HTTP 200)")


def test_an_error_without_b2brouters_shape_keeps_status_and_snippet() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, content=b"Not Found")

    with (
        B2BRouterClient("test_k", "1", base_url=BASE, transport=httpx.MockTransport(handler)) as c,
        pytest.raises(berr.NotFoundError) as exc,
    ):
        c.get_invoice(3)
    assert str(exc.value) == "B2BRouter answered HTTP 404: Not Found (HTTP 404)"
