from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.smpp import pdu as p
from gatewayd.smpp import tlv
from gatewayd.smpp.pdu import Pdu, PduError, decode, decode_tlvs, encode, make_tlv


def _enquire_link(tlv_octets: bytes) -> bytes:
    return struct.pack(">IIII", 16 + len(tlv_octets), p.ENQUIRE_LINK, 0, 9) + tlv_octets


def test_the_table_covers_smpp_34() -> None:
    assert len(tlv.STANDARD_TLVS) == 44  # §5.3.2 defines 44
    assert len(tlv.BY_TAG) == len(tlv.BY_NAME) == 44
    assert tlv.BY_NAME["receipted_message_id"].tag == 0x001E
    assert tlv.BY_NAME["message_payload"].max_size is None
    assert tlv.BY_TAG[0x0427].name == "message_state"
    for spec in tlv.STANDARD_TLVS:
        if spec.type is tlv.TlvType.INT:
            assert spec.min_size in (1, 2, 4)


def test_typed_values_by_name() -> None:
    tlvs = (
        (0x001E, b"abc\0"),
        (0x0427, b"\x02"),
        (0x0017, b"\x00\x01\x00\x00"),
        (0x0423, b"\x03\x00\x0b"),
        (0x1234, b"vendor"),
        (0x0427, b"\x05"),
    )
    pdu = decode(encode(Pdu(p.DELIVER_SM, sequence=1, tlvs=tlvs)))
    assert pdu.tlvs == tlvs  # raw storage, unknown tag and repeat included, in order
    assert pdu.tlv_value("receipted_message_id") == b"abc"
    assert pdu.tlv_value("message_state") == 2  # the first one wins
    assert pdu.tlv_value("qos_time_to_live") == 65536
    assert pdu.tlv_value("network_error_code") == b"\x03\x00\x0b"
    assert pdu.tlv_value("message_payload") is None
    assert decode_tlvs(pdu.tlvs) == {
        "receipted_message_id": b"abc",
        "message_state": 2,
        "qos_time_to_live": 65536,
        "network_error_code": b"\x03\x00\x0b",
    }
    with pytest.raises(PduError):
        pdu.tlv_value("no_such_tlv")


def test_a_c_string_tlv_without_its_nul_is_tolerated() -> None:
    pdu = decode(_enquire_link(b"\x00\x1e\x00\x03abc"))
    assert pdu.tlv_value("receipted_message_id") == b"abc"
    assert encode(pdu) == _enquire_link(b"\x00\x1e\x00\x03abc")


@pytest.mark.parametrize(
    ("name", "value", "raw"),
    [
        ("message_state", 2, b"\x02"),
        ("sar_msg_ref_num", 0xBEEF, b"\xbe\xef"),
        ("qos_time_to_live", 0xFFFFFFFF, b"\xff\xff\xff\xff"),
        ("receipted_message_id", b"abc", b"abc\0"),
        ("message_payload", b"", b""),
        ("alert_on_message_delivery", b"", b""),
    ],
)
def test_make_tlv(name: str, value: tlv.TlvValue, raw: bytes) -> None:
    assert make_tlv(name, value) == (tlv.BY_NAME[name].tag, raw)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("message_state", 256),
        ("message_state", b"\x02"),
        ("sar_msg_ref_num", -1),
        ("receipted_message_id", b"a\0b"),
        ("receipted_message_id", b"x" * 65),
        ("receipted_message_id", 5),
        ("callback_num", b"123"),  # shorter than 4
        ("network_error_code", b"\x03\x00"),
        ("no_such_tlv", 1),
    ],
)
def test_make_tlv_refuses_bad_values(name: str, value: tlv.TlvValue) -> None:
    with pytest.raises(PduError) as caught:
        make_tlv(name, value)
    assert caught.value.smpp_status == p.ESME_RINVOPTPARAMVAL


_CHECKED = sorted(tlv.CHECKED_SIZES)


@pytest.mark.parametrize("tag", _CHECKED, ids=lambda tag: tlv.BY_TAG[tag].name)
def test_fixed_size_tlvs_of_the_wrong_size_are_refused(tag: int) -> None:
    smallest, largest = tlv.CHECKED_SIZES[tag]
    assert decode(_enquire_link(struct.pack(">HH", tag, smallest) + b"\0" * smallest))
    for size in {smallest - 1, largest + 1} - {-1}:
        frame = _enquire_link(struct.pack(">HH", tag, size) + b"\0" * size)
        with pytest.raises(PduError) as caught:
            decode(frame)
        assert caught.value.smpp_status == p.ESME_RINVTLVLEN == p.ESME_RINVPARLEN
        assert caught.value.sequence == 9
        with pytest.raises(PduError):
            encode(Pdu(p.ENQUIRE_LINK, sequence=9, tlvs=((tag, b"\0" * size),)))


def test_broken_tlv_streams_are_refused() -> None:
    with pytest.raises(PduError) as caught:
        decode(_enquire_link(b"\x04\x24\x00"))  # header cut short
    assert caught.value.smpp_status == p.ESME_RINVTLVSTREAM == p.ESME_RINVOPTPARSTREAM
    with pytest.raises(PduError) as caught:
        decode(_enquire_link(b"\x04\x24\x00\x09short"))  # length past the PDU
    assert caught.value.smpp_status == p.ESME_RINVTLVLEN
    assert p.status_name(p.ESME_RINVTLVLEN) == "ESME_RINVPARLEN"  # v3.4 names win


_UNKNOWN = st.tuples(
    st.integers(0, 0xFFFF).filter(lambda tag: tag not in tlv.BY_TAG), st.binary(max_size=300)
)


@given(st.lists(_UNKNOWN, max_size=6).map(tuple))
def test_unknown_tlvs_survive_unchanged_and_in_order(tlvs: p.Tlvs) -> None:
    pdu = Pdu(p.SUBMIT_SM_RESP, sequence=3, fields={"message_id": b"x"}, tlvs=tlvs)
    frame = encode(pdu)
    assert decode(frame).tlvs == tlvs
    assert encode(decode(frame)) == frame
    assert decode_tlvs(tlvs) == {}
