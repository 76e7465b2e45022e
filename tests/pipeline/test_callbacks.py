"""HTTP callbacks: the pure parts, then the client against a real twisted.web server on
127.0.0.1 that checks every signature with :func:`verify`, as a customer would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import pytest
import pytest_twisted  # type: ignore[import-untyped]
from twisted.internet import reactor
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IConnector,
    IDelayedCall,
    IHostnameResolver,
    IReactorPluggableNameResolver,
    IReactorTime,
)
from twisted.internet.protocol import ClientFactory
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site
from zope.interface import implementer

from gatewayd.pipeline.callbacks import (
    CallbackClient,
    CallbackFailed,
    backoff,
    encode_payload,
    mo_payload,
    receipt_payload,
    sign,
    signed_headers,
    validate_callback_url,
    verify,
)
from gatewayd.pipeline.destinations import parse_networks

F = TypeVar("F", bound=Callable[..., Any])
#: pytest-twisted ships no types; these keep the tests themselves checked.
ensure_deferred: Callable[[F], F] = pytest_twisted.ensureDeferred
async_yield_fixture: Callable[[F], F] = pytest_twisted.async_yield_fixture
REAL: Any = reactor  # the global reactor's interfaces are not visible to mypy

SECRET = b"whsec-test"
#: The customer's test endpoint listens on 127.0.0.1, which only an allow-list lets through.
LOCAL = parse_networks(["127.0.0.1/32"])
PAYLOAD = {"type": "receipt", "message_id": "m1", "status": "delivered"}

# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/sms?token=abc",
        "http://8.8.8.8:8080/cb",
        "HTTPS://Example.COM",
        "http://[2001:4860:4860::8888]:80/x",
        "http://localhost:8080/cb",  # a name: what it resolves to is checked when sending
        "https://h/" + "a" * (2000 - len("https://h/")),
    ],
)
def test_acceptable_callback_urls(url: str) -> None:
    assert validate_callback_url(url) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("example.com/hook", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("https:///path", "no host"),
        ("http://", "no host"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https://user@example.com/", "user name or password"),
        ("https://h/" + "a" * (2001 - len("https://h/")), "longer than 2000"),
        ("https://example.com:99999/", "not a URL"),
        ("https://[::1/", "not a URL"),
        ("https://example.com/a b", "without spaces"),
        ("https://example.com/\r\nX-Evil: 1", "without spaces"),
        ("https://bücher.example/", "ASCII"),
        ("http://127.0.0.1:8080/cb", "127.0.0.1 is a loopback address"),
        ("http://[::1]:80/x", "::1 is a loopback address"),
        ("http://10.0.0.5/", "10.0.0.5 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "is a link-local address"),
        ("http://[::ffff:127.0.0.1]/", "is a loopback address"),
        ("http://2130706433/", "127.0.0.1 is a loopback address"),  # what resolvers make of it
        ("http://0x7f.1/", "127.0.0.1 is a loopback address"),
    ],
)
def test_refused_callback_urls(url: str, reason: str) -> None:
    refused = validate_callback_url(url)
    assert refused is not None and reason in refused


def test_an_allow_listed_ip_literal_is_accepted() -> None:
    allowed = parse_networks(["10.0.0.0/8", "127.0.0.1/32"])
    assert validate_callback_url("http://10.0.0.5/hook", allowed) is None
    assert validate_callback_url("http://127.0.0.1:8080/cb", allowed) is None
    refused = validate_callback_url("http://127.0.0.2/", allowed)
    assert refused == "callback destination 127.0.0.2 is a loopback address"


# --- signature ------------------------------------------------------------------------------


def test_signature_matches_an_independent_hmac() -> None:
    # printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec-test
    expected = "fed7a1a6c799a6367d73724d76bc70c16678908a32a879cd1ded6565ac05cece"
    assert sign(SECRET, 1_700_000_000, b'{"a":1}') == "sha256=" + expected


def test_verify_accepts_the_signature_within_the_tolerance() -> None:
    sig = sign(SECRET, 1000, b"{}")
    assert verify(SECRET, 1000, b"{}", sig, now=1000.0)
    assert verify(SECRET, 1000, b"{}", sig, now=1300.0)
    assert verify(SECRET, 1000, b"{}", sig, now=700.0)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "now"),
    [
        (SECRET, 1000, b'{"a":2}', 1000.0),  # tampered body
        (b"other", 1000, b"{}", 1000.0),  # wrong secret
        (SECRET, 1001, b"{}", 1000.0),  # timestamp changed after signing
        (SECRET, 1000, b"{}", 1300.5),  # stale
        (SECRET, 1000, b"{}", 699.0),  # from the future
    ],
)
def test_verify_refuses(secret: bytes, timestamp: int, body: bytes, now: float) -> None:
    sig = sign(SECRET, 1000, b"{}")
    assert not verify(secret, timestamp, body, sig, now=now)


@pytest.mark.parametrize("garbage", ["", "sha256=", "sha256=zz", "sha256=é", "\udcff"])
def test_verify_refuses_garbage_without_raising(garbage: str) -> None:
    assert not verify(SECRET, 1000, b"{}", garbage, now=1000.0)


def test_verify_has_a_configurable_tolerance() -> None:
    sig = sign(SECRET, 1000, b"{}")
    assert not verify(SECRET, 1000, b"{}", sig, now=1061.0, tolerance=60)


def test_signed_headers() -> None:
    body = encode_payload(PAYLOAD)
    assert signed_headers(SECRET, 1234, "receipt-7", body) == {
        "Content-Type": "application/json",
        "User-Agent": "gatewayd",
        "X-Gatewayd-Timestamp": "1234",
        "X-Gatewayd-Signature": sign(SECRET, 1234, body),
        "X-Gatewayd-Delivery": "receipt-7",
    }


# --- payloads -------------------------------------------------------------------------------


def test_receipt_payload() -> None:
    parts = [{"seq": 1, "status": "delivered", "error_code": None}]
    payload = receipt_payload("m1", "undeliverable", "err:001", "22376600000", "ACME", 1.25, parts)
    assert payload == {
        "type": "receipt",
        "message_id": "m1",
        "status": "undeliverable",
        "error_code": "err:001",
        "to": "22376600000",
        "from": "ACME",
        "at": "1970-01-01T00:00:01.250Z",
        "parts": parts,
    }
    assert payload["parts"][0] is not parts[0]  # a copy: the caller's dicts stay theirs


def test_single_part_receipt_has_null_parts() -> None:
    payload = receipt_payload("m1", "delivered", None, "1", "2", 1_700_000_000.0, None)
    assert payload["parts"] is None and payload["error_code"] is None
    assert payload["at"] == "2023-11-14T22:13:20.000Z"


def test_mo_payload() -> None:
    udh = {"ref": 42, "total": 2, "seq": 1}
    assert mo_payload("mo1", "22376600000", "3636", "Bonjour é", 0.0, udh) == {
        "type": "mo",
        "mo_id": "mo1",
        "from": "22376600000",
        "to": "3636",
        "text": "Bonjour é",
        "at": "1970-01-01T00:00:00.000Z",
        "udh": udh,
    }
    assert mo_payload("mo1", "1", "2", "", 0.0, None)["udh"] is None


def test_encoding_is_compact_sorted_and_ascii() -> None:
    assert encode_payload({"b": "é", "a": [1, None]}) == b'{"a":[1,null],"b":"\\u00e9"}'


# --- back-off -------------------------------------------------------------------------------


def test_backoff_doubles_from_initial_and_is_capped() -> None:
    delays = [backoff(n) for n in range(1, 13)]
    assert delays[:5] == [5.0, 10.0, 20.0, 40.0, 80.0]
    assert delays[-1] == 3600.0 and max(delays) == 3600.0
    assert delays == sorted(delays)
    assert backoff(10_000) == 3600.0
    assert backoff(0) == 5.0
    assert backoff(3, initial=1.0, maximum=3.0) == 3.0


def test_backoff_jitter_takes_off_at_most_its_fraction() -> None:
    assert backoff(2, jitter=0.2, random=lambda: 0.5) == pytest.approx(9.0)
    assert backoff(2, jitter=0.2, random=lambda: 0.0) == 10.0
    assert backoff(100, jitter=1.0, random=lambda: 0.999) < 3600.0 * 0.01
    assert backoff(100, jitter=0.5, random=lambda: 0.0) == 3600.0


@pytest.mark.parametrize("jitter", [-0.1, 1.5])
def test_backoff_refuses_jitter_outside_0_1(jitter: float) -> None:
    with pytest.raises(ValueError, match="jitter"):
        backoff(1, jitter=jitter)


# --- the client, over real TCP --------------------------------------------------------------


@dataclass
class Received:
    path: bytes
    headers: dict[str, str]
    body: bytes
    signed: bool
    client_port: int


@dataclass
class Hook(Resource):
    """The customer's endpoint: /ok, /empty (204), /fail (500), /big (1 MiB), /hang."""

    now: Callable[[], float]
    received: list[Received] = field(default_factory=list)
    arrived: Deferred[None] = field(default_factory=Deferred)
    isLeaf = True

    def __post_init__(self) -> None:
        Resource.__init__(self)

    def render_POST(self, request: Request) -> bytes | int:
        assert request.content is not None
        body = request.content.read()
        headers = {k.decode(): v[0].decode() for k, v in request.requestHeaders.getAllRawHeaders()}
        timestamp = int(headers["X-Gatewayd-Timestamp"])
        signed = verify(SECRET, timestamp, body, headers["X-Gatewayd-Signature"], self.now())
        client = request.getClientAddress()
        assert isinstance(client, IPv4Address)
        self.received.append(Received(request.path, headers, body, signed, client.port))
        if not self.arrived.called:
            self.arrived.callback(None)
        match request.path:
            case b"/empty":
                request.setResponseCode(204)
            case b"/fail":
                request.setResponseCode(500)
                return b"oops"
            case b"/big":
                return b"x" * (1024 * 1024)
            case b"/hang":
                return NOT_DONE_YET
        return b"thanks"


@dataclass
class Endpoint:
    url: str
    hook: Hook


@async_yield_fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    hook = Hook(REAL.seconds)
    port = REAL.listenTCP(0, Site(hook), interface="127.0.0.1")
    yield Endpoint(f"http://127.0.0.1:{port.getHost().port}", hook)
    await port.stopListening()


@async_yield_fixture
async def client() -> AsyncIterator[CallbackClient]:
    c = CallbackClient(REAL, timeout=30.0, allowed=LOCAL)
    yield c
    await c.close()


async def failure_of(d: Deferred[int]) -> CallbackFailed:
    with pytest.raises(CallbackFailed) as caught:
        await d
    return caught.value


@ensure_deferred
async def test_200_with_signed_headers_and_the_exact_body(
    endpoint: Endpoint, client: CallbackClient
) -> None:
    status = await client.post(endpoint.url + "/ok", SECRET, "receipt-42", PAYLOAD)
    assert status == 200
    [got] = endpoint.hook.received
    assert got.signed
    assert got.body == encode_payload(PAYLOAD)
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == "gatewayd"
    assert got.headers["X-Gatewayd-Delivery"] == "receipt-42"
    assert abs(int(got.headers["X-Gatewayd-Timestamp"]) - REAL.seconds()) < 5


@ensure_deferred
async def test_204_is_success(endpoint: Endpoint, client: CallbackClient) -> None:
    assert await client.post(endpoint.url + "/empty", SECRET, "d1", PAYLOAD) == 204
    assert endpoint.hook.received[0].signed


@ensure_deferred
async def test_500_fails_with_its_status(endpoint: Endpoint, client: CallbackClient) -> None:
    failed = await failure_of(client.post(endpoint.url + "/fail", SECRET, "d1", PAYLOAD))
    assert failed.status == 500
    assert failed.reason == "HTTP 500 Internal Server Error"
    assert len(endpoint.hook.received) == 1


@ensure_deferred
async def test_connections_are_kept_alive_between_posts(
    endpoint: Endpoint, client: CallbackClient
) -> None:
    for n in range(3):
        assert await client.post(endpoint.url + "/ok", SECRET, f"d{n}", PAYLOAD) == 200
    assert len({r.client_port for r in endpoint.hook.received}) == 1


@ensure_deferred
async def test_a_huge_answer_is_cut_short_and_still_counts(
    endpoint: Endpoint, client: CallbackClient
) -> None:
    assert await client.post(endpoint.url + "/big", SECRET, "d1", PAYLOAD) == 200
    assert await client.post(endpoint.url + "/ok", SECRET, "d2", PAYLOAD) == 200
    # We hung up after 64 KiB instead of reading the megabyte, so the second POST needed a
    # new connection (contrast with the keep-alive test above).
    first, second = endpoint.hook.received
    assert first.client_port != second.client_port


@ensure_deferred
async def test_connection_refused(client: CallbackClient) -> None:
    port = REAL.listenTCP(0, Site(Resource()), interface="127.0.0.1")
    number = port.getHost().port
    await port.stopListening()
    failed = await failure_of(client.post(f"http://127.0.0.1:{number}/", SECRET, "d", PAYLOAD))
    assert failed.status is None
    assert "ConnectionRefusedError" in failed.reason


@ensure_deferred
async def test_an_invalid_url_is_refused_before_connecting(client: CallbackClient) -> None:
    failed = await failure_of(client.post("https://u:p@example.com/", SECRET, "d", PAYLOAD))
    assert failed.status is None and "user name or password" in failed.reason
    assert failed.permanent


@ensure_deferred
async def test_a_loopback_literal_is_refused_without_the_allow_list(endpoint: Endpoint) -> None:
    client = CallbackClient(REAL, timeout=30.0)
    try:
        failed = await failure_of(client.post(endpoint.url + "/ok", SECRET, "d", PAYLOAD))
    finally:
        await client.close()
    assert failed.permanent and failed.status is None
    assert "callback destination 127.0.0.1 is a loopback address" in failed.reason
    assert endpoint.hook.received == []


@ensure_deferred
async def test_a_failure_that_may_pass_later_is_not_permanent(
    endpoint: Endpoint, client: CallbackClient
) -> None:
    failed = await failure_of(client.post(endpoint.url + "/fail", SECRET, "d1", PAYLOAD))
    assert not failed.permanent


@implementer(IReactorTime, IReactorPluggableNameResolver)
class ClockedReactor:
    """The real reactor for sockets and name resolution, a Clock for time: timeouts then move
    only when the test advances the clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def seconds(self) -> float:
        return self.clock.seconds()

    def callLater(
        self, delay: float, callable: Callable[..., Any], *args: object, **kwargs: object
    ) -> IDelayedCall:
        return self.clock.callLater(delay, callable, *args, **kwargs)

    def getDelayedCalls(self) -> Sequence[IDelayedCall]:
        return self.clock.getDelayedCalls()

    @property
    def nameResolver(self) -> IHostnameResolver:
        resolver: IHostnameResolver = REAL.nameResolver
        return resolver

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        raise NotImplementedError

    def connectTCP(self, host: str, port: int, factory: ClientFactory, **kw: Any) -> IConnector:
        connector: IConnector = REAL.connectTCP(host, port, factory, **kw)
        return connector


@ensure_deferred
async def test_a_server_that_never_answers_times_out_on_the_injected_clock(
    endpoint: Endpoint,
) -> None:
    clock = Clock()
    clock.advance(1_700_000_000.5)
    endpoint.hook.now = clock.seconds
    client = CallbackClient(ClockedReactor(clock), timeout=10.0, allowed=LOCAL)
    try:
        d = client.post(endpoint.url + "/hang", SECRET, "d1", PAYLOAD)
        outcome: list[int | Failure] = []

        def seen(result: int | Failure) -> int | Failure:
            outcome.append(result)
            return result

        d.addBoth(seen)
        await endpoint.hook.arrived
        [got] = endpoint.hook.received
        assert got.signed and got.headers["X-Gatewayd-Timestamp"] == "1700000000"
        clock.advance(9.9)
        assert outcome == []
        clock.advance(0.2)
        assert len(outcome) == 1  # fails here, rather than hangs, if the clock did nothing
        failed = await failure_of(d)
        assert failed.status is None and failed.reason == "no answer within 10 s"
    finally:
        await client.close()


@ensure_deferred
async def test_the_secret_never_reaches_the_log(endpoint: Endpoint, client: CallbackClient) -> None:
    secret = b"s3cr3t-never-logged"
    events: list[LogEvent] = []
    observer = cast(ILogObserver, events.append)
    globalLogPublisher.addObserver(observer)
    try:
        await client.post(endpoint.url + "/ok", secret, "d1", PAYLOAD)
        failed = await failure_of(client.post(endpoint.url + "/fail", secret, "d2", PAYLOAD))
    finally:
        globalLogPublisher.removeObserver(observer)
    text = "\n".join([str(formatEvent(e)) for e in events] + [str(failed), repr(failed)])
    assert secret.decode() not in text and endpoint.url not in str(failed)
