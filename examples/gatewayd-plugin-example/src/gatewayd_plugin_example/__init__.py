"""An example gatewayd plugin.

- ``before_accept``: refuses a message with a blocked word (SMPP ESME_RSUBMITFAIL, HTTP 403)
  and gives a message without a sender the configured ``default_sender``.
- ``on_mo``: keeps the numbers that answered STOP (an observer: its answer is ignored).

Config (``[plugins.example]``; ``module`` only when the package is not installed)::

    [plugins.example]
    blocked_words = ["casino", "lottery"]
    default_sender = "ACME"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gatewayd.plugins import (
    Accept,
    MessageDraft,
    MoEvent,
    PluginContext,
    Reject,
    Rewrite,
    checked,
)


def _words(value: object) -> str | None:
    assert isinstance(value, tuple)
    for word in value:
        if not word or word != word.strip().lower():
            return f"{word!r}: a blocked word is lower case, without spaces around"
    return None


def _sender(value: object) -> str | None:
    assert isinstance(value, str)
    return None if len(value) <= 11 else "must be at most 11 characters (an alphanumeric sender)"


@dataclass(frozen=True)
class Options:
    blocked_words: tuple[str, ...] = checked((), check=_words)
    default_sender: str = checked("", check=_sender)
    reason: str = "message refused by the content filter"


class ContentFilter:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.stopped: list[str] = []  # numbers that sent STOP, in order

    def before_accept(self, draft: MessageDraft) -> Accept | Reject | Rewrite | None:
        words = set(draft.text.lower().split())
        if words & set(self.options.blocked_words):
            return Reject(self.options.reason)
        if not draft.sender and self.options.default_sender:
            return Rewrite(sender=self.options.default_sender)
        return None  # no opinion: the next plugin is asked

    def on_mo(self, event: MoEvent) -> None:
        if event.text.strip().upper() == "STOP" and event.source not in self.stopped:
            self.stopped.append(event.source)


def plugin(config: Mapping[str, object], context: PluginContext) -> ContentFilter:
    """Parses the plugin's own table with gatewayd's strict checks (errors name the file and
    plugins.NAME.key) and builds the plugin; no I/O here (check-config calls it too)."""
    return ContentFilter(context.parse(Options, config))
