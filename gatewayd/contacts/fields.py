"""A contact's fields, checked: first and last names mandatory, the mobile in E.164. Pure.

Problems are English msgids with ``%(name)s`` values, translated where they are shown, so that
the same check serves the console's form, the CSV import and the HTTP API.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from gatewayd.routing.numbers import InvalidNumber

#: A number as typed, to E.164 digits or the reason it is refused (``normalise_msisdn`` with
#: the account's country and the validation level bound in).
Normalise = Callable[[str], "str | InvalidNumber"]

NAME_MAX = 100
FIELDS = ("first_name", "last_name", "msisdn")


@dataclass(frozen=True)
class Problem:
    """What is wrong, as an English msgid and its values; ``row`` is a CSV line (0: none)."""

    message: str
    values: Mapping[str, str | int | Problem] = field(default_factory=dict)
    row: int = 0

    def text(self, gettext: Callable[[str], str]) -> str:
        """The message in the reader's language (values that are problems are translated)."""
        translated = gettext(self.message)
        if not self.values:
            return translated
        values = {
            k: v.text(gettext) if isinstance(v, Problem) else v for k, v in self.values.items()
        }
        return translated % values


@dataclass(frozen=True)
class Entry:
    """A checked contact: names stripped, the number in E.164 digits."""

    first_name: str
    last_name: str
    msisdn: str


def check_name(value: str, label: str) -> str | Problem:
    name = value.strip()
    if not name:
        return Problem("the %(field)s is mandatory", {"field": Problem(label)})
    if len(name) > NAME_MAX:
        return Problem(
            "the %(field)s has %(max)s characters at most",
            {"field": Problem(label), "max": NAME_MAX},
        )
    return name


def check_contact(
    first_name: str, last_name: str, number: str, normalise: Normalise
) -> Entry | dict[str, Problem]:
    """The contact, or a problem per field (``first_name``, ``last_name``, ``msisdn``)."""
    problems: dict[str, Problem] = {}
    first = check_name(first_name, "first name")
    last = check_name(last_name, "last name")
    msisdn = number_problem(normalise(number))
    for key, found in (("first_name", first), ("last_name", last), ("msisdn", msisdn)):
        if isinstance(found, Problem):
            problems[key] = found
    if problems:
        return problems
    assert isinstance(first, str) and isinstance(last, str) and isinstance(msisdn, str)
    return Entry(first, last, msisdn)


def number_problem(result: str | InvalidNumber) -> str | Problem:
    """A normalised number, or its refusal as a translatable problem."""
    if isinstance(result, str):
        return result
    if result.reason == "empty":
        return Problem("the mobile number is mandatory")
    return number_reason(result.reason)


# The reasons ``gatewayd.routing.numbers`` gives, with their variable parts made values.
_REASONS = [
    (
        re.compile(r"invalid country code \((?P<code>\+\d+) is not in use\)"),
        "invalid country code (%(code)s is not in use)",
    ),
    (
        re.compile(r"too short for country code (?P<code>\+\d+): the area code is missing"),
        "too short for country code %(code)s: the area code is missing",
    ),
    (
        re.compile(r"too short for country code (?P<code>\+\d+)"),
        "too short for country code %(code)s",
    ),
    (
        re.compile(r"too long for country code (?P<code>\+\d+)"),
        "too long for country code %(code)s",
    ),
    (
        re.compile(r"wrong number of digits for country code (?P<code>\+\d+)"),
        "wrong number of digits for country code %(code)s",
    ),
    (
        re.compile(r"not a valid number for its country \((?P<code>\+\d+), (?P<region>\w*)\)"),
        "not a valid number for its country (%(code)s, %(region)s)",
    ),
]
_EITHER = re.compile(r"as an international number: (?P<a>.*); as a national one: (?P<b>.*)")


def number_reason(reason: str) -> Problem:
    """``reason`` as a msgid with values; a reason we do not know stays as it is."""
    either = _EITHER.fullmatch(reason)
    if either:
        return Problem(
            "as an international number: %(a)s; as a national one: %(b)s",
            {"a": number_reason(either["a"]), "b": number_reason(either["b"])},
        )
    for pattern, message in _REASONS:
        found = pattern.fullmatch(reason)
        if found:
            return Problem(message, found.groupdict())
    return Problem(reason)
