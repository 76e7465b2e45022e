"""One SMPP session over one connection: framing, sequence numbers, request/response matching,
timeouts, enquire_link and the bind state machine. Used by both sides of the wire.

States are named from the ESME's point of view on both sides: a server-side session is
BOUND_TX when its peer bound as a transmitter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, cast

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import Protocol as TwistedProtocol
from twisted.internet.protocol import connectionDone
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.errors import GatewayError
from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import Pdu, PduError, PduReader


class SessionState(Enum):
    OPEN = "open"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"
    CLOSED = "closed"


class Role(Enum):
    """Which end of the link this session is."""

    ESME = "esme"
    SMSC = "smsc"


BOUND_STATES = frozenset({SessionState.BOUND_TX, SessionState.BOUND_RX, SessionState.BOUND_TRX})
TX_STATES = frozenset({SessionState.BOUND_TX, SessionState.BOUND_TRX})
RX_STATES = frozenset({SessionState.BOUND_RX, SessionState.BOUND_TRX})
_LIVE = BOUND_STATES | {SessionState.OPEN, SessionState.UNBINDING}
_OPEN = frozenset({SessionState.OPEN})

#: Config spelling of each bind type -> bind command_id.
BIND_COMMANDS: Mapping[str, int] = {
    "transmitter": p.BIND_TRANSMITTER,
    "receiver": p.BIND_RECEIVER,
    "transceiver": p.BIND_TRANSCEIVER,
}
BIND_TYPES: Mapping[int, str] = {command: name for name, command in BIND_COMMANDS.items()}
_BOUND_BY_BIND: Mapping[int, SessionState] = {
    p.BIND_TRANSMITTER: SessionState.BOUND_TX,
    p.BIND_RECEIVER: SessionState.BOUND_RX,
    p.BIND_TRANSCEIVER: SessionState.BOUND_TRX,
}

#: Which requests each role may send, and in which states (§2.3, §2.4).
ALLOWED: Mapping[Role, Mapping[int, frozenset[SessionState]]] = {
    Role.ESME: {
        p.BIND_TRANSMITTER: _OPEN,
        p.BIND_RECEIVER: _OPEN,
        p.BIND_TRANSCEIVER: _OPEN,
        p.SUBMIT_SM: TX_STATES,
        p.SUBMIT_MULTI: TX_STATES,
        p.DATA_SM: TX_STATES,
        p.QUERY_SM: TX_STATES,
        p.CANCEL_SM: TX_STATES,
        p.REPLACE_SM: TX_STATES,
        p.ENQUIRE_LINK: _LIVE,
        p.UNBIND: BOUND_STATES,
    },
    Role.SMSC: {
        p.DELIVER_SM: RX_STATES,
        p.DATA_SM: RX_STATES,
        p.ALERT_NOTIFICATION: RX_STATES,
        p.OUTBIND: _OPEN,
        p.ENQUIRE_LINK: _LIVE,
        p.UNBIND: BOUND_STATES,
    },
}


def may_send(role: Role, command_id: int, state: SessionState) -> bool:
    """Whether the ``role`` end may send request ``command_id`` in ``state``."""
    return state in ALLOWED[role].get(command_id, frozenset())


class CommandFailed(GatewayError):
    """The peer answered with a non-zero command_status (or a generic_nack)."""

    def __init__(self, response: Pdu) -> None:
        super().__init__(f"{response.name} with status {p.status_name(response.status)}")
        self.smpp_status = response.status
        self.response = response


class ResponseTimeout(GatewayError):
    """No response arrived within response_timeout."""


class WrongState(GatewayError):
    """The session is not in a state where this request may be sent."""

    smpp_status = p.ESME_RINVBNDSTS


class SessionClosed(GatewayError):
    """The connection closed before the response arrived."""


class DelayedCall(Protocol):
    def active(self) -> bool: ...
    def cancel(self) -> None: ...


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...
    def loseConnection(self) -> None: ...


# zope interfaces declare their methods without ``self``, which mypy (without the mypy-zope
# plugin) cannot call; these two helpers keep that blind spot in one place.
def call_later(
    clock: IReactorTime, delay: float, function: Callable[..., object], *args: object
) -> DelayedCall:
    delayed: DelayedCall = cast(Any, clock).callLater(delay, function, *args)
    return delayed


def seconds(clock: IReactorTime) -> float:
    now: float = cast(Any, clock).seconds()
    return now


def set_no_delay(transport: object) -> bool:
    """Turn on TCP_NODELAY if ``transport`` (or what it wraps: TLS, proxies) is a TCP socket.
    Returns whether it was set; in-memory test transports have no such option."""
    setter = getattr(transport, "setTcpNoDelay", None)
    if not callable(setter):
        return False
    try:
        setter(True)
    except OSError:  # a Unix socket, or a socket already closing
        return False
    return True


@dataclass(slots=True)
class _Pending:
    command_id: int
    deferred: Deferred[Pdu]
    timer: DelayedCall


class SmppSession(TwistedProtocol):
    """Subclasses answer peer requests in :meth:`handle_request` and may hook
    :meth:`on_bound` and :meth:`on_closed`."""

    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        *,
        role: Role,
        enquire_link_interval: float,
        response_timeout: float,
        max_command_length: int,
    ) -> None:
        self.clock = clock
        self.role = role
        self.enquire_link_interval = enquire_link_interval
        self.response_timeout = response_timeout
        self.state = SessionState.OPEN
        self._reader = PduReader(max_command_length)
        self._pending: dict[int, _Pending] = {}
        self._last_sequence = 0
        self._enquire: LoopingCall | None = None
        self._framing_broken = False

    # --- overridable hooks ------------------------------------------------------------------

    def handle_request(self, pdu: Pdu) -> Deferred[Pdu] | Pdu:
        """Answer a request from the peer that the state machine allowed."""
        return p.response_to(pdu, p.ESME_RINVCMDID)

    def on_bound(self) -> None:
        """Called once the session enters a bound state."""

    def on_closed(self, reason: Failure) -> None:
        """Called once the connection is gone and pending requests have failed."""

    # --- outgoing requests ------------------------------------------------------------------

    def send_request(
        self,
        command_id: int,
        fields: Mapping[str, int | bytes],
        tlvs: Sequence[tuple[int, bytes]] = (),
        *,
        timeout: float | None = None,
    ) -> Deferred[Pdu]:
        """Send a request; fires with the response, fails with CommandFailed, ResponseTimeout
        (after ``timeout``, default response_timeout), SessionClosed, WrongState or PduError."""
        if self.transport is None:
            return fail(SessionClosed("not connected"))
        if not may_send(self.role, command_id, self.state):
            name = p.command_name(command_id)
            return fail(WrongState(f"cannot send {name} in state {self.state.value}"))
        sequence = self._allocate_sequence()
        try:
            data = p.encode(Pdu(command_id, p.ESME_ROK, sequence, dict(fields), tuple(tlvs)))
        except PduError as error:
            return fail(error)
        deferred: Deferred[Pdu] = Deferred(lambda _: self._forget(sequence))
        wait = self.response_timeout if timeout is None else timeout
        timer = call_later(self.clock, wait, self._timed_out, sequence, wait)
        self._pending[sequence] = _Pending(command_id, deferred, timer)
        self._transport.write(data)
        return deferred

    def unbind(self) -> Deferred[None]:
        """Unbind gracefully (bounded by response_timeout), then close the connection."""
        if self.state is SessionState.CLOSED:
            return succeed(None)
        if self.state not in BOUND_STATES:
            self._transport.loseConnection()
            return succeed(None)
        sent = self.send_request(p.UNBIND, {})
        self._set_state(SessionState.UNBINDING)
        done: Deferred[None] = Deferred()

        def close(result: Pdu | Failure) -> None:
            if isinstance(result, Failure):
                self.log.info("unbind not acknowledged: {error}", error=result.value)
            if self.state is not SessionState.CLOSED:
                self._transport.loseConnection()
            done.callback(None)

        sent.addBoth(close)
        return done

    def _allocate_sequence(self) -> int:
        # Sequence numbers run 1..0x7FFFFFFF (§3.2) and must not collide with pending ones.
        while True:
            self._last_sequence = self._last_sequence % 0x7FFFFFFF + 1
            if self._last_sequence not in self._pending:
                return self._last_sequence

    def _forget(self, sequence: int) -> None:
        entry = self._pending.pop(sequence, None)
        if entry is not None and entry.timer.active():
            entry.timer.cancel()

    def _timed_out(self, sequence: int, wait: float) -> None:
        entry = self._pending.pop(sequence, None)
        if entry is not None:
            name = p.command_name(entry.command_id)
            message = f"no response to {name} (sequence {sequence}) in {wait}s"
            entry.deferred.errback(ResponseTimeout(message))

    # --- incoming data ----------------------------------------------------------------------

    def makeConnection(self, transport: object) -> None:
        # Here rather than in connectionMade, which subclasses override: every SMPP socket, on
        # either side, sends each PDU at once instead of holding small writes for Nagle.
        set_no_delay(transport)
        cast(Any, super()).makeConnection(transport)  # untyped in Twisted

    def dataReceived(self, data: bytes) -> None:
        if self._framing_broken:
            return  # closing already; the rest of the stream cannot be framed
        try:
            frames = self._reader.feed(data)
        except PduError as error:
            self._framing_lost(error)
            return
        for frame in frames:
            if self.state is SessionState.CLOSED:
                return
            self._frame_received(frame)

    def _framing_lost(self, error: PduError) -> None:
        # Without a trustworthy command_length nothing after this point can be framed.
        self._framing_broken = True
        self.log.warn("closing: {error}", error=error)
        self._write(p.generic_nack(error.sequence or 0, error.smpp_status))
        self._transport.loseConnection()

    def _frame_received(self, frame: bytes) -> None:
        try:
            pdu = p.decode(frame)
        except PduError as error:
            self._undecodable(frame, error)
            return
        if pdu.is_response:
            self._response_received(pdu)
        else:
            self._request_received(pdu)

    def _undecodable(self, frame: bytes, error: PduError) -> None:
        command_id = int.from_bytes(frame[4:8], "big")
        sequence = error.sequence or 0
        if command_id & p.RESPONSE_BIT:
            entry = self._pending.pop(sequence, None)
            if entry is not None:
                entry.timer.cancel()
                entry.deferred.errback(error)
            else:
                self.log.warn(
                    "dropping bad {name}: {error}", name=p.command_name(command_id), error=error
                )
            return
        self.log.info("refusing {name}: {error}", name=p.command_name(command_id), error=error)
        # §4.3: generic_nack is for bad headers; a known command with a bad body gets its own
        # response so the peer sees which request failed and why.
        if command_id | p.RESPONSE_BIT in p.LAYOUTS and error.smpp_status != p.ESME_RINVCMDID:
            self._write(Pdu(command_id | p.RESPONSE_BIT, error.smpp_status, sequence))
        else:
            self._write(p.generic_nack(sequence, error.smpp_status))

    def _response_received(self, pdu: Pdu) -> None:
        entry = self._pending.pop(pdu.sequence, None)
        if entry is None:
            self.log.warn("unexpected {name} sequence {seq}", name=pdu.name, seq=pdu.sequence)
            return
        entry.timer.cancel()
        if pdu.command_id not in (entry.command_id | p.RESPONSE_BIT, p.GENERIC_NACK):
            error = PduError(p.ESME_RINVCMDID, f"{pdu.name} answers another command", pdu.sequence)
            entry.deferred.errback(error)
        elif pdu.status != p.ESME_ROK or pdu.command_id == p.GENERIC_NACK:
            entry.deferred.errback(CommandFailed(pdu))
        else:
            if entry.command_id in _BOUND_BY_BIND and self.state is SessionState.OPEN:
                self._set_state(_BOUND_BY_BIND[entry.command_id])
            entry.deferred.callback(pdu)

    def _request_received(self, pdu: Pdu) -> None:
        peer = Role.SMSC if self.role is Role.ESME else Role.ESME
        if not may_send(peer, pdu.command_id, self.state):
            bound = pdu.command_id in _BOUND_BY_BIND and self.state is not SessionState.OPEN
            self._write(p.response_to(pdu, p.ESME_RALYBND if bound else p.ESME_RINVBNDSTS))
        elif pdu.command_id == p.ENQUIRE_LINK:
            self._write(p.response_to(pdu))
        elif pdu.command_id == p.UNBIND:
            self._set_state(SessionState.UNBINDING)
            self._write(p.response_to(pdu))
            self._transport.loseConnection()
        else:
            self._dispatch(pdu)

    def _dispatch(self, pdu: Pdu) -> None:
        try:
            result = self.handle_request(pdu)
        except Exception:
            answer: Deferred[Pdu] = fail()
        else:
            answer = result if isinstance(result, Deferred) else succeed(result)
        answer.addErrback(self._handler_failed, pdu)
        answer.addCallback(self._respond)

    def _handler_failed(self, failure: Failure, pdu: Pdu) -> Pdu:
        if isinstance(failure.value, GatewayError):
            self.log.info("{name} refused: {error}", name=pdu.name, error=failure.value)
            return p.response_to(pdu, failure.value.smpp_status)
        self.log.failure("handler failed for {name}", failure, name=pdu.name)
        return p.response_to(pdu, p.ESME_RSYSERR)

    def _respond(self, response: Pdu) -> None:
        if self.state is SessionState.CLOSED:
            self.log.info("connection gone, dropping {name}", name=response.name)
            return
        try:
            self._write(response)
        except PduError:
            self.log.failure("cannot encode {name}", name=response.name)
            self._write(Pdu(response.command_id, p.ESME_RSYSERR, response.sequence))
            return
        request_id = response.command_id & ~p.RESPONSE_BIT
        bound = request_id in _BOUND_BY_BIND and response.status == p.ESME_ROK
        if bound and self.state is SessionState.OPEN:
            self._set_state(_BOUND_BY_BIND[request_id])

    @property
    def _transport(self) -> Transport:
        return cast(Transport, self.transport)

    def _write(self, pdu: Pdu) -> None:
        self._transport.write(p.encode(pdu))

    # --- state and lifecycle ----------------------------------------------------------------

    def _set_state(self, state: SessionState) -> None:
        was_bound = self.state in BOUND_STATES
        self.state = state
        if state in BOUND_STATES and not was_bound:
            self._start_enquire_link()
            self.on_bound()
        elif state not in BOUND_STATES:
            self._stop_enquire_link()

    def _start_enquire_link(self) -> None:
        self._enquire = LoopingCall(self._send_enquire_link)
        self._enquire.clock = self.clock
        self._enquire.start(self.enquire_link_interval, now=False)

    def _stop_enquire_link(self) -> None:
        if self._enquire is not None and self._enquire.running:
            self._enquire.stop()
        self._enquire = None

    def _send_enquire_link(self) -> None:
        self.send_request(p.ENQUIRE_LINK, {}).addErrback(self._enquire_link_failed)

    def _enquire_link_failed(self, failure: Failure) -> None:
        if isinstance(failure.value, CommandFailed | SessionClosed | WrongState):
            return  # the peer answered, or the session is already ending
        self.log.warn("link dead, closing: {error}", error=failure.value)
        # A dead peer never drains our send buffer, so a polite close could hang forever.
        abort = getattr(self.transport, "abortConnection", None)
        if callable(abort):
            abort()
        else:
            self._transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._set_state(SessionState.CLOSED)
        pending, self._pending = self._pending, {}
        for sequence, entry in pending.items():
            entry.timer.cancel()
            name = p.command_name(entry.command_id)
            entry.deferred.errback(SessionClosed(f"connection lost before {name} #{sequence}"))
        self.on_closed(reason)
