from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gatewayd.routing import numbers, senders
from gatewayd.routing.numbers import (
    Destination,
    InvalidNumber,
    NumberPlan,
    classify,
    e164_number,
    normalise_all,
    normalise_msisdn,
    split_recipients,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+22376600000", "22376600000"),
        ("0022376600000", "22376600000"),
        ("22376600000", "22376600000"),
        ("+223 76 60 00 00", "22376600000"),
        ("+33-6.12.34.56.78", "33612345678"),
        ("+33 (0)6 12 34 56 78", "33612345678"),
        ("0033 6 12 34 56 78", "33612345678"),
        ("+32 470 12 34 56", "32470123456"),
        ("49 151 23456789", "4915123456789"),
        ("+1 (202) 555-0123", "12025550123"),
        ("+39 06 1234 5678", "390612345678"),  # Italian leading zero kept
        ("  +22376600000\t", "22376600000"),
    ],
)
def test_international_numbers_normalise_to_e164_digits(raw: str, expected: str) -> None:
    assert normalise_msisdn(raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("06 12 34 56 78", "FR", "33612345678"),
        ("06 12 34 56 78", "fr", "33612345678"),
        ("76 60 00 00", "ML", "22376600000"),
        ("0470 12 34 56", "BE", "32470123456"),
        ("0151 23456789", "DE", "4915123456789"),
        ("(202) 555-0123", "US", "2025550123"),  # international first: +20, see below
        ("1 (202) 555-0123", "US", "12025550123"),
        ("011 33 6 12 34 56 78", "US", "33612345678"),  # the country's own international prefix
        ("22376600000", "FR", "22376600000"),  # bare digits are international first
        ("+33612345678", "ML", "33612345678"),
    ],
)
def test_national_formats_with_the_account_default_country(
    raw: str, country: str, expected: str
) -> None:
    assert normalise_msisdn(raw, country) == expected


def test_bare_digits_are_national_only_when_the_international_reading_fails() -> None:
    # +20 25550123 has the length of an Egyptian number, but no Egyptian range holds it.
    assert normalise_msisdn("2025550123", "US") == "2025550123"
    assert normalise_msisdn("2025550123", "US", strict=True) == "12025550123"
    assert normalise_msisdn("76600000", "ML") == "22376600000"  # +76... is no country code
    result = normalise_msisdn("76 60 00", "ML")
    assert isinstance(result, InvalidNumber)
    assert result.reason == (
        "as an international number: too short for country code +7;"
        " as a national one: too short for country code +223"
    )


@pytest.mark.parametrize(
    ("raw", "country", "reason"),
    [
        ("076600000", None, "country code is mandatory"),
        ("06 12 34 56 78", None, "country code is mandatory"),
        ("06 12 34 56 78", "XX", "not an ISO 3166 code"),
        ("2237660000x", None, "not a number"),
        ("+223 76 60 00 00 ext 12", None, "not a number"),
        ("1-800-FLOWERS", "US", "not a number"),
        ("++22376600000", None, "not a number"),
        ("", None, "empty"),
        ("   ", None, "empty"),
        ("+999 1234 5678", None, "invalid country code"),
        ("+223 7660", None, "too short for country code +223"),
        ("+223 7660 0000 0000", None, "too long for country code +223"),
        ("+33 6 12 34 56 7", None, "too short for country code +33"),
        ("+1 23", None, "too short"),
        ("+1234567890123456789", None, "too long"),
        ("+49 10000000000000", None, "at most 15 digits"),
    ],
)
def test_invalid_numbers_say_why(raw: str, country: str | None, reason: str) -> None:
    result = normalise_msisdn(raw, country)
    assert isinstance(result, InvalidNumber)
    assert result.raw == raw
    assert reason in result.reason


@pytest.mark.parametrize(
    "raw",
    [
        "+22356600000",  # right length for Mali, but no Malian range starts with 5
        "+1 200 999 9999",  # 200 is not a US or Canadian area code
    ],
)
def test_strict_refuses_numbers_only_the_length_allows(raw: str) -> None:
    assert isinstance(normalise_msisdn(raw), str)
    result = normalise_msisdn(raw, strict=True)
    assert isinstance(result, InvalidNumber)
    assert "not a valid number for its country" in result.reason


def test_recipients_split_on_semicolons_commas_and_lines_and_deduplicate() -> None:
    raws = split_recipients("22376600000; 22376600001,\n+22376600000\n\nabc 0612345678")
    valid, invalid = normalise_all(raws)
    assert valid == ["22376600000", "22376600001"]
    assert [n.raw for n in invalid] == ["abc", "0612345678"]
    assert normalise_all(raws, "FR")[0] == ["22376600000", "22376600001", "33612345678"]


def test_sender_error_is_still_importable_from_numbers() -> None:
    assert numbers.sender_error is senders.sender_error
    assert numbers.sender_error("ACME") is None


# -- classification


@pytest.mark.parametrize(
    ("e164", "account", "region", "scope"),
    [
        ("22376600000", "ML", "ML", "national"),
        ("22376600000", "ml", "ML", "national"),
        ("22376600000", "FR", "ML", "international"),
        ("33612345678", "FR", "FR", "national"),
        ("32470123456", "FR", "BE", "international"),
        ("4915123456789", "DE", "DE", "national"),
        ("12025550123", "US", "US", "national"),
        ("12025550123", "CA", "US", "international"),  # +1 is shared; the region decides
        ("12009999999", "US", "", "national"),  # unknown +1 range: same country code
        ("12009999999", "FR", "", "international"),
        ("80012345678", "FR", "", "international"),  # non-geographic freephone
    ],
)
def test_scope_is_relative_to_the_account_country(
    e164: str, account: str, region: str, scope: str
) -> None:
    destination = classify(e164, account)
    assert (destination.e164, destination.region, destination.scope) == (e164, region, scope)


def test_without_an_account_country_the_home_country_decides_else_international() -> None:
    assert classify("22376600000", None, home_country="ML").scope == "national"
    assert classify("22376600000", "", home_country="ML").scope == "national"
    assert classify("22376600000", "FR", home_country="ML").scope == "international"
    assert classify("22376600000").scope == "international"


@pytest.mark.parametrize(
    ("e164", "operator"),
    [
        ("33612345678", "SFR"),
        ("32470123456", "Proximus"),
        ("22376600000", "Orange"),
        ("12025550123", ""),  # phonenumbers has no US carrier data
        ("33123456789", ""),  # a fixed line has no carrier
    ],
)
def test_carrier_data_is_the_fallback_operator(e164: str, operator: str) -> None:
    assert classify(e164, "FR").operator == operator


def test_longest_prefix_wins_over_shorter_ones_and_carrier_data() -> None:
    plan = NumberPlan({"223": "Any ML", "2237": "Orange ML", "22376": "Ported"}, "ML")
    assert plan.classify("22376600000").operator == "Ported"
    assert plan.classify("22377600000").operator == "Orange ML"
    assert plan.classify("22366123456").operator == "Any ML"
    assert plan.classify("33612345678").operator == "SFR"


@pytest.mark.parametrize("e164", ["", "0612345678", "abc", "+", "999123456", "1234567890123456"])
def test_classify_refuses_what_is_not_e164(e164: str) -> None:
    with pytest.raises(ValueError, match=r"E\.164|country code"):
        classify(e164)


def test_classify_accepts_a_leading_plus() -> None:
    assert classify("+22376600000") == classify("22376600000")


def test_the_plan_cache_keeps_account_countries_apart() -> None:
    plan = NumberPlan(home_country="ML", cache_size=2)
    for _ in range(3):
        assert plan.classify("22376600000").scope == "national"
        assert plan.classify("22376600000", "FR").scope == "international"
        assert plan.classify("22376600000", "fr") == Destination(
            "22376600000", "ML", "international", "Orange"
        )


def test_the_plan_normalises_at_its_validation_level() -> None:
    lenient, strict = NumberPlan(), NumberPlan(strict=True)
    assert lenient.normalise("+22356600000") == "22356600000"
    assert isinstance(strict.normalise("+22356600000"), InvalidNumber)
    assert strict.normalise_all(["+22376600000", "22376600000", "+22356600000"])[0] == [
        "22376600000"
    ]
    assert lenient.normalise("06 12 34 56 78", "FR") == "33612345678"


@pytest.mark.parametrize(
    ("table", "bad"),
    [
        ({"+223": "Orange"}, "'+223'"),
        ({"": "Orange"}, "''"),
        ({"223 7": "Orange"}, "'223 7'"),
        ({"1234567890123456": "Orange"}, "'1234567890123456'"),
        ({"²23": "Orange"}, "'²23'"),
        ({"2237": "Orange", "2236": " "}, "'2236'"),
    ],
)
def test_a_bad_prefix_table_names_the_prefix(table: dict[str, str], bad: str) -> None:
    with pytest.raises(ValueError, match=re.escape(bad)):
        NumberPlan(table)


def test_a_bad_home_country_is_refused() -> None:
    with pytest.raises(ValueError, match="'XX'"):
        NumberPlan(home_country="XX")


# -- properties

EXAMPLES = sorted(
    phonenumbers.format_number(sample, phonenumbers.PhoneNumberFormat.E164)[1:]
    for region in phonenumbers.SUPPORTED_REGIONS
    for kind in range(11)
    if (sample := phonenumbers.example_number_for_type(region, kind)) is not None
)


@st.composite
def formatted_numbers(draw: st.DrawFn) -> str:
    """phonenumbers' own E.164 output: an example number with its last digits changed."""
    base = draw(st.sampled_from(EXAMPLES))
    changed = draw(st.integers(min_value=0, max_value=min(4, len(base) - 4)))
    tail = draw(st.text("0123456789", min_size=changed, max_size=changed))
    number = phonenumbers.parse("+" + base[: len(base) - changed] + tail)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


@given(formatted_numbers())
def test_formatted_numbers_normalise_to_themselves(e164: str) -> None:
    # A number possible only as a local number (no area code) cannot be routed: refused.
    reason = phonenumbers.is_possible_number_with_reason(phonenumbers.parse("+" + e164))
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        assert isinstance(normalise_msisdn("+" + e164), InvalidNumber)
        return
    assert normalise_msisdn("+" + e164) == e164
    assert normalise_msisdn("00" + e164) == e164
    assert normalise_msisdn(f"+{e164[:3]} {e164[3:6]}-{e164[6:]}") == e164


@given(formatted_numbers())
def test_the_direct_e164_reading_equals_phonenumbers_parse(e164: str) -> None:
    parsed = phonenumbers.parse("+" + e164)
    assert e164_number(e164) == parsed
    region = phonenumbers.region_code_for_number(parsed) or ""
    assert classify(e164).region == ("" if region == "001" else region)


@example("98000000", None, False)  # parse() would drop Iran's national prefix 0 each time
@example("10000000000000", "DE", False)  # 16 digits: German metadata allows it, E.164 not
@given(
    st.text("+0123456789 .-()", max_size=20),
    st.sampled_from([None, "FR", "ML", "US", "DE", "BE"]),
    st.booleans(),
)
def test_normalising_is_idempotent(raw: str, country: str | None, strict: bool) -> None:
    result = normalise_msisdn(raw, country, strict)
    if isinstance(result, str):
        assert normalise_msisdn(result, country, strict) == result
        assert normalise_msisdn("+" + result, None, strict) == result
        assert classify(result).e164 == result
