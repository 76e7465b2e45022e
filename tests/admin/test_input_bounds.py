"""Numbers typed in console forms and queries (security review): only ASCII digits, with an
upper bound the database columns hold; anything else is a field error (4xx), never a 500."""

from __future__ import annotations

import pytest
import pytest_twisted

from gatewayd.admin.operator_forms import parse_account_form
from gatewayd.admin.rendering import parse_count
from gatewayd.errors import FieldError
from tests.admin.conftest import ConsoleRig


@pytest.mark.parametrize(
    ("text", "maximum", "number"),
    [
        ("", 10, None),
        ("7", 10, 7),
        (" 0010 ", 10, 10),
        ("11", 10, None),
        ("²", 10, None),  # a digit to str.isdigit, not to int()
        ("٣", 10, None),  # an Arabic-Indic digit: int() takes it, the form does not
        ("1_0", 100, None),  # int() takes underscores
        ("-1", 10, None),
        ("9" * 5000, 10, None),  # int() refuses that many digits
        ("0" * 30 + "5", 10, 5),
    ],
)
def test_parse_count(text: str, maximum: int, number: int | None) -> None:
    assert parse_count(text, maximum) == number


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("share", "²"),
        ("share", "9" * 30),
        ("monthly_quota", "²"),
        ("monthly_quota", "9" * 20),  # more than SQLite's and JSON readers' 64-bit integers
        ("monthly_quota", str(2**31)),
        ("smpp_max_binds", "9" * 20),  # an int4 column on PostgreSQL
        ("smpp_max_binds", str(2**31)),
        ("smpp_max_binds", "٣"),
        ("smpp_tps", "9" * 20),
        ("client_id", "²"),
        ("client_id", "9" * 5000),
    ],
)
def test_account_form_refuses_numbers_out_of_bounds(field: str, value: str) -> None:
    with pytest.raises(FieldError):
        parse_account_form({field: value}, ["unlimited"], [1])


def test_account_form_takes_numbers_in_bounds() -> None:
    settings = parse_account_form(
        {"share": "1000", "monthly_quota": str(2**31 - 1), "smpp_max_binds": "3", "client_id": "1"},
        ["unlimited"],
        [1],
    )
    assert (settings.share, settings.smpp_max_binds, settings.client_id) == (1000, 3, 1)
    assert str(2**31 - 1) in settings.fair_use


@pytest_twisted.ensureDeferred
async def test_query_numbers_that_are_not_ascii_digits_are_ignored(rig: ConsoleRig) -> None:
    browser = await rig.customer("acme", "alice")
    for path in ("/messages/new?resend=²", "/messages/new?resend=" + "9" * 30, "/profile?page=²"):
        answer = await browser.get(path)
        assert answer.code == 200, path
