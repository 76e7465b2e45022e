"""What the SMPP server asks of the gateway for each customer request, as one typed seam
(:class:`MessageService`), and the translation between PDUs and its plain values.

The server stays storage-agnostic: the composition root implements :class:`MessageService`
against the message store. Failures are :class:`~gatewayd.errors.GatewayError` subclasses whose
``smpp_status`` the server answers with (see :class:`UnknownMessage`, :class:`CannotCancel`,
:class:`CannotReplace`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar, runtime_checkable

from twisted.internet.defer import Deferred, fail

from gatewayd.errors import GatewayError
from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import DistributionList, Fields, Pdu, SmeAddress, UnsuccessSme

P = TypeVar("P")
P_contra = TypeVar("P_contra", contravariant=True)
#: (principal, submit_sm or data_sm) -> our message_id, or fail with a GatewayError.
Submitter = Callable[[P, Pdu], Deferred[str]]


class UnknownMessage(GatewayError):
    """No message of this principal has that message_id (and source address)."""

    smpp_status = p.ESME_RINVMSGID
    http_status = 404


class CannotCancel(GatewayError):
    """The message exists but is no longer queued (already sent, or final)."""

    smpp_status = p.ESME_RCANCELFAIL
    http_status = 409


class CannotReplace(GatewayError):
    """The message exists but can no longer be replaced, or the replacement is invalid."""

    smpp_status = p.ESME_RREPLACEFAIL
    http_status = 409


@dataclass(frozen=True, slots=True)
class Address:
    """An SMPP address: type of number, numbering plan and the digits (or alphanumerics)."""

    ton: int
    npi: int
    addr: str


@dataclass(frozen=True, slots=True)
class QueryResult:
    """The state of one message: ``message_state`` as in §5.2.28 (1 ENROUTE, 2 DELIVERED,
    3 EXPIRED, 4 DELETED, 5 UNDELIVERABLE, 6 ACCEPTED, 7 UNKNOWN, 8 REJECTED); ``final_date``
    once it reached a final state; ``error_code`` the network error, if any."""

    message_state: int
    final_date: datetime | None = None
    error_code: int = 0


@dataclass(frozen=True, slots=True)
class CancelRequest:
    """cancel_sm: one message by ``message_id``; or, when it is empty, every queued message from
    ``source`` to ``destination`` (and of ``service_type``, when given) (§4.9.1)."""

    message_id: str
    service_type: str
    source: Address
    destination: Address


@dataclass(frozen=True, slots=True)
class ReplaceRequest:
    """replace_sm: new text and delivery parameters for a queued message (§4.10.1). The times
    are SMPP time strings as received ("" = leave unchanged)."""

    message_id: str
    source: Address
    schedule_delivery_time: str
    validity_period: str
    registered_delivery: int
    sm_default_msg_id: int
    short_message: bytes


@runtime_checkable
class MessageService(Protocol[P_contra]):
    """The gateway as the SMPP server sees it. Every method acts only on the principal's own
    messages and fails with a GatewayError carrying the status to answer."""

    def submit(self, principal: P_contra, pdu: Pdu) -> Deferred[str]:
        """Accept a submit_sm or data_sm (submit_multi arrives as one submit_sm per SME
        destination); fires with our message_id."""
        ...

    def query(self, principal: P_contra, message_id: str, source: Address) -> Deferred[QueryResult]:
        """The state of a message; UnknownMessage if there is none."""
        ...

    def cancel(self, principal: P_contra, request: CancelRequest) -> Deferred[None]:
        """Cancel queued message(s); UnknownMessage or CannotCancel."""
        ...

    def replace(self, principal: P_contra, request: ReplaceRequest) -> Deferred[None]:
        """Replace a queued message; UnknownMessage or CannotReplace."""
        ...


class SubmitOnly(Generic[P]):
    """A :class:`MessageService` from a bare submitter: query, cancel and replace are refused
    (the pre-MessageService wiring keeps working)."""

    def __init__(self, submitter: Submitter[P]) -> None:
        self._submit = submitter

    def submit(self, principal: P, pdu: Pdu) -> Deferred[str]:
        return self._submit(principal, pdu)

    def query(self, principal: P, message_id: str, source: Address) -> Deferred[QueryResult]:
        return fail(UnknownMessage("query_sm is not supported"))

    def cancel(self, principal: P, request: CancelRequest) -> Deferred[None]:
        return fail(CannotCancel("cancel_sm is not supported"))

    def replace(self, principal: P, request: ReplaceRequest) -> Deferred[None]:
        return fail(CannotReplace("replace_sm is not supported"))


# --- PDUs to requests -------------------------------------------------------------------------


def _text(pdu: Pdu, name: str) -> str:
    return pdu.bytes_field(name).decode("latin-1")


def _address(pdu: Pdu, prefix: str, addr: str) -> Address:
    return Address(pdu.int_field(f"{prefix}_ton"), pdu.int_field(f"{prefix}_npi"), _text(pdu, addr))


def source_of(pdu: Pdu) -> Address:
    return _address(pdu, "source_addr", "source_addr")


def cancel_request(pdu: Pdu) -> CancelRequest:
    return CancelRequest(
        message_id=_text(pdu, "message_id"),
        service_type=_text(pdu, "service_type"),
        source=source_of(pdu),
        destination=_address(pdu, "dest_addr", "destination_addr"),
    )


def replace_request(pdu: Pdu) -> ReplaceRequest:
    return ReplaceRequest(
        message_id=_text(pdu, "message_id"),
        source=source_of(pdu),
        schedule_delivery_time=_text(pdu, "schedule_delivery_time"),
        validity_period=_text(pdu, "validity_period"),
        registered_delivery=pdu.int_field("registered_delivery"),
        sm_default_msg_id=pdu.int_field("sm_default_msg_id"),
        short_message=pdu.bytes_field("short_message"),
    )


#: submit_multi fields that a submit_sm carries too (all but the destinations).
_SHARED = tuple(spec.name for spec in p.LAYOUTS[p.SUBMIT_MULTI] if spec.name != "dest_address")


def submission_for(multi: Pdu, destination: SmeAddress) -> Pdu:
    """The submit_sm that sends a submit_multi to one SME destination (same sequence)."""
    fields: Fields = {name: multi.fields[name] for name in _SHARED if name in multi.fields}
    fields.update(
        dest_addr_ton=destination.ton,
        dest_addr_npi=destination.npi,
        destination_addr=destination.address,
    )
    return Pdu(p.SUBMIT_SM, p.ESME_ROK, multi.sequence, fields, multi.tlvs)


def unsuccessful(destination: SmeAddress | DistributionList, status: int) -> UnsuccessSme:
    """A failed destination for submit_multi_resp; a distribution list is reported by name
    (we hold none, so every one fails with ESME_RINVDLNAME)."""
    if isinstance(destination, DistributionList):
        return UnsuccessSme(0, 0, destination.name[:20], status)
    return UnsuccessSme(destination.ton, destination.npi, destination.address, status)


# --- results to responses ---------------------------------------------------------------------


def smpp_time(moment: datetime) -> bytes:
    """An SMPP absolute time (§7.1.1, "YYMMDDhhmmsstnnp") in UTC."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{utc:%y%m%d%H%M%S}{utc.microsecond // 100_000}00+".encode("ascii")


def submit_response(message_id: str, request: Pdu) -> Pdu:
    return p.response_to(request, p.ESME_ROK, {"message_id": message_id.encode("ascii")})


def done_response(_: None, request: Pdu) -> Pdu:
    """The empty ESME_ROK response of cancel_sm and replace_sm."""
    return p.response_to(request)


def query_response(result: QueryResult, request: Pdu) -> Pdu:
    final_date = b"" if result.final_date is None else smpp_time(result.final_date)
    fields: Fields = {
        "message_id": request.bytes_field("message_id"),
        "final_date": final_date,
        "message_state": result.message_state,
        "error_code": result.error_code,
    }
    return p.response_to(request, p.ESME_ROK, fields)


def multi_response(request: Pdu, message_id: str, failed: list[UnsuccessSme]) -> Pdu:
    """submit_multi_resp: ESME_ROK whenever the request was processed, with the destinations
    that failed and why; ``message_id`` is empty when none was accepted."""
    fields: Fields = {"message_id": message_id.encode("ascii"), "unsuccess_sme": tuple(failed)}
    return p.response_to(request, p.ESME_ROK, fields)
