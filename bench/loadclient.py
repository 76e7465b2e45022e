"""An ESME load generator, run as a process of its own: its CPU time is its own and not the
gateway's, and it drives the gateway only as a customer's application would, over SMPP.

``python -m bench.loadclient --host H --port P --system-id S --window W --count N --parts 1|3
[--receipts] [--timeout 120] [--binds 1] [--rate R [--duration S] [--interval 10]
[--acked-file F]]``; the password comes from $BENCH_PASSWORD, never from the command line. It
binds transceiver(s), keeps W submit_sm outstanding per bind, answers every deliver_sm, waits
for the receipts it expects (one per acknowledged submit_sm, as an SMSC sends them), unbinds
and prints one JSON object.

With ``--rate R`` (paced mode) it offers R messages per second, steadily, for ``--duration``
seconds (``--count`` defaults to R x duration): the window only caps what is outstanding, and
a message it holds back for a full window is sent late (``backlog``). Every ``--interval``
seconds it prints one JSON line ``{"interval": ...}`` with that interval's submits, answers,
ESME_RTHROTTLED and other errors, receipts, backlog and submit_sm_resp latency p50/p95/p99/max,
as the run goes (a run cut short keeps what it printed); the summary, last, also holds them
all. Throttled messages are not sent again. ``--acked-file`` gets the acknowledged message ids,
one a line, for the caller to look up.

The hot loop must stay well above 10,000 submit_sm/s on its own: frames are spliced from
pre-encoded pieces (only the sequence number, destination and concatenation reference
change), submit_sm_resp is read from its header, writes are batched per read, and only
deliver_sm goes through the full decoder.

The JSON: ``msg_per_s`` counts the messages whose submits were all acknowledged, over
``elapsed`` (first submit sent to last response); ``receipts_per_s`` counts receipts
(deliver_sm with esm_class & 0x04) over ``receipts_elapsed`` (first submit to last receipt);
``receipts_matched`` those whose receipted_message_id is one of our acknowledged ids;
``errors`` counts non-zero command_status by name; latencies are submit_sm to submit_sm_resp.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from gatewayd.smpp import pdu as p
from gatewayd.smpp.concat import UDHI, split
from gatewayd.smpp.pdu import HEADER, Fields, Pdu, PduError, PduReader, decode, encode
from gatewayd.smpp.tlv import RECEIPTED_MESSAGE_ID

PASSWORD_ENV = "BENCH_PASSWORD"
ESM_RECEIPT = 0x04
#: The destination used while pre-encoding; each message gets its own in its place.
DEST_MARK = b"491519999999"
#: 400 GSM-7 characters: three parts of at most 153 with an 8-bit concatenation UDH.
LONG_TEXT = ("Load test long message, part of a benchmark of gatewayd. " * 8)[:400]
SHORT_TEXT = "Load test message from bench.loadclient, 40+ characters long."
REFS = [bytes((i,)) for i in range(256)]
UNBIND_WAIT = 5.0


@dataclass(frozen=True)
class Plan:
    host: str
    port: int
    system_id: str
    password: str
    window: int
    count: int
    parts: int
    receipts: bool
    timeout: float
    binds: int
    rate: float = 0.0  # messages per second; 0: as fast as the window allows
    interval: float = 10.0


@dataclass
class Interval:
    """What happened in one interval of a paced run."""

    sent: int = 0
    answered: int = 0
    acked: int = 0
    throttled: int = 0
    errors: int = 0
    receipts: int = 0
    latencies: list[float] = field(default_factory=list)

    def report(self, start: float, end: float, backlog: int) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "start_s": round(start, 3),
            "end_s": round(end, 3),
            "sent": self.sent,
            "answered": self.answered,
            "acked": self.acked,
            "throttled": self.throttled,
            "errors": self.errors,
            "receipts": self.receipts,
            "backlog": backlog,
            "p50_ms": round(percentile(ordered, 0.50), 3),
            "p95_ms": round(percentile(ordered, 0.95), 3),
            "p99_ms": round(percentile(ordered, 0.99), 3),
            "max_ms": round(ordered[-1] * 1000, 3) if ordered else 0.0,
        }


@dataclass(frozen=True)
class Piece:
    """One pre-encoded submit_sm: ``head + sequence + pre + destination + mid``, then
    ``ref + post`` when the part carries a concatenation UDH (``with_ref``)."""

    head: bytes
    pre: bytes
    mid: bytes
    post: bytes
    with_ref: bool


def destination(message: int) -> bytes:
    return b"4915100%05d" % (message % 100_000)  # possible German mobile numbers


def pieces(parts: int, receipts: bool) -> list[Piece]:
    """The submit_sm frames of one message, cut around what changes per message."""
    text = LONG_TEXT if parts == 3 else SHORT_TEXT
    # Encoded with reference 0xA5, found again by the UDH prefix that ends with it.
    cut = split(text, "udh8", 0xA5)
    if len(cut) != parts:
        raise ValueError(f"the text makes {len(cut)} parts, not {parts}")
    result = []
    for part in cut:
        fields: Fields = {
            "source_addr_ton": 5,
            "source_addr": b"BENCH",
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": DEST_MARK,
            "esm_class": part.esm_class,
            "registered_delivery": 1 if receipts else 0,
            "data_coding": part.data_coding,
            "short_message": part.short_message,
        }
        frame = encode(Pdu(p.SUBMIT_SM, p.ESME_ROK, 0, fields, part.tlvs))
        assert frame.count(DEST_MARK) == 1
        dest_at = frame.index(DEST_MARK)
        head, pre, rest = frame[:12], frame[16:dest_at], frame[dest_at + len(DEST_MARK) :]
        if part.esm_class & UDHI:
            udh = bytes((5, 0, 3, 0xA5))
            ref_at = rest.index(udh) + 3
            result.append(Piece(head, pre, rest[:ref_at], rest[ref_at + 1 :], True))
        else:
            result.append(Piece(head, pre, rest, b"", False))
    return result


@dataclass
class Totals:
    """What every bind adds to, and the shared supply of messages."""

    plan: Plan
    next_message: int = 0
    sent: int = 0
    answered: int = 0
    acked: int = 0
    messages_acked: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    acked_ids: set[bytes] = field(default_factory=set)
    receipt_ids: list[bytes] = field(default_factory=list)
    receipts: int = 0
    mo: int = 0
    undecodable: int = 0
    first_send: float = 0.0
    last_resp: float = 0.0
    last_receipt: float = 0.0
    parts_left: bytearray = field(default_factory=bytearray)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    #: Messages that may be taken from the supply by now: all of them, unless paced.
    allowed: int = 0
    now: Interval = field(default_factory=Interval)
    intervals: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.allowed = 0 if self.plan.rate else self.plan.count

    def check_done(self) -> None:
        plan = self.plan
        if self.next_message < plan.count or self.sent != self.answered:
            return
        if not plan.receipts or self.receipts >= self.acked:
            self.done.set()


class Esme(asyncio.Protocol):
    """One transceiver bind sending from the shared supply of messages."""

    def __init__(self, totals: Totals, pieces: list[Piece]) -> None:
        self.totals = totals
        self.pieces = pieces
        self.reader = PduReader(1 << 20)
        self.transport: asyncio.Transport | None = None
        self.sequence = 1
        self.outstanding = 0
        self.sent_at: dict[int, tuple[float, int]] = {}
        # The message being sent, its destination and reference, and its next part.
        self.message, self.dest, self.ref = -1, b"", b""
        self.part = len(pieces)
        self.sending = False
        self.waiting: dict[int, asyncio.Future[Pdu]] = {}
        self.closed = asyncio.get_running_loop().create_future()
        self.deliver_resp = encode(Pdu(p.DELIVER_SM_RESP, p.ESME_ROK, 0, {"message_id": b""}))

    # --- set-up and tear-down ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("connection closed"))

    def request(self, command_id: int, fields: Fields) -> asyncio.Future[Pdu]:
        """Send a request outside the hot loop (bind, unbind) and await its response."""
        assert self.transport is not None
        self.sequence += 1
        future = asyncio.get_running_loop().create_future()
        self.waiting[self.sequence] = future
        self.transport.write(encode(Pdu(command_id, p.ESME_ROK, self.sequence, fields)))
        return future

    def start(self) -> None:
        self.sending = True
        self.fill()

    # --- the hot loop -----------------------------------------------------------------------

    def fill(self) -> None:
        """Send parts until the window is full or the supply runs out, in one write."""
        totals, pieces, window = self.totals, self.pieces, self.totals.plan.window
        count, nparts = totals.allowed, len(pieces)
        frames: list[bytes] = []
        now = time.perf_counter()
        sent_at, sequence, part = self.sent_at, self.sequence, self.part
        message, dest, ref = self.message, self.dest, self.ref
        room = window - self.outstanding
        sent = 0
        while sent < room:
            if part == nparts:
                if totals.next_message >= count:
                    break
                message, part = totals.next_message, 0
                totals.next_message += 1
                dest, ref = destination(message), REFS[message & 0xFF]
            piece = pieces[part]
            sequence += 1
            frames += (piece.head, sequence.to_bytes(4, "big"), piece.pre, dest, piece.mid)
            if piece.with_ref:
                frames += (ref, piece.post)
            sent_at[sequence] = (now, message)
            part += 1
            sent += 1
        if sent:
            if not totals.sent:
                totals.first_send = now
            totals.sent += sent
            totals.now.sent += sent
            self.outstanding += sent
            assert self.transport is not None
            self.transport.write(b"".join(frames))
        self.sequence, self.part, self.message, self.dest, self.ref = (
            sequence,
            part,
            message,
            dest,
            ref,
        )

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.reader.feed(data)
        except PduError as error:
            print(f"loadclient: framing lost: {error}", file=sys.stderr)
            assert self.transport is not None
            self.transport.close()
            return
        totals = self.totals
        replies: list[bytes] = []
        unpack = HEADER.unpack_from
        for frame in frames:
            _, command_id, status, sequence = unpack(frame)
            if command_id == p.SUBMIT_SM_RESP:
                self.on_submit_resp(frame, status, sequence, time.perf_counter())
            elif command_id == p.DELIVER_SM:
                self.on_deliver(frame, sequence, replies)
            else:
                self.on_other(frame, command_id, status, sequence, replies)
        if replies:
            assert self.transport is not None
            self.transport.write(b"".join(replies))
        if self.sending:
            self.fill()
        totals.check_done()

    def on_submit_resp(self, frame: bytes, status: int, sequence: int, now: float) -> None:
        sent = self.sent_at.pop(sequence, None)
        if sent is None:
            self.totals.errors["unexpected submit_sm_resp"] += 1
            return
        totals = self.totals
        interval = totals.now
        self.outstanding -= 1
        totals.answered += 1
        interval.answered += 1
        latency = now - sent[0]
        totals.latencies.append(latency)
        interval.latencies.append(latency)
        totals.last_resp = now
        message = sent[1]
        if status:
            totals.errors[p.status_name(status)] += 1
            if status == p.ESME_RTHROTTLED:
                interval.throttled += 1
            else:
                interval.errors += 1
            totals.parts_left[message] = 255  # never counts as acknowledged
            return
        totals.acked += 1
        interval.acked += 1
        totals.acked_ids.add(frame[16 : frame.index(b"\0", 16)])
        left = totals.parts_left[message] - 1
        totals.parts_left[message] = left
        if not left:
            totals.messages_acked += 1

    def on_deliver(self, frame: bytes, sequence: int, replies: list[bytes]) -> None:
        resp = self.deliver_resp
        replies.append(resp[:12] + sequence.to_bytes(4, "big") + resp[16:])
        totals = self.totals
        try:
            pdu = decode(frame)
        except PduError:
            totals.undecodable += 1
            return
        if pdu.int_field("esm_class") & ESM_RECEIPT:
            totals.receipts += 1
            totals.now.receipts += 1
            totals.last_receipt = time.perf_counter()
            receipted = pdu.tlv(RECEIPTED_MESSAGE_ID)
            if receipted is not None:
                totals.receipt_ids.append(receipted.rstrip(b"\0"))
        else:
            totals.mo += 1

    def on_other(
        self, frame: bytes, command_id: int, status: int, sequence: int, replies: list[bytes]
    ) -> None:
        if command_id == p.ENQUIRE_LINK:
            replies.append(encode(Pdu(p.ENQUIRE_LINK_RESP, p.ESME_ROK, sequence)))
        elif command_id == p.UNBIND:
            replies.append(encode(Pdu(p.UNBIND_RESP, p.ESME_ROK, sequence)))
            self.sending = False
        elif command_id == p.GENERIC_NACK and sequence in self.sent_at:
            self.on_submit_resp(frame, status or p.ESME_RUNKNOWNERR, sequence, time.perf_counter())
        elif sequence in self.waiting:
            future = self.waiting.pop(sequence)
            if not future.done():
                future.set_result(decode(frame))
        elif not command_id & p.RESPONSE_BIT:
            replies.append(encode(Pdu(p.GENERIC_NACK, p.ESME_RINVCMDID, sequence)))


async def bind(plan: Plan, totals: Totals, templates: list[Piece]) -> Esme:
    loop = asyncio.get_running_loop()
    _, esme = await loop.create_connection(lambda: Esme(totals, templates), plan.host, plan.port)
    resp = await asyncio.wait_for(
        esme.request(
            p.BIND_TRANSCEIVER,
            {
                "system_id": plan.system_id.encode("ascii"),
                "password": plan.password.encode("ascii"),
                "interface_version": 0x34,
            },
        ),
        30,
    )
    if resp.status:
        raise ConnectionError(f"bind refused: {p.status_name(resp.status)}")
    return esme


async def unbind(esme: Esme) -> None:
    if esme.transport is None or esme.closed.done():
        return
    esme.sending = False
    with contextlib.suppress(TimeoutError, ConnectionError):
        await asyncio.wait_for(esme.request(p.UNBIND, {}), UNBIND_WAIT)
    esme.transport.close()
    await asyncio.wait_for(esme.closed, UNBIND_WAIT)


#: How often a paced run releases the messages due (and ends an interval when one is over).
TICK = 0.005


async def pace(totals: Totals, esmes: list[Esme]) -> None:
    """Release ``rate`` messages a second to the binds, and print each interval's figures."""
    plan = totals.plan
    start = time.perf_counter()
    interval_start = 0.0
    while True:
        elapsed = time.perf_counter() - start
        totals.allowed = min(plan.count, int(plan.rate * elapsed) + 1)
        for esme in esmes:
            if esme.sending:
                esme.fill()
        if elapsed - interval_start >= plan.interval or totals.done.is_set():
            backlog = totals.allowed - totals.next_message
            report = totals.now.report(interval_start, elapsed, backlog)
            totals.intervals.append(report)
            print(json.dumps({"interval": report}), flush=True)
            totals.now, interval_start = Interval(), elapsed
            if totals.done.is_set():
                return
        totals.check_done()
        await asyncio.sleep(TICK)


async def run(plan: Plan, acked_file: str | None = None) -> dict[str, Any]:
    templates = pieces(plan.parts, plan.receipts)
    totals = Totals(plan, parts_left=bytearray([plan.parts]) * plan.count)
    esmes = [await bind(plan, totals, templates) for _ in range(plan.binds)]
    for esme in esmes:
        esme.start()
    pacing = asyncio.ensure_future(pace(totals, esmes)) if plan.rate else None
    totals.check_done()
    timed_out = False
    try:
        await asyncio.wait_for(totals.done.wait(), plan.timeout)
    except TimeoutError:
        timed_out = True
    if pacing is not None:
        totals.done.set()  # the last, partial interval is reported
        await pacing
    for esme in esmes:
        await unbind(esme)
    if acked_file:
        with open(acked_file, "wb") as out:
            out.writelines(message_id + b"\n" for message_id in totals.acked_ids)
    return summary(totals, timed_out)


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of a sorted list, in milliseconds."""
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
    return ordered[rank] * 1000


def summary(totals: Totals, timed_out: bool) -> dict[str, Any]:
    plan = totals.plan
    elapsed = max(totals.last_resp - totals.first_send, 0.0)
    receipts_elapsed = max(totals.last_receipt - totals.first_send, 0.0) if totals.receipts else 0
    ordered = sorted(totals.latencies)
    return {
        "messages": plan.count,
        "parts": plan.parts,
        "window": plan.window,
        "binds": plan.binds,
        "submits": totals.sent,
        "acked": totals.acked,
        "messages_acked": totals.messages_acked,
        "errors": dict(totals.errors),
        "elapsed": round(elapsed, 4),
        "msg_per_s": round(totals.messages_acked / elapsed, 1) if elapsed else 0.0,
        "submits_per_s": round(totals.acked / elapsed, 1) if elapsed else 0.0,
        "receipts": totals.receipts,
        "receipts_expected": totals.acked if plan.receipts else 0,
        "receipts_matched": len(totals.acked_ids.intersection(totals.receipt_ids)),
        "receipts_elapsed": round(receipts_elapsed, 4),
        "receipts_per_s": round(totals.receipts / receipts_elapsed, 1) if receipts_elapsed else 0,
        "mo": totals.mo,
        "undecodable": totals.undecodable,
        "p50_ms": round(percentile(ordered, 0.50), 3),
        "p99_ms": round(percentile(ordered, 0.99), 3),
        "max_ms": round(ordered[-1] * 1000, 3) if ordered else 0.0,
        "timed_out": timed_out,
        **paced(totals, ordered),
    }


def paced(totals: Totals, ordered: list[float]) -> dict[str, Any]:
    """The summary's extra keys in paced mode."""
    if not totals.plan.rate:
        return {}
    return {
        "rate": totals.plan.rate,
        "throttled": totals.errors.get(p.status_name(p.ESME_RTHROTTLED), 0),
        "p95_ms": round(percentile(ordered, 0.95), 3),
        "intervals": totals.intervals,
    }


def parse(argv: list[str], environ: dict[str, str]) -> tuple[Plan, str | None]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.loadclient",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--system-id", required=True)
    parser.add_argument("--window", type=int, default=10, help="submit_sm outstanding per bind")
    parser.add_argument("--count", type=int, help="messages to send")
    parser.add_argument("--parts", type=int, choices=(1, 3), default=1)
    parser.add_argument("--receipts", action="store_true", help="ask for and await receipts")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for it all")
    parser.add_argument("--binds", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0.0, help="paced: messages per second")
    parser.add_argument("--duration", type=float, help="paced: seconds of load (sets --count)")
    parser.add_argument("--interval", type=float, default=10.0, help="paced: seconds per report")
    parser.add_argument("--acked-file", help="write the acknowledged message ids here")
    args = parser.parse_args(argv)
    password = environ.get(PASSWORD_ENV, "")
    if not password:
        parser.error(f"set ${PASSWORD_ENV} to the bind password")
    if args.rate < 0 or args.interval <= 0:
        parser.error("--rate must be 0 or more and --interval more than 0")
    if args.duration is not None:
        if not args.rate or args.count is not None:
            parser.error("--duration goes with --rate, instead of --count")
        args.count = math.ceil(args.rate * args.duration)
    if args.count is None:
        parser.error("give --count (or --rate and --duration)")
    if args.window < 1 or args.count < 1 or args.binds < 1:
        parser.error("--window, --count and --binds must be at least 1")
    return Plan(
        args.host, args.port, args.system_id, password, args.window, args.count, args.parts,
        args.receipts, args.timeout, args.binds, args.rate, args.interval,
    ), args.acked_file  # fmt: skip


def main(argv: list[str]) -> int:
    plan, acked_file = parse(argv, dict(os.environ))
    # The hot loop makes no reference cycles; collections would only add pauses to the
    # latencies being measured, as the latency list and id set grow.
    gc.disable()
    try:
        result = asyncio.run(run(plan, acked_file))
    except (OSError, ConnectionError, TimeoutError) as error:
        print(f"loadclient: {error or type(error).__name__}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0 if not result["timed_out"] else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
