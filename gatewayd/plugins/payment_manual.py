"""The built-in "manual" payment: the customer pays by bank transfer, an operator records it.

Nothing is charged online. Asked to pay an invoice by the "manual" method, the plugin answers
:class:`Pending` back to the invoice's page, which shows the transfer instructions of the
plugin's config (the account to pay to, and the invoice number as the transfer's reference).
When the money arrives, an operator (role admin) marks the invoice paid from the operator
console (/admin/billing) with the receipt number of the transfer; that is audited.

Config (its own table, every key optional, unknown keys refused)::

    [plugins.payment_manual]
    module = "gatewayd.plugins.payment_manual"
    payee = "Opérateur SA"
    bank_account = "MU17 BOMM 0101 1010 3030 0200 000M UR"
    instructions = "Put the invoice number as the transfer's reference."
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gatewayd.billing.payments import PaymentRequest, PaymentResult, Pending
from gatewayd.errors import ConfigError

if TYPE_CHECKING:
    from gatewayd.plugins.host import PluginContext

METHOD = "manual"
_KEYS = ("payee", "bank_account", "instructions")


@dataclass(frozen=True)
class ManualPayment:
    """The transfer's details shown to customers; ``payment`` never charges."""

    payee: str = ""
    bank_account: str = ""
    instructions: str = ""
    method: str = METHOD

    @classmethod
    def from_config(
        cls,
        table: Mapping[str, object],
        source: str = "config",
        prefix: str = "plugins.payment_manual",
    ) -> ManualPayment:
        """The plugin from its config table; an unknown key or a value that is not a string
        (at most 500 characters) is a ConfigError naming the key."""
        for key in table:
            if key not in _KEYS:
                raise ConfigError(source, f"{prefix}.{key}", "unknown key")
        values: dict[str, str] = {}
        for key in _KEYS:
            value = table.get(key, "")
            if not isinstance(value, str) or len(value) > 500:
                raise ConfigError(
                    source, f"{prefix}.{key}", "must be text of 500 characters at most"
                )
            values[key] = value.strip()
        return cls(**values)

    def payment(self, request: PaymentRequest) -> PaymentResult | None:
        """The customer is sent back to the invoice to read the transfer instructions."""
        if request.method != METHOD:
            return None
        return Pending(request.return_url)


def plugin(config: Mapping[str, object], context: PluginContext) -> ManualPayment:
    """The plugin host's factory (``module = "gatewayd.plugins.payment_manual"``)."""
    return ManualPayment.from_config(config, context.source, context.key)
