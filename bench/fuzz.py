"""Mutation fuzzing of the PDU codec.

Valid frames of every SMPP v3.4 operation are mutated at random (octets overwritten, cut out
or inserted, command_length kept honest half the time). The codec may refuse a frame only with
:class:`PduError`; a frame it accepts must re-encode to the same octets and decode again to the
same PDU. The test suite runs a few thousand cases; ``python -m bench fuzz`` runs 100,000.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import (
    DistributionList,
    Pdu,
    PduError,
    PduReader,
    SmeAddress,
    UnsuccessSme,
    decode,
    encode,
    make_tlv,
)

_SUBMIT: p.Fields = {
    "source_addr_ton": 5,
    "source_addr": b"ACME",
    "dest_addr_ton": 1,
    "dest_addr_npi": 1,
    "destination_addr": b"33612345678",
    "registered_delivery": 1,
    "short_message": b"hello",
}
_TLVS = (
    make_tlv("sar_msg_ref_num", 7),
    (0x1403, b"vendor"),
    make_tlv("receipted_message_id", b"a1"),
)


def seed_pdus() -> list[Pdu]:
    """One valid PDU per operation, the interesting ones with TLVs."""
    special: dict[int, tuple[p.Fields, p.Tlvs]] = {
        p.BIND_TRANSCEIVER: ({"system_id": b"esme", "password": b"pw"}, ()),
        p.SUBMIT_SM: (_SUBMIT, _TLVS),
        p.DELIVER_SM: ({**_SUBMIT, "esm_class": 4}, _TLVS),
        p.DATA_SM: ({"source_addr": b"1", "destination_addr": b"2"}, _TLVS),
        p.SUBMIT_MULTI: (
            {
                "source_addr": b"ACME",
                "dest_address": (SmeAddress(1, 1, b"33612345678"), DistributionList(b"team")),
                "short_message": b"hi all",
            },
            (make_tlv("message_payload", b"x" * 20),),
        ),
        p.SUBMIT_MULTI_RESP: (
            {"message_id": b"m1", "unsuccess_sme": (UnsuccessSme(1, 1, b"336", 0x45),)},
            (),
        ),
        p.QUERY_SM_RESP: ({"message_id": b"m1", "final_date": b"", "message_state": 2}, ()),
        p.REPLACE_SM: ({"message_id": b"m1", "short_message": b"new"}, ()),
        p.ALERT_NOTIFICATION: (
            {"source_addr": b"336", "esme_addr": b"esme"},
            (make_tlv("ms_availability_status", 0),),
        ),
    }
    seeds = []
    for sequence, command_id in enumerate(sorted(p.LAYOUTS), start=1):
        fields, tlvs = special.get(command_id, ({}, ()))
        seeds.append(Pdu(command_id, p.ESME_ROK, sequence, dict(fields), tlvs))
    return seeds


def mutate(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(data)) if data else 0
        action = rng.random()
        if action < 0.5 and data:
            data[position] = rng.randrange(256)
        elif action < 0.75:
            del data[position : position + rng.randint(1, 8)]
        else:
            data[position:position] = rng.randbytes(rng.randint(1, 8))
    if rng.random() < 0.5 and len(data) >= 4:  # keep the length honest half the time
        data[:4] = len(data).to_bytes(4, "big")
    return bytes(data)


@dataclass
class Outcome:
    cases: int = 0
    decoded: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def check(frame: bytes) -> PduError | None:
    """The codec's refusal of ``frame``, or None once it has decoded it and re-encoded it to
    the same octets; anything else (another exception, an AssertionError) is a bug."""
    try:
        PduReader(1 << 16).feed(frame)
        pdu = decode(frame)
    except PduError as error:
        return error
    again = encode(pdu)
    assert again == frame, (frame.hex(), again.hex())
    assert decode(again) == pdu
    return None


def fuzz(cases: int, seed: int = 34) -> Outcome:
    """Run ``cases`` mutations; an exception other than PduError propagates to the caller."""
    rng = random.Random(seed)  # fixed seed: a failure is reproducible
    frames = [encode(pdu) for pdu in seed_pdus()]
    outcome = Outcome(cases=cases)
    started = time.perf_counter()
    for _ in range(cases):
        error = check(mutate(rng, rng.choice(frames)))
        if error is None:
            outcome.decoded += 1
        else:
            name = p.status_name(error.smpp_status)
            outcome.refused[name] = outcome.refused.get(name, 0) + 1
    outcome.seconds = time.perf_counter() - started
    return outcome


def main(cases: int = 100_000) -> list[tuple[str, str]]:
    outcome = fuzz(cases)
    rows = [
        ("fuzz cases", f"{outcome.cases:,}"),
        ("decoded and stable", f"{outcome.decoded:,}"),
        ("refused with PduError", f"{sum(outcome.refused.values()):,}"),
        ("other exceptions", "0"),
        ("seconds", f"{outcome.seconds:.1f}"),
    ]
    top = sorted(outcome.refused.items(), key=lambda item: -item[1])[:6]
    rows += [(f"  {name}", f"{count:,}") for name, count in top]
    return rows
