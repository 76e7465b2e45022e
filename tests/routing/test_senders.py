from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.routing.senders import (
    InvalidSender,
    SenderAddress,
    check_sender,
    sender_address,
    sender_error,
    sender_kind,
)


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("ACME", SenderAddress(5, 0, "ACME", "alphanumeric")),
        ("Acme-Promo", SenderAddress(5, 0, "Acme-Promo", "alphanumeric")),
        ("Dr.Lab", SenderAddress(5, 0, "Dr.Lab", "alphanumeric")),
        ("A", SenderAddress(5, 0, "A", "alphanumeric")),
        ("ELEVENCHARS", SenderAddress(5, 0, "ELEVENCHARS", "alphanumeric")),
        ("1ACME", SenderAddress(5, 0, "1ACME", "alphanumeric")),
        (" ACME ", SenderAddress(5, 0, "ACME", "alphanumeric")),
        ("123", SenderAddress(3, 0, "123", "short_code")),
        ("36123", SenderAddress(3, 0, "36123", "short_code")),
        ("12345678", SenderAddress(3, 0, "12345678", "short_code")),
        ("33612345678", SenderAddress(1, 1, "33612345678", "international")),
        ("+33612345678", SenderAddress(1, 1, "33612345678", "international")),
        ("22376600000", SenderAddress(1, 1, "22376600000", "international")),
        ("+6833456", SenderAddress(1, 1, "6833456", "international")),  # Niue: 4 digits
    ],
)
def test_sender_kinds_and_their_ton_npi(sender: str, expected: SenderAddress) -> None:
    assert sender_address(sender) == expected
    assert sender_kind(sender) == expected.kind
    assert sender_error(sender) is None


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("", "empty"),
        ("Société", "no accents or spaces"),
        ("ACME PROMO", "no accents or spaces"),
        ("TwelveLetter", "1 to 11"),
        ("ACME_SHOP", "1 to 11"),
        ("-ACME", "1 to 11"),
        ("ACME&CO", "1 to 11"),
        ("12", "short code of 3 to 8 digits"),
        ("1234567890123456", "up to 15 digits"),
        ("+33 6 12 34 56 78", "digits only"),
        ("123-456", "digits only"),
        ("+123", "short code of 3 to 8 digits"),
        ("0612345678", "starts with its country code"),
        ("999123456789", "invalid country code"),
        ("223766000", "not a possible number for country code +223"),
    ],
)
def test_bad_senders_say_why(sender: str, reason: str) -> None:
    result = sender_address(sender)
    assert isinstance(result, InvalidSender)
    assert reason in result.reason
    assert sender_error(sender) == result.reason
    assert sender_kind(sender) is None


ALLOWED = ["ACME", "Acme-Promo", "36123", "+33 6 12 34 56 78", "33612345678", "not valid!"]


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("ACME", SenderAddress(5, 0, "ACME", "alphanumeric")),
        ("acme", SenderAddress(5, 0, "ACME", "alphanumeric")),  # the approved spelling is sent
        ("ACME-PROMO", SenderAddress(5, 0, "Acme-Promo", "alphanumeric")),
        ("36123", SenderAddress(3, 0, "36123", "short_code")),
        ("+33612345678", SenderAddress(1, 1, "33612345678", "international")),
    ],
)
def test_allowed_senders_match_case_insensitively_or_by_digits(
    sender: str, expected: SenderAddress
) -> None:
    assert check_sender(sender, ALLOWED) == expected


@pytest.mark.parametrize("sender", ["ACMEX", "ACM", "36124", "33612345679", "not valid!"])
def test_senders_not_in_the_list_are_refused(sender: str) -> None:
    result = check_sender(sender, ALLOWED)
    assert isinstance(result, InvalidSender)
    if sender == "not valid!":
        assert "no accents or spaces" in result.reason  # the format is checked first
    else:
        assert result.reason == "not one of the account's allowed senders"


def test_no_list_allows_any_well_formed_sender_and_an_empty_list_none() -> None:
    assert check_sender("ANYONE", None) == SenderAddress(5, 0, "ANYONE", "alphanumeric")
    assert isinstance(check_sender("Société", None), InvalidSender)
    assert isinstance(check_sender("ANYONE", []), InvalidSender)


@pytest.mark.parametrize("sender", ["", "  "])
def test_an_empty_sender_means_the_account_default(sender: str) -> None:
    assert check_sender(sender, ALLOWED) is None
    assert check_sender(sender, []) is None


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@given(
    st.text(LETTERS + "0123456789", max_size=10).flatmap(
        lambda rest: st.sampled_from(LETTERS).map(lambda letter: letter + rest)
    )
)
def test_any_short_ascii_name_with_a_letter_is_alphanumeric(name: str) -> None:
    assert sender_address(name) == SenderAddress(5, 0, name, "alphanumeric")
    assert check_sender(name.swapcase(), [name]) == SenderAddress(5, 0, name, "alphanumeric")


@given(st.text("0123456789", min_size=3, max_size=8))
def test_any_three_to_eight_digits_are_a_short_code(digits: str) -> None:
    assert sender_address(digits) == SenderAddress(3, 0, digits, "short_code")
