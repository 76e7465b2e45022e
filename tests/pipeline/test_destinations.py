"""Where callbacks may go: the address classifier, then the client against a real twisted.web
server on 127.0.0.1, reached by name ("localhost", and names a test resolver answers)."""

from __future__ import annotations

import ipaddress as ip
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import ssl
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import (
    IConnector,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from twisted.internet.protocol import ClientFactory
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.web.client import BrowserLikePolicyForHTTPS
from twisted.web.server import Site
from zope.interface import implementer

from gatewayd.config import parse_config
from gatewayd.errors import ConfigError
from gatewayd.pipeline.callbacks import CallbackClient, CallbackFailed
from gatewayd.pipeline.destinations import (
    classify,
    literal_address,
    networks_error,
    parse_networks,
    refusal,
)
from tests.pipeline import test_callbacks as callbacks
from tests.pipeline.test_callbacks import PAYLOAD, REAL, SECRET, Endpoint, ensure_deferred
from tests.smpp.certificates import make_certificate

endpoint = callbacks.endpoint
failure_of = callbacks.failure_of

# --- the classifier -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.0.0.5", "a private address"),
        ("172.16.0.1", "a private address"),
        ("172.31.255.254", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fc00::1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("100.64.0.1", "a shared (CGNAT) address"),
        ("100.127.255.254", "a shared (CGNAT) address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "a reserved address"),
        ("192.0.2.10", "a special-purpose address"),  # documentation
        ("198.18.0.1", "a special-purpose address"),  # benchmarking
        ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped
        ("::ffff:10.0.0.5", "a private address"),
        ("::ffff:169.254.169.254", "a link-local address"),
        ("2002:7f00:1::", "a loopback address"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "a link-local address"),  # NAT64 of 169.254.169.254
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("100.128.0.1", None),  # just past CGNAT
        ("172.32.0.1", None),  # just past 172.16.0.0/12
        ("2001:4860:4860::8888", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),  # NAT64 of 8.8.8.8
    ],
)
def test_classify(address: str, kind: str | None) -> None:
    assert classify(ip.ip_address(address)) == kind


def test_refusal_names_the_address_and_the_allow_list_lets_through() -> None:
    private = ip.ip_address("10.0.0.5")
    assert refusal(private) == "callback destination 10.0.0.5 is a private address"
    allowed = parse_networks(["10.0.0.0/24", "127.0.0.1/32"])
    assert refusal(private, allowed) is None
    assert refusal(ip.ip_address("10.0.1.5"), allowed) is not None
    assert refusal(ip.ip_address("::ffff:127.0.0.1"), allowed) is None  # mapped: its IPv4
    assert refusal(ip.ip_address("::1"), allowed) is not None  # the IPv4 loopback only
    assert refusal(ip.ip_address("::ffff:10.0.0.5")) == (
        "callback destination ::ffff:a00:5 (10.0.0.5) is a private address"
    )
    assert refusal(ip.ip_address("8.8.8.8")) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("10.0.0.5", "10.0.0.5"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),  # octal, as inet_aton reads it
        ("example.com", None),
        ("localhost", None),
        ("1.2.3.4.5", None),
        ("0x7g.0.0.1", None),
    ],
)
def test_literal_address(host: str, address: str | None) -> None:
    found = literal_address(host)
    assert (None if found is None else str(found)) == address


def test_the_allow_list_is_checked_strictly() -> None:
    assert networks_error(["10.0.0.0/8", "fd00::/8", "192.0.2.7"]) is None
    assert "is not a network" in (networks_error(["10.0.0.5/8"]) or "")  # host bits set
    assert "is not a network" in (networks_error(["intranet"]) or "")
    config = parse_config({"callbacks": {"allowed_networks": ["127.0.0.1/32"]}}, "t")
    assert config.callbacks.allowed_networks == ("127.0.0.1/32",)
    assert parse_config({}, "t").callbacks.allowed_networks == ()
    with pytest.raises(ConfigError, match=r"callbacks\.allowed_networks: '10\.0\.0\.5/8'"):
        parse_config({"callbacks": {"allowed_networks": ["10.0.0.5/8"]}}, "t")


# --- over real TCP, by name -----------------------------------------------------------------


@ensure_deferred
async def test_localhost_is_refused_unless_allow_listed(endpoint: Endpoint) -> None:
    url = endpoint.url.replace("127.0.0.1", "localhost") + "/ok"
    refused = CallbackClient(REAL, timeout=30.0)
    try:
        failed = await failure_of(refused.post(url, SECRET, "d1", PAYLOAD))
    finally:
        await refused.close()
    assert failed.permanent and "is a loopback address" in failed.reason
    assert endpoint.hook.received == []
    # Whatever this machine's "localhost" resolves to (127.0.0.1 and perhaps ::1).
    allowed = CallbackClient(REAL, timeout=30.0, allowed=parse_networks(["127.0.0.1/32", "::1"]))
    try:
        assert await allowed.post(url, SECRET, "d2", PAYLOAD) == 200
    finally:
        await allowed.close()
    [got] = endpoint.hook.received
    assert got.signed and got.headers["Host"].startswith("localhost:")


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:
        pass


@implementer(IHostnameResolver)
class TableResolver:
    """Answers from a table, one answer per lookup (so a test can change it between two
    lookups, as a rebinding DNS server would), and counts the lookups."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[Any]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        self.lookups.append(hostName)
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        answers = self.table.get(hostName, [])
        for address in answers.pop(0) if answers else []:
            kind = IPv6Address if ":" in address else IPv4Address
            resolutionReceiver.addressResolved(kind("TCP", address, portNumber))
        resolutionReceiver.resolutionComplete()
        return resolution


class ResolvingReactor(callbacks.ClockedReactor):
    """The real reactor for sockets, a Clock for time, a :class:`TableResolver` for names;
    records the hosts it is asked to connect to."""

    def __init__(self, resolver: TableResolver) -> None:
        super().__init__(Clock())
        self.resolver = resolver
        self.connected: list[str] = []

    @property
    def nameResolver(self) -> IHostnameResolver:
        return self.resolver

    def connectTCP(self, host: str, port: int, factory: ClientFactory, **kw: Any) -> IConnector:
        self.connected.append(host)
        return super().connectTCP(host, port, factory, **kw)


@ensure_deferred
async def test_the_connection_goes_to_the_checked_address_not_to_the_name(
    endpoint: Endpoint,
) -> None:
    # The second answer (never asked for) would be the rebinding: a public address at the
    # check, then the metadata service at the connection.
    resolver = TableResolver({"hooks.example": [["127.0.0.1"], ["169.254.169.254"]]})
    reactor = ResolvingReactor(resolver)
    client = CallbackClient(reactor, timeout=30.0, allowed=parse_networks(["127.0.0.1/32"]))
    url = endpoint.url.replace("127.0.0.1", "hooks.example") + "/ok"
    try:
        assert await client.post(url, SECRET, "d1", PAYLOAD) == 200
    finally:
        await client.close()
    assert resolver.lookups == ["hooks.example"]
    assert reactor.connected == ["127.0.0.1"]
    assert endpoint.hook.received[0].headers["Host"].startswith("hooks.example:")


@ensure_deferred
async def test_one_refused_address_among_the_answers_refuses_the_callback(
    endpoint: Endpoint,
) -> None:
    resolver = TableResolver({"mixed.example": [["127.0.0.1", "10.1.2.3"]]})
    reactor = ResolvingReactor(resolver)
    client = CallbackClient(reactor, timeout=30.0, allowed=parse_networks(["127.0.0.1/32"]))
    url = endpoint.url.replace("127.0.0.1", "mixed.example") + "/ok"
    try:
        failed = await failure_of(client.post(url, SECRET, "d1", PAYLOAD))
    finally:
        await client.close()
    assert failed.permanent
    assert failed.reason == "callback destination 10.1.2.3 is a private address"
    assert reactor.connected == [] and endpoint.hook.received == []


@ensure_deferred
async def test_a_name_without_addresses_is_a_dns_error_that_is_retried(
    endpoint: Endpoint,
) -> None:
    reactor = ResolvingReactor(TableResolver({}))
    client = CallbackClient(reactor, timeout=30.0)
    try:
        failed = await failure_of(client.post("http://gone.example/", SECRET, "d1", PAYLOAD))
    finally:
        await client.close()
    assert not failed.permanent and "DNSLookupError" in failed.reason
    assert "gone.example" in failed.reason


async def _post_over_tls(tmp_path: Path, served_name: str) -> tuple[int | Failure, list[str]]:
    """POST to https://hooks.example (resolved to 127.0.0.1) served with a certificate for
    ``served_name``; what the POST gave, and the hosts connected to."""
    cert_path, key_path = make_certificate(tmp_path, served_name)
    cert_pem = cert_path.read_bytes()
    server = ssl.PrivateCertificate.loadPEM(cert_pem + key_path.read_bytes()).options()
    hook = callbacks.Hook(REAL.seconds)
    port = REAL.listenSSL(0, Site(hook), server, interface="127.0.0.1")
    reactor = ResolvingReactor(TableResolver({"hooks.example": [["127.0.0.1"]]}))
    policy = BrowserLikePolicyForHTTPS(trustRoot=ssl.Certificate.loadPEM(cert_pem))
    client = CallbackClient(reactor, allowed=parse_networks(["127.0.0.1/32"]), tls_policy=policy)
    url = f"https://hooks.example:{port.getHost().port}/ok"
    try:
        outcome: int | Failure = await client.post(url, SECRET, "d1", PAYLOAD)
    except CallbackFailed:
        outcome = Failure()
    finally:
        await client.close()
        await port.stopListening()
    return outcome, reactor.connected


@ensure_deferred
async def test_https_goes_to_the_checked_address_and_checks_the_certificate_name(
    tmp_path: Path,
) -> None:
    outcome, connected = await _post_over_tls(tmp_path, "hooks.example")
    assert outcome == 200 and connected == ["127.0.0.1"]


@ensure_deferred
async def test_https_refuses_a_certificate_for_another_name(tmp_path: Path) -> None:
    outcome, connected = await _post_over_tls(tmp_path, "other.example")
    assert isinstance(outcome, Failure) and connected == ["127.0.0.1"]
    failed = outcome.value
    assert isinstance(failed, CallbackFailed) and not failed.permanent
    # Checked against the URL's name, not against the address connected to.
    assert "DNSMismatch" in failed.reason and "hooks.example" in failed.reason
