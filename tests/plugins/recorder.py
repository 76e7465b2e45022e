"""A test plugin: screens submissions as its config says and records every hook call.

``[plugins.NAME] module = "tests.plugins.recorder"``, with ``reject`` (refuse a text with this
word), ``upper`` (rewrite the text in capitals) and ``fail`` (the hooks that raise)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred

from gatewayd.plugins import (
    MessageDraft,
    MoEvent,
    PluginContext,
    ReceiptEvent,
    Reject,
    Rewrite,
    RoutedMessage,
)


@dataclass(frozen=True)
class Options:
    reject: str = ""
    upper: bool = False
    fail: tuple[str, ...] = ()


class Recorder:
    def __init__(self, options: Options, context: PluginContext) -> None:
        self.options = options
        self.context = context
        self.calls: dict[str, list[Any]] = {}
        self._waiting: dict[str, list[Deferred[Any]]] = {}

    def wait(self, hook: str, reactor: Any, seconds: float = 10.0) -> Deferred[Any]:
        """Fires with the first call of ``hook`` (at once if there was one)."""
        if self.calls.get(hook):
            d: Deferred[Any] = Deferred()
            d.callback(self.calls[hook][0])
            return d
        d = Deferred()
        self._waiting.setdefault(hook, []).append(d)
        return d.addTimeout(seconds, reactor)  # a guard against a hang, not a wait

    def _record(self, hook: str, argument: Any) -> None:
        self.calls.setdefault(hook, []).append(argument)
        for d in self._waiting.pop(hook, []):
            d.callback(argument)
        if hook in self.options.fail:
            raise RuntimeError(f"{hook} is broken")

    def before_accept(self, draft: MessageDraft) -> Any:
        self._record("before_accept", draft)
        if self.options.reject and self.options.reject in draft.text:
            return Reject(f"no {self.options.reject} here", http_status=422)
        if self.options.upper:
            return Rewrite(text=draft.text.upper())
        return None

    def after_route(self, routed: RoutedMessage) -> None:
        self._record("after_route", routed)

    async def on_receipt(self, receipt: ReceiptEvent) -> None:
        self._record("on_receipt", receipt)

    def on_mo(self, mo: MoEvent) -> None:
        self._record("on_mo", mo)


def plugin(config: Mapping[str, object], context: PluginContext) -> Recorder:
    return Recorder(context.parse(Options, config), context)
