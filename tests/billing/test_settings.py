"""[billing] read strictly: every error names its key."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gatewayd.billing.rating import Tier
from gatewayd.config import parse_config
from gatewayd.errors import ConfigError


def _billing(**billing: Any) -> Any:
    return parse_config({"billing": billing}, "test.toml").billing


def test_zones_tiers_and_plans_are_read() -> None:
    from gatewayd.billing.settings import billing_settings

    raw = _billing(
        currency="XOF",
        vat_rate="0.18",
        zones={
            "national": {"price": "25", "tiers": [{"from": 10000, "price": 20}]},
            "france": {"price": "60", "prefixes": ["33"]},
        },
        plans={"pro": {"fee": "15000", "usage": "all"}},
    )
    settings = billing_settings(raw, "test.toml")
    assert settings.vat_rate == Decimal("0.18") and settings.tariff.currency == "XOF"
    national = settings.tariff.zone("national")
    assert national.tiers == (Tier(0, Decimal(25)), Tier(10000, Decimal(20)))
    assert settings.tariff.zone_of("33612345678", "national") == "france"
    assert settings.tariff.plan("pro").usage == "all"
    assert settings.tariff.plan("other").fee == 0


@pytest.mark.parametrize(
    ("billing", "key", "reason"),
    [
        ({"currency": "euro"}, "billing.currency", "ISO 4217"),
        ({"vat_rate": "1.5"}, "billing.vat_rate", "below 1"),
        ({"vat_rate": "x"}, "billing.vat_rate", "not a decimal"),
        ({"invoice_day": 31}, "billing.invoice_day", "1 to 28"),
        ({"zones": {"n": {"price": 0.05}}}, "billing.zones.n.price", "not a float"),
        ({"zones": {"n": {"price": "-1"}}}, "billing.zones.n.price", "0 or more"),
        ({"zones": {"n": {"prise": "1"}}}, "billing.zones.n.prise", "unknown key"),
        ({"zones": {"n": {"prefixes": ["+33"]}}}, "billing.zones.n.prefixes", "digit prefixes"),
        (
            {"zones": {"n": {"tiers": [{"from": 10, "price": "1"}, {"from": 5, "price": "1"}]}}},
            "billing.zones.n.tiers[1].from",
            "increasing",
        ),
        (
            {"zones": {"a": {"prefixes": ["33"]}, "b": {"prefixes": ["33"]}}},
            "billing.zones.b.prefixes",
            "already in zone a",
        ),
        ({"plans": {"p": {"usage": "some"}}}, "billing.plans.p.usage", "one of"),
        ({"plans": {"p": {"fee": True}}}, "billing.plans.p.fee", "as text"),
    ],
)
def test_a_bad_value_names_its_key(billing: dict[str, Any], key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _billing(**billing)
    assert refused.value.path == key and reason in refused.value.reason
