"""Where an HTTP callback may go: the public Internet, or what the operator allow-listed.

A customer chooses its callback URL, and the gateway then POSTs to it from inside the
operator's network: without a check, ``http://169.254.169.254/`` (cloud metadata),
``http://127.0.0.1:<port>/`` (the gateway's own admin and control ports) or ``http://10.0.0.5/``
would be reachable by anyone holding an API key (a blind SSRF).

Two checks, because a name can resolve differently later (short TTL, DNS rebinding):

* when a URL is set (API, CLI): :func:`literal_refusal` refuses a host that is an address
  literal in a refused range. A name is accepted then: what it resolves to is checked...
* ...when the callback is sent: :class:`GuardedEndpoints` resolves the name with the injected
  reactor's resolver, refuses the whole delivery if ANY of its addresses is refused, and
  connects to the checked address itself (never to the name again), so the address cannot be
  swapped between the check and the connection. For https the certificate is still checked
  against the host name.

``[callbacks] allowed_networks`` (CIDRs) lets an on-premise set-up reach a receiver on the
operator's own network. See docs/callbacks.md.
"""

from __future__ import annotations

import ipaddress as ip
import re
import socket
from collections.abc import Iterable, Sequence
from typing import Any

from twisted.internet import address as twaddress
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint, wrapClientTLS
from twisted.internet.error import ConnectError, DNSLookupError
from twisted.internet.interfaces import (
    IAddress,
    IHostResolution,
    IProtocol,
    IProtocolFactory,
    IResolutionReceiver,
    IStreamClientEndpoint,
)
from twisted.web.client import URI, BrowserLikePolicyForHTTPS
from twisted.web.error import SchemeNotSupported
from twisted.web.iweb import IAgentEndpointFactory, IPolicyForHTTPS
from zope.interface import implementer

from gatewayd.errors import GatewayError

Address = ip.IPv4Address | ip.IPv6Address
Network = ip.IPv4Network | ip.IPv6Network
Networks = tuple[Network, ...]

_CGNAT = ip.IPv4Network("100.64.0.0/10")  # RFC 6598 shared address space
_PRIVATE = (
    ip.IPv4Network("10.0.0.0/8"),
    ip.IPv4Network("172.16.0.0/12"),
    ip.IPv4Network("192.168.0.0/16"),
    ip.IPv6Network("fc00::/7"),  # unique local
)
_NAT64 = ip.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
# What inet_aton takes besides dotted quads: 127.1, 0x7f.0.0.1, 2130706433, 0177.0.0.1.
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


class DestinationRefused(GatewayError):
    """A callback's host is, or resolves to, an address it must not go to: permanent."""

    http_status = 400


# --- pure -------------------------------------------------------------------------------------


def parse_networks(items: Iterable[str]) -> Networks:
    """``["10.0.0.0/8", "fd00::/8", "192.0.2.7"]`` -> networks; ValueError names a bad one
    (host bits set, as in ``10.0.0.5/8``, is an error: it is usually a typo)."""
    return tuple(ip.ip_network(item, strict=True) for item in items)


def networks_error(items: Sequence[str]) -> str | None:
    """For the config check: why ``items`` is not a list of CIDRs, or None."""
    for item in items:
        try:
            ip.ip_network(item, strict=True)
        except ValueError as error:
            return f"{item!r} is not a network (CIDR such as 10.0.0.0/8): {error}"
    return None


def _embedded_ipv4(address: Address) -> ip.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped (::ffff:a.b.c.d), 6to4, NAT64."""
    if not isinstance(address, ip.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ip.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def classify(address: Address) -> str | None:
    """None for a public address, else what it is: ``"a private address"``..."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return classify(embedded)
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:  # 169.254.0.0/16 (cloud metadata) and fe80::/10
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address in _CGNAT:
        return "a shared (CGNAT) address"
    if any(address in network for network in _PRIVATE):
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:  # documentation, benchmarking, IETF protocol assignments...
        return "a special-purpose address"
    return None


def is_allowed(address: Address, allowed: Networks) -> bool:
    embedded = _embedded_ipv4(address)
    return any(a in network for network in allowed for a in (address, embedded) if a is not None)


def refusal(address: Address, allowed: Networks = ()) -> str | None:
    """None when a callback may go to ``address``, else the reason, naming the address."""
    if is_allowed(address, allowed):
        return None
    kind = classify(address)
    if kind is None:
        return None
    embedded = _embedded_ipv4(address)
    shown = f"{address} ({embedded})" if embedded is not None else str(address)
    return f"callback destination {shown} is {kind}"


def literal_address(host: str) -> Address | None:
    """The address when ``host`` (without brackets) is an IP literal, including the legacy
    IPv4 forms a resolver would take (``127.1``, ``0x7f000001``), else None (a name)."""
    try:
        return ip.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ip.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def literal_refusal(host: str, allowed: Networks = ()) -> str | None:
    """When a URL is set: refuse an address literal in a refused range. A name passes, since
    what it resolves to can change: it is checked at each connection."""
    found = literal_address(host)
    return None if found is None else refusal(found, allowed)


# --- the connection ---------------------------------------------------------------------------


def _address_of(found: IAddress) -> Address | None:
    if isinstance(found, twaddress.IPv4Address | twaddress.IPv6Address):
        try:
            return ip.ip_address(found.host)
        except ValueError:
            return None
    return None


@implementer(IResolutionReceiver)
class _Collect:
    """Gathers what the reactor's resolver finds; ``done`` fires with it, in order."""

    def __init__(self) -> None:
        self.found: list[Address] = []
        self.done: Deferred[list[Address]] = Deferred()

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        pass

    def addressResolved(self, address: IAddress) -> None:
        parsed = _address_of(address)
        if parsed is not None and parsed not in self.found:
            self.found.append(parsed)

    def resolutionComplete(self) -> None:
        if not self.done.called:  # it may have been cancelled (the POST timed out)
            self.done.callback(self.found)


@implementer(IStreamClientEndpoint)
class GuardedEndpoint:
    """TCP to ``host``:``port``, but only to addresses :func:`refusal` lets through."""

    def __init__(self, reactor: Any, host: str, port: int, allowed: Networks) -> None:
        self._reactor = reactor
        self._host = host
        self._port = port
        self._allowed = allowed

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        return Deferred.fromCoroutine(self._connect(protocolFactory))

    async def resolve(self) -> list[Address]:
        """Every address of the host (the literal itself if it is one)."""
        literal = literal_address(self._host)
        if literal is not None:
            return [literal]
        collect = _Collect()
        self._reactor.nameResolver.resolveHostName(collect, self._host, self._port)
        found = await collect.done
        if not found:
            raise DNSLookupError(f"no address for {self._host}")
        return found

    async def _connect(self, factory: IProtocolFactory) -> IProtocol:
        addresses = await self.resolve()
        for address in addresses:  # one bad address refuses them all: no lottery
            reason = refusal(address, self._allowed)
            if reason is not None:
                raise DestinationRefused(reason)
        last: ConnectError | None = None
        for address in addresses:
            endpoint: IStreamClientEndpoint
            if isinstance(address, ip.IPv4Address):
                endpoint = TCP4ClientEndpoint(self._reactor, str(address), self._port)
            else:
                endpoint = TCP6ClientEndpoint(self._reactor, str(address), self._port)
            try:
                protocol: IProtocol = await endpoint.connect(factory)
                return protocol
            except ConnectError as error:
                last = error
        assert last is not None
        raise last


@implementer(IAgentEndpointFactory)
class GuardedEndpoints:
    """For ``Agent.usingEndpointFactory``: http and https over :class:`GuardedEndpoint`. TLS
    is set up for the URL's host name (``policy.creatorForNetloc``, by default the Agent's
    own: certificate verified against the system's CAs and the name)."""

    def __init__(
        self, reactor: Any, allowed: Networks = (), policy: IPolicyForHTTPS | None = None
    ) -> None:
        self._reactor = reactor
        self._allowed = allowed
        self._policy = policy if policy is not None else BrowserLikePolicyForHTTPS()

    def endpointForURI(self, uri: URI) -> IStreamClientEndpoint:
        host = uri.host.decode("ascii")
        endpoint = GuardedEndpoint(self._reactor, host, uri.port, self._allowed)
        if uri.scheme == b"http":
            return endpoint
        if uri.scheme == b"https":
            creator = self._policy.creatorForNetloc(uri.host, uri.port)
            wrapped: IStreamClientEndpoint = wrapClientTLS(creator, endpoint)
            return wrapped
        raise SchemeNotSupported(f"unsupported scheme: {uri.scheme!r}")
