"""The routing table and MO table built from the config, with errors that name the file and
the key. The daemon builds them through here, and ``check-config`` / start-up run the same
checks, so a rule that would fail at run time fails at start instead."""

from __future__ import annotations

from gatewayd.config.model import Config
from gatewayd.errors import ConfigError
from gatewayd.routing.fairuse_rules import plans_from_mapping
from gatewayd.routing.mo import MoRule, MoTable
from gatewayd.routing.numbers import NumberPlan
from gatewayd.routing.rules_parse import parse_mo_rules, parse_rules
from gatewayd.routing.table import RoutingTable, Rule, connectors_used
from gatewayd.storage.fair_use import FairUsePolicy


def config_error(source: str, error: ValueError) -> ConfigError:
    """``ValueError("routing.rules[2].prefixes: reason")`` as a ConfigError on that key."""
    path, _, reason = str(error).partition(": ")
    return ConfigError(source, path, reason or str(error))


def routing_rules(config: Config, source: str) -> tuple[Rule, ...]:
    try:
        rules = parse_rules(config.routing.rules, "routing.rules")
    except ValueError as error:
        raise config_error(source, error) from None
    for index, rule in enumerate(rules):
        for name in sorted(connectors_used([rule]) - set(config.connectors)):
            known = ", ".join(sorted(config.connectors)) or "none configured"
            raise ConfigError(
                source, f"routing.rules[{index}]", f"no connector named {name!r} ({known})"
            )
    return rules


def routing_table(config: Config, source: str, extra: tuple[Rule, ...] = ()) -> RoutingTable:
    """``extra``: the database's rules, which come first."""
    default = config.routing.default_connector or None
    return RoutingTable((*extra, *routing_rules(config, source)), default)


def number_plan(config: Config, source: str) -> NumberPlan:
    numbers = config.numbers
    try:
        return NumberPlan(dict(numbers.operators), numbers.home_country, numbers.strict)
    except ValueError as error:
        key = "numbers.home_country" if "home country" in str(error) else "numbers.operators"
        raise ConfigError(source, key, str(error)) from None


def mo_table(config: Config, source: str) -> MoTable:
    try:
        rules = parse_mo_rules(config.mo.rules, "mo.rules")
    except ValueError as error:
        raise config_error(source, error) from None
    # [mo] routes (address = "account") are address-only rules after the [[mo.rules]].
    taken = {rule.address for rule in rules if rule.keyword is None}
    plain = tuple(
        MoRule(address, None, account)
        for address, account in config.mo.routes.items()
        if address not in taken
    )
    try:
        return MoTable((*rules, *plain))
    except ValueError as error:
        raise ConfigError(source, "mo.rules", str(error)) from None


def fair_use_policy(config: Config, source: str) -> FairUsePolicy:
    try:
        plans = plans_from_mapping(config.plans, "plans")
    except ValueError as error:
        raise config_error(source, error) from None
    default = config.fair_use.default_plan
    if default not in plans:
        known = ", ".join(sorted(plans))
        raise ConfigError(source, "fair_use.default_plan", f"no plan {default!r} ({known})")
    return FairUsePolicy(plans, default)
