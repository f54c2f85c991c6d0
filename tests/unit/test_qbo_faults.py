"""Real QuickBooks answers, fed to the client with pytest-httpx: every exact wire form.

Payloads marked "verbatim" are copied byte for byte (bar indentation inside the Python string)
from where they were published; the others say what they were built from.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from pytest_httpx import HTTPXMock

from invoicesync.targets.quickbooks.api import errors as qerr
from invoicesync.targets.quickbooks.api.client import QBOClient, RetryPolicy
from invoicesync.targets.quickbooks.api.limiter import Limits, RateLimiter
from tests.helpers import FakeClock as Clock

BASE = "https://qbo.example"
REALM = "123"

# Verbatim: github.com/routablehq/python-quickbooks/issues/43 (2016, sandbox): the old throttle
# answer, HTTP 403 with an XML body although JSON was asked for.
THROTTLE_403_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<IntuitResponse time="2016-10-10T12:14:28.801-07:00" xmlns="http://schema.intuit.com/finance/v3">
    <Fault type="SERVICE">
        <Error code="3001">
            <Message>message=ThrottleExceeded; errorCode=003001; statusCode=403</Message>
            <Detail>The request limit was reached.  Try again later</Detail>
        </Error>
    </Fault>
</IntuitResponse>"""

# Verbatim: github.com/intuit/QuickBooks-V3-PHP-SDK/issues/54 (2017): the same at HTTP 429.
THROTTLE_429_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<IntuitResponse time="2017-07-30T22:45:22.933-07:00" xmlns="http://schema.intuit.com/finance/v3">
    <Fault type="SERVICE">
        <Error code="3001">
            <Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>
            <Detail>The request limit was reached.  Try again later</Detail>
        </Error>
    </Fault>
</IntuitResponse>"""

# Built: the gateway's lower-case JSON envelope (verbatim shape from
# github.com/routablehq/python-quickbooks/issues/250, a 401) carrying the throttle's texts.
THROTTLE_JSON = {
    "warnings": None,
    "intuitObject": None,
    "fault": {
        "error": [
            {
                "message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                "detail": "The request limit was reached.  Try again later",
                "code": "003001",
                "element": None,
            }
        ],
        "type": "SERVICE",
    },
    "report": None,
    "queryResponse": None,
    "batchItemResponse": [],
    "time": 1633520295688,
}

# Verbatim: github.com/ruckus/quickbooks-ruby spec/fixtures/generic_error.xml.
SYSTEM_FAULT_XML = (
    '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" '
    'time="2013-11-15T13:16:49.528-08:00">\n\t<Fault type="SystemFault">\n\t\t<Error code="10000">'
    "\n\t\t\t<Message>An application error has occurred while processing your request</Message>"
    "\n\t\t\t<Detail>System Failure Error: Could not find resource for relative : some more info "
    "here</Detail>\n\t\t</Error>\n\t</Fault>\n</IntuitResponse>"
)

# The Error object verbatim from github.com/mcohen01/node-quickbooks/issues/113 (a 10000 on a
# create, printed by node); the envelope around it is the documented Fault JSON.
SYSTEM_FAULT_JSON = {
    "Fault": {
        "Error": [
            {
                "Message": "An application error has occurred while processing your request",
                "Detail": "System Failure Error: java.lang.Throwable: Payroll call failed with no "
                "information",
                "code": "10000",
                "element": "SystemFailureError",
            }
        ],
        "type": "SystemFault",
    }
}

# The Error object verbatim from github.com/mcohen01/node-quickbooks/issues/48 (a 6000).
BUSINESS_6000 = {
    "Fault": {
        "Error": [
            {
                "Message": "A business validation error has occurred while processing your request",
                "Detail": "Business Validation Error: Unexpected Internal Error. (-30000)",
                "code": "6000",
                "element": "",
            }
        ],
        "type": "ValidationFault",
    }
}

# Verbatim: github.com/ruckus/quickbooks-ruby spec/fixtures/customer_duplicate_error.xml.
DUPLICATE_NAME_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2014-01-26T09:19:21.801-08:00">
  <Fault type="ValidationFault">
    <Error code="6240" element="">
      <Message>Duplicate Name Exists Error</Message>
      <Detail>The name supplied already exists. : Another $$customer$$ is already using this name. Please use a different name.</Detail>
    </Error>
  </Fault>
</IntuitResponse>
"""

# Verbatim: github.com/intuit/QuickBooks-V3-PHP-SDK/issues/445 (2022, an invoice create): not
# well-formed XML (the Error is never closed), with the element attribute set.
AMOUNT_6070_BROKEN_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2022-02-15T06:48:39.759-08:00">
    <Fault type="ValidationFault">
        <Error code="6070" element="Line.Amount">
            <Message>Amount calculation incorrect in the request.</Message>
            <Detail>Amount is not equal to UnitPrice * Qty. Supplied value:58</Detail>
        </Fault>
    </IntuitResponse>"""

# Verbatim: github.com/intuit/oauth-jsclient/issues/188 (2024): JSON with an element.
RESULT_TOO_BIG = {
    "Fault": {
        "Error": [
            {
                "Message": "Result Set Big Error",
                "Detail": "Result Set Big Error : Report too large, please customize",
                "code": "10100",
                "element": "ReportName",
            }
        ],
        "type": "ValidationFault",
    },
    "time": "2024-06-24T10:19:14.384-07:00",
}

# Verbatim: github.com/ruckus/quickbooks-ruby spec/fixtures/batch_response.xml: a batch answered
# in XML at HTTP 200, one item refused (2050, with `element`), the others created.
BATCH_XML = """<?xml version="1.0" encoding="UTF-8"?>
<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2014-02-03T03:48:58.191-08:00">
  <BatchItemResponse bId="1a">
    <Fault type="ValidationFault">
      <Error code="2050" element="firstname">
        <Message>Length exceeds limit</Message>
        <Detail>Length of the field exceeds 21 chars</Detail>
      </Error>
      <Error code="2080" element="postalcode">
        <Message>Illegal number format</Message>
        <Detail>ZipCode should be a number with at least 5 digits</Detail>
      </Error>
    </Fault>
  </BatchItemResponse>
  <BatchItemResponse bId="2b">
    <Customer>
      <Id>19891</Id>
      <Organization>false</Organization>
      <Title>Mr</Title>
      <GivenName>Mark</GivenName>
      <MiddleName>Arch </MiddleName>
      <FamilyName>Basler </FamilyName>
      <Suffix>Jr</Suffix>
      <FullName>Mr Mark Arch Basler Jr </FullName>
      <DisplayName>Mark Basler</DisplayName>
      <PrintOnCheckName>Mark Basler </PrintOnCheckName>
    </Customer>
  </BatchItemResponse>
  <BatchItemResponse bId="5e">
    <Invoice>
      <Id>19891</Id>
    </Invoice>
  </BatchItemResponse>
</IntuitResponse>
"""


@pytest.fixture
def waits() -> list[tuple[float, str]]:
    return []


@pytest.fixture
def client(clock: Clock, waits: list[tuple[float, str]]) -> QBOClient:
    return QBOClient(
        base_url=BASE,
        realm_id=REALM,
        sleep=clock.sleep,
        clock=clock,
        jitter=lambda: 1.0,
        limiter=RateLimiter(Limits.off(), clock=clock, sleep=clock.sleep),
        retry=RetryPolicy(max_attempts=3),
        on_wait=lambda s, r: waits.append((s, r)),
    )


def url(path: str, **params: str) -> str:
    query = httpx.QueryParams({"minorversion": "75", **params})
    return f"{BASE}/v3/company/{REALM}/{path}?{query}"


INVOICE = url("invoice", requestid="r-1")
XML = {"content-type": "application/xml"}


@pytest.mark.parametrize(
    ("status", "kwargs"),
    [
        (403, {"text": THROTTLE_403_XML, "headers": XML}),
        (429, {"text": THROTTLE_429_XML, "headers": XML}),
        (429, {"json": THROTTLE_JSON}),
        (403, {"json": THROTTLE_JSON}),
        (429, {"text": ""}),
    ],
    ids=["403-xml", "429-xml", "429-json-003001", "403-json-003001", "429-empty"],
)
def test_every_throttle_form_is_waited_out_and_retried(
    client: QBOClient,
    httpx_mock: HTTPXMock,
    clock: Clock,
    waits: list[tuple[float, str]],
    status: int,
    kwargs: dict[str, object],
) -> None:
    httpx_mock.add_response(url=INVOICE, status_code=status, **kwargs)
    httpx_mock.add_response(url=INVOICE, json={"Invoice": {"Id": "7"}})
    assert client.create("Invoice", {}, requestid="r-1")["Id"] == "7"
    assert clock.slept == [60.0]
    assert waits == [(60.0, "QuickBooks is throttling this company")]
    assert client.stats.throttled == 1


def test_throttled_after_every_retry_is_a_throttled_error(
    client: QBOClient, httpx_mock: HTTPXMock, clock: Clock
) -> None:
    for _ in range(3):
        httpx_mock.add_response(url=INVOICE, status_code=403, text=THROTTLE_403_XML)
    with pytest.raises(qerr.ThrottledError) as info:
        client.create("Invoice", {}, requestid="r-1")
    err = info.value
    assert (err.status, err.code, err.fault_type) == (403, "3001", "SERVICE")
    assert err.detail == "The request limit was reached.  Try again later"
    assert not err.definitive
    assert clock.slept == [60.0, 60.0]


def test_the_default_wait_hook_logs_what_the_cli_shows(
    httpx_mock: HTTPXMock, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    client = QBOClient(
        base_url=BASE,
        realm_id=REALM,
        sleep=clock.sleep,
        clock=clock,
        limiter=RateLimiter(Limits.off(), clock=clock, sleep=clock.sleep),
    )
    httpx_mock.add_response(url=url("invoice/7"), status_code=429, text=THROTTLE_429_XML)
    httpx_mock.add_response(url=url("invoice/7"), json={"Invoice": {"Id": "7"}})
    with caplog.at_level(logging.WARNING):
        client.read("Invoice", "7")
    assert caplog.messages == ["QuickBooks is throttling this company; waiting 60 s"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("Fri, 15 Jan 2027 08:00:30 GMT", 30.0), ("86400", 600.0), ("soon", 60.0)],
)
def test_retry_after_is_honoured(
    client: QBOClient, httpx_mock: HTTPXMock, clock: Clock, header: str, expected: float
) -> None:
    clock.now = 1_800_000_000.0  # Fri, 15 Jan 2027 08:00:00 GMT
    httpx_mock.add_response(
        url=INVOICE, status_code=429, text=THROTTLE_429_XML, headers={"Retry-After": header}
    )
    httpx_mock.add_response(url=INVOICE, json={"Invoice": {"Id": "7"}})
    client.create("Invoice", {}, requestid="r-1")
    assert clock.slept == [expected]


@pytest.mark.parametrize(
    ("status", "kwargs"),
    [
        (400, {"json": SYSTEM_FAULT_JSON}),
        (400, {"text": SYSTEM_FAULT_XML, "headers": XML}),
        (200, {"json": SYSTEM_FAULT_JSON}),
        (500, {"text": SYSTEM_FAULT_XML, "headers": XML}),
    ],
    ids=["400-json", "400-xml", "200-json", "500-xml"],
)
def test_fault_10000_is_retried_with_the_same_requestid(
    client: QBOClient,
    httpx_mock: HTTPXMock,
    clock: Clock,
    status: int,
    kwargs: dict[str, object],
) -> None:
    httpx_mock.add_response(url=INVOICE, status_code=status, **kwargs)
    httpx_mock.add_response(url=INVOICE, json={"Invoice": {"Id": "7"}})
    assert client.create("Invoice", {}, requestid="r-1")["Id"] == "7"
    assert [r.url.params["requestid"] for r in httpx_mock.get_requests()] == ["r-1", "r-1"]
    assert clock.slept == [0.5]


def test_fault_10000_that_persists_is_unavailable_not_a_refusal(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    for _ in range(3):
        httpx_mock.add_response(url=url("invoice/1"), status_code=400, json=SYSTEM_FAULT_JSON)
    with pytest.raises(qerr.ServerError) as info:
        client.read("Invoice", "1")
    err = info.value
    assert (err.code, err.element, err.status, err.definitive) == (
        "10000",
        "SystemFailureError",
        400,
        False,
    )


@pytest.mark.parametrize(
    ("kwargs", "cls", "code", "element", "detail"),
    [
        (
            {"json": BUSINESS_6000},
            qerr.ValidationError,
            "6000",
            None,
            "Business Validation Error: Unexpected Internal Error. (-30000)",
        ),
        (
            {"text": DUPLICATE_NAME_XML, "headers": XML},
            qerr.ValidationError,
            "6240",
            None,
            "The name supplied already exists. : Another $$customer$$ is already using this "
            "name. Please use a different name.",
        ),
        (
            {"text": AMOUNT_6070_BROKEN_XML, "headers": XML},
            qerr.ValidationError,
            "6070",
            "Line.Amount",
            "Amount is not equal to UnitPrice * Qty. Supplied value:58",
        ),
        (
            {"json": RESULT_TOO_BIG},
            qerr.ValidationError,
            "10100",
            "ReportName",
            "Result Set Big Error : Report too large, please customize",
        ),
    ],
    ids=["6000-json", "6240-xml", "6070-broken-xml", "10100-json"],
)
def test_business_refusals_are_definitive_and_keep_quickbooks_reason(
    client: QBOClient,
    httpx_mock: HTTPXMock,
    kwargs: dict[str, object],
    cls: type[qerr.QBOError],
    code: str,
    element: str | None,
    detail: str,
) -> None:
    httpx_mock.add_response(
        url=INVOICE,
        status_code=400,
        headers={"intuit_tid": "1-627de851-4479c0f75a6b53953216f423", **kwargs.pop("headers", {})},
        **kwargs,
    )
    with pytest.raises(cls) as info:
        client.create("Invoice", {}, requestid="r-1")
    err = info.value
    assert type(err) is cls and err.definitive
    assert (err.code, err.element, err.detail, err.status) == (code, element, detail, 400)
    assert err.intuit_tid == "1-627de851-4479c0f75a6b53953216f423"
    assert len(httpx_mock.get_requests()) == 1  # a refusal is never retried


def test_an_xml_batch_at_http_200_is_read_item_by_item(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=url("batch", requestid="b-1"), text=BATCH_XML, headers=XML)
    items = [{"bId": b, "operation": "create", "Invoice": {}} for b in ("1a", "2b", "5e", "9z")]
    answers = client.batch(items, requestid="b-1")
    refused = qerr.error_from_fault(*qerr.fault_errors(answers[0]), status=400, intuit_tid=None)
    assert isinstance(refused, qerr.ValidationError) and refused.definitive
    assert (refused.code, refused.element, refused.message) == (
        "2050",
        "firstname",
        "Length exceeds limit",
    )
    assert [e["code"] for e in refused.errors] == ["2050", "2080"]
    assert answers[1]["Customer"]["DisplayName"] == "Mark Basler"
    assert answers[2] == {"bId": "5e", "Invoice": {"Id": "19891"}}
    assert answers[3] == {"bId": "9z"}  # not answered: the caller resolves it


def test_a_fault_inside_a_query_response_is_raised(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    query = "select * from Invoice startposition 1 maxresults 1000"
    httpx_mock.add_response(
        url=url("query", query=query),
        json={
            "QueryResponse": {
                "Fault": {
                    "Error": [
                        {
                            "Message": "Invalid query",
                            "Detail": "QueryValidationError: value 0 is too small. Min allowed "
                            "value is 1",
                            "code": "4001",
                        }
                    ],
                    "type": "ValidationFault",
                }
            },
            "time": "2016-04-15T09:01:18.141-07:00",
        },
    )
    with pytest.raises(qerr.QueryError) as info:
        client.query("select * from Invoice")
    assert info.value.code == "4001" and info.value.status == 200


def test_an_xml_query_answer_at_http_200_gives_rows(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    query = "select * from Customer startposition 1 maxresults 1000"
    body = (
        '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2016-04-15T09:01:18">'
        '<QueryResponse startPosition="1" maxResults="1"><Customer domain="QBO" sparse="false">'
        "<Id>1</Id><SyncToken>0</SyncToken><DisplayName>O'Brien &amp; Co</DisplayName>"
        "</Customer></QueryResponse></IntuitResponse>"
    )
    httpx_mock.add_response(url=url("query", query=query), text=body, headers=XML)
    rows = client.query("select * from Customer")
    assert rows == [
        {
            "domain": "QBO",
            "sparse": "false",
            "Id": "1",
            "SyncToken": "0",
            "DisplayName": "O'Brien & Co",
        }
    ]


def test_an_unreadable_http_200_is_unavailable_and_retried(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=INVOICE, text='{"Invoice": {"Id": "7"')  # cut short
    httpx_mock.add_response(url=INVOICE, json={"Invoice": {"Id": "7"}})
    assert client.create("Invoice", {}, requestid="r-1")["Id"] == "7"


def test_an_xml_body_with_a_doctype_is_not_expanded() -> None:
    body = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
        '<IntuitResponse><Fault type="SERVICE"><Error code="3001"><Message>&lol;</Message>'
        "</Error></Fault></IntuitResponse>"
    )
    err = qerr.from_response(httpx.Response(429, text=body))
    assert isinstance(err, qerr.ThrottledError) and err.message == "&lol;"


def test_control_characters_from_quickbooks_never_reach_the_message() -> None:
    body = {
        "Fault": {
            "Error": [
                {
                    "Message": "Duplicate Name Exists Error",
                    "Detail": "Another customer is already using this \nname.\x1b[31m\u202e",
                    "code": "6240",
                }
            ]
        }
    }
    err = qerr.from_response(httpx.Response(400, json=body))
    assert str(err) == (
        "Duplicate Name Exists Error: Another customer is already using this name."
        "\\u001b[31m\\u202e (code 6240)"
    )
    assert err.detail is not None and "\n" in err.detail  # the data itself is kept as sent
