"""UpstreamConnector's send path: window, FIFO, busy, TPS, push-back, retries, lost links.
All on a MemoryReactorClock with iosim connections to a scripted SMSC."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock

from gatewayd.config.model import RetryRuleConfig
from gatewayd.smpp import pdu as p
from gatewayd.smpp.client import (
    ConnectorBusy,
    ConnectorUnavailable,
    RetryLater,
    SubmitRejected,
)
from tests.smpp.fake_upstream import start
from tests.smpp.helpers import failure_of, has_no_result, result_of, submit_fields


@pytest.fixture
def reactor() -> MemoryReactorClock:
    return MemoryReactorClock()


def _submit(connector: Any, n: int) -> Deferred[str]:
    d: Deferred[str] = connector.submit(submit_fields(destination_addr=b"%d" % n))
    return d


def _destinations(held: list[Any]) -> list[bytes]:
    return [h.destination for h in held]


def test_window_caps_outstanding_and_the_rest_wait_in_order(reactor: MemoryReactorClock) -> None:
    connector, smsc = start(reactor, window=2, queue_limit=3)
    sent = [_submit(connector, n) for n in range(5)]
    first = smsc.take()
    assert _destinations(first) == [b"0", b"1"]
    status = connector.status()
    assert status.binds[0].window_used == 2 and status.binds[0].window_size == 2
    assert status.queued == 3
    first[1].ok()  # answers may come out of order; the window slot is what matters
    assert _destinations(smsc.take()) == [b"2"]
    first[0].ok()
    later = smsc.take()
    assert _destinations(later) == [b"3"]
    assert [result_of(d) for d in sent[:2]] == ["id-0", "id-1"]
    assert all(has_no_result(d) for d in sent[2:])


def test_past_queue_limit_submit_fails_fast_as_busy_not_rejected(
    reactor: MemoryReactorClock,
) -> None:
    connector, smsc = start(reactor, window=1, queue_limit=2)
    accepted = [_submit(connector, n) for n in range(3)]
    busy = failure_of(_submit(connector, 3), ConnectorBusy).value
    assert getattr(busy, "status", None) is None  # the dispatcher keeps the message queued
    assert busy.retryable  # type: ignore[attr-defined]
    for _ in range(3):
        [held] = smsc.take()
        held.ok()
    smsc.flush()
    assert [result_of(d) for d in accepted] == ["id-0", "id-1", "id-2"]


def test_zero_queue_limit_only_takes_what_fits_the_window(reactor: MemoryReactorClock) -> None:
    connector, smsc = start(reactor, window=1, queue_limit=0)
    first = _submit(connector, 0)
    failure_of(_submit(connector, 1), ConnectorBusy)
    assert _destinations(smsc.take()) == [b"0"] and has_no_result(first)


def test_unanswered_submit_times_out_and_is_sent_again(reactor: MemoryReactorClock) -> None:
    connector, smsc = start(reactor, response_timeout=5.0)
    sent = _submit(connector, 7)
    assert len(smsc.take()) == 1
    reactor.advance(5.0)  # the timeout rule: temporary, next try after 10 s
    assert connector.status().retrying == 1 and connector.status().binds[0].window_used == 0
    reactor.advance(9.9)
    assert smsc.take() == []
    reactor.advance(0.1)
    [again] = smsc.take()
    again.ok()
    smsc.flush()
    assert result_of(sent) == "id-7"


def test_tps_is_shared_by_all_binds(reactor: MemoryReactorClock) -> None:
    connector, smsc = start(reactor, binds=2, tps=4.0, window=50)
    sent = [_submit(connector, n) for n in range(12)]
    seen = []
    for _ in range(8):  # two seconds
        seen.append(len(smsc.take()))
        reactor.advance(0.125)
        seen.append(len(smsc.take()))
        reactor.advance(0.125)
    # The bucket holds at most one token at 4/s: one now, then one every 0.25 s.
    assert seen == [1, 0] * 8
    status = connector.status()
    # The ninth went out as the clock reached 2.0 s, spread over both binds.
    assert sorted(b.window_used for b in status.binds) == [4, 5]
    assert status.queued == 3 and status.tps_limit == 4.0
    assert all(has_no_result(d) for d in sent)


def test_throttled_halves_the_rate_retries_the_same_submit_and_recovers(
    reactor: MemoryReactorClock,
) -> None:
    connector, smsc = start(reactor, tps=10.0)
    sent = _submit(connector, 1)
    [held] = smsc.take()
    held.refuse(p.ESME_RTHROTTLED)
    smsc.flush()
    status = connector.status()
    assert status.throttled and status.tps_limit == 5.0
    assert has_no_result(sent)  # never dropped
    reactor.advance(1.0)  # the ESME_RTHROTTLED rule waits 1 s
    [again] = smsc.take()
    assert again.pdu.fields == held.pdu.fields
    again.ok()
    smsc.flush()
    assert result_of(sent) == "id-1"
    reactor.advance(28.0)
    assert connector.status().throttled and 5.0 < connector.status().tps_limit < 10.0
    reactor.advance(1.0)  # 30 s after the cut the full rate is back
    assert not connector.status().throttled and connector.status().tps_limit == 10.0


def test_a_full_window_of_push_back_counts_as_one_cut(reactor: MemoryReactorClock) -> None:
    connector, smsc = start(reactor, tps=100.0, window=10)
    for n in range(10):
        _submit(connector, n)
        reactor.advance(0.01)
    held = smsc.take()
    assert len(held) == 10
    for h in held:
        h.refuse(p.ESME_RMSGQFUL)
    smsc.flush()
    assert connector.status().tps_limit == 50.0


def test_throttling_without_a_limit_halves_the_measured_rate(
    reactor: MemoryReactorClock,
) -> None:
    connector, smsc = start(reactor, window=100)
    for n in range(50):  # 50 sends in one second: 50/s, measured over the second it took
        _submit(connector, n)
        reactor.advance(0.02)
    held = smsc.take()
    held[0].refuse(p.ESME_RTHROTTLED)
    smsc.flush()
    assert connector.status().tps_limit == pytest.approx(25.0)
    reactor.advance(30.0)
    assert connector.status().tps_limit == 0.0  # unlimited again


def test_permanent_status_rejects_at_once(reactor: MemoryReactorClock) -> None:
    connector, smsc = start(reactor)
    sent = _submit(connector, 1)
    [held] = smsc.take()
    held.refuse(p.ESME_RINVDSTADR)
    smsc.flush()
    error = failure_of(sent, SubmitRejected).value
    assert error.status == p.ESME_RINVDSTADR  # type: ignore[attr-defined]
    assert error.smpp_status == p.ESME_RINVDSTADR
    reactor.advance(100.0)
    assert smsc.take() == []


def test_unknown_status_is_permanent_by_default(reactor: MemoryReactorClock) -> None:
    connector, smsc = start(reactor)
    sent = _submit(connector, 1)
    [held] = smsc.take()
    held.refuse(0x400)  # vendor-specific
    smsc.flush()
    assert failure_of(sent, SubmitRejected).value.status == 0x400  # type: ignore[attr-defined]


def test_temporary_status_uses_its_attempts_then_goes_back_to_the_queue(
    reactor: MemoryReactorClock,
) -> None:
    connector, smsc = start(reactor)
    sent = _submit(connector, 1)
    delays = []
    for _ in range(3):  # ESME_RSYSERR: 3 attempts, 10 s then 20 s apart
        [held] = smsc.take()
        held.refuse(p.ESME_RSYSERR)
        smsc.flush()
        waited = 0.0
        while not smsc.held and waited < 100 and has_no_result(sent):
            reactor.advance(1.0)
            smsc.flush()
            waited += 1
        delays.append(waited)
    assert delays[:2] == [10.0, 20.0]
    error = failure_of(sent, RetryLater).value
    assert getattr(error, "status", None) is None
    assert "after 3 attempt" in str(error)


def test_the_retry_table_comes_from_the_config(reactor: MemoryReactorClock) -> None:
    rules = {
        "esme_rsyserr": RetryRuleConfig(kind="permanent"),
        "0x400": RetryRuleConfig(attempts=2, delay=3.0),
    }
    connector, smsc = start(reactor, retry=rules)
    sent = _submit(connector, 1)
    smsc.take()[0].refuse(p.ESME_RSYSERR)
    smsc.flush()
    assert failure_of(sent, SubmitRejected).value.status == p.ESME_RSYSERR  # type: ignore
    vendor = _submit(connector, 2)
    smsc.take()[0].refuse(0x400)
    smsc.flush()
    reactor.advance(3.0)
    smsc.take()[0].refuse(0x400)
    smsc.flush()
    failure_of(vendor, RetryLater)


def test_smsc_closing_mid_window_fails_outstanding_at_once_and_resends_them(
    reactor: MemoryReactorClock,
) -> None:
    connector, smsc = start(reactor, window=3, reconnect_initial_delay=2.0)
    sent = [_submit(connector, n) for n in range(4)]
    assert len(smsc.take()) == 3
    smsc.hang_up()
    # No time has passed: the three outstanding ones are already back in the queue, first.
    status = connector.status()
    assert status.binds[0].window_used == 0 and status.binds[0].state == "disconnected"
    assert status.queued == 4
    assert "connection lost" in (status.binds[0].last_error or "")
    assert all(has_no_result(d) for d in sent)  # transparently retried, not failed
    failure_of(connector.submit(submit_fields()), ConnectorUnavailable)  # none while unbound
    reactor.advance(1.0)  # random() = 0: the first reconnection waits half of 2 s
    assert smsc.connect_all() == 1
    resent = smsc.take()
    assert _destinations(resent) == [b"0", b"1", b"2"]
    for held in resent:
        held.ok()
    smsc.take()[0].ok()
    smsc.flush()
    assert [result_of(d) for d in sent] == ["id-0", "id-1", "id-2", "id-3"]


def test_a_surviving_bind_carries_the_resend(reactor: MemoryReactorClock) -> None:
    connector, smsc = start(reactor, binds=2, window=2)
    sent = [_submit(connector, n) for n in range(4)]
    held = smsc.take()
    assert len(held) == 4
    lost = [h for h in held if h.session is held[0].session]
    survivors = [h for h in held if h.session is not held[0].session]
    smsc.hang_up(smsc.pumps.index(_pump_of(smsc, held[0].session)))
    for h in survivors:
        h.ok()
    resent = smsc.take()  # no reconnect yet: they went out on the other bind
    assert sorted(_destinations(resent)) == sorted(_destinations(lost))
    assert {h.session for h in resent} == {survivors[0].session}
    for h in resent:
        h.ok()
    smsc.flush()
    assert sorted(result_of(d) for d in sent) == ["id-0", "id-1", "id-2", "id-3"]


def _pump_of(smsc: Any, session: Any) -> Any:
    return next(pump for pump in smsc.pumps if pump.server is session)


def test_a_lost_link_uses_up_the_disconnect_attempts_then_gives_back(
    reactor: MemoryReactorClock,
) -> None:
    connector, smsc = start(reactor, reconnect_initial_delay=1.0, reconnect_max_delay=1.0)
    sent = _submit(connector, 1)
    for _ in range(5):
        assert len(smsc.take()) == 1
        smsc.hang_up(len(smsc.pumps) - 1)
        reactor.advance(1.0)
        smsc.connect_all()
    failure_of(sent, RetryLater)


def test_stop_fails_waiting_submits_as_retryable(reactor: MemoryReactorClock) -> None:
    connector, smsc = start(reactor, window=1, response_timeout=5.0)
    outstanding, waiting = _submit(connector, 1), _submit(connector, 2)
    smsc.take()
    stopped = connector.stopService()
    failure_of(waiting, ConnectorUnavailable)
    smsc.flush()
    assert result_of(stopped) is None
    failure_of(outstanding, RetryLater)  # the unbind closed the link before an answer came
    assert connector.status().binds[0].state == "stopped"
    failure_of(connector.submit(submit_fields()), ConnectorUnavailable)
