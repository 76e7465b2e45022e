"""The load client against the built-in simulator on a real socket: every submit answered,
one receipt per part, UDH parts as an ESME sends them, and never more than the window
outstanding. The client is a process of its own, as in the benchmark."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, TypeVar

import pytest_twisted  # type: ignore[import-untyped]
from twisted.internet import reactor
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.utils import getProcessOutputAndValue

from gatewayd.config.model import SmppServerConfig
from gatewayd.smpp.concat import UDHI, parse_udh
from gatewayd.smpp.pdu import Pdu
from gatewayd.smpp.simulator import Behaviour, SimulatorFactory

ROOT = Path(__file__).resolve().parents[2]
F = TypeVar("F", bound=Callable[..., Any])
#: pytest-twisted ships no types; this keeps the tests themselves checked.
inline_callbacks: Callable[[F], F] = pytest_twisted.inlineCallbacks
COUNT, WINDOW = 200, 10


class RecordingSink(SimulatorFactory):
    """Keeps every submission and answers each after ``delay`` seconds, counting how many
    wait at once. Its receive window is wider than the client's, so that the count shows
    the client's own window, not ours."""

    def __init__(self, delay: float) -> None:
        config = SmppServerConfig(system_id="sink", receive_window=5 * WINDOW)
        super().__init__(reactor, delivery_delay=0.01, config=config)
        self.delay = delay
        self.submissions: list[Pdu] = []
        self.in_flight = self.most_in_flight = 0

    def submit(self, system_id: str, pdu: Pdu) -> Deferred[str]:
        self.submissions.append(pdu)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        answer: Deferred[str] = Deferred()
        message_id = super().submit(system_id, pdu)
        reactor.callLater(self.delay, self._answer, answer, message_id)
        return answer

    def _answer(self, answer: Deferred[str], message_id: Deferred[str]) -> None:
        self.in_flight -= 1
        message_id.chainDeferred(answer)


def run_client(port: int, *args: str) -> Deferred[tuple[bytes, bytes, int]]:
    argv = ["-m", "bench.loadclient", "--port", str(port), "--system-id", "bench", *args]
    env = {**os.environ, "BENCH_PASSWORD": "secret"}
    done: Deferred[tuple[bytes, bytes, int]] = getProcessOutputAndValue(
        sys.executable, argv, env=env, path=str(ROOT)
    )
    return done


def load(sink: SimulatorFactory, *args: str) -> Generator[Deferred[Any], Any, dict[str, Any]]:
    port = reactor.listenTCP(0, sink, interface="127.0.0.1")
    try:
        address = port.getHost()
        assert isinstance(address, IPv4Address)
        out, err, code = yield run_client(address.port, *args)
    finally:
        sink.stop()
        stopping = port.stopListening()
        if stopping is not None:
            yield stopping
    assert code == 0, err.decode()
    result: dict[str, Any] = json.loads(out.splitlines()[-1])  # paced: intervals first
    return result


def common_args(parts: int) -> list[str]:
    return ["--window", str(WINDOW), "--count", str(COUNT), "--parts", str(parts), "--receipts"]


def check_latencies(result: dict[str, Any]) -> None:
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"] < 10_000
    assert result["elapsed"] > 0 and result["msg_per_s"] > 0
    assert result["receipts_elapsed"] >= result["elapsed"] and result["receipts_per_s"] > 0


@inline_callbacks
def test_single_parts_fill_the_window_and_get_every_receipt() -> Generator[
    Deferred[Any], Any, None
]:
    sink = RecordingSink(delay=0.002)
    result = yield from load(sink, *common_args(1))
    assert result["errors"] == {} and not result["timed_out"]
    assert result["submits"] == result["acked"] == result["messages_acked"] == COUNT
    assert result["receipts"] == result["receipts_matched"] == result["receipts_expected"] == COUNT
    check_latencies(result)
    assert sink.most_in_flight == WINDOW  # a real window: filled, never exceeded
    assert len(sink.submissions) == COUNT
    destinations = {pdu.bytes_field("destination_addr") for pdu in sink.submissions}
    assert len(destinations) == COUNT
    assert all(d.startswith(b"4915100") and len(d) == 12 for d in destinations)
    assert {pdu.int_field("registered_delivery") for pdu in sink.submissions} == {1}
    assert {pdu.int_field("esm_class") for pdu in sink.submissions} == {0}


@inline_callbacks
def test_three_parts_are_udh_concatenated() -> Generator[Deferred[Any], Any, None]:
    sink = RecordingSink(delay=0.0)
    result = yield from load(sink, *common_args(3))
    assert result["errors"] == {} and not result["timed_out"]
    assert result["submits"] == result["acked"] == 3 * COUNT
    assert result["messages_acked"] == COUNT
    # The simulator sends one receipt per part, as an SMSC does.
    assert result["receipts"] == result["receipts_matched"] == 3 * COUNT
    check_latencies(result)
    by_destination: dict[bytes, list[tuple[int, int, int]]] = {}
    for pdu in sink.submissions:
        assert pdu.int_field("esm_class") == UDHI
        elements, _ = parse_udh(pdu.bytes_field("short_message"))
        ((iei, concat),) = elements
        assert iei == 0 and len(concat) == 3
        ref, total, seq = concat
        by_destination.setdefault(pdu.bytes_field("destination_addr"), []).append((ref, total, seq))
    assert len(by_destination) == COUNT
    for parts in by_destination.values():
        assert len({ref for ref, _, _ in parts}) == 1
        assert [(total, seq) for _, total, seq in parts] == [(3, 1), (3, 2), (3, 3)]
    # Each message its own reference (modulo 256), as a real ESME counts them.
    assert len({parts[0][0] for parts in by_destination.values()}) == COUNT


@inline_callbacks
def test_password_only_from_the_environment() -> Generator[Deferred[Any], Any, None]:
    argv = ["-m", "bench.loadclient", "--port", "1", "--system-id", "x", "--count", "1"]
    env = {k: v for k, v in os.environ.items() if k != "BENCH_PASSWORD"}
    _, err, code = yield getProcessOutputAndValue(sys.executable, argv, env=env, path=str(ROOT))
    assert code == 2 and b"BENCH_PASSWORD" in err


@inline_callbacks
def test_paced_mode_keeps_a_steady_rate_and_reports_each_interval() -> Generator[
    Deferred[Any], Any, None
]:
    # 400 msg/s for 2 s, a tenth throttled by the SMSC: the client sends them at that rate
    # (not in one blast), says so per half second, and does not send the throttled ones again.
    sink = SimulatorFactory(reactor, 0.01, behaviour=Behaviour(throttled_rate=0.1))
    args = ("--rate", "400", "--duration", "2", "--interval", "0.5", "--window", "50")
    result = yield from load(sink, *args, "--receipts")
    intervals = result["intervals"]
    assert result["messages"] == 800
    assert sum(i["sent"] for i in intervals) == result["submits"] == 800
    # Each full interval of the load offers about 200 (400/s x 0.5 s), none all at once.
    during = [i for i in intervals if i["end_s"] <= 2.0 and i["end_s"] - i["start_s"] >= 0.5]
    assert during and all(150 <= i["sent"] <= 250 for i in during), intervals
    assert result["throttled"] == sum(i["throttled"] for i in intervals) > 0
    assert result["acked"] + result["throttled"] == 800
    assert result["receipts"] == result["acked"] == sum(i["receipts"] for i in intervals)
    assert all(i["p50_ms"] <= i["p95_ms"] <= i["p99_ms"] <= i["max_ms"] for i in during)
