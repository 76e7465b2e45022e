from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from gatewayd.errors import GatewayError, PermissionDenied
from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import Pdu, PduError
from gatewayd.smpp.session import (
    CommandFailed,
    ResponseTimeout,
    Role,
    SessionClosed,
    SessionState,
    SmppSession,
    WrongState,
    may_send,
    set_no_delay,
)
from tests.smpp.helpers import FakeESME, FakeSMSC, failure_of, has_no_result, result_of

Handler = Callable[[Pdu], "Deferred[Pdu] | Pdu"]


class Session(SmppSession):
    def __init__(self, clock: Clock, role: Role, handler: Handler | None = None) -> None:
        super().__init__(
            clock,
            role=role,
            enquire_link_interval=30.0,
            response_timeout=10.0,
            max_command_length=1024,
        )
        self.handler = handler
        self.bound_calls = 0
        self.closed_reason: Failure | None = None

    def handle_request(self, pdu: Pdu) -> Deferred[Pdu] | Pdu:
        if self.handler is None:
            return super().handle_request(pdu)
        return self.handler(pdu)

    def on_bound(self) -> None:
        self.bound_calls += 1

    def on_closed(self, reason: Failure) -> None:
        self.closed_reason = reason


def _bound_esme(clock: Clock, command_id: int = p.BIND_TRANSCEIVER) -> tuple[Session, FakeSMSC]:
    session = Session(clock, Role.ESME)
    smsc = FakeSMSC(session)
    bound = session.send_request(command_id, {"system_id": b"me", "password": b"pw"})
    smsc.answer(fields={"system_id": b"smsc"})
    assert result_of(bound).fields["system_id"] == b"smsc"
    return session, smsc


def _accepting_smsc(clock: Clock, handler: Handler | None = None) -> tuple[Session, FakeESME]:
    def accept(pdu: Pdu) -> Deferred[Pdu] | Pdu:
        if pdu.command_id in (p.BIND_TRANSMITTER, p.BIND_RECEIVER, p.BIND_TRANSCEIVER):
            return p.response_to(pdu, fields={"system_id": b"smsc"})
        assert handler is not None
        return handler(pdu)

    session = Session(clock, Role.SMSC, accept)
    return session, FakeESME(session)


# ---- state machine ----------------------------------------------------------------------------


def test_permissions_table() -> None:
    assert may_send(Role.ESME, p.SUBMIT_SM, SessionState.BOUND_TX)
    assert not may_send(Role.ESME, p.SUBMIT_SM, SessionState.BOUND_RX)
    assert not may_send(Role.ESME, p.SUBMIT_SM, SessionState.OPEN)
    assert may_send(Role.SMSC, p.DELIVER_SM, SessionState.BOUND_TRX)
    assert not may_send(Role.SMSC, p.DELIVER_SM, SessionState.BOUND_TX)
    assert not may_send(Role.ESME, p.DELIVER_SM, SessionState.BOUND_TRX)


def test_esme_refuses_to_submit_before_bind() -> None:
    session = Session(Clock(), Role.ESME)
    smsc = FakeSMSC(session)
    failure = failure_of(session.send_request(p.SUBMIT_SM, {}), WrongState)
    assert isinstance(failure.value, GatewayError)
    assert failure.value.smpp_status == p.ESME_RINVBNDSTS
    assert smsc.received() == []


def test_bind_response_moves_esme_to_bound_state() -> None:
    for command_id, state in [
        (p.BIND_TRANSMITTER, SessionState.BOUND_TX),
        (p.BIND_RECEIVER, SessionState.BOUND_RX),
        (p.BIND_TRANSCEIVER, SessionState.BOUND_TRX),
    ]:
        session, _ = _bound_esme(Clock(), command_id)
        assert session.state is state
        assert session.bound_calls == 1


def test_failed_bind_stays_open() -> None:
    session = Session(Clock(), Role.ESME)
    smsc = FakeSMSC(session)
    bound = session.send_request(p.BIND_TRANSMITTER, {"system_id": b"me"})
    smsc.answer(p.ESME_RINVPASWD)
    failure = failure_of(bound, CommandFailed)
    assert failure.value.smpp_status == p.ESME_RINVPASWD
    assert session.state is SessionState.OPEN and session.bound_calls == 0


def test_smsc_refuses_submit_from_unbound_peer() -> None:
    _session, esme = _accepting_smsc(Clock())
    response = esme.submit()
    assert (response.command_id, response.status) == (p.SUBMIT_SM_RESP, p.ESME_RINVBNDSTS)


def test_smsc_refuses_submit_from_receiver_and_second_bind() -> None:
    session, esme = _accepting_smsc(Clock())
    assert esme.bind(p.BIND_RECEIVER).status == p.ESME_ROK
    assert session.state is SessionState.BOUND_RX
    assert esme.submit().status == p.ESME_RINVBNDSTS
    assert esme.bind().status == p.ESME_RALYBND


def test_smsc_binds_on_successful_response() -> None:
    session, esme = _accepting_smsc(
        Clock(), lambda pdu: p.response_to(pdu, fields={"message_id": b"m1"})
    )
    assert session.state is SessionState.OPEN
    assert esme.bind().fields["system_id"] == b"smsc"
    assert session.state is SessionState.BOUND_TRX
    assert esme.submit().fields["message_id"] == b"m1"


# ---- requests and responses -------------------------------------------------------------------


def test_sequence_numbers_increase_and_responses_match() -> None:
    session, smsc = _bound_esme(Clock())
    first = session.send_request(p.SUBMIT_SM, {"short_message": b"1"})
    second = session.send_request(p.SUBMIT_SM, {"short_message": b"2"})
    one, two = smsc.received()
    assert two.sequence == one.sequence + 1
    smsc.send(p.response_to(two, fields={"message_id": b"B"}))
    smsc.send(p.response_to(one, fields={"message_id": b"A"}))
    assert result_of(first).fields["message_id"] == b"A"
    assert result_of(second).fields["message_id"] == b"B"


def test_response_timeout_on_the_clock() -> None:
    clock = Clock()
    session, smsc = _bound_esme(clock)
    sent = session.send_request(p.SUBMIT_SM, {})
    request = smsc.one()
    clock.advance(9.9)
    assert has_no_result(sent)
    clock.advance(0.1)
    failure_of(sent, ResponseTimeout)
    smsc.send(p.response_to(request, fields={"message_id": b"late"}))  # ignored, no crash
    assert session.state is SessionState.BOUND_TRX


def test_generic_nack_and_error_status_fail_the_request() -> None:
    session, smsc = _bound_esme(Clock())
    nacked = session.send_request(p.SUBMIT_SM, {})
    smsc.send(p.generic_nack(smsc.one().sequence, p.ESME_RINVCMDLEN))
    assert failure_of(nacked, CommandFailed).value.smpp_status == p.ESME_RINVCMDLEN
    throttled = session.send_request(p.SUBMIT_SM, {})
    smsc.answer(p.ESME_RTHROTTLED)
    failure = failure_of(throttled, CommandFailed)
    assert failure.value.smpp_status == p.ESME_RTHROTTLED
    assert failure.value.response.command_id == p.SUBMIT_SM_RESP


def test_encode_error_fails_the_request_without_writing() -> None:
    session, smsc = _bound_esme(Clock())
    failure = failure_of(session.send_request(p.SUBMIT_SM, {"source_addr": b"1" * 30}), PduError)
    assert failure.value.smpp_status == p.ESME_RINVSRCADR
    assert smsc.received() == []


def test_connection_lost_fails_pending_and_stops_timers() -> None:
    clock = Clock()
    session, smsc = _bound_esme(clock)
    sent = session.send_request(p.SUBMIT_SM, {})
    smsc.disconnect()
    failure_of(sent, SessionClosed)
    assert session.state is SessionState.CLOSED
    assert session.closed_reason is not None
    assert clock.getDelayedCalls() == []


def test_cancelling_a_request_clears_its_timer() -> None:
    clock = Clock()
    session, _smsc = _bound_esme(clock)
    sent = session.send_request(p.SUBMIT_SM, {})
    sent.cancel()
    sent.addErrback(lambda _: None)
    assert [c for c in clock.getDelayedCalls() if c.getTime() == 10.0] == []


# ---- enquire_link and unbind ------------------------------------------------------------------


def test_enquire_link_sent_on_clock_while_bound_and_answered() -> None:
    clock = Clock()
    _session, smsc = _bound_esme(clock)
    clock.advance(29)
    assert smsc.received() == []
    clock.advance(1)
    enquire = smsc.one()
    assert enquire.command_id == p.ENQUIRE_LINK
    smsc.send(p.response_to(enquire))
    clock.advance(30)
    assert smsc.one().command_id == p.ENQUIRE_LINK


def test_unanswered_enquire_link_drops_the_link() -> None:
    clock = Clock()
    _session, smsc = _bound_esme(clock)
    clock.advance(30)
    assert smsc.one().command_id == p.ENQUIRE_LINK
    clock.advance(10)
    assert smsc.closing


def test_no_enquire_link_before_bind() -> None:
    clock = Clock()
    session = Session(clock, Role.ESME)
    smsc = FakeSMSC(session)
    clock.advance(300)
    assert smsc.received() == []


def test_answers_enquire_link_from_peer() -> None:
    _session, smsc = _bound_esme(Clock())
    sequence = smsc.request(p.ENQUIRE_LINK)
    response = smsc.one()
    assert (response.command_id, response.status, response.sequence) == (
        p.ENQUIRE_LINK_RESP,
        p.ESME_ROK,
        sequence,
    )


def test_unbind_waits_for_response_then_closes() -> None:
    clock = Clock()
    session, smsc = _bound_esme(clock)
    done = session.unbind()
    assert session.state is SessionState.UNBINDING
    assert has_no_result(done) and not smsc.closing
    smsc.answer()
    assert result_of(done) is None
    assert smsc.closing


def test_unbind_gives_up_after_timeout() -> None:
    clock = Clock()
    session, smsc = _bound_esme(clock)
    done = session.unbind()
    clock.advance(10)
    assert result_of(done) is None
    assert smsc.closing


def test_peer_unbind_is_answered_and_closes() -> None:
    session, smsc = _bound_esme(Clock())
    sequence = smsc.request(p.UNBIND)
    response = smsc.one()
    assert (response.command_id, response.sequence) == (p.UNBIND_RESP, sequence)
    assert session.state is SessionState.UNBINDING and smsc.closing


# ---- handler errors and bad input -------------------------------------------------------------


def test_handler_errors_map_to_statuses() -> None:
    def handler(pdu: Pdu) -> Pdu:
        if pdu.bytes_field("short_message") == b"denied":
            raise PermissionDenied("not yours")
        raise RuntimeError("bug")

    _session, esme = _accepting_smsc(Clock(), handler)
    esme.bind()
    assert esme.submit(short_message=b"denied").status == p.ESME_RINVSYSID
    assert esme.submit(short_message=b"boom").status == p.ESME_RSYSERR


def test_handler_deferred_failure_maps_to_status() -> None:
    pending: Deferred[Pdu] = Deferred()
    _session, esme = _accepting_smsc(Clock(), lambda pdu: pending)
    esme.bind()
    esme.request(p.SUBMIT_SM, {})
    assert esme.received() == []
    pending.errback(GatewayError("no route"))
    response = esme.one()
    assert (response.command_id, response.status) == (p.SUBMIT_SM_RESP, p.ESME_RSYSERR)


def test_bad_body_gets_its_own_response_with_the_status() -> None:
    session, esme = _accepting_smsc(Clock())
    frame = struct.pack(">IIII", 16 + 21, p.BIND_TRANSMITTER, 0, 5) + b"a" * 20 + b"\0"
    session.dataReceived(frame)
    response = esme.one()
    assert (response.command_id, response.status, response.sequence) == (
        p.BIND_TRANSMITTER_RESP,
        p.ESME_RINVSYSID,
        5,
    )
    assert not esme.closing


def test_unknown_command_gets_generic_nack() -> None:
    session, esme = _accepting_smsc(Clock())
    session.dataReceived(struct.pack(">IIII", 16, 0x0000_0077, 0, 6))
    nack = esme.one()
    assert (nack.command_id, nack.status, nack.sequence) == (p.GENERIC_NACK, p.ESME_RINVCMDID, 6)
    assert not esme.closing


@pytest.mark.parametrize("length", [8, 2000])
def test_bad_command_length_nacks_and_closes(length: int) -> None:
    session, esme = _accepting_smsc(Clock())
    session.dataReceived(struct.pack(">IIII", length, p.ENQUIRE_LINK, 0, 9))
    nack = esme.one()
    assert (nack.command_id, nack.status, nack.sequence) == (p.GENERIC_NACK, p.ESME_RINVCMDLEN, 9)
    assert esme.closing
    esme.request(p.ENQUIRE_LINK)  # whatever follows is ignored
    assert esme.received() == []


def test_undecodable_response_fails_the_pending_request() -> None:
    session, smsc = _bound_esme(Clock())
    sent = session.send_request(p.SUBMIT_SM, {})
    sequence = smsc.one().sequence
    session.dataReceived(struct.pack(">IIII", 16 + 3, p.SUBMIT_SM_RESP, 0, sequence) + b"abc")
    assert failure_of(sent, PduError).value.smpp_status == p.ESME_RINVCMDLEN
    assert smsc.received() == []  # never nack a response


def test_response_to_a_different_command_fails_the_request() -> None:
    session, smsc = _bound_esme(Clock())
    sent = session.send_request(p.SUBMIT_SM, {})
    request = smsc.one()
    smsc.send(Pdu(p.DATA_SM_RESP, p.ESME_ROK, request.sequence, {"message_id": b"x"}))
    assert failure_of(sent, PduError).value.smpp_status == p.ESME_RINVCMDID


def test_a_request_may_set_its_own_timeout() -> None:
    clock = Clock()
    session = Session(clock, Role.ESME)  # response_timeout is 10 s
    smsc = FakeSMSC(session)
    bound = session.send_request(p.BIND_TRANSCEIVER, {"system_id": b"me"}, timeout=3.0)
    smsc.received()
    clock.advance(2.9)
    assert has_no_result(bound)
    clock.advance(0.1)
    assert "in 3.0s" in str(failure_of(bound, ResponseTimeout).value)


class _TcpLike(StringTransport):
    def __init__(self, error: OSError | None = None) -> None:
        super().__init__()
        self.no_delay: bool | None = None
        self.error = error

    def setTcpNoDelay(self, enabled: bool) -> None:
        if self.error is not None:
            raise self.error
        self.no_delay = enabled


@pytest.mark.parametrize("role", [Role.ESME, Role.SMSC])
def test_every_session_turns_nagle_off_when_it_connects(role: Role) -> None:
    transport = _TcpLike()

    class Overriding(Session):
        def connectionMade(self) -> None:  # as SmscSession does, without super()
            pass

    Overriding(Clock(), role).makeConnection(transport)
    assert transport.no_delay is True


def test_no_delay_is_skipped_where_the_transport_has_no_such_option() -> None:
    assert set_no_delay(StringTransport()) is False
    assert set_no_delay(_TcpLike(OSError("not a TCP socket"))) is False
    assert set_no_delay(_TcpLike()) is True
