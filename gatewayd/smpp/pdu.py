"""SMPP v3.4 PDU codec: bytes to :class:`Pdu` and back, for every v3.4 operation. Pure Python.

Mandatory parameters are described per command by data tables (:data:`LAYOUTS`, in
:mod:`gatewayd.smpp.layouts`). Each table is compiled once into one regular expression (decode)
and one bytes %-template (encode), which keeps a submit_sm round trip under 10 µs without
generated code. Every malformed input raises :class:`PduError` carrying the ``command_status``
a peer should be answered with. Optional parameters stay raw ``(tag, value)`` pairs in wire
order; :mod:`gatewayd.smpp.tlv` types them.

This module is also where callers import the protocol's numbers, layouts and framing from:
it re-exports every public name of :mod:`~gatewayd.smpp.constants`,
:mod:`~gatewayd.smpp.layouts` and :mod:`~gatewayd.smpp.framing`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import cast

from gatewayd.smpp import tlv as _tlv
from gatewayd.smpp.checked import decode_checked, encode_checked
from gatewayd.smpp.compiled import DECODINGS, ENCODINGS, plan_for
from gatewayd.smpp.constants import *  # noqa: F403 -- re-exported for callers
from gatewayd.smpp.constants import (
    ESME_RINVCMDLEN,
    ESME_RINVOPTPARAMVAL,
    ESME_RINVOPTPARSTREAM,
    ESME_RINVPARLEN,
    ESME_ROK,
    ESME_RSYSERR,
    GENERIC_NACK,
    HEADER,
    HEADER_LENGTH,
    MAX_SHORT_MESSAGE,
    RESPONSE_BIT,
    PduError,
    command_name,
)
from gatewayd.smpp.framing import PduReader as PduReader
from gatewayd.smpp.layouts import *  # noqa: F403 -- re-exported for callers
from gatewayd.smpp.layouts import (
    Destination,
    DistributionList,
    Fields,
    SmeAddress,
    Tlvs,
    UnsuccessSme,
)
from gatewayd.smpp.tlv import TlvValue


@dataclass(frozen=True, slots=True, init=False)
class Pdu:
    """One PDU. ``fields`` holds mandatory parameters by spec name (C-strings without their
    NUL; sm_length, number_of_dests and no_unsuccess implied by the value they count);
    ``tlvs`` keeps optional parameters in wire order, unknown tags included."""

    command_id: int
    status: int
    sequence: int
    fields: Fields
    tlvs: Tlvs

    def __init__(
        self,
        command_id: int,
        status: int = ESME_ROK,
        sequence: int = 0,
        fields: Fields | None = None,
        tlvs: Tlvs = (),
    ) -> None:
        # Hand-written because the generated frozen __init__ costs a third of a decode.
        set_command_id, set_status, set_sequence, set_fields, set_tlvs = _SETTERS
        set_command_id(self, command_id)
        set_status(self, status)
        set_sequence(self, sequence)
        set_fields(self, {} if fields is None else fields)
        set_tlvs(self, tlvs)

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    @property
    def name(self) -> str:
        return command_name(self.command_id)

    def bytes_field(self, name: str) -> bytes:
        value = self.fields.get(name, b"")
        if not isinstance(value, bytes):
            raise PduError(ESME_RSYSERR, f"{name} is not an octet string", self.sequence)
        return value

    def int_field(self, name: str) -> int:
        value = self.fields.get(name, 0)
        if not isinstance(value, int):
            raise PduError(ESME_RSYSERR, f"{name} is not an integer", self.sequence)
        return value

    def dest_addresses(self) -> tuple[Destination, ...]:
        """submit_multi's destinations."""
        value = self.fields.get("dest_address", ())
        if isinstance(value, tuple) and all(
            isinstance(d, SmeAddress | DistributionList) for d in value
        ):
            return cast("tuple[Destination, ...]", value)
        raise PduError(ESME_RSYSERR, "dest_address is not a list of destinations", self.sequence)

    def unsuccess_smes(self) -> tuple[UnsuccessSme, ...]:
        """submit_multi_resp's failed destinations."""
        value = self.fields.get("unsuccess_sme", ())
        if isinstance(value, tuple) and all(isinstance(u, UnsuccessSme) for u in value):
            return cast("tuple[UnsuccessSme, ...]", value)
        raise PduError(ESME_RSYSERR, "unsuccess_sme is not a list of UnsuccessSme", self.sequence)

    def tlv(self, tag: int) -> bytes | None:
        """The raw value of the first TLV with ``tag``, or None."""
        for candidate, value in self.tlvs:
            if candidate == tag:
                return value
        return None

    def tlv_value(self, name: str) -> TlvValue | None:
        """The typed value of the first standard TLV called ``name`` (an int, or octets with a
        C-string's NUL removed), or None when absent. An unknown name raises PduError."""
        try:
            spec = _tlv.spec_named(name)
        except ValueError as exc:
            raise PduError(ESME_RSYSERR, str(exc), self.sequence) from None
        raw = self.tlv(spec.tag)
        return None if raw is None else _tlv.to_value(spec, raw)


# The slots' own setters: calling them skips the frozen __setattr__ and the attribute lookup
# object.__setattr__ makes, which cuts the cost of making a Pdu by a third.
_SETTERS = tuple(
    vars(Pdu)[name].__set__ for name in ("command_id", "status", "sequence", "fields", "tlvs")
)
_new = object.__new__


def _new_pdu(command_id: int, status: int, sequence: int, fields: Fields, tlvs: Tlvs) -> Pdu:
    """A Pdu made without the cost of calling the class, for decode."""
    pdu: Pdu = _new(Pdu)
    set_command_id, set_status, set_sequence, set_fields, set_tlvs = _SETTERS
    set_command_id(pdu, command_id)
    set_status(pdu, status)
    set_sequence(pdu, sequence)
    set_fields(pdu, fields)
    set_tlvs(pdu, tlvs)
    return pdu


def response_to(
    request: Pdu, status: int = ESME_ROK, fields: Fields | None = None, tlvs: Tlvs = ()
) -> Pdu:
    """The response PDU answering ``request`` (same sequence number)."""
    return Pdu(request.command_id | RESPONSE_BIT, status, request.sequence, fields or {}, tlvs)


def generic_nack(sequence: int, status: int) -> Pdu:
    return Pdu(GENERIC_NACK, status, sequence)


def make_tlv(name: str, value: TlvValue) -> tuple[int, bytes]:
    """The raw ``(tag, octets)`` pair of a standard TLV, e.g. ``make_tlv("message_state", 2)``;
    a C-string value is given without its NUL."""
    try:
        spec = _tlv.spec_named(name)
        return spec.tag, _tlv.to_raw(spec, value)
    except ValueError as exc:
        raise PduError(ESME_RINVOPTPARAMVAL, str(exc)) from None


def decode_tlvs(tlvs: Tlvs) -> dict[str, TlvValue]:
    """The standard TLVs among ``tlvs`` by name, typed; the first of a repeated tag wins and
    unknown tags are left out (they stay in ``Pdu.tlvs``)."""
    found: dict[str, TlvValue] = {}
    for tag, raw in tlvs:
        spec = _tlv.BY_TAG.get(tag)
        if spec is not None and spec.name not in found:
            found[spec.name] = _tlv.to_value(spec, raw)
    return found


_TLV_HEAD = struct.Struct(">HH")


# --- encoding ---------------------------------------------------------------------------------


def encode(pdu: Pdu) -> bytes:
    """Serialise ``pdu``; missing fields default to 0 / empty, bad values raise PduError."""
    command_id, status, sequence, fields = pdu.command_id, pdu.status, pdu.sequence, pdu.fields
    steps = ENCODINGS.get(command_id)
    if steps is None or (command_id & RESPONSE_BIT and status and not fields and not pdu.tlvs):
        return _encode_checked(pdu)
    known, getter, blank, strings, integers, template, check, message = steps
    if not known.issuperset(fields):
        return _encode_checked(pdu)
    # Unknown names are refused, so equal sizes mean every field is present.
    values = getter(fields) if len(fields) == len(known) else getter({**blank, **fields})
    try:
        if b"\0" in b"".join(strings(values)):
            return _encode_checked(pdu)
        bytes(integers(values))  # raises unless every integer is one octet
        if message is not None:
            text = fields.get(message, b"")
            if type(text) is not bytes or len(text) > MAX_SHORT_MESSAGE:
                return _encode_checked(pdu)
            values += (len(text), text)
        body: bytes = template % values
        # Without NULs inside, a C-string too long for its field cannot match.
        if check.match(body) is None:
            return _encode_checked(pdu)
        if pdu.tlvs:
            body += _encode_tlvs(pdu.tlvs, sequence)
        return HEADER.pack(HEADER_LENGTH + len(body), command_id, status, sequence) + body
    except (TypeError, ValueError, OverflowError, struct.error):
        return _encode_checked(pdu)


def _encode_checked(pdu: Pdu) -> bytes:
    """The slow path, raising the PduError that names what is wrong."""
    plan = plan_for(pdu.command_id, pdu.sequence)
    if pdu.command_id & RESPONSE_BIT and pdu.status and not pdu.fields and not pdu.tlvs:
        body = b""  # §3.3: error responses carry no body
    else:
        if not plan.known.issuperset(pdu.fields):
            unknown = sorted(set(pdu.fields) - plan.known)
            raise PduError(ESME_RSYSERR, f"{pdu.name} has no field {unknown[0]!r}", pdu.sequence)
        body = encode_checked(plan.layout, pdu.fields, pdu.sequence)
        if pdu.tlvs:
            body += _encode_tlvs(pdu.tlvs, pdu.sequence)
    try:
        header = HEADER.pack(HEADER_LENGTH + len(body), pdu.command_id, pdu.status, pdu.sequence)
    except struct.error as exc:
        raise PduError(ESME_RSYSERR, f"bad header value: {exc}", None) from None
    return header + body


def _encode_tlvs(tlvs: Tlvs, sequence: int) -> bytes:
    parts: list[bytes] = []
    checked = _tlv.CHECKED_SIZES
    pack = _TLV_HEAD.pack
    try:
        for tag, value in tlvs:
            size = len(value)
            bounds = checked.get(tag)
            if bounds is not None and not bounds[0] <= size <= bounds[1]:
                raise PduError(ESME_RINVPARLEN, f"TLV 0x{tag:04x} of {size} octets", sequence)
            parts += (pack(tag, size), value if type(value) is bytes else bytes(value))
    except (struct.error, TypeError, ValueError) as exc:
        raise PduError(ESME_RINVPARLEN, f"bad TLV: {exc}", sequence) from None
    return b"".join(parts)


# --- decoding ---------------------------------------------------------------------------------


def decode(frame: bytes) -> Pdu:
    """Parse one complete frame (as returned by :meth:`PduReader.feed`)."""
    length = len(frame)
    if length < HEADER_LENGTH:
        raise PduError(ESME_RINVCMDLEN, f"frame of {length} octets is shorter than a header")
    declared, command_id, status, sequence = HEADER.unpack_from(frame)
    steps = DECODINGS.get(command_id)
    if declared != length or steps is None or (length == HEADER_LENGTH and status):
        return _decode_checked(frame)
    pattern, runs, string_names, strings, integer_names, blank, message = steps
    match = pattern.match(frame, HEADER_LENGTH)
    if match is None:
        return _decode_checked(frame)
    groups = match.groups()
    fields = blank.copy()  # presized: filling it in never resizes
    # zip's strict keyword alone would cost a twentieth of a decode; the lengths are ours.
    fields.update(zip(string_names, strings(groups)))  # noqa: B905
    # Iterating the joined runs of integer octets yields the ints themselves.
    integers = b"".join(runs(groups))
    fields.update(zip(integer_names, integers))  # noqa: B905 -- sm_length is left over
    offset = match.end()
    if message is not None:
        stop = offset + integers[-1]
        if integers[-1] > MAX_SHORT_MESSAGE or stop > length:
            return _decode_checked(frame)
        fields[message] = frame[offset:stop]
        offset = stop
    tlvs = _decode_tlvs(frame, offset, sequence) if offset < length else ()
    return _new_pdu(command_id, status, sequence, fields, tlvs)


def _decode_checked(frame: bytes) -> Pdu:
    """The slow path, raising the PduError that names what is wrong."""
    length, command_id, status, sequence = HEADER.unpack_from(frame)
    if length != len(frame):
        raise PduError(ESME_RINVCMDLEN, f"command_length {length} != {len(frame)}", sequence)
    plan = plan_for(command_id, sequence)
    if length == HEADER_LENGTH and command_id & RESPONSE_BIT and status != ESME_ROK:
        return Pdu(command_id, status, sequence)
    fields, offset = decode_checked(plan.layout, frame, sequence)
    tlvs = _decode_tlvs(frame, offset, sequence) if offset < length else ()
    return Pdu(command_id, status, sequence, fields, tlvs)


def _decode_tlvs(frame: bytes, offset: int, sequence: int) -> Tlvs:
    tlvs: list[tuple[int, bytes]] = []
    end = len(frame)
    checked = _tlv.CHECKED_SIZES
    unpack = _TLV_HEAD.unpack_from
    while offset < end:
        if end - offset < 4:
            raise PduError(ESME_RINVOPTPARSTREAM, "truncated TLV header", sequence)
        tag, size = unpack(frame, offset)
        offset += 4
        if offset + size > end:
            raise PduError(ESME_RINVPARLEN, f"TLV 0x{tag:04x} overruns the PDU", sequence)
        bounds = checked.get(tag)
        if bounds is not None and not bounds[0] <= size <= bounds[1]:
            raise PduError(ESME_RINVPARLEN, f"TLV 0x{tag:04x} of {size} octets", sequence)
        tlvs.append((tag, frame[offset : offset + size]))
        offset += size
    return tuple(tlvs)
