"""A test module whose plugin implements no hook (or raises a plain exception)."""

from __future__ import annotations

from collections.abc import Mapping

from gatewayd.plugins import PluginContext


class Nothing:
    pass


def plugin(config: Mapping[str, object], context: PluginContext) -> Nothing:
    if config.get("explode"):
        raise ValueError("explode must be false")
    return Nothing()
