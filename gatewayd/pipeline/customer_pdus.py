"""The deliver_sm a customer gets for an outbox entry: our receipt, or an MO. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gatewayd.smpp.pdu import Tlvs
from gatewayd.smpp.receipts import ESM_CLASS_RECEIPT, build_receipt_text, receipt_tlvs
from gatewayd.smpp.tlv import MESSAGE_PAYLOAD

Fields = dict[str, int | bytes]
_UDHI = 0x40
_SHORT_MESSAGE_MAX = 254


def _address(addr: str) -> tuple[int, int]:
    """TON/NPI of an address: international for digits, alphanumeric otherwise."""
    if addr.isdigit():
        return 1, 1
    return (5, 0) if addr else (0, 0)


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def receipt_deliver(payload: Mapping[str, Any]) -> tuple[Fields, Tlvs]:
    """Our receipt for one of the customer's messages: esm_class "delivery receipt", our
    message_id in the Appendix B text and in receipted_message_id, from the recipient to the
    sender, as the SMSC would have sent it."""
    message_id, stat = str(payload["message_id"]), str(payload["stat"])
    text = build_receipt_text(
        message_id,
        stat,
        submit_date=_when(float(payload["submitted_at"])),
        done_date=_when(float(payload["done_at"])),
        err=str(payload["err"])[:3].rjust(3, "0"),
        sub=1,
        dlvrd=1 if stat == "DELIVRD" else 0,
        text=str(payload.get("text", "")).encode("ascii", "replace"),
    )
    to, sender = str(payload["to"]), str(payload["from"])
    src_ton, src_npi = _address(to)
    dst_ton, dst_npi = _address(sender)
    fields: Fields = {
        "source_addr_ton": src_ton,
        "source_addr_npi": src_npi,
        "source_addr": to.encode("ascii"),
        "dest_addr_ton": dst_ton,
        "dest_addr_npi": dst_npi,
        "destination_addr": sender.encode("ascii", "replace"),
        "esm_class": ESM_CLASS_RECEIPT,
        "data_coding": 0,
        "short_message": text,
    }
    return fields, receipt_tlvs(message_id, stat)


def mo_deliver(payload: Mapping[str, Any]) -> tuple[Fields, Tlvs]:
    """An MO as it came from the SMSC: same addresses, coding and octets (a concatenation UDH
    included, so the customer reassembles as with any SMSC)."""
    source, destination = str(payload["from"]), str(payload["to"])
    octets = bytes.fromhex(str(payload["short_message"]))
    src_ton, src_npi = _address(source)
    dst_ton, dst_npi = _address(destination)
    fields: Fields = {
        "source_addr_ton": src_ton,
        "source_addr_npi": src_npi,
        "source_addr": source.encode("ascii", "replace"),
        "dest_addr_ton": dst_ton,
        "dest_addr_npi": dst_npi,
        "destination_addr": destination.encode("ascii", "replace"),
        "esm_class": int(payload["esm_class"]) & _UDHI,
        "data_coding": int(payload["data_coding"]),
        "short_message": octets if len(octets) <= _SHORT_MESSAGE_MAX else b"",
    }
    tlvs: Tlvs = () if len(octets) <= _SHORT_MESSAGE_MAX else ((MESSAGE_PAYLOAD, octets),)
    return fields, tlvs
