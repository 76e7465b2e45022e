from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import Pdu, PduError
from gatewayd.smpp.receipts import (
    TAG_MESSAGE_PAYLOAD,
    TAG_MESSAGE_STATE,
    TAG_NETWORK_ERROR_CODE,
    TAG_RECEIPTED_MESSAGE_ID,
    Receipt,
    ReceiptError,
    build_receipt_text,
    is_receipt,
    parse_receipt,
    parse_receipt_text,
    receipt_tlvs,
)

SUBMITTED = datetime(2024, 3, 9, 14, 5, tzinfo=UTC)
DONE = datetime(2024, 3, 9, 14, 7, tzinfo=UTC)


def _receipt(text: bytes, tlvs: p.Tlvs = (), esm_class: int = 0x04) -> Pdu:
    fields: p.Fields = {"esm_class": esm_class, "short_message": text}
    return Pdu(p.DELIVER_SM, sequence=1, fields=fields, tlvs=tlvs)


def test_build_text_follows_appendix_b() -> None:
    text = build_receipt_text(
        "a1b2", "DELIVRD", submit_date=SUBMITTED, done_date=DONE, text=b"Hello there, this is long"
    )
    assert text == (
        b"id:a1b2 sub:001 dlvrd:001 submit date:2403091405 done date:2403091407"
        b" stat:DELIVRD err:000 text:Hello there, this is"
    )


def test_failed_receipt_counts_nothing_delivered() -> None:
    text = build_receipt_text("9", "UNDELIV", submit_date=SUBMITTED, done_date=DONE, err="034")
    assert b" dlvrd:000 " in text and b" err:034 " in text


def test_parse_text_fields() -> None:
    text = build_receipt_text("a1b2", "EXPIRED", submit_date=SUBMITTED, done_date=DONE)
    assert parse_receipt_text(text) == {
        "id": "a1b2",
        "sub": "001",
        "dlvrd": "000",
        "submit date": "2403091405",
        "done date": "2403091407",
        "stat": "EXPIRED",
        "err": "000",
    }


def test_text_after_text_key_cannot_forge_fields() -> None:
    found = parse_receipt_text(b"id:1 stat:DELIVRD err:000 text: id:666 stat:REJECTD")
    assert (found["id"], found["stat"]) == ("1", "DELIVRD")


def test_parse_receipt_from_text_only() -> None:
    text = b"ID:77F0 sub:1 dlvrd:1 submit date:2403091405 done date:2403091407 Stat:delivrd err:0"
    assert parse_receipt(_receipt(text)) == Receipt("77F0", "DELIVRD", "0")


def test_tlvs_win_over_text() -> None:
    tlvs = (
        (TAG_RECEIPTED_MESSAGE_ID, b"from-tlv\0"),
        (TAG_MESSAGE_STATE, b"\x05"),
        (TAG_NETWORK_ERROR_CODE, b"\x03\x00\x22"),
    )
    receipt = parse_receipt(_receipt(b"id:from-text stat:DELIVRD err:000", tlvs))
    assert receipt == Receipt("from-tlv", "UNDELIV", "034")


def test_tlvs_alone_are_enough_and_payload_is_read() -> None:
    assert parse_receipt(_receipt(b"", receipt_tlvs("x1", "REJECTD"))) == Receipt(
        "x1", "REJECTD", "000"
    )
    payload = ((TAG_MESSAGE_PAYLOAD, b"id:p9 stat:ACCEPTD err:001"),)
    assert parse_receipt(_receipt(b"", payload)) == Receipt("p9", "ACCEPTD", "001")


def test_receipt_tlvs_round_trip_and_unknown_stat() -> None:
    assert receipt_tlvs("abc", "DELIVRD") == ((0x001E, b"abc\0"), (0x0427, b"\x02"))
    assert receipt_tlvs("abc", "WEIRD") == ((0x001E, b"abc\0"),)


def test_is_receipt_uses_esm_class() -> None:
    assert is_receipt(_receipt(b"id:1 stat:DELIVRD"))
    assert not is_receipt(_receipt(b"id:1 stat:DELIVRD", esm_class=0x00))
    assert not is_receipt(Pdu(p.SUBMIT_SM, fields={"esm_class": 0x04}))
    assert is_receipt(Pdu(p.DATA_SM, fields={"esm_class": 0x04}))


@pytest.mark.parametrize(
    "pdu",
    [
        _receipt(b"hello, this is not a receipt"),
        _receipt(b"id:123 err:000"),  # no state
        _receipt(b"stat:DELIVRD", ((TAG_MESSAGE_STATE, b"\x02\x02"),)),  # no id, bad TLV size
        _receipt(b"id:1 stat:DELIVRD", esm_class=0),  # a plain message
        _receipt(b"\xff\xfe\x00garbage"),
    ],
)
def test_garbage_raises_receipt_error(pdu: Pdu) -> None:
    with pytest.raises(ReceiptError) as caught:
        parse_receipt(pdu)
    assert isinstance(caught.value, PduError)
    assert caught.value.smpp_status == p.ESME_RX_P_APPN
