"""The ``page`` every paginated console list reads from its request."""

from __future__ import annotations

import pytest
from twisted.web.test.requesthelper import DummyRequest

from gatewayd.admin.rendering import MAX_PAGE, page_number


def _asking(value: str | None) -> DummyRequest:
    request = DummyRequest([b""])
    if value is not None:
        request.args = {b"page": [value.encode()]}
    return request


@pytest.mark.parametrize(
    ("asked", "number"),
    [
        (None, 1),
        ("", 1),
        ("0", 1),
        ("1", 1),
        ("7", 7),
        ("0012", 12),
        ("-3", 1),
        ("x", 1),
        ("²", 1),  # a digit to str.isdigit, not to int()
        ("1000001", MAX_PAGE),
        ("9" * 5000, MAX_PAGE),  # int() refuses that many digits
        ("0" * 30 + "5", 5),
    ],
)
def test_the_page_asked_for(asked: str | None, number: int) -> None:
    assert page_number(_asking(asked)) == number
