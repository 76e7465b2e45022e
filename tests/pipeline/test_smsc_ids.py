from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.pipeline.smsc_ids import candidates, normalise, reading


@pytest.mark.parametrize(
    ("raw", "key"),
    [("00AbC", "abc"), ("abc", "abc"), (" 0042 ", "42"), ("0", "0"), ("000", "0"), ("", "")],
)
def test_normalise_ignores_case_blanks_and_leading_zeros(raw: str, key: str) -> None:
    assert normalise(raw) == key


def test_receipt_in_decimal_of_a_hex_response() -> None:
    # submit_sm_resp said "1A2B" (stored as "1a2b"); the receipt says 6699.
    assert reading("6699", "decimal") == normalise("1A2B")
    assert reading("6699", "same") == "6699"


def test_receipt_in_hex_of_a_decimal_response() -> None:
    assert reading("1a2b", "hex") == normalise("6699")
    assert reading("xyz", "hex") is None
    assert reading("12x", "decimal") is None


def test_candidates_put_the_configured_reading_first_and_try_the_others() -> None:
    assert candidates("6699", "decimal") == ("1a2b", "6699", "26265")
    assert candidates("6699", "same")[0] == "6699"
    assert candidates("0FF", "same") == ("ff", "255")
    assert candidates("", "same") == ()


@given(st.integers(min_value=0, max_value=2**64))
def test_every_reading_round_trips(number: int) -> None:
    hex_id, dec_id = format(number, "X").zfill(10), str(number)
    assert normalise(hex_id) in candidates(dec_id, "same")
    assert normalise(dec_id) in candidates(hex_id.lower(), "same")
    assert candidates(dec_id, "decimal")[0] == normalise(hex_id)
