"""Concatenated SMS: cutting long texts into parts, and putting incoming parts back together.

Pure Python: no Twisted, time comes in as ``now`` (seconds, any monotonic origin).

Four ways to carry a long text (``Method``):

- ``"udh8"``: a 6-octet UDH with IEI 0x00 (8-bit reference) in every part;
- ``"udh16"``: a 7-octet UDH with IEI 0x08 (16-bit reference);
- ``"sar"``: the sar_* TLVs, parts sized as for ``"udh8"`` so the SMSC can add that UDH;
- ``"payload"``: the whole text in one message_payload TLV.

A text that fits one SMS is always sent as-is in short_message, whatever the method.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from gatewayd.errors import ValidationError
from gatewayd.smpp.pdu import ESME_RINVMSGLEN, Pdu, Tlvs
from gatewayd.smpp.text import (
    DATA_CODING,
    LIMITS,
    Encoding,
    alphabet,
    choose_encoding,
    chunk,
    decode,
    encode_text,
    unpack_gsm,
)
from gatewayd.smpp.tlv import (
    MESSAGE_PAYLOAD,
    SAR_MSG_REF_NUM,
    SAR_SEGMENT_SEQNUM,
    SAR_TOTAL_SEGMENTS,
)

Method = Literal["udh8", "udh16", "sar", "payload"]

UDHI = 0x40  # esm_class: short_message starts with a user data header
IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08
MAX_PARTS = 255  # the part counters are one octet in both UDHs and in sar_total_segments
MAX_PAYLOAD = 0xFFFF  # a TLV length is two octets

_UDH_LENGTH: dict[Method, int] = {"udh8": 6, "udh16": 7, "sar": 0, "payload": 0}


@dataclass(frozen=True)
class Part:
    """One submit_sm's worth of a text: OR ``esm_class`` into the PDU's and add ``tlvs``."""

    short_message: bytes
    esm_class: int
    data_coding: int
    tlvs: Tlvs = ()


def _fill_bits(udh_length: int) -> int:
    """Zero bits after a UDH of ``udh_length`` octets so that text starts on a septet."""
    return -(udh_length * 8) % 7


def _multi_limit(encoding: Encoding, method: Method) -> int:
    # 8-bit UDH limits are the reference; the 16-bit UDH costs one more octet: one septet
    # (its 56 bits need no fill), one Latin-1 octet, or a whole UCS-2 unit.
    return LIMITS[encoding][1] - (1 if method == "udh16" else 0)


def split(
    text: str,
    method: Method,
    reference: int,
    packed: bool = False,
    *,
    encoding: Encoding | None = None,
) -> list[Part]:
    """The parts that carry ``text``: one if it fits a single SMS, else one per segment.

    ``encoding`` defaults to the automatic choice (GSM-7 if it fits, else UCS-2); ``packed``
    packs GSM-7 septets, aligned after the UDH. ``reference`` is taken modulo 256 for
    ``"udh8"`` and 65536 otherwise, so a plain counter will do. ValidationError if the text
    needs more than 255 parts, is too long for message_payload, or does not fit a forced
    ``encoding``.
    """
    chosen = encoding or choose_encoding(text)
    coding = DATA_CODING[chosen]
    single, _ = LIMITS[chosen]
    multi = single if method == "payload" else _multi_limit(chosen, method)
    fill = _fill_bits(_UDH_LENGTH[method]) if packed and chosen == "GSM-7" else None
    pieces = chunk(text, chosen, single, multi, fill_bits=fill)
    if method == "payload" and len(pieces) > 1:
        return [_payload_part(text, chosen, packed, coding)]
    if len(pieces) > MAX_PARTS:
        raise ValidationError(
            f"text needs {len(pieces)} parts, more than {MAX_PARTS}", smpp_status=ESME_RINVMSGLEN
        )
    if len(pieces) == 1:
        return [Part(_encode(text, chosen, packed, 0), 0, coding)]
    total = len(pieces)
    return [
        _segment(piece, chosen, packed, method, reference, total, seq)
        for seq, piece in enumerate(pieces, start=1)
    ]


def _encode(text: str, encoding: Encoding, packed: bool, udh_length: int) -> bytes:
    try:
        return encode_text(text, encoding, packed, _fill_bits(udh_length))
    except ValueError as e:
        raise ValidationError(f"text does not fit {encoding}: {e}") from None


def _payload_part(text: str, encoding: Encoding, packed: bool, coding: int) -> Part:
    octets = _encode(text, encoding, packed, 0)
    if len(octets) > MAX_PAYLOAD:
        raise ValidationError(
            f"text takes {len(octets)} octets, more than message_payload's {MAX_PAYLOAD}",
            smpp_status=ESME_RINVMSGLEN,
        )
    return Part(b"", 0, coding, ((MESSAGE_PAYLOAD, octets),))


def _segment(
    piece: str, encoding: Encoding, packed: bool, method: Method, ref: int, total: int, seq: int
) -> Part:
    coding = DATA_CODING[encoding]
    udh_length = _UDH_LENGTH[method]
    body = _encode(piece, encoding, packed, udh_length)
    if method == "udh8":
        udh = bytes((5, IEI_CONCAT_8, 3, ref & 0xFF, total, seq))
        return Part(udh + body, UDHI, coding)
    if method == "udh16":
        udh = bytes((6, IEI_CONCAT_16, 4)) + (ref & 0xFFFF).to_bytes(2, "big")
        return Part(udh + bytes((total, seq)) + body, UDHI, coding)
    tlvs = (
        (SAR_MSG_REF_NUM, (ref & 0xFFFF).to_bytes(2, "big")),
        (SAR_TOTAL_SEGMENTS, bytes((total,))),
        (SAR_SEGMENT_SEQNUM, bytes((seq,))),
    )
    return Part(body, 0, coding, tlvs)


# --- reassembly -------------------------------------------------------------------------------

Elements = tuple[tuple[int, bytes], ...]


def parse_udh(short_message: bytes) -> tuple[Elements, bytes]:
    """Split a message that starts with a UDH into its (IEI, data) elements and the payload.

    ValidationError (ESME_RINVMSGLEN) if the UDH length or an element overruns.
    """
    if not short_message or short_message[0] + 1 > len(short_message):
        raise ValidationError("UDH overruns the message", smpp_status=ESME_RINVMSGLEN)
    end = short_message[0] + 1
    elements: list[tuple[int, bytes]] = []
    offset = 1
    while offset < end:
        if offset + 2 > end or offset + 2 + short_message[offset + 1] > end:
            raise ValidationError("UDH element overruns the UDH", smpp_status=ESME_RINVMSGLEN)
        length = short_message[offset + 1]
        elements.append((short_message[offset], short_message[offset + 2 : offset + 2 + length]))
        offset += 2 + length
    return tuple(elements), short_message[end:]


class GroupKey(NamedTuple):
    source: str
    destination: str
    reference: int
    total: int


@dataclass(frozen=True)
class Fragment:
    """One incoming part. ``octets`` is its text, UDH removed and packed GSM unpacked to one
    septet per octet, so parts join before decoding (a sender that split a pair still reads
    right). A message that is not concatenated is a fragment with ``total`` 1."""

    source: str
    destination: str
    data_coding: int
    reference: int
    total: int
    seq: int
    octets: bytes

    @property
    def key(self) -> GroupKey:
        return GroupKey(self.source, self.destination, self.reference, self.total)


def _tlv(tlvs: Tlvs, tag: int) -> bytes | None:
    return next((value for candidate, value in tlvs if candidate == tag), None)


def _udh_concat(elements: Elements) -> tuple[int, int, int] | None:
    for iei, data in elements:
        if iei == IEI_CONCAT_8 and len(data) == 3:
            return data[0], data[1], data[2]
        if iei == IEI_CONCAT_16 and len(data) == 4:
            return int.from_bytes(data[:2], "big"), data[2], data[3]
    return None


def _sar_concat(tlvs: Tlvs) -> tuple[int, int, int] | None:
    ref, total, seq = (
        _tlv(tlvs, tag) for tag in (SAR_MSG_REF_NUM, SAR_TOTAL_SEGMENTS, SAR_SEGMENT_SEQNUM)
    )
    if not (ref and total and seq):
        return None
    return int.from_bytes(ref, "big"), int.from_bytes(total, "big"), int.from_bytes(seq, "big")


def concat_info(elements: Elements, tlvs: Tlvs) -> tuple[int, int, int] | None:
    """(reference, total, seq) from the first concatenation IE, else from the SAR TLVs."""
    found = _udh_concat(elements) or _sar_concat(tlvs)
    # 23.040 §9.2.3.24.1: a receiver ignores an IE whose sequence number is 0 or past the
    # total; the part is then read as a message of its own rather than dropped.
    if found is None or not 1 <= found[2] <= found[1]:
        return None
    return found


def fragment_of(
    source: str,
    destination: str,
    *,
    esm_class: int,
    data_coding: int,
    short_message: bytes,
    tlvs: Tlvs = (),
    packed: bool = False,
) -> Fragment:
    """The fragment a deliver_sm, data_sm or submit_sm carries; the text is short_message, or
    message_payload when short_message is empty. ``packed`` says GSM text is 7-bit packed."""
    body = short_message or _tlv(tlvs, MESSAGE_PAYLOAD) or b""
    elements: Elements = ()
    payload = body
    if esm_class & UDHI:
        elements, payload = parse_udh(body)
    if packed and alphabet(data_coding) == "gsm":
        payload = unpack_gsm(payload, _fill_bits(len(body) - len(payload)) if elements else 0)
    reference, total, seq = concat_info(elements, tlvs) or (0, 1, 1)
    return Fragment(source, destination, data_coding, reference, total, seq, payload)


def fragment_of_pdu(pdu: Pdu, packed: bool = False) -> Fragment:
    """:func:`fragment_of` for a decoded PDU; addresses are read as ASCII."""
    return fragment_of(
        pdu.bytes_field("source_addr").decode("ascii", "replace"),
        pdu.bytes_field("destination_addr").decode("ascii", "replace"),
        esm_class=pdu.int_field("esm_class"),
        data_coding=pdu.int_field("data_coding"),
        short_message=pdu.bytes_field("short_message"),
        tlvs=pdu.tlvs,
        packed=packed,
    )


def join_text(fragments: Sequence[Fragment]) -> str:
    """The text of ``fragments`` in order: octets of consecutive parts with one data_coding
    are joined before decoding, so a pair split by the sender still decodes."""
    out: list[str] = []
    run: list[Fragment] = []
    for fragment in fragments:
        if run and (fragment.data_coding != run[-1].data_coding or fragment.seq != run[-1].seq + 1):
            out.append(decode(run[0].data_coding, b"".join(f.octets for f in run)))
            run = []
        run.append(fragment)
    if run:
        out.append(decode(run[0].data_coding, b"".join(f.octets for f in run)))
    return "".join(out)


@dataclass(frozen=True)
class Message:
    """A complete message: every part arrived (or it was never split)."""

    source: str
    destination: str
    data_coding: int
    text: str
    parts: int


@dataclass(frozen=True)
class Partial:
    """An incomplete group the reassembler gave up on, handed back for the caller to decide."""

    key: GroupKey
    started: float
    reason: Literal["expired", "evicted"]
    fragments: tuple[Fragment, ...]  # by seq

    @property
    def missing(self) -> tuple[int, ...]:
        have = {f.seq for f in self.fragments}
        return tuple(seq for seq in range(1, self.key.total + 1) if seq not in have)

    @property
    def text(self) -> str:
        """The parts that did arrive, in order, missing ones left out."""
        return join_text(self.fragments)


@dataclass(frozen=True)
class Added:
    """What :meth:`Reassembler.add` did: the completed message, if any, and the groups it
    had to evict to stay within its bounds."""

    message: Message | None = None
    evicted: tuple[Partial, ...] = ()


@dataclass
class _Group:
    started: float
    fragments: dict[int, Fragment]
    octets: int = 0


class Reassembler:
    """Collects concatenated parts (8-bit UDH, 16-bit UDH or SAR, in any order) by
    (source, destination, reference, total) until the group is complete.

    A part whose seq already arrived is ignored (the first copy wins). A late copy that
    arrives after its group completed starts a new group, which later expires as a Partial.
    Groups older than ``timeout`` seconds (from their first part) are handed back by
    :meth:`expire`, which the caller runs periodically (see :meth:`next_deadline`).

    Memory is bounded: at most ``max_groups`` groups and ``max_octets`` octets of text held
    in all; past either bound the oldest groups are evicted and handed back in
    :attr:`Added.evicted`. Nothing is dropped without being handed back.
    """

    def __init__(
        self, timeout: float = 300.0, max_groups: int = 10_000, max_octets: int = 16 << 20
    ) -> None:
        if timeout <= 0 or max_groups < 1 or max_octets < 1:
            raise ValueError("timeout, max_groups and max_octets must be positive")
        self.timeout = timeout
        self.max_groups = max_groups
        self.max_octets = max_octets
        # Insertion order is start order (``now`` never goes back), so the oldest is first.
        self._groups: dict[GroupKey, _Group] = {}
        self._octets = 0

    def __len__(self) -> int:
        return len(self._groups)

    @property
    def octets(self) -> int:
        return self._octets

    def add(self, fragment: Fragment, now: float) -> Added:
        """Take one part; the message comes back in :attr:`Added.message` once complete."""
        if fragment.total == 1:
            return Added(self._message([fragment]))
        group = self._groups.setdefault(fragment.key, _Group(now, {}))
        if fragment.seq in group.fragments:
            return Added()
        group.fragments[fragment.seq] = fragment
        group.octets += len(fragment.octets)
        self._octets += len(fragment.octets)
        if len(group.fragments) == fragment.total:
            self._drop(fragment.key)
            return Added(self._message([group.fragments[s] for s in sorted(group.fragments)]))
        return Added(evicted=self._evict())

    def expire(self, now: float) -> list[Partial]:
        """Remove and return the groups whose first part came ``timeout`` or more ago."""
        expired: list[Partial] = []
        for key, group in list(self._groups.items()):
            if now - group.started < self.timeout:
                break
            expired.append(self._partial(key, "expired"))
        return expired

    def next_deadline(self) -> float | None:
        """When the oldest pending group expires, or None if nothing is pending."""
        oldest = next(iter(self._groups.values()), None)
        return None if oldest is None else oldest.started + self.timeout

    def pending(self) -> Mapping[GroupKey, tuple[int, ...]]:
        """The seqs received so far for each incomplete group."""
        return {key: tuple(sorted(g.fragments)) for key, g in self._groups.items()}

    def _evict(self) -> tuple[Partial, ...]:
        evicted: list[Partial] = []
        while len(self._groups) > self.max_groups or self._octets > self.max_octets:
            evicted.append(self._partial(next(iter(self._groups)), "evicted"))
        return tuple(evicted)

    def _partial(self, key: GroupKey, reason: Literal["expired", "evicted"]) -> Partial:
        group = self._drop(key)
        fragments = tuple(group.fragments[s] for s in sorted(group.fragments))
        return Partial(key, group.started, reason, fragments)

    def _drop(self, key: GroupKey) -> _Group:
        group = self._groups.pop(key)
        self._octets -= group.octets
        return group

    @staticmethod
    def _message(fragments: list[Fragment]) -> Message:
        first = fragments[0]
        text = join_text(fragments)
        return Message(first.source, first.destination, first.data_coding, text, len(fragments))
