"""gatewayd's plugin system: what a plugin imports (docs/plugins.md).

A plugin module exposes ``plugin(config, context)``, which parses its own config table and
returns an object with a method per hook it implements (:data:`HOOKS`)."""

from gatewayd.config._schema import checked
from gatewayd.plugins.hooks import (
    HOOKS,
    Accept,
    HookSpec,
    MessageDraft,
    MoEvent,
    Notification,
    PluginFailed,
    ReceiptEvent,
    Reject,
    Rewrite,
    RoutedMessage,
    Sent,
)
from gatewayd.plugins.host import PluginContext, PluginHost

__all__ = [
    "HOOKS",
    "Accept",
    "HookSpec",
    "MessageDraft",
    "MoEvent",
    "Notification",
    "PluginContext",
    "PluginFailed",
    "PluginHost",
    "ReceiptEvent",
    "Reject",
    "Rewrite",
    "RoutedMessage",
    "Sent",
    "checked",
]
