"""GSM 03.38 / Latin-1 / UCS-2 encodings, 7-bit packing and the part counter."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.smpp.text import (
    GSM_BASIC,
    GSM_EXTENSION,
    alphabet,
    decode,
    decode_gsm,
    encode,
    encode_gsm,
    encode_text,
    gsm_septets,
    pack_septets,
    segments,
    unpack_septets,
)

GSM_CHARS = [ch for ch in GSM_BASIC if ch != "\x1b"] + list(GSM_EXTENSION)
gsm_text = st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=400)
any_char = st.characters(exclude_categories=("Cs",))
emoji = st.sampled_from("😀🎉👍𝄞🇫")
#: Mostly GSM, with extension characters, emoji and anything else mixed in.
mixed_text = st.text(
    alphabet=st.one_of(st.sampled_from(GSM_CHARS), st.sampled_from("€^{}[]~|\\"), emoji, any_char),
    max_size=400,
)
fast = settings(max_examples=60, deadline=None)


def test_packing_known_vector() -> None:
    assert encode_gsm("hellohello", packed=True).hex() == "e8329bfd4697d9ec37"
    assert decode_gsm(bytes.fromhex("e8329bfd4697d9ec37"), packed=True) == "hellohello"


def test_unpacked_septets_and_escapes() -> None:
    assert encode_gsm("@a€") == bytes((0x00, 0x61, 0x1B, 0x65))
    assert decode_gsm(bytes((0x1B, 0x65, 0x1B, 0x61))) == "€a"  # unknown escape: base char


def test_packing_after_fill_bits_starts_on_septet_boundary() -> None:
    # One fill bit (after a 6-octet UDH): "a" (0x61) shifted left once.
    assert encode_gsm("a", packed=True, fill_bits=1) == bytes((0xC2,))
    assert decode_gsm(bytes((0xC2,)), packed=True, fill_bits=1) == "a"


def test_seven_spare_bits_are_padded_with_cr_not_read_as_at() -> None:
    packed = encode_gsm("abcdefg", packed=True)
    assert len(packed) == 7
    assert unpack_septets(packed)[-1] == 0x0D
    assert decode_gsm(packed, packed=True) == "abcdefg"
    # A real "@" in the last septet survives.
    assert decode_gsm(encode_gsm("abcdefg@", packed=True), packed=True) == "abcdefg@"


def test_wanted_final_cr_on_octet_boundary_is_doubled_as_the_spec_says() -> None:
    packed = encode_gsm("abcdefg\r", packed=True)
    assert decode_gsm(packed, packed=True) == "abcdefg\r\r"


@fast
@given(st.binary(max_size=200), st.integers(0, 6))
def test_pack_unpack_round_trip(raw: bytes, fill: int) -> None:
    septets = bytes(b & 0x7F for b in raw)
    packed = pack_septets(septets, fill)
    assert len(packed) == (fill + 7 * len(septets) + 7) // 8 if septets else packed == b""
    assert unpack_septets(packed, fill, len(septets)) == septets


@fast
@given(gsm_text)
def test_gsm_unpacked_round_trip(text: str) -> None:
    assert decode_gsm(encode_gsm(text)) == text
    assert decode(0, encode_gsm(text)) == text


@fast
@given(gsm_text.filter(lambda t: not t.endswith("\r")), st.integers(0, 6))
def test_gsm_packed_round_trip(text: str, fill: int) -> None:
    packed = encode_gsm(text, packed=True, fill_bits=fill)
    assert decode_gsm(packed, packed=True, fill_bits=fill) == text
    assert len(packed) * 8 - fill < 7 * (len(gsm_septets(text)) + 2)


@fast
@given(st.text(alphabet=st.characters(max_codepoint=0xFF, exclude_categories=("Cs",))))
def test_latin1_round_trip(text: str) -> None:
    assert decode(0x03, encode_text(text, "LATIN-1")) == text


@fast
@given(mixed_text)
def test_automatic_encoding_round_trip(text: str) -> None:
    data_coding, octets = encode(text)
    assert data_coding == (0x00 if all(ch in GSM_CHARS for ch in text) else 0x08)
    assert decode(data_coding, octets) == text


def test_emoji_is_a_surrogate_pair_in_ucs2() -> None:
    assert encode("😀") == (0x08, bytes.fromhex("d83dde00"))
    assert decode(0x08, bytes.fromhex("d83dde00")) == "😀"


def test_extension_characters_stay_gsm() -> None:
    assert encode("€") == (0x00, b"\x1be")


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("", "GSM-7", 0),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters take two septets
        ("€" * 80 + "a", "GSM-7", 2),
        ("a" * 152 + "€" + "a" * 10, "GSM-7", 2),  # the pair moves whole to part 2
        ("я" * 70, "UCS-2", 1),
        ("я" * 71, "UCS-2", 2),
        ("я" * 134, "UCS-2", 2),
        ("я" * 135, "UCS-2", 3),
        ("😀" * 35, "UCS-2", 1),  # an emoji takes two UTF-16 units
        ("a" * 69 + "😀", "UCS-2", 2),
        ("a" * 66 + "😀" + "a" * 10, "UCS-2", 2),
    ],
)
def test_segments_boundaries(text: str, encoding: str, parts: int) -> None:
    counted = segments(text)
    assert (counted.encoding, counted.characters, counted.parts) == (encoding, len(text), parts)


@pytest.mark.parametrize(
    ("data_coding", "octets", "text"),
    [
        (0x01, b"hi\xff", "hi\ufffd"),
        (0x03, b"caf\xe9", "café"),
        (0x08, b"\x00a\x00", "a\ufffd"),  # odd length: replaced, never raised
        (0x04, b"\x00\xff", "\x00\xff"),  # binary reads as Latin-1, octet for octet
        (0x06, b"\xd0", "а"),  # ISO-8859-5 Cyrillic
        (0xF0, b"\x00", "@"),  # DCS group F, GSM
        (0xF4, b"\xe9", "é"),  # DCS group F, 8-bit
        (0x18, b"\x04\x4f", "я"),  # general group with class, UCS-2
        (0xE0, b"\x04\x4f", "я"),  # message waiting, UCS-2
        (0x05, b"\xa4", "¤"),  # JIS: unknown here, read as Latin-1
        (0x24, b"\xa4", "¤"),  # compressed: unknown here, read as Latin-1
    ],
)
def test_decode_by_data_coding(data_coding: int, octets: bytes, text: str) -> None:
    assert decode(data_coding, octets) == text


def test_alphabet_of_unknown_coding_is_none() -> None:
    assert alphabet(0x0B) is None
    assert alphabet(0x8F) is None
    assert alphabet(0x00) == "gsm"


@fast
@given(st.integers(0, 255), st.binary(max_size=64), st.booleans())
def test_decode_never_raises(data_coding: int, octets: bytes, packed: bool) -> None:
    assert isinstance(decode(data_coding, octets, packed=packed), str)
