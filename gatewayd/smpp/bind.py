"""One bind to an upstream SMSC: a ClientService that connects (over TLS if configured), binds as
its connection-prepare step, reconnects with jittered back-off, and counts its send window.

The :class:`~gatewayd.smpp.client.UpstreamConnector` owns one or more of these and decides what
to send on which.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from twisted.application.internet import ClientService
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import (
    IAddress,
    IOpenSSLClientConnectionCreator,
    IProtocol,
    IProtocolFactory,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Factory, connectionDone
from twisted.internet.ssl import (
    Certificate,
    CertificateOptions,
    optionsForClientTLS,
    trustRootFromCertificates,
)
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from gatewayd.config.model import ConnectorConfig
from gatewayd.routing.throttle import RateMeter
from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import Pdu
from gatewayd.smpp.session import BIND_COMMANDS, BOUND_STATES, TX_STATES, Role, SmppSession
from gatewayd.smpp.session import seconds as clock_seconds

log = Logger()
_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL
)


class BindOwner(Protocol):
    """What a bind needs from its connector."""

    name: str
    config: ConnectorConfig
    reactor: IReactorTime

    @property
    def password(self) -> str: ...
    def delivered(self, pdu: Pdu) -> Deferred[Pdu]: ...
    def bind_ready(self, bind: UpstreamBind) -> None: ...
    def bind_lost(self, bind: UpstreamBind) -> None: ...


@dataclass(frozen=True, slots=True)
class BindStatus:
    """A snapshot for the console and metrics. ``since`` is on the connector's clock."""

    index: int
    state: str
    since: float
    window_used: int
    window_size: int
    tps: float
    last_error: str | None


class EsmeSession(SmppSession):
    def __init__(self, bind: UpstreamBind) -> None:
        config = bind.owner.config
        super().__init__(
            bind.owner.reactor,
            role=Role.ESME,
            enquire_link_interval=config.enquire_link_interval,
            response_timeout=config.response_timeout,
            max_command_length=config.max_command_length,
        )
        self.bind = bind

    def handle_request(self, pdu: Pdu) -> Deferred[Pdu] | Pdu:
        if pdu.command_id in (p.DELIVER_SM, p.DATA_SM):
            return self.bind.owner.delivered(pdu)
        return super().handle_request(pdu)

    def on_closed(self, reason: Failure) -> None:
        self.bind.session_closed(self, reason)

    def unwrap(self) -> EsmeSession:
        """This session, even when called through a wrapping proxy."""
        return self


class _SessionFactory(Factory):
    noisy = False  # the connector logs its own connects and binds

    def __init__(self, bind: UpstreamBind) -> None:
        self.bind = bind

    def buildProtocol(self, addr: IAddress | None) -> EsmeSession:
        return EsmeSession(self.bind)


class _BindGuard(ProtocolWrapper):
    """Sits under ClientService's protocol proxy. ClientService (Twisted 26) has no transition
    for losing a connection that prepareConnection rejected or has not finished: the proxy's
    notification raises NoTransition. Until the bind succeeds, connection loss therefore goes
    straight to the session; ClientService learns of the failure from prepareConnection."""

    bound = False

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.bound:
            cast(Any, super()).connectionLost(reason)
            return
        cast(Any, self.factory).unregisterProtocol(self)
        cast(EsmeSession, self.wrappedProtocol).unwrap().connectionLost(reason)


@implementer(IStreamClientEndpoint)
class _GuardedEndpoint:
    def __init__(self, endpoint: IStreamClientEndpoint, bind: UpstreamBind) -> None:
        self._endpoint: Any = endpoint
        self._bind = bind

    def connect(self, factory: IProtocolFactory) -> Deferred[IProtocol]:
        self._bind.set_state("connecting")
        guarded: Any = WrappingFactory(factory)
        guarded.protocol = _BindGuard
        connecting: Deferred[Any] = self._endpoint.connect(guarded)
        connecting.addErrback(self._bind.connect_failed)
        # ClientService must get its own proxy back, not our guard.
        return connecting.addCallback(lambda guard: guard.wrappedProtocol)


def upstream_endpoint(reactor: IReactorTime, config: ConnectorConfig) -> IStreamClientEndpoint:
    """TCP to host:port, wrapped in TLS when ``config.tls``. ``reactor`` must also provide
    IReactorTCP and IReactorPluggableNameResolver."""
    tcp = cast(IStreamClientEndpoint, HostnameEndpoint(reactor, config.host, config.port))
    if not config.tls:
        return tcp
    return wrapClientTLS(tls_options(config), tcp)


def tls_options(config: ConnectorConfig) -> IOpenSSLClientConnectionCreator:
    if not config.tls_verify:
        # The old-style context factory TLSMemoryBIOFactory still accepts; no checks at all.
        return cast(IOpenSSLClientConnectionCreator, CertificateOptions(verify=False))
    trust: Any = None  # the system trust store
    if config.tls_ca_file:
        trust = trustRootFromCertificates(read_ca_file(config.tls_ca_file))
    return optionsForClientTLS(config.tls_server_name or config.host, trustRoot=trust)


def read_ca_file(path: str) -> list[Certificate]:
    """Every certificate in a PEM bundle (``Certificate.loadPEM`` reads only the first)."""
    blocks = _PEM_CERTIFICATE.findall(Path(path).read_bytes())
    if not blocks:
        raise ValueError(f"{path}: no PEM certificate found")
    return [Certificate.loadPEM(block) for block in blocks]


class UpstreamBind:
    """Bind number ``index`` of ``owner``. Not a service itself: the connector starts and stops
    it so that the unbind always goes out before ClientService lets go."""

    def __init__(
        self,
        owner: BindOwner,
        index: int,
        endpoint: IStreamClientEndpoint,
        retry_policy: Callable[[int], float],
    ) -> None:
        self.owner = owner
        self.index = index
        self.session: EsmeSession | None = None
        self.outstanding = 0
        self.state = "stopped"
        self.since = self._now()
        self.last_error: str | None = None
        self._meter = RateMeter()
        self._client = ClientService(
            cast(IStreamClientEndpoint, _GuardedEndpoint(endpoint, self)),
            cast(IProtocolFactory, _SessionFactory(self)),
            retryPolicy=retry_policy,
            clock=owner.reactor,
            prepareConnection=self._bind,
        )

    @property
    def label(self) -> str:
        many = self.owner.config.binds > 1
        return f"{self.owner.name}#{self.index}" if many else self.owner.name

    @property
    def is_bound(self) -> bool:
        return self.session is not None and self.session.state in BOUND_STATES

    @property
    def can_transmit(self) -> bool:
        return self.session is not None and self.session.state in TX_STATES

    @property
    def has_room(self) -> bool:
        return self.can_transmit and self.outstanding < self.owner.config.window

    def submit(
        self, fields: Mapping[str, int | bytes], tlvs: Sequence[tuple[int, bytes]]
    ) -> Deferred[Pdu]:
        """submit_sm on this bind; the caller checks :attr:`has_room` first."""
        assert self.session is not None
        self.outstanding += 1
        self._meter.record(self._now())
        sent = self.session.send_request(p.SUBMIT_SM, fields, tlvs)
        return sent.addBoth(self._answered)

    def _answered(self, result: Pdu | Failure) -> Pdu | Failure:
        self.outstanding -= 1
        return result

    def status(self) -> BindStatus:
        now = self._now()
        window = self.owner.config.window
        tps = self._meter.rate(now)
        return BindStatus(
            self.index, self.state, self.since, self.outstanding, window, tps, self.last_error
        )

    def start(self) -> None:
        cast(Any, self._client).startService()  # untyped in Twisted

    def stop(self) -> Deferred[None]:
        """Unbind (bounded by response_timeout), then stop reconnecting."""
        session, self.session = self.session, None
        if session is not None:
            self.set_state("unbinding")
        unbound = session.unbind() if session is not None else succeed(None)

        def stop_client(_: object) -> Deferred[None]:
            stopped: Deferred[None] = cast(Any, self._client).stopService()
            return stopped.addCallback(lambda _: self.set_state("stopped"))

        return unbound.addCallback(stop_client)

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.since = self._now()

    def _now(self) -> float:
        return clock_seconds(self.owner.reactor)

    # --- called by ClientService and the session ---------------------------------------------

    def _bind(self, protocol: IProtocol) -> Deferred[None]:
        # ClientService hands us a proxy that forwards attribute access to our session.
        session = cast(EsmeSession, protocol).unwrap()
        self.set_state("binding")
        config = self.owner.config
        fields: dict[str, int | bytes] = {
            "system_id": config.system_id.encode("latin-1"),
            "password": self.owner.password.encode("latin-1"),
            "system_type": config.system_type.encode("latin-1"),
            "interface_version": config.interface_version,
            "address_range": config.address_range.encode("latin-1"),
        }
        command = BIND_COMMANDS[config.bind]
        bound = session.send_request(command, fields, timeout=config.bind_timeout)
        bound.addErrback(self._bind_failed, session)
        return bound.addCallback(self._bound, session)

    def _bound(self, response: Pdu, session: EsmeSession) -> None:
        self.session = session
        guard: object = session.transport
        if isinstance(guard, _BindGuard):
            guard.bound = True
        self.set_state(session.state.value)
        peer = response.bytes_field("system_id").decode("latin-1")
        config = self.owner.config
        log.info(
            "connector {name}: bound as {bind} to {peer} at {host}:{port}",
            name=self.label,
            bind=config.bind,
            peer=peer,
            host=config.host,
            port=config.port,
        )
        self.owner.bind_ready(self)

    def _bind_failed(self, failure: Failure, session: EsmeSession) -> Failure:
        # Failing prepareConnection makes ClientService retry with back-off, but it leaves the
        # connection open: close it ourselves.
        log.warn("connector {name}: bind failed: {error}", name=self.label, error=failure.value)
        self.last_error = f"bind failed: {failure.getErrorMessage()}"
        session.unbind()
        return failure

    def connect_failed(self, failure: Failure) -> Failure:
        self.last_error = f"connect failed: {failure.getErrorMessage()}"
        self.set_state("disconnected")
        return failure

    def session_closed(self, session: EsmeSession, reason: Failure) -> None:
        was_ours = self.session is session
        if was_ours:
            self.session = None
        if self.state not in ("unbinding", "stopped"):
            self.set_state("disconnected")
            if was_ours:
                self.last_error = f"connection lost: {reason.getErrorMessage()}"
                log.warn(
                    "connector {name}: connection lost ({reason}); reconnecting",
                    name=self.label,
                    reason=reason.getErrorMessage(),
                )
        if was_ours:
            self.owner.bind_lost(self)
