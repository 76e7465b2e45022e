"""``[billing]`` read into the rating tariff and the invoicing settings. Pure.

Money in the config is written as text ("0.05") or an integer, never a TOML float (a float
cannot hold 0.1 exactly). Every error is a :class:`ConfigError` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from gatewayd.billing.money import decimal_text
from gatewayd.billing.rating import Plan, Tariff, Tier, Usage, Zone
from gatewayd.errors import ConfigError

USAGES = ("none", "out_of_bundle", "all")


@dataclass(frozen=True)
class BillingSettings:
    tariff: Tariff = field(default_factory=Tariff)
    vat_rate: Decimal = Decimal(0)
    invoice_day: int = 1
    check_interval: float = 3600.0
    issuer: str = ""


def money_value(value: object, source: str, path: str) -> Decimal:
    """A price or fee from the config: text or an integer, 0 or more."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(source, path, 'write the amount as text, e.g. "0.05" (not a float)')
    try:
        amount = decimal_text(str(value))
    except ValueError as e:
        raise ConfigError(source, path, str(e)) from None
    if amount < 0:
        raise ConfigError(source, path, "must be 0 or more")
    return amount


def _table(value: object, source: str, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(source, path, "expected a table")
    return cast(Mapping[str, Any], value)


def _known(table: Mapping[str, Any], keys: tuple[str, ...], source: str, path: str) -> None:
    for key in table:
        if key not in keys:
            raise ConfigError(
                source, f"{path}.{key}", f"unknown key (known keys: {', '.join(keys)})"
            )


def zone_from(name: str, raw: object, source: str) -> Zone:
    path = f"billing.zones.{name}"
    table = _table(raw, source, path)
    _known(table, ("price", "prefixes", "tiers"), source, path)
    price = money_value(table.get("price", "0"), source, f"{path}.price")
    prefixes = table.get("prefixes", [])
    if not isinstance(prefixes, list) or not all(
        isinstance(p, str) and p.isdigit() and 1 <= len(p) <= 15 for p in prefixes
    ):
        raise ConfigError(source, f"{path}.prefixes", 'a list of digit prefixes, e.g. ["33"]')
    tiers = [Tier(0, price)]
    raw_tiers = table.get("tiers", [])
    if not isinstance(raw_tiers, list):
        raise ConfigError(source, f"{path}.tiers", 'a list of {from = N, price = "x"} tables')
    for i, item in enumerate(raw_tiers):
        where = f"{path}.tiers[{i}]"
        tier = _table(item, source, where)
        _known(tier, ("from", "price"), source, where)
        start = tier.get("from")
        if isinstance(start, bool) or not isinstance(start, int) or start <= tiers[-1].start:
            raise ConfigError(
                source,
                f"{where}.from",
                "parts already billed before this tier: an integer above"
                " the previous tier's (tiers in increasing order)",
            )
        tiers.append(Tier(start, money_value(tier.get("price"), source, f"{where}.price")))
    return Zone(name, tuple(tiers), tuple(prefixes))


def plan_from(name: str, raw: object, source: str) -> Plan:
    path = f"billing.plans.{name}"
    table = _table(raw, source, path)
    _known(table, ("fee", "usage"), source, path)
    usage = table.get("usage", "out_of_bundle")
    if usage not in USAGES:
        raise ConfigError(source, f"{path}.usage", f"one of {', '.join(USAGES)}")
    return Plan(name, money_value(table.get("fee", "0"), source, f"{path}.fee"), usage)


def billing_settings(config: Any, source: str) -> BillingSettings:
    """The settings of a :class:`gatewayd.config.model.BillingConfig`."""
    zones = {name: zone_from(name, raw, source) for name, raw in config.zones.items()}
    seen: dict[str, str] = {}
    for zone in zones.values():
        for prefix in zone.prefixes:
            if prefix in seen:
                raise ConfigError(
                    source,
                    f"billing.zones.{zone.name}.prefixes",
                    f"prefix {prefix} is already in zone {seen[prefix]}",
                )
            seen[prefix] = zone.name
    plans = {name: plan_from(name, raw, source) for name, raw in config.plans.items()}
    vat = money_value(config.vat_rate, source, "billing.vat_rate")
    if vat >= 1:
        raise ConfigError(source, "billing.vat_rate", "a fraction below 1 (0.2 for 20 %)")
    usage = cast(Usage, config.usage)
    tariff = Tariff(config.currency, zones, plans, usage)
    return BillingSettings(tariff, vat, config.invoice_day, config.check_interval, config.issuer)
