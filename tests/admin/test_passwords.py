from __future__ import annotations

import pytest

from gatewayd.admin.passwords import password_problem


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass", "at least 12"),
        ("my-alice-password!", "your login"),
        ("ALICEALICEALICE", "your login"),
        ("aaaaaaaaaaaaaaaa", "too simple"),
        ("ababababababab", "too simple"),
        ("Password1234", "most common"),
        ("azerty123456", "most common"),
        ("correct horse battery staple", "most common"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, problem: str) -> None:
    found = password_problem(password, "alice")
    assert found is not None and problem in found


def test_a_long_unusual_password_passes() -> None:
    assert password_problem("tamarind-kite-41-ladder", "alice") is None
