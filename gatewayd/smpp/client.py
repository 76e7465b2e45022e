"""The ESME side: one :class:`UpstreamConnector` service keeps one bind to an upstream SMSC,
reconnecting with back-off, and forwards what the SMSC delivers to ``on_deliver``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from twisted.application.internet import ClientService, backoffPolicy
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.interfaces import (
    IAddress,
    IProtocol,
    IProtocolFactory,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Factory, connectionDone
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from gatewayd.config.model import ConnectorConfig
from gatewayd.errors import GatewayError
from gatewayd.services import TypedService
from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import Pdu
from gatewayd.smpp.session import BIND_COMMANDS, BOUND_STATES, TX_STATES, Role, SmppSession

#: Called for every deliver_sm / data_sm. A failure makes us answer ESME_RX_T_APPN so the SMSC
#: retries later, unless it is a GatewayError carrying one of RECEIVER_STATUSES (a receipt we
#: can never parse is ESME_RX_P_APPN: retrying would not help).
DeliverHandler = Callable[["UpstreamConnector", Pdu], "Deferred[None] | None"]

log = Logger()

#: The statuses an ESME may answer deliver_sm with on failure (§5.1.3).
RECEIVER_STATUSES = frozenset({p.ESME_RX_T_APPN, p.ESME_RX_P_APPN, p.ESME_RX_R_APPN})

#: interface_version we announce in binds (§5.2.4).
INTERFACE_VERSION = 0x34


class ConnectorUnavailable(GatewayError):
    """The connector has no bound transmitting session right now; try again later."""


class EsmeSession(SmppSession):
    def __init__(self, connector: UpstreamConnector) -> None:
        config = connector.config
        super().__init__(
            connector.reactor,
            role=Role.ESME,
            enquire_link_interval=config.enquire_link_interval,
            response_timeout=config.response_timeout,
            max_command_length=config.max_command_length,
        )
        self.connector = connector

    def handle_request(self, pdu: Pdu) -> Deferred[Pdu] | Pdu:
        if pdu.command_id in (p.DELIVER_SM, p.DATA_SM):
            return self.connector.delivered(pdu)
        return super().handle_request(pdu)

    def on_closed(self, reason: Failure) -> None:
        self.connector.session_closed(self, reason)

    def unwrap(self) -> EsmeSession:
        """This session, even when called through a wrapping proxy."""
        return self


class _SessionFactory(Factory):
    noisy = False  # our listeners log their own start and stop

    def __init__(self, connector: UpstreamConnector) -> None:
        self.connector = connector

    def buildProtocol(self, addr: IAddress | None) -> EsmeSession:
        return EsmeSession(self.connector)


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
    def __init__(self, endpoint: object) -> None:
        self._endpoint: Any = endpoint

    def connect(self, factory: IProtocolFactory) -> Deferred[IProtocol]:
        guarded: Any = WrappingFactory(factory)
        guarded.protocol = _BindGuard
        connecting: Deferred[Any] = self._endpoint.connect(guarded)
        # ClientService must get its own proxy back, not our guard.
        return connecting.addCallback(lambda guard: guard.wrappedProtocol)


class UpstreamConnector(TypedService):
    """``reactor`` must provide IReactorTime, IReactorTCP and IReactorPluggableNameResolver."""

    def __init__(
        self,
        name: str,
        config: ConnectorConfig,
        reactor: IReactorTime,
        password: str,
        on_deliver: DeliverHandler,
    ) -> None:
        self.name = name
        self.config = config
        self.reactor = reactor
        self._password = password
        self._on_deliver = on_deliver
        self._session: EsmeSession | None = None
        self._client = ClientService(
            cast(
                IStreamClientEndpoint,
                _GuardedEndpoint(HostnameEndpoint(reactor, config.host, config.port)),
            ),
            cast(IProtocolFactory, _SessionFactory(self)),
            retryPolicy=backoffPolicy(maxDelay=config.reconnect_max_delay),
            clock=reactor,
            prepareConnection=self._bind,
        )

    @property
    def is_bound(self) -> bool:
        return self._session is not None and self._session.state in BOUND_STATES

    def submit(
        self, fields: Mapping[str, int | bytes], tlvs: Sequence[tuple[int, bytes]] = ()
    ) -> Deferred[str]:
        """submit_sm upstream; fires with the SMSC's message_id."""
        session = self._session
        if session is None or session.state not in TX_STATES:
            return fail(ConnectorUnavailable(f"connector {self.name} is not bound to transmit"))
        sent = session.send_request(p.SUBMIT_SM, fields, tlvs)
        return sent.addCallback(lambda resp: resp.bytes_field("message_id").decode("latin-1"))

    def startService(self) -> None:
        super().startService()
        log.info("connector {name}: connecting to {host}:{port}", **self._where())
        cast(Any, self._client).startService()  # untyped in Twisted

    def stopService(self) -> Deferred[None]:
        super().stopService()
        session, self._session = self._session, None
        unbound = session.unbind() if session is not None else succeed(None)
        if session is not None:
            log.info("connector {name}: unbinding", name=self.name)

        def stop_client(_: object) -> Deferred[None]:
            stopped: Deferred[None] = cast(Any, self._client).stopService()
            return stopped

        return unbound.addCallback(stop_client)

    # --- called by ClientService and the session ---------------------------------------------

    def _bind(self, protocol: IProtocol) -> Deferred[None]:
        # ClientService hands us a proxy that forwards attribute access to our session.
        session = cast(EsmeSession, protocol).unwrap()
        fields: dict[str, int | bytes] = {
            "system_id": self.config.system_id.encode("latin-1"),
            "password": self._password.encode("latin-1"),
            "system_type": self.config.system_type.encode("latin-1"),
            "interface_version": INTERFACE_VERSION,
        }
        bound = session.send_request(BIND_COMMANDS[self.config.bind], fields)
        bound.addErrback(self._bind_failed, session)
        return bound.addCallback(self._bound, session)

    def _bound(self, response: Pdu, session: EsmeSession) -> None:
        self._session = session
        guard: object = session.transport
        if isinstance(guard, _BindGuard):
            guard.bound = True
        peer = response.bytes_field("system_id").decode("latin-1")
        log.info(
            "connector {name}: bound as {bind} to {peer} at {host}:{port}",
            peer=peer,
            **self._where(),
        )

    def _bind_failed(self, failure: Failure, session: EsmeSession) -> Failure:
        # Failing prepareConnection makes ClientService retry with back-off, but it leaves the
        # connection open: close it ourselves.
        log.warn("connector {name}: bind failed: {error}", name=self.name, error=failure.value)
        session.unbind()
        return failure

    def session_closed(self, session: EsmeSession, reason: Failure) -> None:
        if self._session is session:
            self._session = None
        if self.running:
            log.warn(
                "connector {name}: connection lost ({reason}); reconnecting",
                name=self.name,
                reason=reason.getErrorMessage(),
            )

    def delivered(self, pdu: Pdu) -> Deferred[Pdu]:
        try:
            result = self._on_deliver(self, pdu)
        except Exception:
            handled: Deferred[None] = fail()
        else:
            handled = result if isinstance(result, Deferred) else succeed(None)
        answer = handled.addCallback(lambda _: p.response_to(pdu))
        return answer.addErrback(self._deliver_failed, pdu)

    def _deliver_failed(self, failure: Failure, pdu: Pdu) -> Pdu:
        error = failure.value
        if isinstance(error, GatewayError) and error.smpp_status in RECEIVER_STATUSES:
            log.warn(
                "connector {name}: {pdu} refused: {error}",
                name=self.name,
                pdu=pdu.name,
                error=error,
            )
            return p.response_to(pdu, error.smpp_status)
        log.failure(
            "connector {name}: on_deliver failed for {pdu}", failure, name=self.name, pdu=pdu.name
        )
        return p.response_to(pdu, p.ESME_RX_T_APPN)

    def _where(self) -> dict[str, object]:
        config = self.config
        return {"name": self.name, "host": config.host, "port": config.port, "bind": config.bind}
