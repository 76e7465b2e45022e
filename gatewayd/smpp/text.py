"""Message text: GSM 03.38 and UCS-2 encodings, and how many SMS parts a text takes.

``segments`` is the one counting rule, shared by the server and the web counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# GSM 03.38 default alphabet, in septet order 0x00..0x7F (0x1B is the escape to the extension).
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = {
    "\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
    "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
}  # fmt: skip
_EXTENSION_CHARS = {v: k for k, v in GSM_EXTENSION.items()}
_BASIC_INDEX = {ch: i for i, ch in enumerate(GSM_BASIC) if ch != "\x1b"}
assert len(GSM_BASIC) == 128

Encoding = Literal["GSM-7", "UCS-2"]
DATA_CODING = {"GSM-7": 0x00, "UCS-2": 0x08}
# Per part: a single SMS, or a part of a concatenated one (the UDH takes 6 octets).
_LIMITS = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True)
class Segments:
    encoding: Encoding
    characters: int
    parts: int


def is_gsm(text: str) -> bool:
    return all(ch in _BASIC_INDEX or ch in GSM_EXTENSION for ch in text)


def _units(text: str, encoding: Encoding) -> list[int]:
    """The width of each character in the encoding's units (septets or UTF-16 code units)."""
    if encoding == "GSM-7":
        return [2 if ch in GSM_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def segments(text: str) -> Segments:
    """GSM-7 when every character fits, otherwise UCS-2; the parts never split a pair."""
    encoding: Encoding = "GSM-7" if is_gsm(text) else "UCS-2"
    units = _units(text, encoding)
    single, multi = _LIMITS[encoding]
    if sum(units) <= single:
        return Segments(encoding, len(text), 1 if text else 0)
    parts, used = 1, 0
    for width in units:
        if used + width > multi:
            parts, used = parts + 1, 0
        used += width
    return Segments(encoding, len(text), parts)


def encode_gsm(text: str) -> bytes:
    """Unpacked septets, one per octet, as SMSCs expect on SMPP by default."""
    out = bytearray()
    for ch in text:
        if ch in GSM_EXTENSION:
            out += bytes((0x1B, GSM_EXTENSION[ch]))
        else:
            out.append(_BASIC_INDEX[ch])
    return bytes(out)


def decode_gsm(octets: bytes) -> str:
    """Unpacked septets to text; an unknown escape reads as the escaped basic character."""
    out: list[str] = []
    escaped = False
    for octet in octets:
        septet = octet & 0x7F
        if escaped:
            out.append(_EXTENSION_CHARS.get(septet, GSM_BASIC[septet]))
            escaped = False
        elif septet == 0x1B:
            escaped = True
        else:
            out.append(GSM_BASIC[septet])
    return "".join(out)


def decode(data_coding: int, octets: bytes) -> str:
    """Text of a short_message by its data_coding: GSM (0), Latin-1 (3), UCS-2 (8)."""
    if data_coding == 0x08:
        return octets.decode("utf-16-be", errors="replace")
    if data_coding in (0x03, 0x04):
        return octets.decode("latin-1")
    if data_coding == 0x01:
        return octets.decode("ascii", errors="replace")
    return decode_gsm(octets)


def encode(text: str) -> tuple[int, bytes]:
    """(data_coding, octets) for the automatic choice of encoding."""
    if is_gsm(text):
        return DATA_CODING["GSM-7"], encode_gsm(text)
    return DATA_CODING["UCS-2"], text.encode("utf-16-be")
