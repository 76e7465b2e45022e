"""Splitting long texts into concatenated parts, and reassembling incoming parts."""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.errors import ValidationError
from gatewayd.smpp import pdu as p
from gatewayd.smpp.concat import (
    MESSAGE_PAYLOAD,
    SAR_MSG_REF_NUM,
    SAR_SEGMENT_SEQNUM,
    SAR_TOTAL_SEGMENTS,
    UDHI,
    Added,
    Fragment,
    Method,
    Part,
    Reassembler,
    fragment_of,
    fragment_of_pdu,
    parse_udh,
    split,
)
from gatewayd.smpp.text import decode, segments
from tests.smpp.test_text import GSM_CHARS, gsm_text, mixed_text

METHODS: tuple[Method, ...] = get_args(Method)
fast = settings(max_examples=60, deadline=None)


def fragment(part: Part, packed: bool = False, source: str = "336", dest: str = "337") -> Fragment:
    return fragment_of(
        source,
        dest,
        esm_class=part.esm_class,
        data_coding=part.data_coding,
        short_message=part.short_message,
        tlvs=part.tlvs,
        packed=packed,
    )


def payload(part: Part) -> bytes:
    return parse_udh(part.short_message)[1] if part.esm_class & UDHI else part.short_message


# --- split ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_single_part_is_sent_as_is(method: Method) -> None:
    assert split("a" * 160, method, 7) == [Part(b"a" * 160, 0, 0x00)]
    assert split("я" * 70, method, 7) == [Part("я".encode("utf-16-be") * 70, 0, 0x08)]


def test_udh8_parts() -> None:
    parts = split("a" * 307, "udh8", 0x1AB)
    assert [part.short_message[:6] for part in parts] == [
        bytes((5, 0, 3, 0xAB, 3, seq)) for seq in (1, 2, 3)
    ]
    assert [len(payload(part)) for part in parts] == [153, 153, 1]
    assert {(part.esm_class, part.data_coding, part.tlvs) for part in parts} == {(UDHI, 0, ())}
    assert len(split("a" * 306, "udh8", 0)) == 2


def test_udh16_parts() -> None:
    parts = split("a" * 305, "udh16", 0x1234)
    assert parts[0].short_message[:7] == bytes((6, 8, 4, 0x12, 0x34, 3, 1))
    assert [len(payload(part)) for part in parts] == [152, 152, 1]
    assert len(split("a" * 304, "udh16", 0)) == 2
    assert [len(payload(x)) // 2 for x in split("я" * 133, "udh16", 0)] == [66, 66, 1]


def test_ucs2_parts_hold_67_units_and_emoji_are_never_cut() -> None:
    assert [len(payload(x)) // 2 for x in split("я" * 135, "udh8", 0)] == [67, 67, 1]
    parts = split("a" * 66 + "😀" + "a" * 10, "udh8", 0)
    assert [len(payload(x)) // 2 for x in parts] == [66, 12]


def test_sar_parts() -> None:
    parts = split("a" * 307, "sar", 0x1234)
    assert [part.tlvs for part in parts] == [
        (
            (SAR_MSG_REF_NUM, b"\x12\x34"),
            (SAR_TOTAL_SEGMENTS, b"\x03"),
            (SAR_SEGMENT_SEQNUM, bytes((seq,))),
        )
        for seq in (1, 2, 3)
    ]
    assert [(len(x.short_message), x.esm_class) for x in parts] == [(153, 0), (153, 0), (1, 0)]


def test_payload_is_one_tlv() -> None:
    assert split("a" * 500, "payload", 0) == [Part(b"", 0, 0x00, ((MESSAGE_PAYLOAD, b"a" * 500),))]


def test_reference_wraps_like_a_counter() -> None:
    assert split("a" * 200, "udh8", 256 + 5)[0].short_message[3] == 5
    assert split("a" * 200, "sar", 65536 + 5)[0].tlvs[0] == (SAR_MSG_REF_NUM, b"\x00\x05")


def test_too_many_parts_is_refused() -> None:
    assert len(split("a" * 153 * 255, "udh8", 0)) == 255
    with pytest.raises(ValidationError) as caught:
        split("a" * (153 * 255 + 1), "udh8", 0)
    assert caught.value.smpp_status == p.ESME_RINVMSGLEN


def test_forced_latin1() -> None:
    parts = split("é" * 141, "udh8", 0, encoding="LATIN-1")
    assert [(x.data_coding, len(payload(x))) for x in parts] == [(3, 134), (3, 7)]
    with pytest.raises(ValidationError):
        split("€", "udh8", 0, encoding="LATIN-1")


def test_packed_udh8_part_is_140_octets_with_one_fill_bit() -> None:
    parts = split("a" * 200, "udh8", 0, packed=True)
    assert [len(x.short_message) for x in parts] == [140, 48]
    assert parts[0].short_message[6] == (0x61 << 1) & 0xFF


def test_packed_full_part_does_not_end_with_cr() -> None:
    # A <CR> there would need a second <CR> that no longer fits, so it moves on.
    text = "a" * 152 + "\r" + "b" * 10
    parts = split(text, "udh8", 0, packed=True)
    assert max(len(x.short_message) for x in parts) <= 140
    assert [fragment(x, packed=True).octets[-1:] for x in parts] == [b"a", b"b"]
    assert _reassemble(parts, packed=True) == text


# --- properties ------------------------------------------------------------------------------


@fast
@given(mixed_text.filter(bool))
def test_segments_agrees_with_udh8_split(text: str) -> None:
    assert segments(text).parts == len(split(text, "udh8", 0))


@fast
@given(mixed_text, st.sampled_from(["udh8", "udh16", "sar"]), st.booleans())
def test_no_part_splits_a_pair(text: str, method: Method, packed: bool) -> None:
    # Each part decodes strictly on its own to a slice of the text: no escape or surrogate
    # pair straddles two parts.
    texts = []
    for part in split(text, method, 9, packed):
        octets = fragment(part, packed).octets
        assert not octets.endswith(b"\x1b") or part.data_coding == 0x08
        strict = octets.decode("utf-16-be") if part.data_coding == 0x08 else None
        texts.append(strict if strict is not None else decode(part.data_coding, octets))
    assert "".join(texts).rstrip("\r") == text.rstrip("\r")


def _reassemble(parts: list[Part], packed: bool = False, order: list[int] | None = None) -> str:
    reassembler = Reassembler(timeout=60)
    done = [reassembler.add(fragment(parts[i], packed), now=0).message for i in order or []]
    if order is None:
        done = [reassembler.add(fragment(x, packed), now=0).message for x in parts]
    complete = [m for m in done if m is not None]
    assert len(complete) == 1 and len(reassembler) == 0
    return complete[0].text


@fast
@given(mixed_text, st.sampled_from(METHODS), st.data())
def test_split_and_reassemble_in_any_order_with_duplicates(
    text: str, method: Method, data: st.DataObject
) -> None:
    parts = split(text, method, 42)
    order = data.draw(st.permutations(range(len(parts))))
    dupes = data.draw(st.lists(st.sampled_from(order[:-1]), max_size=3)) if len(order) > 1 else []
    assert _reassemble(parts, order=order[:-1] + dupes + order[-1:]) == text


@fast
@given(
    st.text(alphabet=st.sampled_from([c for c in GSM_CHARS if c != "\r"]), max_size=400),
    st.sampled_from(METHODS),
    st.data(),
)
def test_packed_split_and_reassemble(text: str, method: Method, data: st.DataObject) -> None:
    parts = split(text, method, 42, packed=True)
    assert all(len(x.short_message) <= 140 for x in parts)
    order = data.draw(st.permutations(range(len(parts))))
    assert _reassemble(parts, packed=True, order=order) == text


@fast
@given(gsm_text)
def test_split_text_ending_in_cr_keeps_it(text: str) -> None:
    # Packed, a final <CR> may come back doubled (23.038's equivalent form), never lost.
    got = _reassemble(split(text + "\r", "udh8", 1, packed=True), packed=True)
    assert got in (text + "\r", text + "\r\r")


# --- fragments -------------------------------------------------------------------------------


def test_parse_udh() -> None:
    elements, rest = parse_udh(bytes((8, 0, 3, 1, 2, 1, 5, 1, 9)) + b"hi")
    assert (elements, rest) == (((0, b"\x01\x02\x01"), (5, b"\x09")), b"hi")
    for bad in (b"", b"\x05\x00\x03", bytes((3, 0, 3, 1))):
        with pytest.raises(ValidationError):
            parse_udh(bad)


def test_fragment_of_pdu_reads_message_payload_and_sar() -> None:
    pdu = p.Pdu(
        p.DATA_SM,
        fields={"source_addr": b"336", "destination_addr": b"337", "data_coding": 8},
        tlvs=((MESSAGE_PAYLOAD, "я".encode("utf-16-be")), *split("a" * 200, "sar", 5)[1].tlvs),
    )
    assert fragment_of_pdu(pdu) == Fragment("336", "337", 8, 5, 2, 2, b"\x04\x4f")


def test_invalid_sequence_number_is_read_as_a_message_of_its_own() -> None:
    part = Part(bytes((5, 0, 3, 1, 2, 3)) + b"hi", UDHI, 0)  # seq 3 of 2
    assert Reassembler().add(fragment(part), 0).message is not None


# --- reassembler -------------------------------------------------------------------------------


def _parts(text: str, reference: int, source: str = "336") -> list[Fragment]:
    return [fragment(x, source=source) for x in split(text, "udh8", reference)]


def test_groups_are_keyed_by_addresses_and_reference() -> None:
    reassembler = Reassembler()
    a, b, c = _parts("a" * 200, 1), _parts("b" * 200, 1, source="999"), _parts("c" * 200, 2)
    for first in (a[0], b[0], c[0]):
        assert reassembler.add(first, 0).message is None
    assert len(reassembler) == 3
    message = reassembler.add(b[1], 1).message
    assert message is not None and (message.source, message.text) == ("999", "b" * 200)


def test_incomplete_groups_expire_and_are_handed_back() -> None:
    reassembler = Reassembler(timeout=30)
    first = _parts("x" * 400, 1)
    second = _parts("y" * 200, 2)
    reassembler.add(first[2], now=0)
    reassembler.add(first[0], now=10)
    reassembler.add(second[0], now=20)
    assert reassembler.next_deadline() == 30
    assert reassembler.expire(29.9) == []
    [expired] = reassembler.expire(30)
    assert (expired.reason, expired.missing, expired.started) == ("expired", (2,), 0)
    assert expired.text == "x" * (153 + 94)
    assert reassembler.pending() == {second[0].key: (1,)}
    assert [x.key for x in reassembler.expire(50)] == [second[0].key]
    assert reassembler.next_deadline() is None and reassembler.octets == 0


def test_max_groups_evicts_the_oldest() -> None:
    reassembler = Reassembler(max_groups=2)
    groups = [_parts("z" * 200, ref) for ref in range(3)]
    assert reassembler.add(groups[0][0], 0).evicted == ()
    assert reassembler.add(groups[1][0], 1).evicted == ()
    [evicted] = reassembler.add(groups[2][0], 2).evicted
    assert (evicted.key, evicted.reason) == (groups[0][0].key, "evicted")
    assert len(reassembler) == 2


def test_max_octets_bounds_memory() -> None:
    reassembler = Reassembler(max_octets=300)
    reassembler.add(_parts("a" * 200, 1)[0], 0)
    assert reassembler.add(_parts("b" * 200, 2)[0], 0).evicted[0].key.reference == 1
    assert reassembler.octets == 153


def test_packed_part_never_ends_with_cr_on_an_octet_boundary() -> None:
    # SAR parts carry no UDH: 152 septets end on a boundary, where a final <CR> would be
    # doubled; the <CR> opens the next part instead.
    text = "a" * 151 + "\r" + "€" + "b" * 10
    parts = split(text, "sar", 0, packed=True)
    assert [fragment(x, packed=True).octets[-1:] for x in parts] == [b"a", b"b"]
    assert _reassemble(parts, packed=True) == text


@pytest.mark.parametrize(
    ("text", "method", "count"),
    [
        ("a" * 159 + "\r", "udh8", 2),  # alone it would need 161 septets
        ("a" * 153 + "a" * 152 + "\r", "udh8", 3),  # so would a full last part
        ("a" * 152 + "a" * 151 + "\r", "udh16", 3),
    ],
)
def test_packed_final_cr_always_fits(text: str, method: Method, count: int) -> None:
    parts = split(text, method, 0, packed=True)
    assert len(parts) == count
    assert all(len(x.short_message) <= 140 for x in parts)
    assert _reassemble(parts, packed=True) in (text, text + "\r")


def test_duplicate_part_is_ignored_first_copy_wins() -> None:
    reassembler = Reassembler()
    first, second = _parts("a" * 200, 1)
    other = replace(first, octets=b"X" * 153)
    assert reassembler.add(first, 0) == reassembler.add(other, 0) == Added()
    assert reassembler.octets == 153
    message = reassembler.add(second, 0).message
    assert message is not None and message.text == "a" * 200


def test_parts_join_before_decoding() -> None:
    # A sender that cut a surrogate pair still reads right; a change of coding is honoured.
    emoji = "😀".encode("utf-16-be")
    frags = [
        Fragment("1", "2", 8, 7, 3, 1, b"\x00a" + emoji[:2]),
        Fragment("1", "2", 8, 7, 3, 2, emoji[2:]),
        Fragment("1", "2", 0, 7, 3, 3, b"\x1be"),
    ]
    reassembler = Reassembler()
    results = [reassembler.add(f, 0).message for f in reversed(frags)]
    assert results[-1] is not None and results[-1].text == "a😀€"


def test_partial_text_decodes_around_the_gaps() -> None:
    reassembler = Reassembler(timeout=1)
    reassembler.add(Fragment("1", "2", 8, 7, 3, 1, b"\x00a\x00"), 0)
    reassembler.add(Fragment("1", "2", 8, 7, 3, 3, b"b"), 0)
    [partial] = reassembler.expire(1)
    # Joined across the gap these would read "ab": a wrong text that looks right.
    assert (partial.text, partial.missing) == ("a\ufffd\ufffd", (2,))
