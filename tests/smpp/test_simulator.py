"""The simulator driven through fake ESMEs: no sockets, time from a Clock, chance from a
seeded random.Random."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from twisted.internet.task import Clock

from gatewayd.cli import _parser
from gatewayd.config import load_config
from gatewayd.config.model import SimulatorConfig
from gatewayd.errors import ConfigError
from gatewayd.simrun import simulator_config
from gatewayd.smpp import pdu as p
from gatewayd.smpp.receipts import (
    TAG_MESSAGE_PAYLOAD,
    Receipt,
    is_receipt,
    parse_receipt,
    parse_receipt_text,
)
from gatewayd.smpp.simulator import Behaviour, SimulatorFactory
from tests.smpp.helpers import FakeESME


def _simulator(
    clock: Clock, status: str = "DELIVRD", behaviour: Behaviour | None = None, seed: int = 7
) -> SimulatorFactory:
    return SimulatorFactory(clock, 2.0, status, behaviour=behaviour, rng=random.Random(seed))


def _bound(simulator: SimulatorFactory) -> FakeESME:
    esme = FakeESME(simulator.buildProtocol(None))
    assert esme.bind(system_id=b"demo").status == p.ESME_ROK
    return esme


def test_accepts_any_bind_and_answers_fresh_hex_ids(clock: Clock) -> None:
    esme = FakeESME(_simulator(clock).buildProtocol(None))
    assert esme.bind(system_id=b"anyone", password=b"x").status == p.ESME_ROK
    first = esme.submit().fields["message_id"]
    second = esme.submit().fields["message_id"]
    assert isinstance(first, bytes) and isinstance(second, bytes)
    assert first != second
    int(first, 16)  # hex


def test_receipt_after_delay_on_the_same_session(clock: Clock) -> None:
    esme = FakeESME(_simulator(clock).buildProtocol(None))
    esme.bind(system_id=b"demo")
    message_id = esme.submit(registered_delivery=1, short_message=b"Hello world").fields[
        "message_id"
    ]
    clock.advance(1.9)
    assert esme.received() == []
    clock.advance(0.1)
    receipt = esme.one()
    assert receipt.command_id == p.DELIVER_SM and is_receipt(receipt)
    assert receipt.fields["esm_class"] == 0x04
    assert (receipt.fields["source_addr"], receipt.fields["destination_addr"]) == (
        b"33700000002",
        b"33600000001",
    )
    assert isinstance(message_id, bytes)
    assert parse_receipt(receipt) == Receipt(message_id.decode(), "DELIVRD", "000")
    text = parse_receipt_text(receipt.bytes_field("short_message"))
    assert (text["id"], text["dlvrd"]) == (message_id.decode(), "001")
    assert receipt.bytes_field("short_message").endswith(b"text:Hello world")
    assert receipt.tlv(0x0427) == b"\x02"


def test_no_receipt_unless_requested(clock: Clock) -> None:
    esme = FakeESME(_simulator(clock).buildProtocol(None))
    esme.bind()
    esme.submit(registered_delivery=0)
    esme.submit(registered_delivery=2)  # failure-only receipts, and this one succeeds
    clock.advance(10)
    assert esme.received() == []


def test_failure_status_is_reported(clock: Clock) -> None:
    esme = FakeESME(_simulator(clock, "UNDELIV").buildProtocol(None))
    esme.bind()
    esme.submit(registered_delivery=2)
    clock.advance(2)
    receipt = parse_receipt(esme.one())
    assert receipt.stat == "UNDELIV"


def test_receipt_goes_to_a_receiver_of_the_same_system_id(clock: Clock) -> None:
    simulator = _simulator(clock)
    transmitter = FakeESME(simulator.buildProtocol(None))
    other = FakeESME(simulator.buildProtocol(None))
    receiver = FakeESME(simulator.buildProtocol(None))
    transmitter.bind(p.BIND_TRANSMITTER, system_id=b"demo")
    other.bind(p.BIND_RECEIVER, system_id=b"someone")
    receiver.bind(p.BIND_RECEIVER, system_id=b"demo")
    transmitter.submit(registered_delivery=1)
    clock.advance(2)
    assert transmitter.received() == [] and other.received() == []
    assert is_receipt(receiver.one())


def test_receipt_waits_for_the_next_bind(clock: Clock) -> None:
    simulator = _simulator(clock)
    transmitter = FakeESME(simulator.buildProtocol(None))
    transmitter.bind(p.BIND_TRANSMITTER, system_id=b"demo")
    message_id = transmitter.submit(registered_delivery=1).fields["message_id"]
    clock.advance(2)
    assert simulator.waiting("demo") == 1
    receiver = FakeESME(simulator.buildProtocol(None))
    receiver.request(p.BIND_RECEIVER, {"system_id": b"demo"})
    bind_resp, receipt = receiver.received()
    assert bind_resp.command_id == p.BIND_RECEIVER_RESP
    assert isinstance(message_id, bytes)
    assert parse_receipt(receipt).message_id == message_id.decode()
    assert simulator.waiting("demo") == 0


def test_refused_receipt_is_kept_for_the_next_bind(clock: Clock) -> None:
    simulator = _simulator(clock)
    esme = FakeESME(simulator.buildProtocol(None))
    esme.bind(system_id=b"demo")
    esme.submit(registered_delivery=1)
    clock.advance(2)
    esme.send(p.response_to(esme.one(), p.ESME_RX_T_APPN))
    assert simulator.waiting("demo") == 1


def test_stop_cancels_pending_receipts(clock: Clock) -> None:
    simulator = _simulator(clock)
    esme = FakeESME(simulator.buildProtocol(None))
    esme.bind()
    esme.submit(registered_delivery=1)
    simulator.stop()
    clock.advance(10)
    assert esme.received() == []
    assert not any(call.getTime() == 2.0 for call in clock.getDelayedCalls())


def test_ids_come_from_the_injected_random(clock: Clock) -> None:
    def ids(seed: int) -> list[bytes]:
        esme = _bound(_simulator(clock, seed=seed))
        return [esme.submit().bytes_field("message_id") for _ in range(3)]

    assert ids(1) == ids(1) != ids(2)
    assert all(len(message_id) == 16 for message_id in ids(1))


def test_final_states_follow_the_weights(clock: Clock) -> None:
    weights = {"DELIVRD": 6.0, "UNDELIV": 3.0, "EXPIRED": 1.0}
    esme = _bound(_simulator(clock, behaviour=Behaviour(receipt_weights=weights)))
    for _ in range(1000):
        esme.submit(registered_delivery=1)
    clock.advance(2)
    stats = Counter(parse_receipt(pdu).stat for pdu in esme.received())
    assert sum(stats.values()) == 1000
    assert set(stats) == {"DELIVRD", "UNDELIV", "EXPIRED"}
    for stat, weight in weights.items():
        assert abs(stats[stat] - weight * 100) < 50, stats


def test_failed_states_carry_an_error_code(clock: Clock) -> None:
    esme = _bound(_simulator(clock, "UNDELIV"))
    esme.submit(registered_delivery=1)
    clock.advance(2)
    assert parse_receipt(esme.one()).err == "001"


def test_failure_only_receipts_skip_the_delivered_ones(clock: Clock) -> None:
    weights = {"DELIVRD": 1.0, "EXPIRED": 1.0}
    esme = _bound(_simulator(clock, behaviour=Behaviour(receipt_weights=weights)))
    for _ in range(100):
        esme.submit(registered_delivery=2)
    clock.advance(2)
    stats = Counter(parse_receipt(pdu).stat for pdu in esme.received())
    assert set(stats) == {"EXPIRED"} and 30 < stats["EXPIRED"] < 70


@pytest.mark.parametrize(
    ("behaviour", "status"),
    [
        (Behaviour(throttled_rate=1.0), p.ESME_RTHROTTLED),
        (Behaviour(system_error_rate=1.0), p.ESME_RSYSERR),
    ],
)
def test_submit_errors_get_no_receipt(clock: Clock, behaviour: Behaviour, status: int) -> None:
    esme = _bound(_simulator(clock, behaviour=behaviour))
    response = esme.submit(registered_delivery=1)
    assert (response.command_id, response.status) == (p.SUBMIT_SM_RESP, status)
    clock.advance(10)
    assert esme.received() == []


def test_error_rates_are_rates(clock: Clock) -> None:
    behaviour = Behaviour(throttled_rate=0.2, system_error_rate=0.25)
    esme = _bound(_simulator(clock, behaviour=behaviour))
    statuses = Counter(esme.submit().status for _ in range(1000))
    # 20% throttled, then 25% of the remaining 80% fail: 20% system errors, 60% accepted.
    assert abs(statuses[p.ESME_RTHROTTLED] - 200) < 50, statuses
    assert abs(statuses[p.ESME_RSYSERR] - 200) < 50, statuses
    assert abs(statuses[p.ESME_ROK] - 600) < 50, statuses


def test_drop_rate_closes_the_connection_without_an_answer(clock: Clock) -> None:
    esme = _bound(_simulator(clock, behaviour=Behaviour(drop_rate=1.0)))
    esme.request(p.SUBMIT_SM, {"destination_addr": b"1", "registered_delivery": 1})
    assert esme.received() == []
    assert esme.closing
    clock.advance(10)
    assert esme.received() == []


def test_drop_after_n_submissions_per_connection(clock: Clock) -> None:
    simulator = _simulator(clock, behaviour=Behaviour(drop_after=2))
    esme = _bound(simulator)
    assert [esme.submit().status for _ in range(2)] == [p.ESME_ROK, p.ESME_ROK]
    assert not esme.closing
    esme.request(p.SUBMIT_SM, {"destination_addr": b"1"})
    assert esme.received() == [] and esme.closing
    esme.disconnect()
    again = _bound(simulator)  # a new connection counts from zero
    assert again.submit().status == p.ESME_ROK


def test_each_part_of_a_long_message_gets_its_id_and_receipt(clock: Clock) -> None:
    esme = _bound(_simulator(clock))
    ids = []
    for part in (1, 2, 3):
        udh = bytes((5, 0, 3, 0x2A, 3, part))
        response = esme.submit(
            esm_class=0x40, registered_delivery=1, short_message=udh + b"part %d" % part
        )
        ids.append(response.bytes_field("message_id").decode())
    assert len(set(ids)) == 3
    clock.advance(2)
    receipts = esme.received()
    assert [parse_receipt(pdu).message_id for pdu in receipts] == ids
    assert receipts[1].bytes_field("short_message").endswith(b"text:part 2")


def test_message_payload_and_data_sm_are_answered_and_receipted(clock: Clock) -> None:
    esme = _bound(_simulator(clock))
    payload = ((TAG_MESSAGE_PAYLOAD, b"long " * 60),)
    esme.request(p.SUBMIT_SM, {"destination_addr": b"1", "registered_delivery": 1}, payload)
    submitted = esme.one()
    esme.request(p.DATA_SM, {"destination_addr": b"2", "registered_delivery": 1}, payload)
    data_resp = esme.one()
    assert data_resp.command_id == p.DATA_SM_RESP and data_resp.status == p.ESME_ROK
    clock.advance(2)
    first, second = esme.received()
    assert parse_receipt(first).message_id == submitted.bytes_field("message_id").decode()
    assert parse_receipt(second).message_id == data_resp.bytes_field("message_id").decode()
    assert second.bytes_field("source_addr") == b"2"
    assert first.bytes_field("short_message").endswith(b"text:" + b"long " * 4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"receipt_weights": {"DELIVRD": 0.0}},
        {"receipt_weights": {"DELIVRD": 1.0, "LOST": 1.0}},
        {"receipt_weights": {"DELIVRD": -1.0, "UNDELIV": 2.0}},
        {"throttled_rate": 1.5},
        {"drop_rate": -0.1},
        {"drop_after": -1},
    ],
)
def test_nonsense_behaviour_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Behaviour(**kwargs)  # type: ignore[arg-type]


def test_receipt_status_and_behaviour_are_exclusive(clock: Clock) -> None:
    with pytest.raises(ValueError):
        SimulatorFactory(clock, 1.0, "UNDELIV", behaviour=Behaviour())


def test_built_from_config(clock: Clock) -> None:
    config = SimulatorConfig(
        delivery_delay=3.0,
        delivered_weight=0.0,
        expired_weight=2.0,
        throttled_rate=0.5,
        drop_after=4,
    )
    simulator = SimulatorFactory.from_config(clock, config, random.Random(1))
    assert simulator.delivery_delay == 3.0
    behaviour = simulator.behaviour
    assert {s: w for s, w in behaviour.receipt_weights.items() if w} == {"EXPIRED": 2.0}
    assert (behaviour.throttled_rate, behaviour.drop_after) == (0.5, 4)
    assert SimulatorFactory.from_config(clock, SimulatorConfig()).behaviour == Behaviour()


def test_each_destination_of_a_submit_multi_gets_its_id_and_receipt(clock: Clock) -> None:
    esme = _bound(_simulator(clock))
    destinations = (p.SmeAddress(1, 1, b"33700000002"), p.SmeAddress(1, 1, b"33700000003"))
    fields: dict[str, object] = {
        "source_addr": b"33600000001",
        "dest_address": destinations,
        "registered_delivery": 1,
        "short_message": b"to both",
    }
    esme.request(p.SUBMIT_MULTI, fields)  # type: ignore[arg-type]
    response = esme.one()
    assert (response.command_id, response.status) == (p.SUBMIT_MULTI_RESP, p.ESME_ROK)
    clock.advance(2)
    receipts = esme.received()
    assert [pdu.bytes_field("source_addr") for pdu in receipts] == [b"33700000002", b"33700000003"]
    ids = [parse_receipt(pdu).message_id for pdu in receipts]
    assert len(set(ids)) == 2
    assert ids[0] == response.bytes_field("message_id").decode()


def test_a_dropped_submit_multi_sends_nothing(clock: Clock) -> None:
    esme = _bound(_simulator(clock, behaviour=Behaviour(drop_rate=1.0)))
    fields: dict[str, object] = {
        "dest_address": (p.SmeAddress(1, 1, b"1"),),
        "registered_delivery": 1,
    }
    esme.request(p.SUBMIT_MULTI, fields)  # type: ignore[arg-type]
    clock.advance(2)
    assert esme.received() == [] and esme.closing


def test_slow_answers_come_after_the_delay(clock: Clock) -> None:
    # Every submission slow: no answer until slow_delay has passed on the clock, then the
    # answer, and the receipt delivery_delay (2 s) after that.
    simulator = _simulator(clock, behaviour=Behaviour(slow_rate=1.0, slow_delay=3.0))
    esme = _bound(simulator)
    esme.request(p.SUBMIT_SM, {"destination_addr": b"1", "registered_delivery": 1})
    clock.advance(2.9)
    assert esme.received() == []
    clock.advance(0.1)
    answer = esme.one()
    assert (answer.command_id, answer.status) == (p.SUBMIT_SM_RESP, p.ESME_ROK)
    assert simulator.slow == 1
    clock.advance(1.9)
    assert esme.received() == []
    clock.advance(0.1)
    assert is_receipt(esme.one())


def test_slow_rate_is_a_share_and_refusals_can_be_slow_too(clock: Clock) -> None:
    behaviour = Behaviour(slow_rate=0.25, slow_delay=1.0, throttled_rate=0.5)
    simulator = _simulator(clock, behaviour=behaviour)
    esme = _bound(simulator)
    for _ in range(1000):
        esme.request(p.SUBMIT_SM, {"destination_addr": b"1"})
    at_once = esme.received()
    assert abs(len(at_once) - 750) < 50, len(at_once)
    clock.advance(1.0)
    late = esme.received()
    assert len(at_once) + len(late) == 1000 and simulator.slow == len(late)
    assert {pdu.status for pdu in late} == {p.ESME_ROK, p.ESME_RTHROTTLED}


def test_slow_answers_not_due_are_cancelled_by_stop(clock: Clock) -> None:
    simulator = _simulator(clock, behaviour=Behaviour(slow_rate=1.0, slow_delay=1.0))
    esme = _bound(simulator)
    esme.request(p.SUBMIT_SM, {"destination_addr": b"1"})
    simulator.stop()
    clock.advance(5)
    assert esme.received() == []


def test_no_slow_rate_draws_nothing_more(clock: Clock) -> None:
    # slow_rate 0 makes no draw: a seeded run's ids stay what they were before slow answers.
    plain = _bound(_simulator(clock, behaviour=Behaviour()))
    ids = [plain.submit().fields["message_id"] for _ in range(5)]
    again = _bound(_simulator(clock, behaviour=Behaviour(slow_rate=0.0, slow_delay=9.0)))
    assert [again.submit().fields["message_id"] for _ in range(5)] == ids


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [({"slow_rate": 1.5}, "between 0 and 1"), ({"slow_delay": -1.0}, "slow_delay")],
)
def test_nonsense_slow_answers_are_refused(kwargs: dict[str, float], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        Behaviour(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line", "key"), [("slow_rate = 2.0", "slow_rate"), ("slow_delay = -1", "slow_delay")]
)
def test_bad_slow_keys_are_a_config_error_naming_the_key(
    tmp_path: Path, line: str, key: str
) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(f"[simulator]\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"simulator\.{key}: "):
        load_config(path, environ={})


def test_slow_answers_from_config_and_command_line(clock: Clock) -> None:
    config = SimulatorConfig(slow_rate=0.1, slow_delay=2.5)
    behaviour = SimulatorFactory.from_config(clock, config).behaviour
    assert (behaviour.slow_rate, behaviour.slow_delay) == (0.1, 2.5)
    args = _parser().parse_args(["smsc-sim", "--listen", "tcp:0", "--slow-rate", "0.2"])
    assert simulator_config(args).slow_rate == 0.2
    bad = _parser().parse_args(["smsc-sim", "--listen", "tcp:0", "--slow-delay", "-2"])
    with pytest.raises(ConfigError, match="slow_delay"):
        simulator_config(bad)
