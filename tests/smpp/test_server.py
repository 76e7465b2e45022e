from __future__ import annotations

from dataclasses import dataclass, field

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from gatewayd.config.model import SmppServerConfig
from gatewayd.errors import AuthenticationFailed, ValidationError
from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import Pdu
from gatewayd.smpp.server import SmppServerFactory
from gatewayd.smpp.session import CommandFailed, SessionState
from tests.smpp.helpers import FakeESME, failure_of, has_no_result, result_of

CONFIG = SmppServerConfig(system_id="gatewayd", bind_timeout=5.0, response_timeout=10.0)


class Locked(AuthenticationFailed):
    smpp_status = p.ESME_RBINDFAIL


@dataclass
class Backend:
    """Accepts acme/s3cret; numbers our message ids."""

    binds: list[tuple[str, str, str]] = field(default_factory=list)
    submitted: list[tuple[str, Pdu]] = field(default_factory=list)

    def authenticate(self, system_id: str, password: str, bind_type: str) -> Deferred[str]:
        self.binds.append((system_id, password, bind_type))
        if system_id == "locked":
            return fail(Locked("account locked"))
        if system_id == "buggy":
            return fail(RuntimeError("database exploded"))
        if (system_id, password) != ("acme", "s3cret"):
            return fail(AuthenticationFailed("bad password"))
        return succeed(f"account:{system_id}")

    def submit(self, principal: str, pdu: Pdu) -> Deferred[str]:
        if pdu.bytes_field("destination_addr") == b"0":
            return fail(ValidationError("bad number", smpp_status=p.ESME_RINVDSTADR))
        self.submitted.append((principal, pdu))
        return succeed(f"gw-{len(self.submitted)}")


def _server(clock: Clock) -> tuple[SmppServerFactory[str], Backend]:
    backend = Backend()
    return SmppServerFactory(CONFIG, clock, backend.authenticate, backend.submit), backend


def _connect(factory: SmppServerFactory[str]) -> FakeESME:
    return FakeESME(factory.buildProtocol(None))


def test_bind_ok_answers_our_system_id(clock: Clock) -> None:
    factory, backend = _server(clock)
    esme = _connect(factory)
    response = esme.bind(p.BIND_TRANSMITTER)
    assert (response.command_id, response.status) == (p.BIND_TRANSMITTER_RESP, p.ESME_ROK)
    assert response.fields["system_id"] == b"gatewayd"
    assert backend.binds == [("acme", "s3cret", "transmitter")]
    assert esme.session.state is SessionState.BOUND_TX


def test_bad_password_gets_the_error_status(clock: Clock) -> None:
    factory, _ = _server(clock)
    esme = _connect(factory)
    response = esme.bind(password=b"wrong")
    assert (response.command_id, response.status) == (p.BIND_TRANSCEIVER_RESP, p.ESME_RINVPASWD)
    assert esme.session.state is SessionState.OPEN
    assert esme.submit().status == p.ESME_RINVBNDSTS
    assert esme.bind().status == p.ESME_ROK  # a later bind may still succeed


def test_authentication_error_status_and_bug_become_bind_failures(clock: Clock) -> None:
    factory, _ = _server(clock)
    assert _connect(factory).bind(system_id=b"locked").status == p.ESME_RBINDFAIL
    assert _connect(factory).bind(system_id=b"buggy").status == p.ESME_RBINDFAIL


def test_submit_returns_our_message_id(clock: Clock) -> None:
    factory, backend = _server(clock)
    esme = _connect(factory)
    esme.bind()
    response = esme.submit(short_message=b"bonjour")
    assert (response.command_id, response.status) == (p.SUBMIT_SM_RESP, p.ESME_ROK)
    assert response.fields["message_id"] == b"gw-1"
    principal, pdu = backend.submitted[0]
    assert principal == "account:acme"
    assert pdu.fields["short_message"] == b"bonjour"


def test_submit_error_status_from_gateway_error(clock: Clock) -> None:
    factory, backend = _server(clock)
    esme = _connect(factory)
    esme.bind()
    response = esme.submit(destination_addr=b"0")
    assert (response.status, response.fields) == (p.ESME_RINVDSTADR, {})
    assert backend.submitted == []


def test_receiver_may_not_submit(clock: Clock) -> None:
    factory, backend = _server(clock)
    esme = _connect(factory)
    esme.bind(p.BIND_RECEIVER)
    assert esme.submit().status == p.ESME_RINVBNDSTS
    assert backend.submitted == []


def test_connection_without_bind_closes_after_bind_timeout(clock: Clock) -> None:
    factory, _ = _server(clock)
    idle = _connect(factory)
    refused = _connect(factory)
    bound = _connect(factory)
    refused.bind(password=b"wrong")
    bound.bind()
    clock.advance(4.9)
    assert not idle.closing and not refused.closing
    clock.advance(0.1)
    assert idle.closing and refused.closing
    assert not bound.closing


def test_deliver_goes_to_a_bound_receiver(clock: Clock) -> None:
    factory, _ = _server(clock)
    assert result_of(factory.deliver("account:acme", {})) is False
    transmitter = _connect(factory)
    transmitter.bind(p.BIND_TRANSMITTER)
    assert result_of(factory.deliver("account:acme", {})) is False
    receiver = _connect(factory)
    receiver.bind(p.BIND_RECEIVER)
    delivered = factory.deliver("account:acme", {"short_message": b"MO"}, ((0x1234, b"x"),))
    deliver_sm = receiver.one()
    assert deliver_sm.command_id == p.DELIVER_SM
    assert (deliver_sm.fields["short_message"], deliver_sm.tlvs) == (b"MO", ((0x1234, b"x"),))
    assert has_no_result(delivered)
    receiver.send(p.response_to(deliver_sm))
    assert result_of(delivered) is True
    assert transmitter.received() == []


def test_deliver_rotates_and_reports_refusal(clock: Clock) -> None:
    factory, _ = _server(clock)
    first, second = _connect(factory), _connect(factory)
    first.bind()
    second.bind()
    a = factory.deliver("account:acme", {})
    b = factory.deliver("account:acme", {})
    first.send(p.response_to(first.one(), p.ESME_RX_T_APPN))
    second.send(p.response_to(second.one()))
    assert failure_of(a, CommandFailed).value.smpp_status == p.ESME_RX_T_APPN
    assert result_of(b) is True


def test_closed_sessions_are_forgotten(clock: Clock) -> None:
    factory, _ = _server(clock)
    esme = _connect(factory)
    esme.bind()
    assert factory.sessions("account:acme") == [esme.session]
    esme.disconnect()
    assert factory.sessions("account:acme") == []
    assert result_of(factory.deliver("account:acme", {})) is False


def test_unbind_all_unbinds_bound_and_closes_the_rest(clock: Clock) -> None:
    factory, _ = _server(clock)
    bound, idle = _connect(factory), _connect(factory)
    bound.bind()
    done = factory.unbind_all()
    assert idle.closing
    unbind = bound.one()
    assert unbind.command_id == p.UNBIND
    assert has_no_result(done)
    bound.send(p.response_to(unbind))
    assert result_of(done) is None
    assert bound.closing


def test_unbind_all_is_bounded_by_response_timeout(clock: Clock) -> None:
    factory, _ = _server(clock)
    bound = _connect(factory)
    bound.bind()
    done = factory.unbind_all()
    clock.advance(CONFIG.response_timeout)
    assert result_of(done) is None and bound.closing
