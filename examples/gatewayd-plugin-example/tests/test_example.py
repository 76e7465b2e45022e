"""The example plugin's own tests: its config checks, its answers, and its hooks as gatewayd's
plugin host calls them (loaded from a [plugins.example] table, time on a task.Clock)."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from gatewayd_plugin_example import ContentFilter, Options
from twisted.internet.task import Clock

from gatewayd.errors import ConfigError
from gatewayd.plugins import Accept, MessageDraft, MoEvent, Reject, Rewrite
from gatewayd.plugins.hooks import BEFORE_ACCEPT, ON_MO
from gatewayd.plugins.host import PluginHost, load_plugins

MODULE = "gatewayd_plugin_example"


def draft(text: str, sender: str = "") -> MessageDraft:
    return MessageDraft(1, "Acme", "api", ("22376600000",), text, sender, "")


def host(**options: Any) -> tuple[PluginHost, ContentFilter]:
    [plugin] = load_plugins({"example": {"module": MODULE, **options}}, "gw.toml", Clock())
    assert isinstance(plugin.instance, ContentFilter)
    return PluginHost([plugin], Clock()), plugin.instance


def test_its_options_are_checked_with_the_file_and_key_path() -> None:
    with pytest.raises(ConfigError) as caught:
        host(blocked_words=["Casino "])
    assert str(caught.value).startswith("gw.toml: plugins.example.blocked_words: 'Casino '")
    with pytest.raises(ConfigError) as caught:
        host(default_sender="A" * 12)
    assert caught.value.path == "plugins.example.default_sender"
    with pytest.raises(ConfigError) as caught:
        host(blocked=["x"])
    assert caught.value.path == "plugins.example.blocked"
    assert "unknown key" in caught.value.reason
    _, plugin = host(blocked_words=["casino"], default_sender="ACME")
    assert plugin.options == Options(("casino",), "ACME")


def test_a_blocked_word_is_refused_and_a_missing_sender_given() -> None:
    plugin = ContentFilter(Options(("casino",), "ACME"))
    assert plugin.before_accept(draft("Win at the CASINO now")) == Reject(Options.reason)
    assert plugin.before_accept(draft("hello")) == Rewrite(sender="ACME")
    assert plugin.before_accept(draft("hello", sender="SHOP")) is None
    assert not isinstance(plugin.before_accept(draft("casinos")), Reject)  # words, not parts
    assert Accept() != Reject("x")


@pytest_twisted.ensureDeferred
async def test_through_the_plugin_host() -> None:
    plugins, plugin = host(blocked_words=["lottery"])
    assert await plugins.first(BEFORE_ACCEPT, draft("lottery win")) == Reject(Options.reason)
    assert await plugins.first(BEFORE_ACCEPT, draft("hi")) is None
    for text in ("stop", "STOP ", "hello", "Stop"):
        plugins.observe(ON_MO, MoEvent("M1", "sim", "22376611111", "36180", text, None))
    assert plugin.stopped == ["22376611111"]
    assert dict(plugins.failures) == {}
