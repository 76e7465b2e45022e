"""The field-by-field paths of the PDU codec, and the submit_multi destination lists.

The compiled fast path in :mod:`gatewayd.smpp.pdu` hands any input it cannot take whole to
these functions, which find the first bad field and raise the :class:`PduError` naming it and
the command_status to answer with. submit_multi and its response always come this way.
"""

from __future__ import annotations

from gatewayd.smpp.constants import (
    ESME_RINVCMDLEN,
    ESME_RINVDESTFLAG,
    ESME_RINVDLNAME,
    ESME_RINVDSTADR,
    ESME_RINVDSTNPI,
    ESME_RINVDSTTON,
    ESME_RSYSERR,
    HEADER_LENGTH,
    PduError,
)
from gatewayd.smpp.layouts import (
    Destination,
    DistributionList,
    Fields,
    FieldSpec,
    FieldValue,
    Kind,
    Layout,
    SmeAddress,
    UnsuccessSme,
    _i,
)


def encode_checked(layout: Layout, fields: Fields, sequence: int) -> bytes:
    """The slow path, one field at a time, raising the status the field's spec names."""
    parts: list[bytes] = []
    for spec in layout:
        if spec.kind is Kind.INT1:
            value = fields.get(spec.name, 0)
            if not isinstance(value, int):
                raise PduError(ESME_RSYSERR, f"{spec.name} is not an integer", sequence)
            parts.append(_octet(value, spec, sequence))
        elif spec.kind is Kind.CSTRING:
            data = _octets(fields, spec, sequence)
            parts.append(_cstring(data, spec.size, spec.status, sequence))
        elif spec.kind is Kind.SHORT_MESSAGE:
            data = _octets(fields, spec, sequence)
            if len(data) > spec.size:
                raise PduError(spec.status, f"{spec.name} longer than {spec.size}", sequence)
            parts += (bytes((len(data),)), data)
        else:
            parts.append(_encode_list(spec, fields.get(spec.name, ()), sequence))
    return b"".join(parts)


def _octets(fields: Fields, spec: FieldSpec, sequence: int) -> bytes:
    value = fields.get(spec.name, b"")
    if not isinstance(value, bytes):
        raise PduError(ESME_RSYSERR, f"{spec.name} is not an octet string", sequence)
    return value


def _octet(value: int, spec: FieldSpec, sequence: int | None) -> bytes:
    if not 0 <= value <= 0xFF:
        raise PduError(spec.status, f"{spec.name}={value} is not one octet", sequence)
    return bytes((value,))


def _cstring(data: bytes, size: int, status: int, sequence: int | None) -> bytes:
    if len(data) >= size or b"\0" in data:
        raise PduError(status, f"C-string of {len(data)} octets too long or has NUL", sequence)
    return data + b"\0"


def _encode_list(spec: FieldSpec, value: FieldValue, sequence: int) -> bytes:
    if not isinstance(value, tuple) or len(value) > spec.size:
        raise PduError(spec.status, f"{spec.name} must be a tuple of at most {spec.size}", sequence)
    if spec.kind is Kind.DEST_ADDRESSES and not value:
        raise PduError(spec.status, "submit_multi needs at least one destination", sequence)
    parts = [bytes((len(value),))]
    for entry in value:
        if spec.kind is Kind.DEST_ADDRESSES and isinstance(entry, SmeAddress):
            ton = _octet(entry.ton, _i("dest_addr_ton", ESME_RINVDSTTON), sequence)
            npi = _octet(entry.npi, _i("dest_addr_npi", ESME_RINVDSTNPI), sequence)
            address = _cstring(_as_bytes(entry.address, sequence), 21, ESME_RINVDSTADR, sequence)
            parts += (b"\x01", ton, npi, address)
        elif spec.kind is Kind.DEST_ADDRESSES and isinstance(entry, DistributionList):
            parts += (
                b"\x02",
                _cstring(_as_bytes(entry.name, sequence), 21, ESME_RINVDLNAME, sequence),
            )
        elif spec.kind is Kind.UNSUCCESS_SMES and isinstance(entry, UnsuccessSme):
            parts.append(_encode_unsuccess(entry, sequence))
        else:
            raise PduError(
                ESME_RINVDESTFLAG, f"{spec.name} holds a {type(entry).__name__}", sequence
            )
    return b"".join(parts)


def _encode_unsuccess(entry: UnsuccessSme, sequence: int) -> bytes:
    ton = _octet(entry.ton, _i("dest_addr_ton", ESME_RINVDSTTON), sequence)
    npi = _octet(entry.npi, _i("dest_addr_npi", ESME_RINVDSTNPI), sequence)
    address = _cstring(_as_bytes(entry.address, sequence), 21, ESME_RINVDSTADR, sequence)
    if not 0 <= entry.error_status_code <= 0xFFFFFFFF:
        raise PduError(ESME_RSYSERR, "error_status_code is not four octets", sequence)
    return ton + npi + address + entry.error_status_code.to_bytes(4, "big")


def _as_bytes(value: object, sequence: int) -> bytes:
    if not isinstance(value, bytes):
        raise PduError(ESME_RSYSERR, "an address is not an octet string", sequence)
    return value


def decode_checked(layout: Layout, frame: bytes, sequence: int) -> tuple[Fields, int]:
    """The slow path: one field at a time, raising the status of the first bad one."""
    fields: Fields = {}
    offset = HEADER_LENGTH
    end = len(frame)
    for spec in layout:
        if spec.kind is Kind.CSTRING:
            nul = frame.find(b"\0", offset, offset + spec.size)
            if nul < 0:
                raise _unterminated(spec.name, spec.size, spec.status, end - offset, sequence)
            fields[spec.name] = frame[offset:nul]
            offset = nul + 1
        elif spec.kind is Kind.INT1:
            if offset >= end:
                raise PduError(ESME_RINVCMDLEN, f"body ends before {spec.name}", sequence)
            fields[spec.name] = frame[offset]
            offset += 1
        elif spec.kind is Kind.SHORT_MESSAGE:
            fields[spec.name], offset = short_message(spec, frame, offset, sequence)
        else:
            fields[spec.name], offset = _decode_list(spec, frame, offset, sequence)
    return fields, offset


def short_message(spec: FieldSpec, frame: bytes, offset: int, sequence: int) -> tuple[bytes, int]:
    if offset >= len(frame):
        raise PduError(ESME_RINVCMDLEN, f"body ends before {spec.name}", sequence)
    size = frame[offset]
    stop = offset + 1 + size
    if size > spec.size or stop > len(frame):
        raise PduError(spec.status, f"bad sm_length {size}", sequence)
    return frame[offset + 1 : stop], stop


def _unterminated(name: str, size: int, status: int, left: int, sequence: int) -> PduError:
    # Too long is the field's own error; running out of body is a length error.
    status = status if left >= size else ESME_RINVCMDLEN
    return PduError(status, f"{name} is not NUL-terminated in time", sequence)


class _Cursor:
    """Reads list entries; only submit_multi and its response need one."""

    def __init__(self, frame: bytes, offset: int, sequence: int) -> None:
        self.frame, self.offset, self.sequence = frame, offset, sequence

    def octets(self, count: int) -> bytes:
        stop = self.offset + count
        if stop > len(self.frame):
            raise PduError(ESME_RINVCMDLEN, "body ends inside a list entry", self.sequence)
        data, self.offset = self.frame[self.offset : stop], stop
        return data

    def cstring(self, size: int, status: int) -> bytes:
        nul = self.frame.find(b"\0", self.offset, self.offset + size)
        if nul < 0:
            left = len(self.frame) - self.offset
            raise _unterminated("address", size, status, left, self.sequence)
        data, self.offset = self.frame[self.offset : nul], nul + 1
        return data


def _decode_list(
    spec: FieldSpec, frame: bytes, offset: int, sequence: int
) -> tuple[tuple[Destination, ...] | tuple[UnsuccessSme, ...], int]:
    cursor = _Cursor(frame, offset, sequence)
    count = cursor.octets(1)[0]
    if count > spec.size or (count == 0 and spec.kind is Kind.DEST_ADDRESSES):
        raise PduError(spec.status, f"{spec.name} count {count}", sequence)
    if spec.kind is Kind.UNSUCCESS_SMES:
        return tuple(_read_unsuccess(cursor) for _ in range(count)), cursor.offset
    return tuple(_read_destination(cursor) for _ in range(count)), cursor.offset


def _read_destination(cursor: _Cursor) -> Destination:
    flag = cursor.octets(1)[0]
    if flag == 1:
        ton, npi = cursor.octets(2)
        return SmeAddress(ton, npi, cursor.cstring(21, ESME_RINVDSTADR))
    if flag == 2:
        return DistributionList(cursor.cstring(21, ESME_RINVDLNAME))
    raise PduError(ESME_RINVDESTFLAG, f"dest_flag {flag}", cursor.sequence)


def _read_unsuccess(cursor: _Cursor) -> UnsuccessSme:
    ton, npi = cursor.octets(2)
    address = cursor.cstring(21, ESME_RINVDSTADR)
    return UnsuccessSme(ton, npi, address, int.from_bytes(cursor.octets(4), "big"))
