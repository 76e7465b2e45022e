"""The standard SMPP v3.4 optional parameters (TLVs, §5.3.2) as a data table. Pure Python.

:mod:`gatewayd.smpp.pdu` keeps TLVs on the wire as raw ``(tag, value)`` pairs and uses this
table to check sizes while decoding and to give typed values by name. This module is a leaf:
it raises ``ValueError`` and the codec turns that into a ``PduError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

TlvValue = int | bytes


class TlvType(Enum):
    INT = "Integer"
    CSTRING = "C-Octet String"
    OCTETS = "Octet String"


@dataclass(frozen=True, slots=True)
class TlvSpec:
    """One standard TLV. ``min_size``/``max_size`` bound the value length in octets (a
    C-string's bound includes its NUL); ``max_size`` None means "up to the PDU's limit"."""

    tag: int
    name: str
    type: TlvType
    min_size: int
    max_size: int | None

    @property
    def fixed(self) -> bool:
        return self.min_size == self.max_size


# Tags that other modules build or read by hand (the table below has them all by name).
RECEIPTED_MESSAGE_ID = 0x001E
SAR_MSG_REF_NUM = 0x020C
SAR_TOTAL_SEGMENTS = 0x020E
SAR_SEGMENT_SEQNUM = 0x020F
NETWORK_ERROR_CODE = 0x0423
MESSAGE_PAYLOAD = 0x0424
MESSAGE_STATE = 0x0427


def _int(tag: int, name: str, size: int) -> TlvSpec:
    return TlvSpec(tag, name, TlvType.INT, size, size)


def _cstr(tag: int, name: str, max_size: int) -> TlvSpec:
    return TlvSpec(tag, name, TlvType.CSTRING, 1, max_size)


def _oct(tag: int, name: str, min_size: int, max_size: int | None) -> TlvSpec:
    return TlvSpec(tag, name, TlvType.OCTETS, min_size, max_size)


#: Every optional parameter defined by SMPP v3.4 §5.3.2, in tag order.
STANDARD_TLVS: tuple[TlvSpec, ...] = (
    _int(0x0005, "dest_addr_subunit", 1),
    _int(0x0006, "dest_network_type", 1),
    _int(0x0007, "dest_bearer_type", 1),
    _int(0x0008, "dest_telematics_id", 2),
    _int(0x000D, "source_addr_subunit", 1),
    _int(0x000E, "source_network_type", 1),
    _int(0x000F, "source_bearer_type", 1),
    # §5.3.2.9 says one octet, but widespread stacks send two (as for dest_telematics_id):
    # accept both rather than refuse a harmless parameter.
    TlvSpec(0x0010, "source_telematics_id", TlvType.INT, 1, 2),
    _int(0x0017, "qos_time_to_live", 4),
    _int(0x0019, "payload_type", 1),
    _cstr(0x001D, "additional_status_info_text", 256),
    _cstr(0x001E, "receipted_message_id", 65),
    _int(0x0030, "ms_msg_wait_facilities", 1),
    _int(0x0201, "privacy_indicator", 1),
    _oct(0x0202, "source_subaddress", 2, 23),
    _oct(0x0203, "dest_subaddress", 2, 23),
    _int(0x0204, "user_message_reference", 2),
    _int(0x0205, "user_response_code", 1),
    _int(0x020A, "source_port", 2),
    _int(0x020B, "destination_port", 2),
    _int(0x020C, "sar_msg_ref_num", 2),
    _int(0x020D, "language_indicator", 1),
    _int(0x020E, "sar_total_segments", 1),
    _int(0x020F, "sar_segment_seqnum", 1),
    _int(0x0210, "sc_interface_version", 1),
    _int(0x0302, "callback_num_pres_ind", 1),
    _oct(0x0303, "callback_num_atag", 0, 65),
    _int(0x0304, "number_of_messages", 1),
    _oct(0x0381, "callback_num", 4, 19),
    _int(0x0420, "dpf_result", 1),
    _int(0x0421, "set_dpf", 1),
    _int(0x0422, "ms_availability_status", 1),
    _oct(0x0423, "network_error_code", 3, 3),
    _oct(0x0424, "message_payload", 0, None),
    _int(0x0425, "delivery_failure_reason", 1),
    _int(0x0426, "more_messages_to_send", 1),
    _int(0x0427, "message_state", 1),
    _oct(0x0501, "ussd_service_op", 1, 1),
    _int(0x1201, "display_time", 1),
    _int(0x1203, "sms_signal", 2),
    _int(0x1204, "ms_validity", 1),
    _oct(0x130C, "alert_on_message_delivery", 0, 0),
    _int(0x1380, "its_reply_type", 1),
    _oct(0x1383, "its_session_info", 2, 2),
)

BY_TAG: Mapping[int, TlvSpec] = {spec.tag: spec for spec in STANDARD_TLVS}
BY_NAME: Mapping[str, TlvSpec] = {spec.name: spec for spec in STANDARD_TLVS}

#: Tags whose length the decoder checks: integers and fixed-size octet strings. Variable
#: strings are left unchecked on purpose: SMSCs in the field get their bounds (and the
#: C-string NUL) wrong often enough that refusing them would break interworking.
CHECKED_SIZES: Mapping[int, tuple[int, int]] = {
    spec.tag: (spec.min_size, spec.min_size if spec.max_size is None else spec.max_size)
    for spec in STANDARD_TLVS
    if spec.type is TlvType.INT or spec.fixed
}


def spec_named(name: str) -> TlvSpec:
    spec = BY_NAME.get(name)
    if spec is None:
        raise ValueError(f"no standard TLV named {name!r}")
    return spec


def to_value(spec: TlvSpec, raw: bytes) -> TlvValue:
    """The typed value of ``raw``: an int, or octets (a C-string without its NUL)."""
    if spec.type is TlvType.INT:
        return int.from_bytes(raw, "big")
    if spec.type is TlvType.CSTRING:
        return raw[:-1] if raw.endswith(b"\0") else raw
    return raw


def to_raw(spec: TlvSpec, value: TlvValue) -> bytes:
    """The wire octets of ``value``; ValueError if it does not fit ``spec``."""
    if spec.type is TlvType.INT:
        if not isinstance(value, int) or not 0 <= value < 1 << (8 * spec.min_size):
            raise ValueError(f"{spec.name}={value!r} is not a {spec.min_size}-octet integer")
        return value.to_bytes(spec.min_size, "big")
    if not isinstance(value, bytes):
        raise ValueError(f"{spec.name} takes octets, not {type(value).__name__}")
    raw = value + b"\0" if spec.type is TlvType.CSTRING else value
    if spec.type is TlvType.CSTRING and b"\0" in value:
        raise ValueError(f"{spec.name} must not contain NUL")
    if len(raw) < spec.min_size or (spec.max_size is not None and len(raw) > spec.max_size):
        raise ValueError(f"{spec.name} of {len(raw)} octets is out of bounds")
    return raw
