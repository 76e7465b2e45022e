"""Delivery receipts: the SMPP 3.4 Appendix B text format and the receipt TLVs. Pure Python.

Receipt text is only a de facto format, so parsing is lenient about spacing and case, but a
receipt without a message id or a state is refused with :class:`ReceiptError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from gatewayd.smpp import tlv
from gatewayd.smpp.pdu import DATA_SM, DELIVER_SM, ESME_RX_P_APPN, Pdu, PduError, Tlvs

ESM_CLASS_RECEIPT = 0x04

TAG_RECEIPTED_MESSAGE_ID = tlv.RECEIPTED_MESSAGE_ID
TAG_NETWORK_ERROR_CODE = tlv.NETWORK_ERROR_CODE
TAG_MESSAGE_PAYLOAD = tlv.MESSAGE_PAYLOAD
TAG_MESSAGE_STATE = tlv.MESSAGE_STATE

#: message_state TLV values (§5.2.28) and their Appendix B ``stat`` spelling.
MESSAGE_STATES: Mapping[int, str] = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
STATE_OF_STAT: Mapping[str, int] = {stat: state for state, stat in MESSAGE_STATES.items()}

_DATE_FORMAT = "%y%m%d%H%M"
# Keys are matched only before "text:", so message text can never forge a receipt field.
_TEXT_KEY = re.compile(rb"(?i)\btext:")
_FIELD = re.compile(rb"(?i)(?:^|\s)(id|sub|dlvrd|submit date|done date|stat|err):(\S*)")


class ReceiptError(PduError):
    """A deliver_sm flagged as a receipt that cannot be understood; retrying will not help."""

    def __init__(self, message: str, sequence: int | None = None) -> None:
        super().__init__(ESME_RX_P_APPN, message, sequence)


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str
    stat: str
    err: str


def is_receipt(pdu: Pdu) -> bool:
    """True for a deliver_sm / data_sm whose esm_class says "SMSC delivery receipt"."""
    if pdu.command_id not in (DELIVER_SM, DATA_SM):
        return False
    return bool(pdu.int_field("esm_class") & ESM_CLASS_RECEIPT)


def build_receipt_text(
    message_id: str,
    stat: str,
    *,
    submit_date: datetime,
    done_date: datetime,
    err: str = "000",
    sub: int = 1,
    dlvrd: int | None = None,
    text: bytes = b"",
) -> bytes:
    """Appendix B text; ``text`` is cut to its first 20 octets as the appendix says."""
    if dlvrd is None:
        dlvrd = sub if stat == "DELIVRD" else 0
    head = (
        f"id:{message_id} sub:{sub:03d} dlvrd:{dlvrd:03d}"
        f" submit date:{submit_date.strftime(_DATE_FORMAT)}"
        f" done date:{done_date.strftime(_DATE_FORMAT)} stat:{stat} err:{err} text:"
    )
    return head.encode("ascii") + text[:20]


def receipt_tlvs(message_id: str, stat: str) -> Tlvs:
    """receipted_message_id and (for a known ``stat``) message_state TLVs."""
    tlvs: list[tuple[int, bytes]] = [(TAG_RECEIPTED_MESSAGE_ID, message_id.encode("ascii") + b"\0")]
    state = STATE_OF_STAT.get(stat)
    if state is not None:
        tlvs.append((TAG_MESSAGE_STATE, bytes((state,))))
    return tuple(tlvs)


def parse_receipt_text(text: bytes) -> dict[str, str]:
    """The Appendix B fields found in ``text``, keyed by lower-case name ("submit date"...)."""
    cut = _TEXT_KEY.search(text)
    head = text[: cut.start()] if cut else text
    found: dict[str, str] = {}
    for key, value in _FIELD.findall(head):
        found.setdefault(key.decode("ascii").lower(), value.decode("latin-1"))
    return found


def parse_receipt(pdu: Pdu) -> Receipt:
    """Read a receipt; the TLVs win over the text when both are present."""
    if not is_receipt(pdu):
        raise ReceiptError(f"{pdu.name} is not a delivery receipt", pdu.sequence)
    text = pdu.bytes_field("short_message") or pdu.tlv(TAG_MESSAGE_PAYLOAD) or b""
    found = parse_receipt_text(text)
    message_id = _tlv_message_id(pdu) or found.get("id", "")
    stat = _tlv_stat(pdu) or found.get("stat", "").upper()
    err = _tlv_error(pdu) or found.get("err") or "000"
    if not message_id or not stat:
        raise ReceiptError(f"receipt without message id or state: {text[:80]!r}", pdu.sequence)
    return Receipt(message_id, stat, err)


def _tlv_message_id(pdu: Pdu) -> str:
    value = pdu.tlv(TAG_RECEIPTED_MESSAGE_ID)
    if value is None:
        return ""
    return value.split(b"\0", 1)[0].decode("latin-1")


def _tlv_stat(pdu: Pdu) -> str:
    value = pdu.tlv(TAG_MESSAGE_STATE)
    if value is None or len(value) != 1:
        return ""
    return MESSAGE_STATES.get(value[0], "")


def _tlv_error(pdu: Pdu) -> str:
    # network_error_code is network type (1 octet) + error code (2 octets), §5.3.2.31.
    value = pdu.tlv(TAG_NETWORK_ERROR_CODE)
    if value is None or len(value) != 3:
        return ""
    return f"{int.from_bytes(value[1:], 'big'):03d}"
