"""SMPP v3.4 PDU codec: bytes to :class:`Pdu` and back. Pure Python, no Twisted.

Mandatory parameters are described per command by data tables (:data:`LAYOUTS`), so supporting
another command means adding a table row, not writing a parser. Every malformed input raises
:class:`PduError` carrying the ``command_status`` a peer should be answered with.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from gatewayd.errors import GatewayError

HEADER = struct.Struct(">IIII")
HEADER_LENGTH = HEADER.size
RESPONSE_BIT = 0x80000000

# --- command_id (SMPP 3.4 §5.1.2.1) ---------------------------------------------------------
GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_RECEIVER_RESP = 0x80000001
BIND_TRANSMITTER = 0x00000002
BIND_TRANSMITTER_RESP = 0x80000002
QUERY_SM = 0x00000003
QUERY_SM_RESP = 0x80000003
SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
DELIVER_SM_RESP = 0x80000005
UNBIND = 0x00000006
UNBIND_RESP = 0x80000006
REPLACE_SM = 0x00000007
REPLACE_SM_RESP = 0x80000007
CANCEL_SM = 0x00000008
CANCEL_SM_RESP = 0x80000008
BIND_TRANSCEIVER = 0x00000009
BIND_TRANSCEIVER_RESP = 0x80000009
OUTBIND = 0x0000000B
ENQUIRE_LINK = 0x00000015
ENQUIRE_LINK_RESP = 0x80000015
SUBMIT_MULTI = 0x00000021
SUBMIT_MULTI_RESP = 0x80000021
ALERT_NOTIFICATION = 0x00000102
DATA_SM = 0x00000103
DATA_SM_RESP = 0x80000103

COMMAND_NAMES: Mapping[int, str] = {
    value: name.lower()
    for name, value in list(globals().items())
    if name.isupper() and isinstance(value, int) and name not in {"HEADER_LENGTH", "RESPONSE_BIT"}
}

# --- command_status (SMPP 3.4 §5.1.3) -------------------------------------------------------
ESME_ROK = 0x00000000
ESME_RINVMSGLEN = 0x00000001
ESME_RINVCMDLEN = 0x00000002
ESME_RINVCMDID = 0x00000003
ESME_RINVBNDSTS = 0x00000004
ESME_RALYBND = 0x00000005
ESME_RINVPRTFLG = 0x00000006
ESME_RINVREGDLVFLG = 0x00000007
ESME_RSYSERR = 0x00000008
ESME_RINVSRCADR = 0x0000000A
ESME_RINVDSTADR = 0x0000000B
ESME_RINVMSGID = 0x0000000C
ESME_RBINDFAIL = 0x0000000D
ESME_RINVPASWD = 0x0000000E
ESME_RINVSYSID = 0x0000000F
ESME_RCANCELFAIL = 0x00000011
ESME_RREPLACEFAIL = 0x00000013
ESME_RMSGQFUL = 0x00000014
ESME_RINVSERTYP = 0x00000015
ESME_RINVNUMDESTS = 0x00000033
ESME_RINVDLNAME = 0x00000034
ESME_RINVDESTFLAG = 0x00000040
ESME_RINVSUBREP = 0x00000042
ESME_RINVESMCLASS = 0x00000043
ESME_RCNTSUBDL = 0x00000044
ESME_RSUBMITFAIL = 0x00000045
ESME_RINVSRCTON = 0x00000048
ESME_RINVSRCNPI = 0x00000049
ESME_RINVDSTTON = 0x00000050
ESME_RINVDSTNPI = 0x00000051
ESME_RINVSYSTYP = 0x00000053
ESME_RINVREPFLAG = 0x00000054
ESME_RINVNUMMSGS = 0x00000055
ESME_RTHROTTLED = 0x00000058
ESME_RINVSCHED = 0x00000061
ESME_RINVEXPIRY = 0x00000062
ESME_RINVDFTMSGID = 0x00000063
ESME_RX_T_APPN = 0x00000064
ESME_RX_P_APPN = 0x00000065
ESME_RX_R_APPN = 0x00000066
ESME_RQUERYFAIL = 0x00000067
ESME_RINVOPTPARSTREAM = 0x000000C0
ESME_ROPTPARNOTALLWD = 0x000000C1
ESME_RINVPARLEN = 0x000000C2
ESME_RMISSINGOPTPARAM = 0x000000C3
ESME_RINVOPTPARAMVAL = 0x000000C4
ESME_RDELIVERYFAILURE = 0x000000FE
ESME_RUNKNOWNERR = 0x000000FF

STATUS_NAMES: Mapping[int, str] = {
    value: name for name, value in list(globals().items()) if name.startswith("ESME_R")
}

#: short_message is at most 254 octets (§5.2.22); longer texts go in message_payload.
MAX_SHORT_MESSAGE = 254


class PduError(GatewayError):
    """A PDU that cannot be framed, decoded or encoded; ``smpp_status`` is the answer to send."""

    def __init__(self, status: int, message: str, sequence: int | None = None) -> None:
        super().__init__(message)
        self.smpp_status = status
        self.status = status
        self.sequence = sequence


class Kind(Enum):
    CSTRING = "C-Octet String"
    INT1 = "Integer(1)"
    SHORT_MESSAGE = "sm_length + short_message"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One mandatory parameter. ``size`` is the maximum C-string size including its NUL."""

    name: str
    kind: Kind
    size: int = 1
    status: int = ESME_RINVCMDLEN


def _c(name: str, size: int, status: int = ESME_RINVCMDLEN) -> FieldSpec:
    return FieldSpec(name, Kind.CSTRING, size, status)


def _i(name: str, status: int = ESME_RINVCMDLEN) -> FieldSpec:
    return FieldSpec(name, Kind.INT1, 1, status)


Layout = tuple[FieldSpec, ...]

_BIND: Layout = (
    _c("system_id", 16, ESME_RINVSYSID),
    _c("password", 9, ESME_RINVPASWD),
    _c("system_type", 13, ESME_RINVSYSTYP),
    _i("interface_version"),
    _i("addr_ton"),
    _i("addr_npi"),
    _c("address_range", 41),
)
_BIND_RESP: Layout = (_c("system_id", 16, ESME_RINVSYSID),)
_MESSAGE_ID: Layout = (_c("message_id", 65, ESME_RINVMSGID),)
# submit_sm and deliver_sm share one body layout (§4.4.1, §4.6.1).
_SHORT_MESSAGE: Layout = (
    _c("service_type", 6, ESME_RINVSERTYP),
    _i("source_addr_ton", ESME_RINVSRCTON),
    _i("source_addr_npi", ESME_RINVSRCNPI),
    _c("source_addr", 21, ESME_RINVSRCADR),
    _i("dest_addr_ton", ESME_RINVDSTTON),
    _i("dest_addr_npi", ESME_RINVDSTNPI),
    _c("destination_addr", 21, ESME_RINVDSTADR),
    _i("esm_class", ESME_RINVESMCLASS),
    _i("protocol_id"),
    _i("priority_flag", ESME_RINVPRTFLG),
    _c("schedule_delivery_time", 17, ESME_RINVSCHED),
    _c("validity_period", 17, ESME_RINVEXPIRY),
    _i("registered_delivery", ESME_RINVREGDLVFLG),
    _i("replace_if_present_flag", ESME_RINVREPFLAG),
    _i("data_coding"),
    _i("sm_default_msg_id", ESME_RINVDFTMSGID),
    FieldSpec("short_message", Kind.SHORT_MESSAGE, MAX_SHORT_MESSAGE, ESME_RINVMSGLEN),
)
_DATA_SM: Layout = (
    _c("service_type", 6, ESME_RINVSERTYP),
    _i("source_addr_ton", ESME_RINVSRCTON),
    _i("source_addr_npi", ESME_RINVSRCNPI),
    _c("source_addr", 65, ESME_RINVSRCADR),
    _i("dest_addr_ton", ESME_RINVDSTTON),
    _i("dest_addr_npi", ESME_RINVDSTNPI),
    _c("destination_addr", 65, ESME_RINVDSTADR),
    _i("esm_class", ESME_RINVESMCLASS),
    _i("registered_delivery", ESME_RINVREGDLVFLG),
    _i("data_coding"),
)

#: Mandatory-parameter layout of every supported command; anything after it is TLVs.
LAYOUTS: Mapping[int, Layout] = {
    GENERIC_NACK: (),
    BIND_RECEIVER: _BIND,
    BIND_RECEIVER_RESP: _BIND_RESP,
    BIND_TRANSMITTER: _BIND,
    BIND_TRANSMITTER_RESP: _BIND_RESP,
    BIND_TRANSCEIVER: _BIND,
    BIND_TRANSCEIVER_RESP: _BIND_RESP,
    UNBIND: (),
    UNBIND_RESP: (),
    ENQUIRE_LINK: (),
    ENQUIRE_LINK_RESP: (),
    SUBMIT_SM: _SHORT_MESSAGE,
    SUBMIT_SM_RESP: _MESSAGE_ID,
    DELIVER_SM: _SHORT_MESSAGE,
    DELIVER_SM_RESP: _MESSAGE_ID,
    DATA_SM: _DATA_SM,
    DATA_SM_RESP: _MESSAGE_ID,
}

Fields = dict[str, int | bytes]
Tlvs = tuple[tuple[int, bytes], ...]


@dataclass(frozen=True, slots=True)
class Pdu:
    """One PDU. ``fields`` holds mandatory parameters by spec name (C-strings without their
    NUL, sm_length implied by short_message); ``tlvs`` keeps optional parameters in wire order,
    unknown tags included."""

    command_id: int
    status: int = ESME_ROK
    sequence: int = 0
    fields: Fields = field(default_factory=dict)
    tlvs: Tlvs = ()

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

    def tlv(self, tag: int) -> bytes | None:
        """The value of the first TLV with ``tag``, or None."""
        for candidate, value in self.tlvs:
            if candidate == tag:
                return value
        return None


def command_name(command_id: int) -> str:
    return COMMAND_NAMES.get(command_id, f"command_0x{command_id:08x}")


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"0x{status:08x}")


def response_to(
    request: Pdu, status: int = ESME_ROK, fields: Fields | None = None, tlvs: Tlvs = ()
) -> Pdu:
    """The response PDU answering ``request`` (same sequence number)."""
    return Pdu(request.command_id | RESPONSE_BIT, status, request.sequence, fields or {}, tlvs)


def generic_nack(sequence: int, status: int) -> Pdu:
    return Pdu(GENERIC_NACK, status, sequence)


def _layout(command_id: int, sequence: int | None) -> Layout:
    layout = LAYOUTS.get(command_id)
    if layout is None:
        raise PduError(ESME_RINVCMDID, f"unsupported {command_name(command_id)}", sequence)
    return layout


# --- encoding ---------------------------------------------------------------------------------


def encode(pdu: Pdu) -> bytes:
    """Serialise ``pdu``; missing fields default to 0 / empty, bad values raise PduError."""
    layout = _layout(pdu.command_id, pdu.sequence)
    if pdu.is_response and pdu.status != ESME_ROK and not pdu.fields and not pdu.tlvs:
        body = b""  # §3.3: error responses carry no body
    else:
        body = _encode_fields(layout, pdu) + _encode_tlvs(pdu)
    try:
        header = HEADER.pack(HEADER_LENGTH + len(body), pdu.command_id, pdu.status, pdu.sequence)
    except struct.error as exc:
        raise PduError(ESME_RSYSERR, f"bad header value: {exc}", None) from None
    return header + body


def _encode_fields(layout: Layout, pdu: Pdu) -> bytes:
    known = {spec.name for spec in layout}
    for name in pdu.fields:
        if name not in known:
            raise PduError(ESME_RSYSERR, f"{pdu.name} has no field {name!r}", pdu.sequence)
    parts: list[bytes] = []
    for spec in layout:
        if spec.kind is Kind.INT1:
            value = pdu.int_field(spec.name)
            if not 0 <= value <= 0xFF:
                raise PduError(spec.status, f"{spec.name}={value} is not one octet", pdu.sequence)
            parts.append(bytes((value,)))
            continue
        data = pdu.bytes_field(spec.name)
        if spec.kind is Kind.CSTRING:
            if len(data) >= spec.size or b"\0" in data:
                raise PduError(spec.status, f"{spec.name} too long or has NUL", pdu.sequence)
            parts += (data, b"\0")
        else:
            if len(data) > spec.size:
                raise PduError(spec.status, f"{spec.name} longer than {spec.size}", pdu.sequence)
            parts += (bytes((len(data),)), data)
    return b"".join(parts)


def _encode_tlvs(pdu: Pdu) -> bytes:
    parts: list[bytes] = []
    for tag, value in pdu.tlvs:
        if not 0 <= tag <= 0xFFFF or len(value) > 0xFFFF:
            raise PduError(ESME_RINVPARLEN, f"bad TLV 0x{tag:04x}", pdu.sequence)
        parts += (struct.pack(">HH", tag, len(value)), value)
    return b"".join(parts)


# --- decoding ---------------------------------------------------------------------------------


def decode(frame: bytes) -> Pdu:
    """Parse one complete frame (as returned by :meth:`PduReader.feed`)."""
    if len(frame) < HEADER_LENGTH:
        raise PduError(ESME_RINVCMDLEN, f"frame of {len(frame)} octets is shorter than a header")
    length, command_id, status, sequence = HEADER.unpack_from(frame)
    if length != len(frame):
        raise PduError(ESME_RINVCMDLEN, f"command_length {length} != {len(frame)}", sequence)
    layout = _layout(command_id, sequence)
    if length == HEADER_LENGTH and command_id & RESPONSE_BIT and status != ESME_ROK:
        return Pdu(command_id, status, sequence)
    fields, offset = _decode_fields(layout, frame, sequence)
    return Pdu(command_id, status, sequence, fields, _decode_tlvs(frame, offset, sequence))


def _decode_fields(layout: Layout, frame: bytes, sequence: int) -> tuple[Fields, int]:
    fields: Fields = {}
    offset = HEADER_LENGTH
    end = len(frame)
    for spec in layout:
        if offset >= end:
            raise PduError(ESME_RINVCMDLEN, f"body ends before {spec.name}", sequence)
        if spec.kind is Kind.INT1:
            fields[spec.name] = frame[offset]
            offset += 1
        elif spec.kind is Kind.CSTRING:
            nul = frame.find(b"\0", offset, min(end, offset + spec.size))
            if nul < 0:
                status = spec.status if end - offset >= spec.size else ESME_RINVCMDLEN
                raise PduError(status, f"{spec.name} is not NUL-terminated in time", sequence)
            fields[spec.name] = frame[offset:nul]
            offset = nul + 1
        else:
            size = frame[offset]
            offset += 1
            if size > spec.size or offset + size > end:
                raise PduError(spec.status, f"bad sm_length {size}", sequence)
            fields[spec.name] = frame[offset : offset + size]
            offset += size
    return fields, offset


def _decode_tlvs(frame: bytes, offset: int, sequence: int) -> Tlvs:
    tlvs: list[tuple[int, bytes]] = []
    end = len(frame)
    while offset < end:
        if end - offset < 4:
            raise PduError(ESME_RINVOPTPARSTREAM, "truncated TLV header", sequence)
        tag, size = struct.unpack_from(">HH", frame, offset)
        offset += 4
        if offset + size > end:
            raise PduError(ESME_RINVPARLEN, f"TLV 0x{tag:04x} overruns the PDU", sequence)
        tlvs.append((tag, frame[offset : offset + size]))
        offset += size
    return tuple(tlvs)


class PduReader:
    """Incremental framing of a byte stream into whole PDU frames.

    command_length is checked against ``max_command_length`` as soon as its four octets
    arrive, so a hostile peer cannot make us buffer a large body. After an error the stream
    has lost its framing; the reader keeps raising the same error.
    """

    def __init__(self, max_command_length: int) -> None:
        self.max_command_length = max_command_length
        self._buffer = bytearray()
        self._error: PduError | None = None

    def feed(self, data: bytes) -> list[bytes]:
        if self._error is not None:
            raise self._error
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        while len(buffer) >= 4:
            length = int.from_bytes(buffer[:4], "big")
            if not HEADER_LENGTH <= length <= self.max_command_length:
                sequence = int.from_bytes(buffer[12:16], "big") if len(buffer) >= 16 else None
                self._error = PduError(ESME_RINVCMDLEN, f"command_length {length}", sequence)
                buffer.clear()
                raise self._error
            if len(buffer) < length:
                break
            frames.append(bytes(buffer[:length]))
            del buffer[:length]
        return frames

    @property
    def buffered(self) -> int:
        """Octets held waiting for the rest of a frame."""
        return len(self._buffer)
