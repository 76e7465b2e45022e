from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.routing.numbers import (
    InvalidNumber,
    normalise_all,
    normalise_msisdn,
    sender_error,
    split_recipients,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("22376600000", "22376600000"),
        ("+223 76 60 00 00", "22376600000"),
        ("0022376600000", "22376600000"),
        ("+33-6.12.34.56.78", "33612345678"),
    ],
)
def test_valid_numbers_normalise_to_e164_digits(raw: str, expected: str) -> None:
    assert normalise_msisdn(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("076600000", "country code is mandatory"),
        ("2237660000x", "only digits"),
        ("1234567", "8 to 15 digits"),
        ("1234567890123456", "8 to 15 digits"),
        ("", "only digits"),
    ],
)
def test_invalid_numbers_say_why(raw: str, reason: str) -> None:
    result = normalise_msisdn(raw)
    assert isinstance(result, InvalidNumber) and reason in result.reason


def test_recipients_split_on_semicolons_commas_and_lines_and_deduplicate() -> None:
    raws = split_recipients("22376600000; 22376600001,\n+22376600000\n\nabc")
    valid, invalid = normalise_all(raws)
    assert valid == ["22376600000", "22376600001"]
    assert [n.raw for n in invalid] == ["abc"]


@given(st.from_regex(r"[1-9][0-9]{7,14}", fullmatch=True))
def test_any_e164_number_survives_formatting(digits: str) -> None:
    assert normalise_msisdn("+" + digits) == digits
    assert normalise_msisdn("00" + digits) == digits


@pytest.mark.parametrize("sender", ["ACME", "Acme-Promo", "12345", "33612345678"])
def test_good_senders(sender: str) -> None:
    assert sender_error(sender) is None


@pytest.mark.parametrize("sender", ["Société", "ACME PROMO", "TwelveLetter", "1234567890123456"])
def test_bad_senders(sender: str) -> None:
    assert sender_error(sender) is not None
