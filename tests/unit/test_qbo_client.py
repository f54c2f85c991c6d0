"""QBOClient with pytest-httpx: exact requests, escaping, retries, error mapping."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from pytest_httpx import HTTPXMock

from invoicesync.targets.quickbooks.api import errors as qerr
from invoicesync.targets.quickbooks.api import query as qq
from invoicesync.targets.quickbooks.api.client import (
    Limits,
    QBOClient,
    RateLimiter,
    RetryPolicy,
    backoff,
)

BASE = "https://qbo.example"
REALM = "123"


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def client(slept: list[float]) -> QBOClient:
    return QBOClient(
        base_url=BASE,
        realm_id=REALM,
        sleep=slept.append,
        jitter=lambda: 1.0,
        limiter=RateLimiter(Limits.off()),
        retry=RetryPolicy(max_attempts=4),
    )


def url(path: str, **params: str) -> str:
    query = httpx.QueryParams({"minorversion": "75", **params})
    return f"{BASE}/v3/company/{REALM}/{path}?{query}"


def test_read_sends_accept_and_minorversion(client: QBOClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=url("invoice/7"), json={"Invoice": {"Id": "7", "TotalAmt": 12.5}})
    invoice = client.read("Invoice", "7")
    assert invoice["TotalAmt"] == Decimal("12.5")
    request = httpx_mock.get_request()
    assert request is not None and request.headers["accept"] == "application/json"


def test_create_sends_exact_decimals_and_requestid(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=url("invoice", requestid="rid-1"), json={"Invoice": {"Id": "1"}})
    client.create("Invoice", {"Line": [{"Amount": Decimal("1861.08")}]}, requestid="rid-1")
    request = httpx_mock.get_request()
    assert request is not None
    assert request.content == b'{"Line": [{"Amount": 1861.08}]}'
    assert request.headers["content-type"] == "application/json"


def test_writes_must_carry_a_requestid(client: QBOClient) -> None:
    with pytest.raises(ValueError, match="requestid"):
        client.request("POST", "invoice", body={})


def test_retries_keep_the_same_requestid_and_back_off(
    client: QBOClient, httpx_mock: HTTPXMock, slept: list[float]
) -> None:
    target = url("invoice", requestid="same")
    httpx_mock.add_response(url=target, status_code=503, text="down")
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=target)
    httpx_mock.add_response(
        url=target, status_code=500, json={"Fault": {"Error": [{"code": "10000"}]}}
    )
    httpx_mock.add_response(url=target, json={"Invoice": {"Id": "9"}})
    assert client.create("Invoice", {}, requestid="same")["Id"] == "9"
    ids = [r.url.params["requestid"] for r in httpx_mock.get_requests()]
    assert ids == ["same"] * 4
    assert slept == [0.5, 1.0, 2.0]


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    assert [backoff(n, policy, 1.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff(3, policy, 0.0) == 1.0


def test_429_waits_as_qbo_asks(
    client: QBOClient, httpx_mock: HTTPXMock, slept: list[float]
) -> None:
    target = url("query", query="select * from Term startposition 1 maxresults 1000")
    httpx_mock.add_response(url=target, status_code=429, text="<IntuitResponse/>")
    httpx_mock.add_response(url=target, status_code=429, headers={"Retry-After": "5"})
    httpx_mock.add_response(url=target, json={"QueryResponse": {}})
    assert client.query("select * from Term") == []
    assert slept == [60.0, 5.0]
    assert client.stats.throttled == 2


def test_connection_error_on_write_is_uncertain(client: QBOClient, httpx_mock: HTTPXMock) -> None:
    for _ in range(4):
        httpx_mock.add_exception(
            httpx.RemoteProtocolError("dropped"), url=url("invoice", requestid="r")
        )
    with pytest.raises(qerr.QBOConnectionError) as info:
        client.create("Invoice", {}, requestid="r")
    assert info.value.uncertain is True


def test_validation_errors_are_not_retried(client: QBOClient, httpx_mock: HTTPXMock) -> None:
    body = {
        "Fault": {
            "Error": [
                {
                    "Message": "Duplicate Document Number Error",
                    "code": "6140",
                    "Detail": "Duplicate Document Number Error : ... DocNumber=A-1 is assigned to TxnType=Invoice with TxnId=45823",
                    "element": "",
                }
            ],
            "type": "ValidationFault",
        },
        "time": "2020-12-15T04:54:25.476-08:00",
    }
    httpx_mock.add_response(
        url=url("invoice", requestid="r"),
        status_code=400,
        json=body,
        headers={"intuit_tid": "tid-1"},
    )
    with pytest.raises(qerr.DuplicateDocNumber) as info:
        client.create("Invoice", {}, requestid="r")
    err = info.value
    assert (err.code, err.txn_id, err.intuit_tid, err.status) == ("6140", "45823", "tid-1", 400)
    assert "intuit_tid tid-1" in str(err)
    assert len(httpx_mock.get_requests()) == 1


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (
            401,
            {
                "fault": {
                    "error": [
                        {
                            "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                            "detail": "Token expired",
                            "code": "3200",
                        }
                    ],
                    "type": "AUTHENTICATION",
                }
            },
            qerr.AuthError,
            "3200",
        ),
        (
            403,
            {
                "fault": {
                    "error": [{"message": "message=AuthorizationFailed", "code": "3100"}],
                    "type": "SERVICE",
                }
            },
            qerr.ForbiddenError,
            "3100",
        ),
        (
            400,
            {
                "Fault": {
                    "Error": [{"Message": "Object Not Found", "code": "610"}],
                    "type": "ValidationFault",
                }
            },
            qerr.NotFoundError,
            "610",
        ),
        (
            400,
            {"Fault": {"Error": [{"Message": "Stale Object Error", "code": "5010"}]}},
            qerr.StaleObjectError,
            "5010",
        ),
        (
            400,
            {"Fault": {"Error": [{"Message": "Invalid query", "code": "4001"}]}},
            qerr.QueryError,
            "4001",
        ),
        (
            400,
            {"Fault": {"Error": [{"Message": "Invalid Reference Id", "code": "2500"}]}},
            qerr.InvalidReferenceError,
            "2500",
        ),
        (
            400,
            {"Fault": {"Error": [{"Message": "Amount calculation incorrect", "code": "6070"}]}},
            qerr.ValidationError,
            "6070",
        ),
    ],
)
def test_error_mapping(
    client: QBOClient, httpx_mock: HTTPXMock, status: int, body: object, cls: type, code: str
) -> None:
    httpx_mock.add_response(url=url("invoice/1"), status_code=status, json=body)
    with pytest.raises(cls) as info:
        client.read("Invoice", "1")
    assert info.value.code == code


def test_xml_fault_body_is_parsed() -> None:
    xml = (
        '<IntuitResponse><Fault type="SERVICE"><Error code="3001" element="">'
        "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
        "<Detail>The request limit was reached.  Try again later</Detail></Error></Fault></IntuitResponse>"
    )
    err = qerr.from_response(httpx.Response(429, text=xml))
    assert isinstance(err, qerr.ThrottledError)
    assert (err.code, err.fault_type, err.detail) == (
        "3001",
        "SERVICE",
        "The request limit was reached.  Try again later",
    )


def test_non_json_error_keeps_status_and_snippet() -> None:
    err = qerr.from_response(httpx.Response(502, text="<html>Bad gateway</html>"))
    assert isinstance(err, qerr.ServerError) and "Bad gateway" in (err.detail or "")


def test_fault_inside_http_200_is_an_error(client: QBOClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=url("invoice/1"), json={"Fault": {"Error": [{"Message": "x", "code": "610"}]}}
    )
    with pytest.raises(qerr.NotFoundError):
        client.read("Invoice", "1")


def test_query_pages_until_a_short_page(client: QBOClient, httpx_mock: HTTPXMock) -> None:
    full = {
        "QueryResponse": {
            "Customer": [{"Id": str(i)} for i in range(2)],
            "startPosition": 1,
            "maxResults": 2,
        }
    }
    httpx_mock.add_response(
        url=url("query", query="select * from Customer startposition 1 maxresults 2"), json=full
    )
    httpx_mock.add_response(
        url=url("query", query="select * from Customer startposition 3 maxresults 2"), json=full
    )
    httpx_mock.add_response(
        url=url("query", query="select * from Customer startposition 5 maxresults 2"),
        json={"QueryResponse": {}},
    )
    assert len(client.query("select * from Customer", page_size=2)) == 4


def test_query_escaping() -> None:
    assert qq.quote("O'Brien \\ Co") == "'O\\'Brien \\\\ Co'"
    assert qq.select("Invoice", [("DocNumber", "IN", ["A'1", "B"])]) == (
        "select * from Invoice where DocNumber IN ('A\\'1', 'B')"
    )
    with pytest.raises(qq.UnsafeValue):
        qq.quote("O’Brien")
    assert not qq.queryable("tab\tname") and qq.queryable("100% sure")


def test_sparse_update_retries_once_on_stale_sync_token(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    stale = {"Fault": {"Error": [{"Message": "Stale Object Error", "code": "5010"}]}}
    httpx_mock.add_response(url=url("invoice", requestid="u-1"), status_code=400, json=stale)
    httpx_mock.add_response(url=url("invoice/5"), json={"Invoice": {"Id": "5", "SyncToken": "3"}})
    httpx_mock.add_response(
        url=url("invoice", requestid="u-2"), json={"Invoice": {"Id": "5", "SyncToken": "4"}}
    )
    result = client.sparse_update(
        "Invoice", "5", {"PrivateNote": "x"}, requestid="u", sync_token="2"
    )
    assert result["SyncToken"] == "4"
    last = json.loads(httpx_mock.get_requests()[-1].content)
    assert last == {"Id": "5", "SyncToken": "3", "sparse": True, "PrivateNote": "x"}


def test_rate_limiter_counts_from_when_a_request_left() -> None:
    """A request held back (here: by a token refresh) before sending is stamped when it leaves,
    so the window it starts is not shorter than the server's."""
    now = [0.0]
    limiter = RateLimiter(
        Limits(per_second=1, per_minute=500, guard=0.0),
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    first = limiter.acquire()
    now[0] = 0.4  # the refresh took 0.4 s
    limiter.stamp(first)
    limiter.release(first)
    limiter.release(limiter.acquire())
    assert now[0] == pytest.approx(1.4)


def test_rate_limiter_spaces_requests() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    limiter = RateLimiter(
        Limits(per_second=2, per_minute=500, guard=0.25), clock=lambda: now[0], sleep=sleep
    )
    for _ in range(5):
        limiter.release(limiter.acquire())
    assert now[0] == pytest.approx(2.5)  # two full 1.25 s windows before the fifth request
    assert waits == [pytest.approx(1.25), pytest.approx(1.25)]
