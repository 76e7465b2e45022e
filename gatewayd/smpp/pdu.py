"""SMPP v3.4 PDU codec: bytes to :class:`Pdu` and back, for every v3.4 operation. Pure Python.

Mandatory parameters are described per command by data tables (:data:`LAYOUTS`), so supporting
another command means adding a table row, not writing a parser. Each table is compiled once into
a short list of steps (runs of one-octet integers are sliced in one go), which keeps a submit_sm
round trip in single-digit microseconds without generated code. Every malformed input raises
:class:`PduError` carrying the ``command_status`` a peer should be answered with. Optional
parameters stay raw ``(tag, value)`` pairs in wire order; :mod:`gatewayd.smpp.tlv` types them.
"""

from __future__ import annotations

import operator
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, cast

from gatewayd.errors import GatewayError
from gatewayd.smpp import tlv as _tlv
from gatewayd.smpp.tlv import TlvValue

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
# SMPP v5.0 names of the same TLV statuses, defined after STATUS_NAMES so names stay v3.4's.
ESME_RINVTLVSTREAM = ESME_RINVOPTPARSTREAM
ESME_RINVTLVLEN = ESME_RINVPARLEN

#: short_message is at most 254 octets (§5.2.22); longer texts go in message_payload.
MAX_SHORT_MESSAGE = 254
#: number_of_dests and no_unsuccess are one octet; §4.5.1 allows at most 254 destinations.
MAX_DESTINATIONS = 254


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
    DEST_ADDRESSES = "number_of_dests + dest_address(es)"
    UNSUCCESS_SMES = "no_unsuccess + unsuccess_sme(s)"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One mandatory parameter. ``size`` is the maximum C-string size including its NUL."""

    name: str
    kind: Kind
    size: int = 1
    status: int = ESME_RINVCMDLEN


@dataclass(frozen=True, slots=True)
class SmeAddress:
    """A submit_multi destination with dest_flag 1 (§4.5.1.1)."""

    ton: int
    npi: int
    address: bytes


@dataclass(frozen=True, slots=True)
class DistributionList:
    """A submit_multi destination with dest_flag 2: a list held by the SMSC (§4.5.1.2)."""

    name: bytes


Destination = SmeAddress | DistributionList


@dataclass(frozen=True, slots=True)
class UnsuccessSme:
    """One destination a submit_multi_resp reports as failed (§4.5.2)."""

    ton: int
    npi: int
    address: bytes
    error_status_code: int


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
_SOURCE: Layout = (
    _i("source_addr_ton", ESME_RINVSRCTON),
    _i("source_addr_npi", ESME_RINVSRCNPI),
    _c("source_addr", 21, ESME_RINVSRCADR),
)
_DEST: Layout = (
    _i("dest_addr_ton", ESME_RINVDSTTON),
    _i("dest_addr_npi", ESME_RINVDSTNPI),
    _c("destination_addr", 21, ESME_RINVDSTADR),
)
_SERVICE_TYPE = _c("service_type", 6, ESME_RINVSERTYP)
_SCHEDULE: Layout = (
    _c("schedule_delivery_time", 17, ESME_RINVSCHED),
    _c("validity_period", 17, ESME_RINVEXPIRY),
)
_SM = FieldSpec("short_message", Kind.SHORT_MESSAGE, MAX_SHORT_MESSAGE, ESME_RINVMSGLEN)
# What follows the destination(s) in submit_sm, deliver_sm and submit_multi (§4.4.1, §4.5.1).
_MESSAGE: Layout = (
    _i("esm_class", ESME_RINVESMCLASS),
    _i("protocol_id"),
    _i("priority_flag", ESME_RINVPRTFLG),
    *_SCHEDULE,
    _i("registered_delivery", ESME_RINVREGDLVFLG),
    _i("replace_if_present_flag", ESME_RINVREPFLAG),
    _i("data_coding"),
    _i("sm_default_msg_id", ESME_RINVDFTMSGID),
    _SM,
)
# submit_sm and deliver_sm share one body layout (§4.4.1, §4.6.1).
_SHORT_MESSAGE: Layout = (_SERVICE_TYPE, *_SOURCE, *_DEST, *_MESSAGE)
_SUBMIT_MULTI: Layout = (
    _SERVICE_TYPE,
    *_SOURCE,
    FieldSpec("dest_address", Kind.DEST_ADDRESSES, MAX_DESTINATIONS, ESME_RINVNUMDESTS),
    *_MESSAGE,
)
_SUBMIT_MULTI_RESP: Layout = (
    *_MESSAGE_ID,
    FieldSpec("unsuccess_sme", Kind.UNSUCCESS_SMES, MAX_DESTINATIONS, ESME_RINVNUMDESTS),
)
_DATA_SM: Layout = (
    _SERVICE_TYPE,
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
_QUERY_SM_RESP: Layout = (
    *_MESSAGE_ID,
    _c("final_date", 17),
    _i("message_state"),
    _i("error_code"),
)
_REPLACE_SM: Layout = (
    *_MESSAGE_ID,
    *_SOURCE,
    *_SCHEDULE,
    _i("registered_delivery", ESME_RINVREGDLVFLG),
    _i("sm_default_msg_id", ESME_RINVDFTMSGID),
    _SM,
)
_ALERT_NOTIFICATION: Layout = (
    _i("source_addr_ton", ESME_RINVSRCTON),
    _i("source_addr_npi", ESME_RINVSRCNPI),
    _c("source_addr", 65, ESME_RINVSRCADR),
    _i("esme_addr_ton"),
    _i("esme_addr_npi"),
    _c("esme_addr", 65),
)

#: Mandatory-parameter layout of every SMPP v3.4 command; anything after it is TLVs.
LAYOUTS: Mapping[int, Layout] = {
    GENERIC_NACK: (),
    BIND_RECEIVER: _BIND,
    BIND_RECEIVER_RESP: _BIND_RESP,
    BIND_TRANSMITTER: _BIND,
    BIND_TRANSMITTER_RESP: _BIND_RESP,
    BIND_TRANSCEIVER: _BIND,
    BIND_TRANSCEIVER_RESP: _BIND_RESP,
    OUTBIND: (_BIND[0], _BIND[1]),
    UNBIND: (),
    UNBIND_RESP: (),
    ENQUIRE_LINK: (),
    ENQUIRE_LINK_RESP: (),
    SUBMIT_SM: _SHORT_MESSAGE,
    SUBMIT_SM_RESP: _MESSAGE_ID,
    SUBMIT_MULTI: _SUBMIT_MULTI,
    SUBMIT_MULTI_RESP: _SUBMIT_MULTI_RESP,
    DELIVER_SM: _SHORT_MESSAGE,
    DELIVER_SM_RESP: _MESSAGE_ID,
    DATA_SM: _DATA_SM,
    DATA_SM_RESP: _MESSAGE_ID,
    QUERY_SM: (*_MESSAGE_ID, *_SOURCE),
    QUERY_SM_RESP: _QUERY_SM_RESP,
    CANCEL_SM: (_SERVICE_TYPE, *_MESSAGE_ID, *_SOURCE, *_DEST),
    CANCEL_SM_RESP: (),
    REPLACE_SM: _REPLACE_SM,
    REPLACE_SM_RESP: (),
    ALERT_NOTIFICATION: _ALERT_NOTIFICATION,
}

FieldValue = int | bytes | tuple[Destination, ...] | tuple[UnsuccessSme, ...]
Fields = dict[str, FieldValue]
Tlvs = tuple[tuple[int, bytes], ...]


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
        _set = object.__setattr__
        _set(self, "command_id", command_id)
        _set(self, "status", status)
        _set(self, "sequence", sequence)
        _set(self, "fields", {} if fields is None else fields)
        _set(self, "tlvs", tlvs)

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


# --- compiled layouts -------------------------------------------------------------------------
#
# A layout is cut into segments: a "flat" run of C-strings and one-octet integers, decoded by
# one precompiled regular expression and encoded by one bytes %-template, or a length-prefixed
# field (short_message, the submit_multi lists) handled in Python. Valid PDUs take this path
# in a few C calls; whatever it cannot take is redone field by field by the checked path,
# which names the field at fault and the command_status to answer with.

_FLAT, _SMSG, _LIST = range(3)
_Picker = Callable[[Any], Any]
# op, first field, pattern, C-string names and groups, integer names and groups (one per run).
_Decoding = tuple[
    int, FieldSpec, "re.Pattern[bytes]", tuple[str, ...], _Picker, tuple[str, ...], _Picker
]
# op, first field, names and their getter, defaults, %-template, C-string values, integer
# values, and the decoding pattern (which checks the C-string sizes of an encoded segment).
_Encoding = tuple[
    int,
    FieldSpec,
    tuple[str, ...],
    _Picker,
    tuple[FieldValue, ...],
    bytes,
    _Picker,
    _Picker,
    "re.Pattern[bytes]",
]
_OCTETS = tuple(bytes((n,)) for n in range(256))
_NOTHING = re.compile(b"(?!)")


@dataclass(frozen=True, slots=True)
class _Plan:
    layout: Layout
    known: frozenset[str]
    blank: Fields  # every field at its default, in layout order: copied, then filled in
    decoding: tuple[_Decoding, ...]
    encoding: tuple[_Encoding, ...]


def _picker(keys: list[int] | list[str]) -> _Picker:
    """A tuple of the values at ``keys`` (itemgetter returns a bare value for one key)."""
    if len(keys) >= 2:
        return operator.itemgetter(*keys)
    return lambda values: tuple(values[key] for key in keys)


def _default(spec: FieldSpec) -> FieldValue:
    if spec.kind is Kind.INT1:
        return 0
    return b"" if spec.kind in (Kind.CSTRING, Kind.SHORT_MESSAGE) else ()


def _flat(specs: list[FieldSpec]) -> tuple[_Decoding, _Encoding]:
    regex: list[bytes] = []
    strings: list[int] = []  # positions in specs, then in the match's groups
    string_groups: list[int] = []
    run_groups: list[int] = []
    run_lengths: list[int] = []
    for index, spec in enumerate(specs):
        if spec.kind is Kind.CSTRING:
            string_groups.append(len(regex))
            strings.append(index)
            regex.append(b"([^\\x00]{0,%d})\\x00" % (spec.size - 1))
        elif index and specs[index - 1].kind is Kind.INT1:
            run_lengths[-1] += 1
            regex[-1] = b"(.{%d})" % run_lengths[-1]
        else:
            run_groups.append(len(regex))
            run_lengths.append(1)
            regex.append(b"(.)")
    integers = [i for i in range(len(specs)) if i not in strings]
    pattern = re.compile(b"".join(regex), re.DOTALL)
    string_names = tuple(specs[i].name for i in strings)
    integer_names = tuple(specs[i].name for i in integers)
    decoding = (_FLAT, specs[0], pattern, string_names, _picker(string_groups), integer_names)
    template = b"".join(b"%s\0" if spec.kind is Kind.CSTRING else b"%c" for spec in specs)
    names = tuple(spec.name for spec in specs)
    defaults = tuple(_default(spec) for spec in specs)
    encoding = (_FLAT, specs[0], names, _picker(list(names)), defaults, template, _picker(strings))
    return (*decoding, _picker(run_groups)), (*encoding, _picker(integers), pattern)


def _compile(layout: Layout) -> _Plan:
    decoding: list[_Decoding] = []
    encoding: list[_Encoding] = []
    flat: list[FieldSpec] = []
    for spec in (*layout, None):
        if spec is not None and spec.kind in (Kind.CSTRING, Kind.INT1):
            flat.append(spec)
            continue
        if flat:
            steps = _flat(flat)
            decoding.append(steps[0])
            encoding.append(steps[1])
            flat = []
        if spec is not None:
            op = _SMSG if spec.kind is Kind.SHORT_MESSAGE else _LIST
            none = _picker([])
            decoding.append((op, spec, _NOTHING, (), none, (), none))
            encoding.append((op, spec, (spec.name,), none, (), b"", none, none, _NOTHING))
    known = frozenset(spec.name for spec in layout)
    blank = {spec.name: _default(spec) for spec in layout}
    return _Plan(layout, known, blank, tuple(decoding), tuple(encoding))


_PLANS: dict[int, _Plan] = {command_id: _compile(layout) for command_id, layout in LAYOUTS.items()}
_TLV_HEAD = struct.Struct(">HH")


def _plan(command_id: int, sequence: int | None) -> _Plan:
    plan = _PLANS.get(command_id)
    if plan is None:
        raise PduError(ESME_RINVCMDID, f"unsupported {command_name(command_id)}", sequence)
    return plan


# --- encoding ---------------------------------------------------------------------------------


def encode(pdu: Pdu) -> bytes:
    """Serialise ``pdu``; missing fields default to 0 / empty, bad values raise PduError."""
    plan = _PLANS.get(pdu.command_id) or _plan(pdu.command_id, pdu.sequence)
    if pdu.command_id & RESPONSE_BIT and pdu.status and not pdu.fields and not pdu.tlvs:
        body = b""  # §3.3: error responses carry no body
    else:
        if not plan.known.issuperset(pdu.fields):
            unknown = sorted(set(pdu.fields) - plan.known)
            raise PduError(ESME_RSYSERR, f"{pdu.name} has no field {unknown[0]!r}", pdu.sequence)
        body = _encode_fields(plan, pdu)
        if pdu.tlvs:
            body += _encode_tlvs(pdu.tlvs, pdu.sequence)
    try:
        header = HEADER.pack(HEADER_LENGTH + len(body), pdu.command_id, pdu.status, pdu.sequence)
    except struct.error as exc:
        raise PduError(ESME_RSYSERR, f"bad header value: {exc}", None) from None
    return header + body


def _encode_fields(plan: _Plan, pdu: Pdu) -> bytes:
    fields = pdu.fields
    get = fields.get
    complete = len(fields) == len(plan.known)  # unknown names were refused already
    parts: list[bytes] = []
    try:
        for (
            op,
            spec,
            names,
            getter,
            defaults,
            template,
            strings,
            integers,
            pattern,
        ) in plan.encoding:
            if op == _FLAT:
                values = getter(fields) if complete else tuple(map(get, names, defaults))
                if b"\0" in b"".join(strings(values)):
                    return _encode_checked(plan, pdu)
                bytes(integers(values))  # raises unless every integer is one octet
                segment = template % values
                # Without NULs inside, a C-string too long for its field cannot match.
                if pattern.fullmatch(segment) is None:
                    return _encode_checked(plan, pdu)
                parts.append(segment)
            elif op == _SMSG:
                value = get(spec.name, b"")
                if type(value) is not bytes or len(value) > spec.size:
                    return _encode_checked(plan, pdu)
                parts += (_OCTETS[len(value)], value)
            else:
                parts.append(_encode_list(spec, get(spec.name, ()), pdu.sequence))
    except (TypeError, ValueError, OverflowError):
        return _encode_checked(plan, pdu)
    return b"".join(parts)


def _encode_checked(plan: _Plan, pdu: Pdu) -> bytes:
    """The slow path, one field at a time, raising the status the field's spec names."""
    parts: list[bytes] = []
    for spec in plan.layout:
        if spec.kind is Kind.INT1:
            parts.append(_octet(pdu.int_field(spec.name), spec, pdu.sequence))
        elif spec.kind is Kind.CSTRING:
            parts.append(_cstring(pdu.bytes_field(spec.name), spec.size, spec.status, pdu))
        elif spec.kind is Kind.SHORT_MESSAGE:
            data = pdu.bytes_field(spec.name)
            if len(data) > spec.size:
                raise PduError(spec.status, f"{spec.name} longer than {spec.size}", pdu.sequence)
            parts += (bytes((len(data),)), data)
        else:
            parts.append(_encode_list(spec, pdu.fields.get(spec.name, ()), pdu.sequence))
    return b"".join(parts)


def _octet(value: int, spec: FieldSpec, sequence: int | None) -> bytes:
    if not 0 <= value <= 0xFF:
        raise PduError(spec.status, f"{spec.name}={value} is not one octet", sequence)
    return bytes((value,))


def _cstring(data: bytes, size: int, status: int, where: Pdu | int | None) -> bytes:
    if len(data) >= size or b"\0" in data:
        sequence = where.sequence if isinstance(where, Pdu) else where
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


def _encode_tlvs(tlvs: Tlvs, sequence: int) -> bytes:
    parts: list[bytes] = []
    checked = _tlv.CHECKED_SIZES
    try:
        for tag, value in tlvs:
            size = len(value)
            bounds = checked.get(tag)
            if bounds is not None and not bounds[0] <= size <= bounds[1]:
                raise PduError(ESME_RINVPARLEN, f"TLV 0x{tag:04x} of {size} octets", sequence)
            parts += (_TLV_HEAD.pack(tag, size), bytes(value))
    except (struct.error, TypeError, ValueError) as exc:
        raise PduError(ESME_RINVPARLEN, f"bad TLV: {exc}", sequence) from None
    return b"".join(parts)


# --- decoding ---------------------------------------------------------------------------------


def decode(frame: bytes) -> Pdu:
    """Parse one complete frame (as returned by :meth:`PduReader.feed`)."""
    if len(frame) < HEADER_LENGTH:
        raise PduError(ESME_RINVCMDLEN, f"frame of {len(frame)} octets is shorter than a header")
    length, command_id, status, sequence = HEADER.unpack_from(frame)
    if length != len(frame):
        raise PduError(ESME_RINVCMDLEN, f"command_length {length} != {len(frame)}", sequence)
    plan = _PLANS.get(command_id) or _plan(command_id, sequence)
    if length == HEADER_LENGTH and command_id & RESPONSE_BIT and status != ESME_ROK:
        return Pdu(command_id, status, sequence)
    fields, offset = _decode_fields(plan, frame, sequence)
    tlvs = _decode_tlvs(frame, offset, sequence) if offset < length else ()
    return Pdu(command_id, status, sequence, fields, tlvs)


def _decode_fields(plan: _Plan, frame: bytes, sequence: int) -> tuple[Fields, int]:
    fields = plan.blank.copy()  # presized: filling it in never resizes
    offset = HEADER_LENGTH
    for op, spec, pattern, string_names, strings, integer_names, runs in plan.decoding:
        if op == _FLAT:
            match = pattern.match(frame, offset)
            if match is None:
                return _decode_checked(plan.layout, frame, sequence)
            groups = match.groups()
            for name, text in zip(string_names, strings(groups), strict=False):
                fields[name] = text
            # Iterating the joined runs of integer octets yields the ints themselves.
            for name, octet in zip(integer_names, b"".join(runs(groups)), strict=False):
                fields[name] = octet
            offset = match.end()
        elif op == _SMSG:
            fields[spec.name], offset = _short_message(spec, frame, offset, sequence)
        else:
            fields[spec.name], offset = _decode_list(spec, frame, offset, sequence)
    return fields, offset


def _decode_checked(layout: Layout, frame: bytes, sequence: int) -> tuple[Fields, int]:
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
            fields[spec.name], offset = _short_message(spec, frame, offset, sequence)
        else:
            fields[spec.name], offset = _decode_list(spec, frame, offset, sequence)
    return fields, offset


def _short_message(spec: FieldSpec, frame: bytes, offset: int, sequence: int) -> tuple[bytes, int]:
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


def _decode_tlvs(frame: bytes, offset: int, sequence: int) -> Tlvs:
    tlvs: list[tuple[int, bytes]] = []
    end = len(frame)
    checked = _tlv.CHECKED_SIZES
    while offset < end:
        if end - offset < 4:
            raise PduError(ESME_RINVOPTPARSTREAM, "truncated TLV header", sequence)
        tag, size = _TLV_HEAD.unpack_from(frame, offset)
        offset += 4
        if offset + size > end:
            raise PduError(ESME_RINVPARLEN, f"TLV 0x{tag:04x} overruns the PDU", sequence)
        bounds = checked.get(tag)
        if bounds is not None and not bounds[0] <= size <= bounds[1]:
            raise PduError(ESME_RINVPARLEN, f"TLV 0x{tag:04x} of {size} octets", sequence)
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
