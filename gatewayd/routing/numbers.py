"""Phone numbers and sender IDs: pure checks, no I/O.

The country code is mandatory, as in the operator's WebSMS manual (223 for Mali:
22376600000). A later issue replaces the digit rules below with the phonenumbers library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[\s;,]+")
_DIGITS = re.compile(r"^[1-9][0-9]{7,14}$")
_ALNUM_SENDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,10}$")


@dataclass(frozen=True)
class InvalidNumber:
    raw: str
    reason: str


def normalise_msisdn(raw: str) -> str | InvalidNumber:
    """E.164 digits without '+', or the reason the input is not a number."""
    text = raw.strip().replace(" ", "").replace("-", "").replace(".", "")
    if text.startswith("+"):
        text = text[1:]
    elif text.startswith("00"):
        text = text[2:]
    if not text.isdigit():
        return InvalidNumber(raw, "only digits, with an optional leading + or 00")
    if text.startswith("0"):
        return InvalidNumber(raw, "the country code is mandatory (e.g. 22376600000)")
    if not _DIGITS.match(text):
        return InvalidNumber(raw, "a number has 8 to 15 digits with its country code")
    return text


def split_recipients(text: str) -> list[str]:
    """Recipients typed or pasted: separated by ';', commas, spaces or new lines."""
    return [part for part in _SEPARATORS.split(text) if part]


def normalise_all(raws: Iterable[str]) -> tuple[list[str], list[InvalidNumber]]:
    """Valid numbers de-duplicated in first-seen order, and the invalid ones with reasons."""
    valid: dict[str, None] = {}
    invalid: list[InvalidNumber] = []
    for raw in raws:
        result = normalise_msisdn(raw)
        if isinstance(result, InvalidNumber):
            invalid.append(result)
        else:
            valid.setdefault(result)
    return list(valid), invalid


def sender_error(sender: str) -> str | None:
    """Why ``sender`` cannot be a sender ID, or None: alphanumeric up to 11, or digits."""
    if sender.isdigit():
        return None if len(sender) <= 15 else "a numeric sender has at most 15 digits"
    if not sender.isascii() or not _ALNUM_SENDER.match(sender) or " " in sender:
        return "an alphanumeric sender has 1 to 11 letters or digits, no accents or spaces"
    return None
