"""Fake peers and Deferred helpers for SMPP protocol tests: no sockets, no wall-clock time."""

from __future__ import annotations

from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import Pdu, PduReader
from gatewayd.smpp.session import SmppSession

T = TypeVar("T")


def result_of(d: Deferred[T]) -> T:
    """The result a Deferred already has; fails the test if it has none or failed."""
    results: list[Any] = []
    d.addBoth(results.append)
    assert results, "Deferred has not fired"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]  # type: ignore[no-any-return]


def failure_of(d: Deferred[Any], *expected: type[BaseException]) -> Failure:
    """The Failure a Deferred already has, checked against ``expected`` types."""
    results: list[Any] = []
    d.addBoth(results.append)
    assert results, "Deferred has not fired"
    assert isinstance(results[0], Failure), f"Deferred succeeded with {results[0]!r}"
    assert results[0].check(*expected), f"unexpected failure {results[0].value!r}"
    return results[0]


def has_no_result(d: Deferred[Any]) -> bool:
    """True if ``d`` has not fired yet; its eventual result is left untouched."""
    results: list[Any] = []

    def peek(result: Any) -> Any:
        results.append(result)
        return result

    d.addBoth(peek)
    return not results


def submit_fields(**overrides: int | bytes) -> dict[str, int | bytes]:
    fields: dict[str, int | bytes] = {
        "source_addr": b"33600000001",
        "destination_addr": b"33700000002",
        "short_message": b"hello",
    }
    fields.update(overrides)
    return fields


class FakePeer:
    """The far end of a session under test: feeds it PDUs and decodes what it writes."""

    def __init__(self, session: SmppSession) -> None:
        self.session = session
        self.transport = StringTransport()
        self._sequence = 1000
        session.makeConnection(self.transport)

    def send(self, pdu: Pdu) -> None:
        self.session.dataReceived(p.encode(pdu))

    def request(
        self, command_id: int, fields: dict[str, int | bytes] | None = None, tlvs: p.Tlvs = ()
    ) -> int:
        self._sequence += 1
        self.send(Pdu(command_id, p.ESME_ROK, self._sequence, fields or {}, tlvs))
        return self._sequence

    def received(self) -> list[Pdu]:
        """Every PDU the session wrote since the last call."""
        data = self.transport.value()
        self.transport.clear()
        return [p.decode(frame) for frame in PduReader(1 << 20).feed(data)]

    def one(self) -> Pdu:
        pdus = self.received()
        assert len(pdus) == 1, pdus
        return pdus[0]

    def disconnect(self) -> None:
        self.session.connectionLost(Failure(ConnectionDone()))

    @property
    def closing(self) -> bool:
        return bool(self.transport.disconnecting)


class FakeESME(FakePeer):
    """Drives an SMSC-side session the way a customer's ESME would."""

    def bind(
        self,
        command_id: int = p.BIND_TRANSCEIVER,
        system_id: bytes = b"acme",
        password: bytes = b"s3cret",
    ) -> Pdu:
        self.request(command_id, {"system_id": system_id, "password": password})
        return self.one()

    def submit(self, **fields: int | bytes) -> Pdu:
        self.request(p.SUBMIT_SM, submit_fields(**fields))
        return self.one()


class FakeSMSC(FakePeer):
    """Answers an ESME-side session the way an upstream SMSC would."""

    def answer(self, status: int = p.ESME_ROK, fields: dict[str, int | bytes] | None = None) -> Pdu:
        """Reply to the one request the session just sent; returns that request."""
        request = self.one()
        self.send(p.response_to(request, status, fields))
        return request
