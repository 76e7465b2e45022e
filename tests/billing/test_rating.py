"""The pure rating engine: money rounding, zones, marginal tiers, out-of-bundle, prorating."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gatewayd.billing.invoices import Member, UsageRow, account_draft, group_draft
from gatewayd.billing.money import Money, to_minor
from gatewayd.billing.rating import Plan, Tariff, Tier, Zone, plan_fee, rate_zone

D = Decimal


def test_money_rounds_half_up_once_and_never_mixes_currencies() -> None:
    assert to_minor(D("0.005"), "EUR") == 1
    assert to_minor(D("0.0049"), "EUR") == 0
    assert to_minor(D("2.675"), "EUR") == 268  # a float would give 2.67
    assert to_minor(D("12.5"), "XOF") == 13  # no minor unit
    assert to_minor(D("1.0005"), "TND") == 1001  # three digits
    assert Money.of("12.345", "EUR") == Money(1235, "EUR")
    assert Money(1235, "EUR").text() == "12.35 EUR"
    assert Money(5, "XOF").text() == "5 XOF"
    with pytest.raises(ValueError, match="cannot mix"):
        Money(1, "EUR") + Money(1, "XOF")
    with pytest.raises(ValueError, match="not a decimal"):
        Money.of("1,5", "EUR")


ZONES = {
    "national": Zone("national", (Tier(0, D("0.05")), Tier(10, D("0.04")), Tier(100, D("0.03")))),
    "france": Zone("france", (Tier(0, D("0.08")),), ("33",)),
    "orange_fr": Zone("orange_fr", (Tier(0, D("0.07")),), ("3367", "3368")),
}
TARIFF = Tariff(
    "EUR",
    ZONES,
    {"pro": Plan("pro", D("30"), "out_of_bundle"), "meter": Plan("meter", D("0"), "all")},
)


def test_a_destination_takes_its_longest_prefix_else_its_scope() -> None:
    assert TARIFF.zone_of("33612345678", "international") == "france"
    assert TARIFF.zone_of("33671234567", "international") == "orange_fr"
    assert TARIFF.zone_of("22376600000", "national") == "national"
    assert TARIFF.zone_of("447700900000", "international") == "international"
    # A zone that is not configured is free, not an error.
    assert rate_zone(TARIFF.zone("international"), 5, "EUR")[0].amount == Money(0, "EUR")


def test_tiers_are_marginal_each_band_at_its_price() -> None:
    bands = rate_zone(ZONES["national"], 150, "EUR")
    assert [(b.first, b.last, b.parts, b.price) for b in bands] == [
        (1, 10, 10, D("0.05")),
        (11, 100, 90, D("0.04")),
        (101, None, 50, D("0.03")),
    ]
    assert sum(b.amount.minor for b in bands) == 50 + 360 + 150
    # No cliff: one part more never costs less.
    totals = [
        sum(b.amount.minor for b in rate_zone(ZONES["national"], n, "EUR")) for n in range(120)
    ]
    assert totals == sorted(totals)
    assert rate_zone(ZONES["national"], 0, "EUR") == []
    assert [b.parts for b in rate_zone(ZONES["national"], 10, "EUR")] == [10]


def test_the_first_month_is_prorated_by_days_and_a_started_month_is_due() -> None:
    fee = D("30")
    first = plan_fee(fee, "2026-11", date(2026, 11, 21), "EUR")
    assert first is not None and (first.days, first.month_days) == (10, 30)
    assert first.amount == Money(1000, "EUR") and first.prorated
    assert plan_fee(fee, "2026-11", date(2026, 11, 1), "EUR").amount == Money(3000, "EUR")  # type: ignore[union-attr]
    later = plan_fee(fee, "2026-12", date(2026, 11, 21), "EUR")
    assert later is not None and later.amount == Money(3000, "EUR") and not later.prorated
    assert plan_fee(fee, "2026-10", date(2026, 11, 21), "EUR") is None
    # February 2028 has 29 days: 1 day of 29 of 10.00 is 0.3448... -> 0.34
    feb = plan_fee(D("10"), "2028-02", date(2028, 2, 29), "EUR")
    assert feb is not None and feb.amount == Money(34, "EUR") and feb.month_days == 29


USAGE = [
    UsageRow("2026-11-21", "national", False, 100, 120),
    UsageRow("2026-11-22", "national", True, 10, 15),
    UsageRow("2026-11-22", "france", True, 2, 4),
]


def test_a_bundle_plan_bills_the_fee_and_only_out_of_bundle_parts() -> None:
    draft = account_draft(TARIFF, D("0.2"), "pro", "2026-11", date(2026, 11, 21), USAGE)
    kinds = [(line.kind, line.zone, line.quantity, line.amount.minor) for line in draft.lines]
    assert kinds == [
        ("plan", "", 1, 1000),
        ("out_of_bundle", "france", 4, 32),
        ("out_of_bundle", "national", 10, 50),
        ("out_of_bundle", "national", 5, 20),
    ]
    assert "prorated, 10 of 30 days" in draft.lines[0].description
    assert draft.subtotal == Money(1102, "EUR")
    assert draft.vat == Money(220, "EUR")  # 220.4 rounded once, on the subtotal
    assert draft.total == Money(1322, "EUR")
    assert draft.usage == tuple(sorted(USAGE, key=lambda r: (r.day, r.zone, r.out_of_bundle)))


def test_a_metered_plan_bills_every_part_and_no_plan_bills_out_of_bundle() -> None:
    metered = account_draft(TARIFF, D(0), "meter", "2026-11", date(2026, 1, 1), USAGE)
    assert {line.kind for line in metered.lines} == {"usage"}
    national = [line for line in metered.lines if line.zone == "national"]
    assert [line.quantity for line in national] == [10, 90, 35]
    none = account_draft(TARIFF, D(0), None, "2026-11", date(2026, 1, 1), USAGE)
    assert [line.kind for line in none.lines] == ["out_of_bundle"] * 3
    prepaid = Tariff("EUR", ZONES, {"pre": Plan("pre", D(0), "none")})
    assert (
        account_draft(prepaid, D(0), "pre", "2026-11", date(2026, 1, 1), USAGE).subtotal.minor == 0
    )
    assert account_draft(prepaid, D(0), "pre", "2026-11", date(2026, 1, 1), []).empty


def test_a_group_invoice_adds_up_its_accounts_exactly() -> None:
    members = [
        Member("F202611-A1", "sales", Money(1001, "EUR"), Money(200, "EUR")),
        Member("F202611-A2", "support", Money(1001, "EUR"), Money(200, "EUR")),
    ]
    draft = group_draft("EUR", D("0.2"), members)
    assert draft.subtotal == Money(2002, "EUR")
    assert draft.vat == Money(400, "EUR")  # the accounts' VAT, not 400.4 again rounded
    assert [line.description for line in draft.lines] == [
        "Account sales, invoice F202611-A1",
        "Account support, invoice F202611-A2",
    ]
