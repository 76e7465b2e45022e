"""The plugin host: order, "first" and "all", fail open and closed, timeouts on an injected
task.Clock, Deferred and coroutine answers, wrong answers, and the failure counters."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from gatewayd.plugins.hooks import (
    AFTER_ROUTE,
    BEFORE_ACCEPT,
    NOTIFY,
    ON_MO,
    Accept,
    HookSpec,
    MessageDraft,
    MoEvent,
    Notification,
    PluginFailed,
    Reject,
    Rewrite,
    RoutedMessage,
    Sent,
)
from gatewayd.plugins.host import Plugin, PluginHost

DRAFT = MessageDraft(1, "Acme", "api", ("22376600000",), "hello", "", "")
NOTE = Notification("email", ("a@example.org",), "subject", "body")
OPEN_FIRST: HookSpec[MessageDraft, Accept | Reject | Rewrite] = HookSpec(
    "before_accept", MessageDraft, (Accept, Reject, Rewrite), "first", "open", 2.0, "test"
)


class Answers:
    """A plugin answering each hook from a script (a value, a Deferred, an exception...)."""

    def __init__(self, answer: Any, calls: list[str], name: str) -> None:
        self._answer = answer
        self._calls = calls
        self._name = name

    def _give(self) -> Any:
        self._calls.append(self._name)
        if isinstance(self._answer, Exception):
            raise self._answer
        return self._answer() if callable(self._answer) else self._answer

    def before_accept(self, draft: MessageDraft) -> Any:
        return self._give()

    def notify(self, note: Notification) -> Any:
        return self._give()

    def after_route(self, routed: RoutedMessage) -> Any:
        return self._give()


def make(*answers: Any) -> tuple[PluginHost, list[str], Clock]:
    calls: list[str] = []
    clock = Clock()
    plugins = [Plugin(f"p{i}", Answers(a, calls, f"p{i}"), "test") for i, a in enumerate(answers)]
    return PluginHost(plugins, clock), calls, clock


def result(d: Deferred[Any]) -> Any:
    found: list[Any] = []
    d.addBoth(found.append)
    assert found, "the Deferred has not fired"
    return found[0]


def test_first_asks_in_order_until_an_answer_that_is_not_none() -> None:
    host, calls, _ = make(None, Rewrite(text="x"), Reject("no"))
    assert result(host.first(BEFORE_ACCEPT, DRAFT)) == Rewrite(text="x")
    assert calls == ["p0", "p1"]
    host, calls, _ = make(None, None)
    assert result(host.first(BEFORE_ACCEPT, DRAFT)) is None
    assert calls == ["p0", "p1"]


def test_answers_may_be_deferreds_or_coroutines() -> None:
    async def coroutine() -> Reject:
        return Reject("async")

    host, _, _ = make(lambda: succeed(None), coroutine)
    assert result(host.first(BEFORE_ACCEPT, DRAFT)) == Reject("async")


def test_fail_closed_refuses_and_counts() -> None:
    host, calls, _ = make(RuntimeError("boom"), Accept())
    failure = result(host.first(BEFORE_ACCEPT, DRAFT))
    assert isinstance(failure.value, PluginFailed)
    assert failure.value.http_status == 503 and "p0" in failure.value.message
    assert calls == ["p0"]  # refused: nobody else is asked
    assert host.failures == {("p0", "before_accept"): 1}


def test_fail_open_skips_the_failing_plugin() -> None:
    host, calls, _ = make(RuntimeError("boom"), Accept())
    assert result(host.first(OPEN_FIRST, DRAFT)) == Accept()
    assert calls == ["p0", "p1"]
    assert host.failures == {("p0", "before_accept"): 1}


def test_a_plugin_that_does_not_answer_in_time_times_out_on_the_clock() -> None:
    pending: Deferred[None] = Deferred()
    host, _, clock = make(lambda: pending, Accept())
    d = host.first(OPEN_FIRST, DRAFT)
    assert not d.called
    clock.advance(1.9)
    assert not d.called
    clock.advance(0.1)  # BEFORE_ACCEPT's 2 s
    assert result(d) == Accept()
    assert host.failures == {("p0", "before_accept"): 1}
    closed, _, clock = make(lambda: Deferred())
    d = closed.first(BEFORE_ACCEPT, DRAFT)
    clock.advance(BEFORE_ACCEPT.timeout)
    assert isinstance(result(d).value, PluginFailed)


def test_a_wrong_answer_is_a_failure() -> None:
    host, _, _ = make("yes", Accept())
    assert result(host.first(OPEN_FIRST, DRAFT)) == Accept()
    assert host.failures == {("p0", "before_accept"): 1}


def test_all_calls_every_plugin_and_keeps_the_answers_in_order() -> None:
    slow: Deferred[Sent] = Deferred()
    host, calls, clock = make(lambda: slow, RuntimeError("smtp down"), None, Sent("b", 2))
    d = host.all(NOTIFY, NOTE)
    assert calls == ["p0", "p1", "p2", "p3"]  # at once, not one after the other
    assert not d.called
    slow.callback(Sent("a", 1))
    assert result(d) == [Sent("a", 1), Sent("b", 2)]
    assert host.failures == {("p1", "notify"): 1}
    host, _, clock = make(lambda: Deferred(), Sent("b", 2))
    d = host.all(NOTIFY, NOTE)
    clock.advance(NOTIFY.timeout)
    assert result(d) == [Sent("b", 2)]
    assert host.failures == {("p0", "notify"): 1}


def test_observers_never_hold_the_pipeline_nor_crash_it() -> None:
    routed = RoutedMessage("M1", 1, "22376600000", "", "sim", None)
    host, calls, clock = make(lambda: Deferred(), RuntimeError("bug"), None)
    host.observe(AFTER_ROUTE, routed)  # returns at once, raises nothing
    assert calls == ["p0", "p1", "p2"]
    clock.advance(AFTER_ROUTE.timeout)
    assert host.failures == {("p1", "after_route"): 1, ("p0", "after_route"): 1}
    host.observe(AFTER_ROUTE, routed)
    assert host.failures[("p1", "after_route")] == 2


def test_the_failure_counters_are_read_only() -> None:
    host, _, _ = make(RuntimeError("x"))
    result(host.first(OPEN_FIRST, DRAFT))
    with pytest.raises(TypeError):
        host.failures[("p0", "before_accept")] = 0  # type: ignore[index]


def test_reject_checks_its_statuses() -> None:
    with pytest.raises(ValueError):
        Reject("")
    with pytest.raises(ValueError):
        Reject("no", smpp_status=0)
    with pytest.raises(ValueError):
        Reject("no", http_status=200)


@pytest_twisted.ensureDeferred
async def test_plugins_start_and_stop_with_the_host() -> None:
    events: list[str] = []

    class Lifecycle:
        def start(self) -> None:
            events.append("start")

        def stop(self) -> Deferred[None]:
            events.append("stop")
            return succeed(None)

        def on_mo(self, event: object) -> None:
            return None

    host = PluginHost([Plugin("life", Lifecycle(), "test")], Clock())
    host.startService()
    await host.stopService()
    assert events == ["start", "stop"]


@pytest_twisted.ensureDeferred
async def test_a_plugin_that_fails_to_start_or_stop_does_not_stop_the_others() -> None:
    events: list[str] = []

    class Broken:
        def start(self) -> None:
            raise RuntimeError("no licence")

        def stop(self) -> None:
            raise RuntimeError("still no licence")

        def on_mo(self, event: object) -> None:
            events.append("mo")

    class Fine:
        def start(self) -> None:
            events.append("start")

        def stop(self) -> None:
            events.append("stop")

        def on_mo(self, event: object) -> None:
            return None

    host = PluginHost([Plugin("broken", Broken(), "t"), Plugin("fine", Fine(), "t")], Clock())
    host.startService()
    assert events == ["start"] and host.failures == {("broken", "start"): 1}
    host.observe(ON_MO, MoEvent("M1", "sim", "1", "2", "hi", None))
    assert events == ["start", "mo"]  # its hooks are still called
    await host.stopService()
    assert events == ["start", "mo", "stop"]
