from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest_twisted
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import reactor, ssl
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.endpoints import SSL4ClientEndpoint, connectProtocol, serverFromString
from twisted.internet.task import Clock

from gatewayd.config.model import SmppServerConfig
from gatewayd.errors import AuthenticationFailed, ValidationError
from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import DistributionList, Pdu, SmeAddress, UnsuccessSme
from gatewayd.smpp.server import BindLimits, SmppServerFactory
from gatewayd.smpp.session import CommandFailed, SessionState
from tests.smpp.fakes import ClientESME, FakeGateway, Limits, RemoteESME
from tests.smpp.helpers import FakeESME, failure_of, has_no_result, result_of, submit_fields

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


# --- limits, allow-lists and lockout ------------------------------------------------------------

LIMITED = SmppServerConfig(
    system_id="gatewayd",
    bind_timeout=5.0,
    response_timeout=10.0,
    max_binds_per_account=2,
    lockout_threshold=3,
    lockout_base=60.0,
    lockout_max=600.0,
    receive_window=3,
)


def _gateway_server(
    clock: Clock, config: SmppServerConfig = LIMITED
) -> tuple[SmppServerFactory[str], FakeGateway]:
    gateway = FakeGateway()
    factory = SmppServerFactory(
        config, clock, gateway.authenticate, gateway, policy=Limits(gateway)
    )
    return factory, gateway


def _from(factory: SmppServerFactory[str], host: str = "192.0.2.10") -> RemoteESME:
    return RemoteESME(factory.buildProtocol(None), host)


def test_binds_per_account_are_limited_by_the_config_default(clock: Clock) -> None:
    factory, _ = _gateway_server(clock)
    first, second, third = _from(factory), _from(factory), _from(factory)
    assert first.bind().status == p.ESME_ROK
    assert second.bind(p.BIND_RECEIVER).status == p.ESME_ROK
    assert third.bind().status == p.ESME_RBINDFAIL
    assert _from(factory).bind(system_id=b"other", password=b"0ther").status == p.ESME_ROK
    first.disconnect()
    assert third.bind().status == p.ESME_ROK


def test_an_account_limit_overrides_the_default(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock)
    gateway.limits["account:acme"] = BindLimits(max_binds=1)
    assert _from(factory).bind().status == p.ESME_ROK
    assert _from(factory).bind().status == p.ESME_RBINDFAIL


def test_the_allow_list_refuses_like_a_wrong_password(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock)
    allowed = (ip_network("192.0.2.0/28"), ip_network("2001:db8::/64"))
    gateway.limits["account:acme"] = BindLimits(max_binds=5, networks=allowed)
    outside = _from(factory, "198.51.100.1")
    refused = outside.bind()
    wrong_password = _from(factory, "198.51.100.1").bind(password=b"nope")
    assert refused.status == wrong_password.status == p.ESME_RINVPASWD
    assert p.encode(refused)[8:] == p.encode(wrong_password)[8:]  # status and body alike
    assert outside.session.state is SessionState.OPEN
    assert _from(factory, "192.0.2.14").bind().status == p.ESME_ROK
    assert _from(factory, "2001:db8::77").bind().status == p.ESME_ROK
    assert _from(factory, "::ffff:192.0.2.1").bind(p.BIND_RECEIVER).status == p.ESME_ROK


def test_repeated_failures_lock_the_system_id_without_asking_the_authenticator(
    clock: Clock,
) -> None:
    factory, gateway = _gateway_server(clock)
    for n in range(3):
        assert _from(factory, f"192.0.2.{n}").bind(password=b"guess").status == p.ESME_RINVPASWD
    attempts = len(gateway.binds)
    assert _from(factory, "203.0.113.5").bind().status == p.ESME_RBINDFAIL
    assert len(gateway.binds) == attempts  # no password check while locked out
    assert (
        _from(factory, "203.0.113.5").bind(system_id=b"other", password=b"0ther").status
        == p.ESME_ROK
    )
    clock.advance(60.0)
    assert _from(factory, "203.0.113.5").bind().status == p.ESME_ROK


def test_repeated_failures_lock_the_address_for_every_system_id(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock)
    for name in (b"alice", b"bob", b"carol"):
        _from(factory).bind(system_id=name)
    attempts = len(gateway.binds)
    assert _from(factory).bind().status == p.ESME_RBINDFAIL
    assert len(gateway.binds) == attempts
    assert _from(factory, "192.0.2.11").bind().status == p.ESME_ROK


def test_the_lock_doubles_and_a_success_clears_the_system_id(clock: Clock) -> None:
    factory, _ = _gateway_server(clock)
    for n in range(3):
        _from(factory, f"192.0.2.{n}").bind(password=b"guess")
    clock.advance(60.0)
    assert _from(factory, "192.0.2.3").bind(password=b"guess").status == p.ESME_RINVPASWD
    clock.advance(119.0)
    assert _from(factory, "192.0.2.4").bind().status == p.ESME_RBINDFAIL
    clock.advance(1.0)
    assert _from(factory, "192.0.2.4").bind().status == p.ESME_ROK
    assert _from(factory, "192.0.2.5").bind(password=b"guess").status == p.ESME_RINVPASWD


def test_outages_and_bind_limits_do_not_count_towards_the_lockout(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock)
    for _ in range(3):
        assert _from(factory).bind(system_id=b"buggy").status == p.ESME_RBINDFAIL
    gateway.limits["account:acme"] = BindLimits(max_binds=0)
    for _ in range(3):
        assert _from(factory).bind().status == p.ESME_RBINDFAIL
    assert len(gateway.binds) == 6  # every one reached the authenticator
    assert factory.lockout.retry_after("192.0.2.10", "acme", clock.seconds()) == 0.0


def test_a_bind_refused_while_another_is_pending_is_already_bound(clock: Clock) -> None:
    gateway = FakeGateway()
    pending: Deferred[str] = Deferred()
    factory = SmppServerFactory(LIMITED, clock, lambda *_: pending, gateway)
    esme = _from(factory)
    esme.request(p.BIND_TRANSMITTER, {"system_id": b"acme", "password": b"s3cret"})
    assert esme.received() == []
    assert esme.bind().status == p.ESME_RALYBND
    pending.callback("account:acme")
    assert esme.one().status == p.ESME_ROK


# --- operations -------------------------------------------------------------------------------


def _bound(factory: SmppServerFactory[str], command_id: int = p.BIND_TRANSCEIVER) -> RemoteESME:
    esme = _from(factory)
    assert esme.bind(command_id).status == p.ESME_ROK
    return esme


def _ask(esme: FakeESME, command_id: int, **fields: p.FieldValue) -> Pdu:
    if command_id == p.SUBMIT_MULTI:
        fields.setdefault("dest_address", (SmeAddress(1, 1, b"33700000001"),))
    esme.send(Pdu(command_id, p.ESME_ROK, 7, dict(fields)))
    return esme.one()


def test_operations_before_bind_get_invalid_bind_status(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock)
    esme = _from(factory)
    for command_id in (p.SUBMIT_SM, p.SUBMIT_MULTI, p.DATA_SM, p.QUERY_SM, p.CANCEL_SM):
        assert _ask(esme, command_id).status == p.ESME_RINVBNDSTS
    assert gateway.messages == {}


def test_a_receiver_may_not_submit_query_cancel_or_replace(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock)
    esme = _bound(factory, p.BIND_RECEIVER)
    for command_id in (p.SUBMIT_SM, p.SUBMIT_MULTI, p.DATA_SM, p.QUERY_SM, p.CANCEL_SM):
        assert _ask(esme, command_id).status == p.ESME_RINVBNDSTS
    assert _ask(esme, p.REPLACE_SM).status == p.ESME_RINVBNDSTS
    assert gateway.messages == {}


def test_enquire_link_and_unbind_are_answered(clock: Clock) -> None:
    factory, _ = _gateway_server(clock)
    esme = _bound(factory)
    assert _ask(esme, p.ENQUIRE_LINK).command_id == p.ENQUIRE_LINK_RESP
    response = _ask(esme, p.UNBIND)
    assert (response.command_id, response.status) == (p.UNBIND_RESP, p.ESME_ROK)
    assert esme.closing


def test_an_unknown_command_gets_generic_nack(clock: Clock) -> None:
    factory, _ = _gateway_server(clock)
    esme = _bound(factory)
    esme.session.dataReceived(b"\x00\x00\x00\x10\x00\x00\x77\x77\x00\x00\x00\x00\x00\x00\x00\x09")
    nack = esme.one()
    assert (nack.command_id, nack.status, nack.sequence) == (p.GENERIC_NACK, p.ESME_RINVCMDID, 9)
    assert not esme.closing


def test_data_sm_is_submitted(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock)
    esme = _bound(factory)
    response = _ask(esme, p.DATA_SM, destination_addr=b"33700000002", source_addr=b"1")
    assert (response.command_id, response.fields["message_id"]) == (p.DATA_SM_RESP, b"gw-1")
    assert gateway.messages["gw-1"].pdu.command_id == p.DATA_SM


def test_submit_multi_submits_each_destination_and_lists_failures(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock)
    esme = _bound(factory)
    destinations = (
        SmeAddress(1, 1, b"33700000001"),
        SmeAddress(1, 1, b"0"),
        DistributionList(b"friends"),
        SmeAddress(1, 1, b"bug"),
        SmeAddress(5, 0, b"33700000002"),
    )
    response = _ask(
        esme,
        p.SUBMIT_MULTI,
        source_addr=b"SHOP",
        dest_address=destinations,
        short_message=b"sale",
        registered_delivery=1,
    )
    assert (response.command_id, response.status) == (p.SUBMIT_MULTI_RESP, p.ESME_ROK)
    assert response.fields["message_id"] == b"gw-1"
    assert response.unsuccess_smes() == (
        UnsuccessSme(1, 1, b"0", p.ESME_RINVDSTADR),
        UnsuccessSme(0, 0, b"friends", p.ESME_RINVDLNAME),
        UnsuccessSme(1, 1, b"bug", p.ESME_RSYSERR),
    )
    submitted = [message.pdu for message in gateway.messages.values()]
    assert [pdu.command_id for pdu in submitted] == [p.SUBMIT_SM, p.SUBMIT_SM]
    assert [
        (pdu.int_field("dest_addr_ton"), pdu.fields["destination_addr"]) for pdu in submitted
    ] == [
        (1, b"33700000001"),
        (5, b"33700000002"),
    ]
    assert all(pdu.fields["source_addr"] == b"SHOP" for pdu in submitted)
    assert all(pdu.fields["short_message"] == b"sale" for pdu in submitted)
    assert all(pdu.fields["registered_delivery"] == 1 for pdu in submitted)


def test_submit_multi_where_every_destination_fails(clock: Clock) -> None:
    factory, _ = _gateway_server(clock)
    esme = _bound(factory)
    response = _ask(esme, p.SUBMIT_MULTI, dest_address=(SmeAddress(1, 1, b"0"),))
    assert (response.status, response.fields["message_id"]) == (p.ESME_ROK, b"")
    assert response.unsuccess_smes() == (UnsuccessSme(1, 1, b"0", p.ESME_RINVDSTADR),)


def test_query_sm_reports_the_state_of_an_own_message(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock)
    esme = _bound(factory)
    esme.submit(source_addr=b"SHOP")
    queued = _ask(esme, p.QUERY_SM, message_id=b"gw-1", source_addr=b"SHOP")
    assert (queued.command_id, queued.status) == (p.QUERY_SM_RESP, p.ESME_ROK)
    assert queued.fields == {
        "message_id": b"gw-1",
        "final_date": b"",
        "message_state": 1,
        "error_code": 0,
    }
    gateway.deliver_all()
    final = _ask(esme, p.QUERY_SM, message_id=b"gw-1", source_addr=b"SHOP")
    assert (final.fields["message_state"], final.fields["final_date"]) == (2, b"261123093015000+")


def test_query_sm_of_an_unknown_or_foreign_message_is_invalid(clock: Clock) -> None:
    factory, _ = _gateway_server(clock)
    owner = _bound(factory)
    owner.submit(source_addr=b"SHOP")
    stranger = _from(factory)
    stranger.bind(system_id=b"other", password=b"0ther")
    for esme, message_id, source in (
        (owner, b"gw-9", b"SHOP"),
        (owner, b"gw-1", b"X"),
        (stranger, b"gw-1", b"SHOP"),
    ):
        response = _ask(esme, p.QUERY_SM, message_id=message_id, source_addr=source)
        assert (response.command_id, response.status) == (p.QUERY_SM_RESP, p.ESME_RINVMSGID)


def test_cancel_sm_while_queued_then_fails(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock)
    esme = _bound(factory)
    esme.submit(source_addr=b"SHOP")
    esme.submit(source_addr=b"SHOP")
    cancelled = _ask(esme, p.CANCEL_SM, message_id=b"gw-1", source_addr=b"SHOP")
    assert (cancelled.command_id, cancelled.status) == (p.CANCEL_SM_RESP, p.ESME_ROK)
    assert list(gateway.messages) == ["gw-2"]
    assert _ask(esme, p.CANCEL_SM, message_id=b"gw-1", source_addr=b"SHOP").status == (
        p.ESME_RINVMSGID
    )
    gateway.deliver_all()
    late = _ask(esme, p.CANCEL_SM, message_id=b"gw-2", source_addr=b"SHOP")
    assert late.status == p.ESME_RCANCELFAIL


def test_replace_sm_while_queued_then_fails(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock)
    esme = _bound(factory)
    esme.submit(source_addr=b"SHOP", short_message=b"old")
    fields: dict[str, p.FieldValue] = {
        "message_id": b"gw-1",
        "source_addr": b"SHOP",
        "short_message": b"new",
    }
    replaced = _ask(esme, p.REPLACE_SM, **fields)
    assert (replaced.command_id, replaced.status) == (p.REPLACE_SM_RESP, p.ESME_ROK)
    assert gateway.messages["gw-1"].pdu.fields["short_message"] == b"new"
    gateway.deliver_all()
    assert _ask(esme, p.REPLACE_SM, **fields).status == p.ESME_RREPLACEFAIL


def test_a_bare_submitter_refuses_query_cancel_and_replace(clock: Clock) -> None:
    factory, _ = _server(clock)
    esme = _connect(factory)
    esme.bind()
    assert esme.submit().status == p.ESME_ROK
    assert _ask(esme, p.QUERY_SM, message_id=b"gw-1").status == p.ESME_RINVMSGID
    assert _ask(esme, p.CANCEL_SM, message_id=b"gw-1").status == p.ESME_RCANCELFAIL
    assert _ask(esme, p.REPLACE_SM, message_id=b"gw-1").status == p.ESME_RREPLACEFAIL


# --- receive window and account rate ----------------------------------------------------------


def test_the_receive_window_throttles_but_keeps_answering_enquire_link(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock)
    gateway.hold = True
    esme = _bound(factory)
    for _ in range(3):
        esme.request(p.SUBMIT_SM, submit_fields())
    assert esme.received() == []
    assert esme.submit().status == p.ESME_RTHROTTLED
    assert _ask(esme, p.QUERY_SM, message_id=b"gw-1").status == p.ESME_RTHROTTLED
    assert _ask(esme, p.ENQUIRE_LINK).status == p.ESME_ROK
    assert len(gateway.messages) == 3
    gateway.release()
    assert [pdu.status for pdu in esme.received()] == [p.ESME_ROK] * 3
    assert esme.session.in_flight == 0
    esme.request(p.SUBMIT_SM, submit_fields())
    assert len(gateway.held) == 1  # accepted again


def test_the_window_is_per_bind(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock)
    gateway.hold = True
    first, second = _bound(factory), _bound(factory)
    for _ in range(3):
        first.request(p.SUBMIT_SM, submit_fields())
    second.request(p.SUBMIT_SM, submit_fields())
    assert len(gateway.held) == 4


def test_an_account_over_its_rate_is_throttled_across_its_binds(clock: Clock) -> None:
    config = SmppServerConfig(default_account_tps=2.0)
    factory, gateway = _gateway_server(clock, config)
    first, second = _bound(factory), _bound(factory)
    assert first.submit().status == p.ESME_ROK
    assert second.submit().status == p.ESME_ROK
    assert first.submit().status == p.ESME_RTHROTTLED
    clock.advance(0.5)
    assert second.submit().status == p.ESME_ROK
    assert second.submit().status == p.ESME_RTHROTTLED
    gateway.limits["account:other"] = BindLimits(tps=0.0)
    unlimited = _from(factory)
    unlimited.bind(system_id=b"other", password=b"0ther")
    assert all(unlimited.submit().status == p.ESME_ROK for _ in range(20))


def test_submit_multi_spends_one_token_per_destination(clock: Clock) -> None:
    factory, gateway = _gateway_server(clock, SmppServerConfig(default_account_tps=2.0))
    esme = _bound(factory)
    destinations = tuple(SmeAddress(1, 1, f"3370000000{n}".encode()) for n in range(3))
    response = _ask(esme, p.SUBMIT_MULTI, dest_address=destinations)
    assert response.unsuccess_smes() == (UnsuccessSme(1, 1, b"33700000002", p.ESME_RTHROTTLED),)
    assert len(gateway.messages) == 2


# --- TLS --------------------------------------------------------------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = directory / "key.pem", directory / "cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


#: Bounds each wait on the real reactor, so a broken server fails the test instead of hanging.
SOCKET_TIMEOUT = 5.0


@pytest_twisted.inlineCallbacks
def test_binds_and_submits_over_tls(tmp_path: Path) -> Generator[Deferred[Any], Any, None]:
    key_file, cert_file = _self_signed(tmp_path)
    gateway = FakeGateway()
    factory = SmppServerFactory(SmppServerConfig(), reactor, gateway.authenticate, gateway)
    endpoint = serverFromString(
        reactor, f"ssl:0:interface=127.0.0.1:privateKey={key_file}:certKey={cert_file}"
    )
    port = yield endpoint.listen(factory)
    trust = ssl.Certificate.loadPEM(cert_file.read_bytes())
    client = ClientESME(reactor, SOCKET_TIMEOUT)
    tls = ssl.optionsForClientTLS("localhost", trustRoot=trust)
    client_endpoint = SSL4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port, tls)
    try:
        yield connectProtocol(client_endpoint, client)
        yield client.ready.addTimeout(SOCKET_TIMEOUT, reactor)
        bind = yield client.send_request(
            p.BIND_TRANSCEIVER, {"system_id": b"acme", "password": b"s3cret"}
        )
        submit = yield client.send_request(p.SUBMIT_SM, submit_fields())
        assert factory.sessions("account:acme")[0].address == ip_address("127.0.0.1")
        yield client.unbind()
        yield client.lost.addTimeout(SOCKET_TIMEOUT, reactor)
    finally:
        yield port.stopListening()
    assert (bind.status, bind.fields["system_id"]) == (p.ESME_ROK, b"gatewayd")
    assert (submit.status, submit.fields["message_id"]) == (p.ESME_ROK, b"gw-1")
    assert gateway.messages["gw-1"].pdu.fields["short_message"] == b"hello"
