"""Mandatory-parameter layouts of every SMPP v3.4 command, as data (:data:`LAYOUTS`).

Supporting another command means adding a table row here, not writing a parser; the codec in
:mod:`gatewayd.smpp.pdu` compiles each layout once. Also the submit_multi value types.
Everything here is re-exported by :mod:`gatewayd.smpp.pdu`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from gatewayd.smpp.constants import (
    ALERT_NOTIFICATION,
    BIND_RECEIVER,
    BIND_RECEIVER_RESP,
    BIND_TRANSCEIVER,
    BIND_TRANSCEIVER_RESP,
    BIND_TRANSMITTER,
    BIND_TRANSMITTER_RESP,
    CANCEL_SM,
    CANCEL_SM_RESP,
    DATA_SM,
    DATA_SM_RESP,
    DELIVER_SM,
    DELIVER_SM_RESP,
    ENQUIRE_LINK,
    ENQUIRE_LINK_RESP,
    ESME_RINVCMDLEN,
    ESME_RINVDFTMSGID,
    ESME_RINVDSTADR,
    ESME_RINVDSTNPI,
    ESME_RINVDSTTON,
    ESME_RINVESMCLASS,
    ESME_RINVEXPIRY,
    ESME_RINVMSGID,
    ESME_RINVMSGLEN,
    ESME_RINVNUMDESTS,
    ESME_RINVPASWD,
    ESME_RINVPRTFLG,
    ESME_RINVREGDLVFLG,
    ESME_RINVREPFLAG,
    ESME_RINVSCHED,
    ESME_RINVSERTYP,
    ESME_RINVSRCADR,
    ESME_RINVSRCNPI,
    ESME_RINVSRCTON,
    ESME_RINVSYSID,
    ESME_RINVSYSTYP,
    GENERIC_NACK,
    MAX_DESTINATIONS,
    MAX_SHORT_MESSAGE,
    OUTBIND,
    QUERY_SM,
    QUERY_SM_RESP,
    REPLACE_SM,
    REPLACE_SM_RESP,
    SUBMIT_MULTI,
    SUBMIT_MULTI_RESP,
    SUBMIT_SM,
    SUBMIT_SM_RESP,
    UNBIND,
    UNBIND_RESP,
)


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
