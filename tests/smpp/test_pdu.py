from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.fuzz import fuzz
from gatewayd.smpp import pdu as p
from gatewayd.smpp import tlv
from gatewayd.smpp.checked import encode_checked
from gatewayd.smpp.pdu import (
    LAYOUTS,
    DistributionList,
    Kind,
    Pdu,
    PduError,
    PduReader,
    SmeAddress,
    UnsuccessSme,
    decode,
    encode,
    make_tlv,
)

# ---- strategies --------------------------------------------------------------------------------

_CSTRING_ALPHABET = st.binary(max_size=20).map(lambda b: b.replace(b"\0", b"x"))
_DESTINATIONS = st.one_of(
    st.builds(SmeAddress, st.integers(0, 255), st.integers(0, 255), _CSTRING_ALPHABET),
    st.builds(DistributionList, _CSTRING_ALPHABET),
)
_UNSUCCESS = st.builds(
    UnsuccessSme,
    st.integers(0, 255),
    st.integers(0, 255),
    _CSTRING_ALPHABET,
    st.integers(0, 0xFFFFFFFF),
)


def _value(spec: p.FieldSpec) -> st.SearchStrategy[p.FieldValue]:
    if spec.kind is Kind.INT1:
        return st.integers(0, 255)
    if spec.kind is Kind.CSTRING:
        return st.binary(max_size=spec.size - 1).map(lambda b: b.replace(b"\0", b"x"))
    if spec.kind is Kind.DEST_ADDRESSES:
        return st.lists(_DESTINATIONS, min_size=1, max_size=5).map(tuple)
    if spec.kind is Kind.UNSUCCESS_SMES:
        return st.lists(_UNSUCCESS, max_size=5).map(tuple)
    return st.binary(max_size=spec.size)


def _standard_tlv(spec: tlv.TlvSpec) -> st.SearchStrategy[tuple[int, bytes]]:
    if spec.type is tlv.TlvType.INT:
        return st.integers(0, (1 << (8 * spec.min_size)) - 1).map(lambda v: make_tlv(spec.name, v))
    top = 300 if spec.max_size is None else spec.max_size
    if spec.type is tlv.TlvType.CSTRING:
        text = st.binary(max_size=top - 1).map(lambda b: b.replace(b"\0", b"x"))
        return text.map(lambda v: make_tlv(spec.name, v))
    return st.binary(min_size=spec.min_size, max_size=top).map(lambda v: make_tlv(spec.name, v))


_UNKNOWN_TAGS = st.integers(0, 0xFFFF).filter(lambda tag: tag not in tlv.BY_TAG)
TLVS = st.lists(
    st.one_of(
        st.sampled_from(tlv.STANDARD_TLVS).flatmap(_standard_tlv),
        st.tuples(_UNKNOWN_TAGS, st.binary(max_size=40)),
    ),
    max_size=4,
).map(tuple)


@st.composite
def pdus(draw: st.DrawFn, command_id: int | None = None) -> Pdu:
    if command_id is None:
        command_id = draw(st.sampled_from(sorted(LAYOUTS)))
    fields = {spec.name: draw(_value(spec)) for spec in LAYOUTS[command_id]}
    sequence = draw(st.integers(1, 0x7FFFFFFF))
    return Pdu(command_id, p.ESME_ROK, sequence, fields, draw(TLVS))


SUBMIT = Pdu(
    p.SUBMIT_SM,
    p.ESME_ROK,
    7,
    {"source_addr": b"33600000001", "destination_addr": b"33700000002", "short_message": b"hi"},
    ((0x1403, b"\x01\x02"),),
)

# ---- round trips ------------------------------------------------------------------------------


def _round_trip(pdu: Pdu) -> None:
    frame = encode(pdu)
    assert struct.unpack(">I", frame[:4])[0] == len(frame)
    assert decode(frame) == pdu
    assert encode(decode(frame)) == frame


@given(pdus())
def test_decode_inverts_encode(pdu: Pdu) -> None:
    _round_trip(pdu)


@settings(max_examples=60)
@given(st.data())
def test_every_operation_round_trips(data: st.DataObject) -> None:
    # One draw per operation in every example, so none can be skipped by chance.
    for command_id in sorted(LAYOUTS):
        _round_trip(data.draw(pdus(command_id), label=p.command_name(command_id)))


def test_all_smpp_34_operations_are_supported() -> None:
    requests = {cid for cid in p.COMMAND_NAMES if not cid & p.RESPONSE_BIT}
    no_response = {p.OUTBIND, p.ALERT_NOTIFICATION}
    expected = requests | {cid | p.RESPONSE_BIT for cid in requests - no_response}
    assert set(LAYOUTS) == expected | {p.GENERIC_NACK}
    assert len(LAYOUTS) == 27


def test_known_submit_sm_bytes() -> None:
    frame = encode(SUBMIT)
    body = (
        b"\0" + b"\0\0" + b"33600000001\0" + b"\0\0" + b"33700000002\0"
        + b"\0\0\0" + b"\0\0" + b"\0\0\0\0" + b"\x02hi" + b"\x14\x03\x00\x02\x01\x02"
    )  # fmt: skip
    assert frame == struct.pack(">IIII", 16 + len(body), 4, 0, 7) + body
    decoded = decode(frame)
    assert decoded.fields["short_message"] == b"hi"
    assert decoded.fields["esm_class"] == 0
    assert decoded.tlv(0x1403) == b"\x01\x02"
    assert decoded.tlv(0x0424) is None


def test_missing_fields_default_to_zero_and_empty() -> None:
    decoded = decode(encode(Pdu(p.BIND_TRANSMITTER, sequence=1, fields={"system_id": b"a"})))
    assert decoded.fields == {
        "system_id": b"a",
        "password": b"",
        "system_type": b"",
        "interface_version": 0,
        "addr_ton": 0,
        "addr_npi": 0,
        "address_range": b"",
    }


def test_error_response_has_empty_body_and_decodes() -> None:
    frame = encode(Pdu(p.SUBMIT_SM_RESP, p.ESME_RTHROTTLED, 9))
    assert frame == struct.pack(">IIII", 16, p.SUBMIT_SM_RESP, p.ESME_RTHROTTLED, 9)
    assert decode(frame) == Pdu(p.SUBMIT_SM_RESP, p.ESME_RTHROTTLED, 9)


def test_ok_response_without_body_is_refused() -> None:
    frame = struct.pack(">IIII", 16, p.SUBMIT_SM_RESP, 0, 9)
    with pytest.raises(PduError) as caught:
        decode(frame)
    assert caught.value.status == p.ESME_RINVCMDLEN
    assert caught.value.sequence == 9


def test_unknown_tlvs_are_kept_in_order() -> None:
    tlvs = ((0xFFFF, b""), (0x1234, b"abc"), (0x1234, b"second"))
    decoded = decode(encode(Pdu(p.ENQUIRE_LINK, sequence=3, tlvs=tlvs)))
    assert decoded.tlvs == tlvs
    assert decoded.tlv(0x1234) == b"abc"


def test_response_to_and_names() -> None:
    response = p.response_to(SUBMIT, fields={"message_id": b"abc"})
    assert (response.command_id, response.sequence) == (p.SUBMIT_SM_RESP, 7)
    assert response.is_response and not SUBMIT.is_response
    assert response.name == "submit_sm_resp"
    assert p.command_name(0x12345) == "command_0x00012345"
    assert p.status_name(p.ESME_RINVPASWD) == "ESME_RINVPASWD"


# ---- encoding errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command_id", "fields", "status"),
    [
        (p.BIND_TRANSCEIVER, {"system_id": b"x" * 16}, p.ESME_RINVSYSID),
        (p.BIND_TRANSCEIVER, {"password": b"x" * 9}, p.ESME_RINVPASWD),
        (p.SUBMIT_SM, {"source_addr": b"1" * 21}, p.ESME_RINVSRCADR),
        (p.SUBMIT_SM, {"destination_addr": b"1\x002"}, p.ESME_RINVDSTADR),
        (p.SUBMIT_SM, {"short_message": b"x" * 255}, p.ESME_RINVMSGLEN),
        (p.SUBMIT_SM, {"esm_class": 256}, p.ESME_RINVESMCLASS),
        (p.SUBMIT_SM, {"no_such_field": 1}, p.ESME_RSYSERR),
        (p.SUBMIT_SM, {"esm_class": b"\x04"}, p.ESME_RSYSERR),
        (0x00000099, {}, p.ESME_RINVCMDID),
        (p.SUBMIT_MULTI, {}, p.ESME_RINVNUMDESTS),
        (p.SUBMIT_MULTI, {"dest_address": (DistributionList(b"x" * 21),)}, p.ESME_RINVDLNAME),
        (p.SUBMIT_MULTI, {"dest_address": (SmeAddress(1, 256, b"1"),)}, p.ESME_RINVDSTNPI),
        (p.SUBMIT_MULTI, {"dest_address": (SmeAddress(1, 1, b"1" * 21),)}, p.ESME_RINVDSTADR),
        (p.SUBMIT_MULTI, {"dest_address": (DistributionList(b"a"),) * 255}, p.ESME_RINVNUMDESTS),
        (p.SUBMIT_MULTI, {"dest_address": b"33600000001"}, p.ESME_RINVNUMDESTS),
        (p.SUBMIT_MULTI_RESP, {"unsuccess_sme": (DistributionList(b"a"),)}, p.ESME_RINVDESTFLAG),
        (p.QUERY_SM_RESP, {"final_date": b"x" * 17}, p.ESME_RINVCMDLEN),
        (p.SUBMIT_SM, {"source_addr": 5}, p.ESME_RSYSERR),
        (p.SUBMIT_SM, {"short_message": "text"}, p.ESME_RSYSERR),
    ],
)
def test_encode_refuses_bad_values(command_id: int, fields: p.Fields, status: int) -> None:
    with pytest.raises(PduError) as caught:
        encode(Pdu(command_id, sequence=5, fields=fields))
    assert caught.value.status == status
    assert caught.value.smpp_status == status


def test_encode_refuses_out_of_range_header_and_tlv() -> None:
    with pytest.raises(PduError):
        encode(Pdu(p.ENQUIRE_LINK, sequence=1 << 32))
    with pytest.raises(PduError) as caught:
        encode(Pdu(p.ENQUIRE_LINK, sequence=1, tlvs=((0x10000, b""),)))
    assert caught.value.status == p.ESME_RINVPARLEN


# ---- decoding errors --------------------------------------------------------------------------


def _frame(command_id: int, body: bytes, sequence: int = 42, length: int | None = None) -> bytes:
    size = 16 + len(body) if length is None else length
    return struct.pack(">IIII", size, command_id, 0, sequence) + body


@pytest.mark.parametrize(
    ("frame", "status"),
    [
        (b"\0\0\0\x10\0\0", p.ESME_RINVCMDLEN),  # shorter than a header
        (_frame(p.ENQUIRE_LINK, b"", length=17), p.ESME_RINVCMDLEN),  # length != frame size
        (_frame(0x00000099, b""), p.ESME_RINVCMDID),
        (_frame(0x80000099, b""), p.ESME_RINVCMDID),
        (_frame(p.QUERY_SM, b"abc\0\0"), p.ESME_RINVCMDLEN),  # cut before source_addr
        (_frame(p.SUBMIT_MULTI, b"\0\0\0a\0\x00"), p.ESME_RINVNUMDESTS),  # no destination
        (_frame(p.SUBMIT_MULTI, b"\0\0\0a\0\x01\x03x\0"), p.ESME_RINVDESTFLAG),
        (_frame(p.SUBMIT_MULTI, b"\0\0\0a\0\x01\x02" + b"d" * 21 + b"\0"), p.ESME_RINVDLNAME),
        (_frame(p.SUBMIT_MULTI, b"\0\0\0a\0\x01\x01\x01"), p.ESME_RINVCMDLEN),
        (_frame(p.SUBMIT_MULTI_RESP, b"id\0\xff"), p.ESME_RINVNUMDESTS),
        (_frame(p.SUBMIT_MULTI_RESP, b"id\0\x01\x01\x01336\0\0\0"), p.ESME_RINVCMDLEN),
        (_frame(p.ENQUIRE_LINK, b"\x04\x27\x00\x02\x01\x02"), p.ESME_RINVTLVLEN),  # message_state
        (_frame(p.ENQUIRE_LINK, b"\x04\x23\x00\x01\x01"), p.ESME_RINVTLVLEN),  # network_error
        (_frame(p.BIND_TRANSMITTER, b"a" * 16 + b"\0"), p.ESME_RINVSYSID),
        (_frame(p.BIND_TRANSMITTER, b"abc"), p.ESME_RINVCMDLEN),  # body cut inside system_id
        (_frame(p.BIND_TRANSMITTER, b"abc\0pw\0"), p.ESME_RINVCMDLEN),  # body cut after password
        (_frame(p.BIND_TRANSMITTER, b"abc\0" + b"p" * 9 + b"\0"), p.ESME_RINVPASWD),
        (_frame(p.SUBMIT_SM, encode(SUBMIT)[16:-9] + b"\xff" + b"x" * 255), p.ESME_RINVMSGLEN),
        (_frame(p.SUBMIT_SM, encode(SUBMIT)[16:-9] + b"\x05hi"), p.ESME_RINVMSGLEN),
        (_frame(p.SUBMIT_SM, b"\0\0\0" + b"1" * 30), p.ESME_RINVSRCADR),
        (_frame(p.ENQUIRE_LINK, b"\x00\x01\x00"), p.ESME_RINVOPTPARSTREAM),
        (_frame(p.ENQUIRE_LINK, b"\x00\x01\x00\x05abc"), p.ESME_RINVPARLEN),
    ],
)
def test_decode_reports_the_right_status(frame: bytes, status: int) -> None:
    with pytest.raises(PduError) as caught:
        decode(frame)
    assert p.status_name(caught.value.status) == p.status_name(status)
    if len(frame) >= 16:
        assert caught.value.sequence == 42


def test_fuzzed_frames_only_ever_raise_pdu_error_and_decode_stably() -> None:
    # bench/fuzz.py mutates a valid frame of every operation; it raises on anything but a
    # PduError, and checks that what decodes re-encodes to the same octets.
    outcome = fuzz(4000)
    refused = sum(outcome.refused.values())
    assert outcome.decoded > 200 and refused > 2000, outcome
    assert len(outcome.refused) >= 8, outcome.refused  # many distinct statuses are reached


# ---- framing ----------------------------------------------------------------------------------


def test_reader_frames_byte_at_a_time() -> None:
    stream = encode(SUBMIT) + encode(Pdu(p.ENQUIRE_LINK, sequence=8))
    reader = PduReader(1024)
    frames: list[bytes] = []
    for i in range(len(stream)):
        frames += reader.feed(stream[i : i + 1])
    assert frames == [encode(SUBMIT), encode(Pdu(p.ENQUIRE_LINK, sequence=8))]
    assert decode(frames[0]).fields["destination_addr"] == b"33700000002"
    assert reader.buffered == 0


def test_reader_frames_many_pdus_in_one_chunk_and_keeps_a_partial_one() -> None:
    one = encode(Pdu(p.ENQUIRE_LINK, sequence=1))
    reader = PduReader(1024)
    assert reader.feed(one * 3 + one[:5]) == [one] * 3
    assert reader.buffered == 5
    assert reader.feed(one[5:]) == [one]


def test_reader_rejects_oversized_length_before_buffering_the_body() -> None:
    reader = PduReader(1024)
    with pytest.raises(PduError) as caught:
        reader.feed(struct.pack(">I", 1025))  # only the length has arrived
    assert caught.value.status == p.ESME_RINVCMDLEN
    assert caught.value.sequence is None
    assert reader.buffered == 0
    with pytest.raises(PduError):  # framing is lost for good
        reader.feed(encode(Pdu(p.ENQUIRE_LINK, sequence=1)))


@pytest.mark.parametrize("length", [0, 15])
def test_reader_rejects_length_below_header(length: int) -> None:
    with pytest.raises(PduError) as caught:
        PduReader(1024).feed(struct.pack(">IIII", length, p.ENQUIRE_LINK, 0, 77))
    assert caught.value.status == p.ESME_RINVCMDLEN
    assert caught.value.sequence == 77


def test_reader_accepts_exactly_the_cap() -> None:
    frame = encode(Pdu(p.ENQUIRE_LINK, sequence=1, tlvs=((1, b"x" * 100),)))
    assert PduReader(len(frame)).feed(frame) == [frame]


# ---- submit_multi, query_sm and friends -------------------------------------------------------


def test_submit_multi_carries_both_kinds_of_destination() -> None:
    destinations = (SmeAddress(1, 1, b"33612345678"), DistributionList(b"staff"))
    pdu = Pdu(
        p.SUBMIT_MULTI, sequence=5, fields={"source_addr": b"ACME", "dest_address": destinations}
    )
    frame = encode(pdu)
    body = (
        b"\0" + b"\0\0" + b"ACME\0"
        + b"\x02" + b"\x01\x01\x0133612345678\0" + b"\x02staff\0"
        + b"\0\0\0" + b"\0\0" + b"\0\0\0\0" + b"\x00"
    )  # fmt: skip
    assert frame == struct.pack(">IIII", 16 + len(body), p.SUBMIT_MULTI, 0, 5) + body
    assert decode(frame).dest_addresses() == destinations


def test_submit_multi_resp_lists_unsuccessful_destinations() -> None:
    failed = (UnsuccessSme(1, 1, b"336", p.ESME_RINVDSTADR), UnsuccessSme(0, 0, b"", 0xFFFFFFFF))
    pdu = Pdu(p.SUBMIT_MULTI_RESP, sequence=6, fields={"message_id": b"m", "unsuccess_sme": failed})
    frame = encode(pdu)
    body = b"m\0" + b"\x02" + b"\x01\x01336\0\0\0\0\x0b" + b"\0\0\0\xff\xff\xff\xff"
    assert frame[16:] == body
    assert decode(frame).unsuccess_smes() == failed
    empty = decode(encode(Pdu(p.SUBMIT_MULTI_RESP, sequence=7, fields={"message_id": b"m"})))
    assert empty.unsuccess_smes() == ()


def test_list_accessors_refuse_other_values() -> None:
    with pytest.raises(PduError):
        Pdu(p.SUBMIT_MULTI, fields={"dest_address": b"x"}).dest_addresses()
    with pytest.raises(PduError):
        Pdu(
            p.SUBMIT_MULTI_RESP, fields={"unsuccess_sme": (DistributionList(b"x"),)}
        ).unsuccess_smes()


def test_query_sm_resp_fields() -> None:
    frame = _frame(p.QUERY_SM_RESP, b"abc\0" + b"2403091407000+\0" + b"\x02\x00")
    assert decode(frame).fields == {
        "message_id": b"abc",
        "final_date": b"2403091407000+",
        "message_state": 2,
        "error_code": 0,
    }


@pytest.mark.parametrize(
    ("command_id", "body"),
    [
        (p.OUTBIND, b"smsc\0pw\0"),
        (p.QUERY_SM, b"id\0\x01\x01336\0"),
        (p.CANCEL_SM, b"\0id\0\x01\x01336\0\x01\x01337\0"),
        (p.CANCEL_SM_RESP, b""),
        (p.REPLACE_SM, b"id\0\x01\x01336\0\0\0\x01\x00\x03new"),
        (p.REPLACE_SM_RESP, b""),
        (p.ALERT_NOTIFICATION, b"\x01\x01336\0\x00\x00esme\0\x04\x22\x00\x01\x00"),
        (p.DATA_SM_RESP, b"id\0\x04\x25\x00\x01\x01"),
    ],
)
def test_other_operations_decode_and_reencode_exactly(command_id: int, body: bytes) -> None:
    frame = _frame(command_id, body)
    assert encode(decode(frame)) == frame


_ANY_VALUE = st.one_of(
    st.integers(-2, 300),
    st.binary(max_size=30),
    st.sampled_from([b"\x04", b"a\0b", "text", None, (), (DistributionList(b"x"),)]),
)


@given(st.sampled_from(sorted(LAYOUTS)), st.data())
def test_encode_never_lets_a_bad_value_through(command_id: int, data: st.DataObject) -> None:
    # The fast path must refuse exactly what the field-by-field path refuses: whatever it
    # encodes has to decode back to the very same values.
    names = [spec.name for spec in LAYOUTS[command_id]]
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    fields = {name: data.draw(_ANY_VALUE, label=name) for name in chosen}
    pdu = Pdu(command_id, sequence=1, fields=fields)  # type: ignore[arg-type]
    try:
        frame = encode(pdu)
    except PduError:
        return
    decoded = decode(frame)
    for name, value in fields.items():
        assert decoded.fields[name] == value


@pytest.mark.parametrize("complete", [True, False])
def test_fast_encode_matches_the_checked_path(complete: bool) -> None:
    # encode takes a different route when every field is present; both must agree with the
    # field-by-field encoder, which is the reference.
    fields = decode(encode(Pdu(p.SUBMIT_SM, fields={"short_message": b"hi"}))).fields
    if not complete:
        fields = {"source_addr": b"ACME", "registered_delivery": 1, "short_message": b"hi"}
    frame = encode(Pdu(p.SUBMIT_SM, sequence=9, fields=fields))
    assert frame[16:] == encode_checked(LAYOUTS[p.SUBMIT_SM], fields, 9)


def test_decoded_pdu_is_a_normal_frozen_pdu() -> None:
    pdu = Pdu(p.SUBMIT_SM_RESP, p.ESME_ROK, 7, {"message_id": b"abc"}, ((0x1403, b"v"),))
    decoded = decode(encode(pdu))
    assert decoded == pdu
    assert type(decoded) is Pdu
    with pytest.raises(AttributeError):
        decoded.sequence = 8  # type: ignore[misc]
