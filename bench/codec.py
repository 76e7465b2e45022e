"""Codec speed: encode, decode and both for the PDUs a gateway handles most.

Each figure is the best of several ``timeit`` repeats, in microseconds per operation, so
other work on the machine inflates it as little as possible.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import Pdu, decode, encode, make_tlv

REPEATS = 25
NUMBER = 10_000

#: A typical MT: alphanumeric sender, international destination, receipt requested,
#: 40 octets of GSM text, one TLV. Only the fields a sender sets; the rest default.
SUBMIT_SM = Pdu(
    p.SUBMIT_SM,
    p.ESME_ROK,
    1,
    {
        "source_addr_ton": 5,
        "source_addr_npi": 0,
        "source_addr": b"ACMEShop123",
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": b"33612345678",
        "registered_delivery": 1,
        "short_message": b"Your code is 481516. It expires in 5 min",
    },
    (make_tlv("user_message_reference", 42),),
)
#: An MO: every field present, as decode() returns them.
DELIVER_SM = decode(encode(Pdu(p.DELIVER_SM, p.ESME_ROK, 2, {**SUBMIT_SM.fields}, ())))
#: A delivery receipt: Appendix B text plus receipted_message_id and message_state TLVs.
RECEIPT = Pdu(
    p.DELIVER_SM,
    p.ESME_ROK,
    3,
    {
        "source_addr": b"33612345678",
        "destination_addr": b"ACMEShop123",
        "esm_class": 0x04,
        "short_message": b"id:0123456789abcdef sub:001 dlvrd:001 submit date:2403091405"
        b" done date:2403091407 stat:DELIVRD err:000 text:Your code is 48151",
    },
    (make_tlv("receipted_message_id", b"0123456789abcdef"), make_tlv("message_state", 2)),
)
CASES = {"submit_sm": SUBMIT_SM, "deliver_sm (MO)": DELIVER_SM, "deliver_sm (receipt)": RECEIPT}


def per_op(action: Callable[[], object]) -> float:
    """Best-of-REPEATS microseconds per call."""
    return min(timeit.repeat(action, number=NUMBER, repeat=REPEATS)) / NUMBER * 1e6


def measure(pdu: Pdu) -> tuple[float, float, float]:
    frame = encode(pdu)
    assert encode(decode(frame)) == frame
    return (
        per_op(lambda: encode(pdu)),
        per_op(lambda: decode(frame)),
        per_op(lambda: decode(encode(pdu))),
    )


def main() -> list[tuple[str, str]]:
    rows = [("PDU (µs per op)", "encode / decode / both")]
    for name, pdu in CASES.items():
        encode_us, decode_us, both_us = measure(pdu)
        size = len(encode(pdu))
        label = f"{name}, {size} octets"
        rows.append((label, f"{encode_us:6.2f} / {decode_us:6.2f} / {both_us:6.2f}"))
    return rows
