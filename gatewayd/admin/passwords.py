"""The console's password rule: pure, so the profile page and its tests share it.

At least :data:`~gatewayd.security.MIN_PASSWORD_LENGTH` (12) characters, not the login (nor
containing it), not one character repeated, and not one of the passwords most often leaked
(a short built-in list; 12 characters already rule out most of the usual lists). Problems
come back as English msgids for the page to translate.
"""

from __future__ import annotations

from gatewayd.security import MIN_PASSWORD_LENGTH

#: Common passwords of 12 characters or more (from the public "most used" lists), lower case.
COMMON = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678910",
        "123456123456",
        "111111111111",
        "000000000000",
        "qwertyuiopas",
        "qwertyuiop123",
        "qwerty123456",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "zaq12wsxcde3",
        "azertyuiop12",
        "azerty123456",
        "azertyuiop123",
        "passwordpassword",
        "password1234",
        "password12345",
        "password123456",
        "motdepasse123",
        "motdepasse1234",
        "iloveyou1234",
        "administrator",
        "administrateur",
        "welcome12345",
        "bienvenue123",
        "changeme1234",
        "letmein12345",
        "abcdefghijkl",
        "abcd12345678",
        "football1234",
        "sunshine1234",
        "princess1234",
        "trustno1trustno1",
        "correcthorsebatterystaple",
    }
)


def password_problem(password: str, login: str) -> str | None:
    """Why ``password`` is too weak for ``login`` (an English msgid), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "A password needs at least 12 characters."
    lowered = password.lower()
    if login and login.lower() in lowered:
        return "The password must not contain your login."
    if len(set(password)) < 4:
        return "The password is too simple: use more different characters."
    if lowered in COMMON or lowered.replace(" ", "") in COMMON:
        return "This password is one of the most common ones: choose another."
    return None
