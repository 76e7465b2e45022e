"""Message text: GSM 03.38, Latin-1 and UCS-2 encodings, and how many SMS parts a text takes.

Pure Python. ``segments`` is the one counting rule, shared by the server and the web counter;
:mod:`gatewayd.smpp.concat` cuts long texts with the same :func:`chunk` so the two always agree.

GSM text goes to SMSCs as unpacked septets (one per octet) unless a connector asks for 7-bit
packing. Packed text follows 3GPP TS 23.038 §6.1.2.1: septets are laid LSB first after
``fill_bits`` zero bits (the padding that puts the first septet on a septet boundary after a
UDH), and a message that would end with 7 spare bits gets a <CR> pad, so that an SMSC counting
``octets * 8 // 7`` septets does not read a stray "@". A wanted final <CR> that ends exactly on
an octet boundary is followed by a second <CR>, which the spec deems equivalent.
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
_ESCAPE = 0x1B
_CR = 0x0D
# C-speed paths (str.translate, set tests) for the hot loops; the tables say the same as above.
_GSM_CHARS = frozenset(_BASIC_INDEX) | frozenset(GSM_EXTENSION)
_TO_SEPTETS = {ord(ch): i for ch, i in _BASIC_INDEX.items()} | {
    ord(ch): "\x1b" + chr(code) for ch, code in GSM_EXTENSION.items()
}
_FROM_SEPTETS = {i: ch for i, ch in enumerate(GSM_BASIC)} | {
    i + 0x80: ch for i, ch in enumerate(GSM_BASIC)
}

Encoding = Literal["GSM-7", "LATIN-1", "UCS-2"]
DATA_CODING: dict[Encoding, int] = {"GSM-7": 0x00, "LATIN-1": 0x03, "UCS-2": 0x08}
#: Units per message: a single SMS, or a part carrying the 6-octet concatenation UDH.
#: GSM-7 counts septets, Latin-1 octets, UCS-2 UTF-16 code units (an emoji takes two).
LIMITS: dict[Encoding, tuple[int, int]] = {
    "GSM-7": (160, 153),
    "LATIN-1": (140, 134),
    "UCS-2": (70, 67),
}


@dataclass(frozen=True)
class Segments:
    encoding: Encoding
    characters: int
    parts: int


def is_gsm(text: str) -> bool:
    return _GSM_CHARS.issuperset(text)


def choose_encoding(text: str) -> Encoding:
    """The automatic choice: GSM-7 when every character fits, otherwise UCS-2."""
    return "GSM-7" if is_gsm(text) else "UCS-2"


def units(text: str, encoding: Encoding) -> list[int]:
    """The width of each character in the encoding's units (septets, octets or UTF-16 units)."""
    if encoding == "GSM-7":
        return [2 if ch in GSM_EXTENSION else 1 for ch in text]
    if encoding == "LATIN-1":
        return [1] * len(text)
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _fits(used: int, limit: int, last: str, cr_guard: bool) -> bool:
    return used < limit or (used == limit and not (cr_guard and last == "\r"))


def _cr_guard(encoding: Encoding, fill_bits: int | None, limit: int) -> bool:
    # A packed part that ends exactly on an octet boundary with a <CR> needs a second <CR>
    # (see the module docstring), which does not fit when the part is full.
    return encoding == "GSM-7" and fill_bits is not None and (fill_bits + 7 * limit) % 8 == 0


def _cr_on_boundary(last: str, septets: int, fill_bits: int | None) -> bool:
    return last == "\r" and fill_bits is not None and (fill_bits + 7 * septets) % 8 == 0


def chunk(
    text: str, encoding: Encoding, single: int, multi: int, *, fill_bits: int | None = None
) -> list[str]:
    """Cut ``text`` into parts of at most ``single`` units if it fits in one, else ``multi``.

    Cuts fall between characters, so a GSM escape pair or a UTF-16 surrogate pair (one
    Python character each) is never split. ``fill_bits`` is given when GSM-7 will be packed
    after that many fill bits (a lone message has none). The empty text is one empty part.
    """
    widths = units(text, encoding)
    lone_fill = None if fill_bits is None else 0  # a lone message carries no UDH
    if not text or _fits(sum(widths), single, text[-1], _cr_guard(encoding, lone_fill, single)):
        return [text]
    guard = _cr_guard(encoding, fill_bits, multi)
    parts: list[str] = []
    start = used = 0
    for i, width in enumerate(widths):
        if used and not _fits(used + width, multi, text[i], guard):
            # A packed part ending with <CR> on an octet boundary would show a doubled <CR>
            # mid-message: start the next part with it instead.
            cut = i - 1 if i - 1 > start and _cr_on_boundary(text[i - 1], used, fill_bits) else i
            parts.append(text[start:cut])
            start, used = cut, sum(widths[cut:i])
        used += width
    parts.append(text[start:])
    return parts


def segments(text: str, encoding: Encoding | None = None) -> Segments:
    """Encoding and number of SMS for ``text`` sent with 8-bit concatenation UDHs."""
    chosen = encoding or choose_encoding(text)
    single, multi = LIMITS[chosen]
    parts = len(chunk(text, chosen, single, multi)) if text else 0
    return Segments(chosen, len(text), parts)


def gsm_septets(text: str) -> bytes:
    """One septet per octet; extension characters become an escape pair. KeyError if not GSM."""
    if _GSM_CHARS.issuperset(text):
        return text.translate(_TO_SEPTETS).encode("latin-1")
    out = bytearray()
    for ch in text:
        if ch in GSM_EXTENSION:
            out += bytes((_ESCAPE, GSM_EXTENSION[ch]))
        else:
            out.append(_BASIC_INDEX[ch])
    return bytes(out)


def pack_septets(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets LSB first after ``fill_bits`` zero bits; the last octet is zero-padded."""
    if not septets:
        return b""
    value = 0
    for i, septet in enumerate(septets):
        value |= (septet & 0x7F) << (fill_bits + 7 * i)
    return value.to_bytes((fill_bits + 7 * len(septets) + 7) // 8, "little")


def unpack_septets(octets: bytes, fill_bits: int = 0, count: int | None = None) -> bytes:
    """The septets in ``octets`` after ``fill_bits``: ``count`` of them, or as many as fit."""
    if count is None:
        count = max(0, len(octets) * 8 - fill_bits) // 7
    value = int.from_bytes(octets, "little") >> fill_bits
    return bytes((value >> (7 * i)) & 0x7F for i in range(count))


def _cr_pad(septets: bytes, fill_bits: int) -> bytes:
    end = (fill_bits + 7 * len(septets)) % 8
    if end == 1 or (end == 0 and septets.endswith(b"\r")):
        return septets + b"\r"
    return septets


def encode_gsm(text: str, packed: bool = False, *, fill_bits: int = 0) -> bytes:
    """GSM 03.38 octets: unpacked septets, or packed after ``fill_bits`` with <CR> padding."""
    septets = gsm_septets(text)
    return pack_septets(_cr_pad(septets, fill_bits), fill_bits) if packed else septets


def unpack_gsm(octets: bytes, fill_bits: int = 0) -> bytes:
    """Packed octets to unpacked septets, dropping the <CR> pad of 23.038 §6.1.2.3.1."""
    septets = unpack_septets(octets, fill_bits)
    if septets.endswith(b"\r") and (fill_bits + 7 * len(septets)) % 8 == 0:
        return septets[:-1]
    return septets


def decode_gsm(octets: bytes, packed: bool = False, *, fill_bits: int = 0) -> str:
    """GSM 03.38 octets to text; an unknown escape reads as the escaped basic character."""
    septets = unpack_gsm(octets, fill_bits) if packed else octets
    if _ESCAPE not in septets and 0x9B not in septets:
        return septets.decode("latin-1").translate(_FROM_SEPTETS)
    out: list[str] = []
    escaped = False
    for octet in septets:
        septet = octet & 0x7F
        if escaped:
            out.append(_EXTENSION_CHARS.get(septet, GSM_BASIC[septet]))
            escaped = False
        elif septet == _ESCAPE:
            escaped = True
        else:
            out.append(GSM_BASIC[septet])
    return "".join(out)


def encode_text(text: str, encoding: Encoding, packed: bool = False, fill_bits: int = 0) -> bytes:
    """``text`` in ``encoding``; ValueError (UnicodeError) if a character does not fit.
    ``packed`` and ``fill_bits`` apply to GSM-7 only."""
    if encoding == "GSM-7":
        try:
            return encode_gsm(text, packed, fill_bits=fill_bits)
        except KeyError as e:
            raise ValueError(f"{e.args[0]!r} is not in the GSM 03.38 alphabet") from None
    if encoding == "LATIN-1":
        return text.encode("latin-1")
    # surrogatepass: a stray lone surrogate is sent as its code unit rather than crashing.
    return text.encode("utf-16-be", "surrogatepass")


def encode(text: str) -> tuple[int, bytes]:
    """(data_coding, octets) for the automatic choice of encoding, unpacked."""
    encoding = choose_encoding(text)
    return DATA_CODING[encoding], encode_text(text, encoding)


#: SMPP 3.4 §5.2.19 data_coding values with a character set this module reads; the names
#: that are not "gsm", "ucs-2" or "binary" are Python codec names.
_SMPP_CODINGS: dict[int, str] = {
    0x00: "gsm", 0x01: "ascii", 0x02: "binary", 0x03: "latin-1", 0x04: "binary",
    0x06: "iso8859-5", 0x07: "iso8859-8", 0x08: "ucs-2",
}  # fmt: skip


def alphabet(data_coding: int) -> str | None:
    """The alphabet of a data_coding, by SMPP 3.4 §5.2.19 then the GSM 03.38 DCS groups;
    None when unknown, reserved or compressed."""
    if data_coding in _SMPP_CODINGS:
        return _SMPP_CODINGS[data_coding]
    group = data_coding & 0xF0
    # General data coding with a message class, and its "automatic deletion" twin; SMPP took
    # 0x00-0x0F for itself, and compressed text (bit 5) cannot be read here.
    if group in (0x10, 0x40, 0x50):
        return ("gsm", "binary", "ucs-2", None)[(data_coding >> 2) & 0x03]
    if group in (0xC0, 0xD0):  # message waiting indication, GSM text
        return "gsm"
    if group == 0xE0:  # message waiting indication, UCS-2 text
        return "ucs-2"
    if group == 0xF0:  # data coding / message class: bit 2 picks 8-bit data over GSM
        return "binary" if data_coding & 0x04 else "gsm"
    return None


def decode(data_coding: int, octets: bytes, *, packed: bool = False) -> str:
    """Text of a short_message by its data_coding; never raises.

    GSM is unpacked septets unless ``packed``; UCS-2 is read as UTF-16BE, so surrogate pairs
    give emoji. Octets a charset cannot read become U+FFFD. Binary (2, 4, 8-bit DCS groups) and
    any coding this module does not know (reserved values, JIS, KS C 5601, compressed) are read
    as Latin-1: one character per octet, so nothing is lost and the caller can re-read it.
    """
    name = alphabet(data_coding)
    if name == "gsm":
        return decode_gsm(octets, packed)
    if name == "ascii":
        return octets.decode("ascii", "replace")
    if name == "ucs-2":
        return octets.decode("utf-16-be", "replace")
    if name is None or name in ("latin-1", "binary"):
        return octets.decode("latin-1")
    return octets.decode(name, "replace")
