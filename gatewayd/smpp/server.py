"""The customer-facing SMSC side: authenticates binds, hands submissions to the gateway and
delivers messages and receipts back to bound receivers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

from twisted.internet.defer import Deferred, DeferredList, fail, succeed
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import ServerFactory
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.config.model import SmppServerConfig
from gatewayd.errors import GatewayError
from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import Pdu
from gatewayd.smpp.session import (
    BIND_TYPES,
    RX_STATES,
    DelayedCall,
    Role,
    SmppSession,
    call_later,
)

P = TypeVar("P")
#: (system_id, password, bind_type) -> principal, or fail with AuthenticationFailed.
Authenticator = Callable[[str, str, str], Deferred[P]]
#: (principal, submit_sm or data_sm) -> our message_id, or fail with a GatewayError.
Submitter = Callable[[P, Pdu], Deferred[str]]

log = Logger()


class SmscSession(SmppSession, Generic[P]):
    """One customer connection. It must bind within bind_timeout or it is closed."""

    def __init__(self, factory: SmppServerFactory[P]) -> None:
        config = factory.config
        super().__init__(
            factory.clock,
            role=Role.SMSC,
            enquire_link_interval=config.enquire_link_interval,
            response_timeout=config.response_timeout,
            max_command_length=config.max_command_length,
        )
        self.factory = factory
        self.principal: P | None = None
        self.system_id = ""
        self._binding = False
        self._bind_timer: DelayedCall | None = None

    def connectionMade(self) -> None:
        timeout = self.factory.config.bind_timeout
        self._bind_timer = call_later(self.clock, timeout, self._bind_timed_out)
        self.factory.connected(self)

    def _bind_timed_out(self) -> None:
        log.info("no bind within {timeout}s, closing", timeout=self.factory.config.bind_timeout)
        self._transport.loseConnection()

    def handle_request(self, pdu: Pdu) -> Deferred[Pdu] | Pdu:
        if pdu.command_id in BIND_TYPES:
            return self._bind(pdu)
        if pdu.command_id in (p.SUBMIT_SM, p.DATA_SM) and self.principal is not None:
            submitted = self.factory.submitter(self.principal, pdu)
            answer: Deferred[Pdu] = submitted.addCallback(_submitted, pdu)
            return answer
        return super().handle_request(pdu)

    def _bind(self, pdu: Pdu) -> Deferred[Pdu] | Pdu:
        if self._binding:  # a second bind while the first is being authenticated
            return p.response_to(pdu, p.ESME_RALYBND)
        self._binding = True
        system_id = pdu.bytes_field("system_id").decode("latin-1")
        password = pdu.bytes_field("password").decode("latin-1")
        bind_type = BIND_TYPES[pdu.command_id]
        try:
            authenticated = self.factory.authenticator(system_id, password, bind_type)
        except Exception:
            authenticated = fail()
        answer: Deferred[Pdu] = authenticated.addCallback(self._bind_accepted, pdu, system_id)
        return answer.addErrback(self._bind_refused, pdu, system_id)

    def _bind_accepted(self, principal: P, pdu: Pdu, system_id: str) -> Pdu:
        self.principal = principal
        self.system_id = system_id
        log.info(
            "{system_id} bound as {bind}", system_id=system_id, bind=BIND_TYPES[pdu.command_id]
        )
        own_id = self.factory.config.system_id.encode("ascii")
        return p.response_to(pdu, p.ESME_ROK, {"system_id": own_id})

    def _bind_refused(self, failure: Failure, pdu: Pdu, system_id: str) -> Pdu:
        self._binding = False
        if isinstance(failure.value, GatewayError):
            status = failure.value.smpp_status
            log.info(
                "bind refused for {system_id}: {error}", system_id=system_id, error=failure.value
            )
        else:
            status = p.ESME_RBINDFAIL
            log.failure("authenticator failed for {system_id}", failure, system_id=system_id)
        return p.response_to(pdu, status)

    def on_bound(self) -> None:
        if self._bind_timer is not None and self._bind_timer.active():
            self._bind_timer.cancel()
        self.factory.bound(self)

    def on_closed(self, reason: Failure) -> None:
        if self._bind_timer is not None and self._bind_timer.active():
            self._bind_timer.cancel()
        self.factory.closed(self)


def _submitted(message_id: str, pdu: Pdu) -> Pdu:
    return p.response_to(pdu, p.ESME_ROK, {"message_id": message_id.encode("ascii")})


class SmppServerFactory(ServerFactory, Generic[P]):
    """Builds :class:`SmscSession` and tracks bound sessions per principal (which must be
    hashable)."""

    noisy = False  # our listeners log their own start and stop

    def __init__(
        self,
        config: SmppServerConfig,
        clock: IReactorTime,
        authenticator: Authenticator[P],
        submitter: Submitter[P],
    ) -> None:
        self.config = config
        self.clock = clock
        self.authenticator = authenticator
        self.submitter = submitter
        self._connections: set[SmscSession[P]] = set()
        # Insertion-ordered so deliver() can rotate through a principal's receivers.
        self._bound: dict[P, dict[SmscSession[P], None]] = {}

    def buildProtocol(self, addr: IAddress | None) -> SmscSession[P]:
        return SmscSession(self)

    def sessions(self, principal: P) -> list[SmscSession[P]]:
        """The bound sessions of ``principal``."""
        return list(self._bound.get(principal, {}))

    def deliver(
        self,
        principal: P,
        fields: Mapping[str, int | bytes],
        tlvs: Sequence[tuple[int, bytes]] = (),
    ) -> Deferred[bool]:
        """Send deliver_sm on one of the principal's receiving sessions. Fires False when none is
        bound; fails with the session's errors (CommandFailed, ResponseTimeout...)."""
        receivers = self._bound.get(principal, {})
        for session in receivers:
            if session.state in RX_STATES:
                del receivers[session]
                receivers[session] = None  # to the back of the rotation
                sent = session.send_request(p.DELIVER_SM, fields, tlvs)
                return sent.addCallback(lambda _: True)
        return succeed(False)

    def unbind_all(self) -> Deferred[None]:
        """Unbind every session (each bounded by response_timeout) for a graceful shutdown."""
        unbinding = [session.unbind() for session in list(self._connections)]
        done = DeferredList(unbinding, consumeErrors=True)
        return done.addCallback(lambda _: None)

    # --- called by the sessions -------------------------------------------------------------

    def connected(self, session: SmscSession[P]) -> None:
        self._connections.add(session)

    def bound(self, session: SmscSession[P]) -> None:
        if session.principal is not None:
            self._bound.setdefault(session.principal, {})[session] = None

    def closed(self, session: SmscSession[P]) -> None:
        self._connections.discard(session)
        if session.principal is None:
            return
        receivers = self._bound.get(session.principal, {})
        receivers.pop(session, None)
        if not receivers:
            self._bound.pop(session.principal, None)
