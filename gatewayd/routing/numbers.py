"""Recipient numbers: normalise to E.164, then classify by country and operator. Pure, no I/O.

Decisions (they go into the docs):

* Output is E.164 digits **without** the '+' (``22376600000``), as SMPP ``destination_addr``
  carries them with TON=1/NPI=1.
* The country code is mandatory, as in the operator's WebSMS manual, unless the account has a
  default country (ISO 3166 alpha-2, ``"ML"``, ``"FR"``): then national formats are accepted too
  (``06 12 34 56 78`` with ``FR``), including that country's own international prefix
  (``011 33 ...`` with ``US``).
* International digits are read as typed first (country code, then the national number); only
  if that reading fails does ``phonenumbers.parse`` try, which also drops a national prefix
  typed after the country code (``+33 (0)6 ...``). Reading as typed keeps normalisation
  idempotent (``parse`` would turn +98 0... into +98 ... on every pass) and costs less.
* A number possible only as a local number (no area code) is refused: it cannot be routed.
  So is anything longer than E.164's 15 digits, even where a country's metadata allows it.
* Input may carry spaces, dots, dashes and parentheses, and start with ``+`` or ``00``. Anything
  else (letters, vanity numbers, ``ext. 12``) is refused although phonenumbers would guess.
* Digits with neither ``+`` nor ``00`` nor a leading ``0`` are read as international first, as
  SMPP customers send them; the national reading is tried only when that fails. So normalising
  our own output again gives it back, whatever the account's country. The cost: with the
  default ``strict=False``, ``2025550123`` from a US account is +20 25550123 (a possible
  Egyptian number), not Washington; such accounts type the 1, or use ``strict=True``.
* Validation level ``strict``: ``False`` (the default) checks the length for the country code
  (``is_possible_number``); ``True`` also checks the number ranges (``is_valid_number``). The
  default is lenient because the metadata lags behind new ranges, and refusing a real number
  costs more than one undeliverable message (the SMSC refuses it anyway).
* Classification: the region is the ISO code phonenumbers gives ("" for non-geographic codes such
  as +800, or when a shared code like +1 cannot tell). The scope is "national" when the number's
  region is the account's country, or failing that the operator's home country; with neither,
  everything is "international". When the region is unknown, the same country calling code as
  that country counts as national (a new range at home, not abroad).
* The destination operator comes from the configured prefix table (longest prefix wins: a ported
  range beats its parent), then from phonenumbers' carrier data (the original allocation, blind to
  portability), else "".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, ValidationResult, carrier

# Kept so ``from gatewayd.routing.numbers import sender_error`` still works; it lives in senders.
from gatewayd.routing.senders import sender_error

__all__ = [
    "Destination",
    "InvalidNumber",
    "NumberPlan",
    "Scope",
    "check_prefix_table",
    "classify",
    "e164_number",
    "normalise_all",
    "normalise_msisdn",
    "sender_error",
    "split_recipients",
]

Scope = Literal["national", "international"]

_RECIPIENT_SEPARATORS = re.compile(r"[\s;,]+")
_NUMBER_TEXT = re.compile(r"\+?[0-9\s.()\-]+")
_NOT_DIGITS = re.compile(r"[^0-9]")
_PREFIX = re.compile(r"[0-9]{1,15}")
_NON_GEOGRAPHIC = "001"  # phonenumbers' region for +800, +808, +870, +881, +882, +883, +979

MANDATORY_COUNTRY_CODE = "the country code is mandatory (e.g. 22376600000 for Mali)"
NOT_A_NUMBER = "not a number: only digits, spaces, dots, dashes, parentheses, a leading + or 00"


@dataclass(frozen=True)
class InvalidNumber:
    raw: str
    reason: str


@dataclass(frozen=True)
class Destination:
    """Where a normalised number goes, as seen from one account."""

    e164: str  # digits, no '+'
    region: str  # ISO 3166 alpha-2, or "" when unknown or non-geographic
    scope: Scope
    operator: str  # "" when unknown


def split_recipients(text: str) -> list[str]:
    """Recipients typed or pasted: separated by ';', commas, spaces or new lines."""
    return [part for part in _RECIPIENT_SEPARATORS.split(text) if part]


def normalise_msisdn(
    raw: str, default_country: str | None = None, strict: bool = False
) -> str | InvalidNumber:
    """E.164 digits without '+', or the reason ``raw`` is not a number we can send to."""
    text = raw.strip()
    if not text:
        return InvalidNumber(raw, "empty")
    if not _NUMBER_TEXT.fullmatch(text):
        return InvalidNumber(raw, NOT_A_NUMBER)
    digits = _NOT_DIGITS.sub("", text)
    if text.startswith("+"):
        reading = _international(digits, strict)
    elif digits.startswith("00"):
        reading = _international(digits[2:], strict)
    elif digits.startswith("0"):
        reading = _national(digits, default_country, strict)
    else:
        reading = _bare_digits(digits, default_country, strict)
    if isinstance(reading, str):
        return InvalidNumber(raw, reading)
    e164 = phonenumbers.format_number(reading, phonenumbers.PhoneNumberFormat.E164)[1:]
    if len(e164) > 15:  # some countries' metadata allows longer national numbers
        return InvalidNumber(raw, "too long: a number has at most 15 digits with its country code")
    return e164


def normalise_all(
    raws: Iterable[str], default_country: str | None = None, strict: bool = False
) -> tuple[list[str], list[InvalidNumber]]:
    """Valid numbers de-duplicated in first-seen order, and the invalid ones with reasons."""
    return _collect(normalise_msisdn(raw, default_country, strict) for raw in raws)


def _collect(results: Iterable[str | InvalidNumber]) -> tuple[list[str], list[InvalidNumber]]:
    valid: dict[str, None] = {}
    invalid: list[InvalidNumber] = []
    for result in results:
        if isinstance(result, InvalidNumber):
            invalid.append(result)
        else:
            valid.setdefault(result)
    return list(valid), invalid


def _international(digits: str, strict: bool) -> PhoneNumber | str:
    """The number for '+digits', or why not.

    The digits as typed come first: that reading is exact, cheap, and gives our own output
    back. Only when it fails does ``phonenumbers.parse`` get a go, which drops a national
    prefix typed after the country code ("+33 (0)6 ...") and words the reason.
    """
    try:
        checked = _check(e164_number(digits), strict)
    except ValueError:
        checked = ""
    if isinstance(checked, PhoneNumber):
        return checked
    try:
        number = phonenumbers.parse("+" + digits, None)
    except NumberParseException as exc:
        return _parse_reason(exc)
    return _check(number, strict)


def _national(digits: str, default_country: str | None, strict: bool) -> PhoneNumber | str:
    """The number for national ``digits`` in the account's country, or why not."""
    if not default_country:
        return MANDATORY_COUNTRY_CODE
    region = default_country.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        return f"the account's default country {default_country!r} is not an ISO 3166 code"
    try:
        number = phonenumbers.parse(digits, region)
    except NumberParseException as exc:
        return _parse_reason(exc)
    return _check(number, strict)


def _bare_digits(digits: str, default_country: str | None, strict: bool) -> PhoneNumber | str:
    """International first; national only if that fails and the account has a country."""
    international = _international(digits, strict)
    if isinstance(international, PhoneNumber) or not default_country:
        return international
    national = _national(digits, default_country, strict)
    if isinstance(national, PhoneNumber):
        return national
    return f"as an international number: {international}; as a national one: {national}"


def _check(number: PhoneNumber, strict: bool) -> PhoneNumber | str:
    """``number`` if it passes the validation level, else the reason in plain English."""
    code = f"+{number.country_code}"
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        return f"invalid country code ({code} is not in use)"
    if possible == ValidationResult.TOO_SHORT:
        return f"too short for country code {code}"
    if possible == ValidationResult.TOO_LONG:
        return f"too long for country code {code}"
    if possible == ValidationResult.INVALID_LENGTH:
        return f"wrong number of digits for country code {code}"
    if possible == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        return f"too short for country code {code}: the area code is missing"
    if strict and not phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_country_code(number.country_code or 0)
        return f"not a valid number for its country ({code}, {region})"
    return number


def _parse_reason(exc: NumberParseException) -> str:
    if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return "invalid country code"
    if exc.error_type in (
        NumberParseException.TOO_SHORT_NSN,
        NumberParseException.TOO_SHORT_AFTER_IDD,
    ):
        return "too short to be a phone number"
    if exc.error_type == NumberParseException.TOO_LONG:
        return "too long to be a phone number"
    return NOT_A_NUMBER


def classify(
    e164: str,
    account_country: str | None = None,
    home_country: str = "",
    prefixes: Mapping[str, str] | None = None,
) -> Destination:
    """Region, scope and operator of a normalised number; uncached (see ``NumberPlan``).

    Raises ValueError if ``e164`` is not E.164 digits (call ``normalise_msisdn`` first).
    """
    digits = e164.removeprefix("+")
    number = e164_number(digits)
    region = phonenumbers.region_code_for_number(number) or ""
    if region == _NON_GEOGRAPHIC:
        region = ""
    country = (account_country or home_country).upper()
    return Destination(
        e164=digits,
        region=region,
        scope=_scope(number, region, country),
        operator=_prefix_operator(digits, prefixes or {}) or carrier.name_for_number(number, "en"),
    )


def e164_number(digits: str) -> PhoneNumber:
    """The PhoneNumber for E.164 digits (no '+'), built directly; ValueError if malformed.

    ``phonenumbers.parse`` would give the same object for a normalised number, at five times the
    cost: it hunts for a number in free text. Country codes are prefix-free, so the first 1 to 3
    digits that are one are the country code.
    """
    if not (_PREFIX.fullmatch(digits) and digits[0] != "0"):
        raise ValueError(f"{digits!r} is not E.164 digits")
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        raise ValueError(f"{digits!r} does not start with a country code")
    national = digits[size:]
    if not national:
        raise ValueError(f"{digits!r} has no digits after its country code")
    number = PhoneNumber(country_code=country_code, national_number=int(national))
    # As phonenumbers records them: leading zeros are part of some national numbers (Italy).
    # An all-zero national number keeps its last zero as the number itself, as in phonenumbers.
    zeros = len(national[:-1]) - len(national[:-1].lstrip("0"))
    if zeros:
        number.italian_leading_zero = True
        if zeros != 1:
            number.number_of_leading_zeros = zeros
    return number


def _scope(number: PhoneNumber, region: str, country: str) -> Scope:
    if not country:
        return "international"
    if region:
        return "national" if region == country else "international"
    same_code = phonenumbers.country_code_for_region(country) == number.country_code
    return "national" if same_code else "international"


def _prefix_operator(digits: str, prefixes: Mapping[str, str]) -> str:
    """The operator of the longest prefix of ``digits`` in ``prefixes``, or ""."""
    for length in range(min(len(digits), 15), 0, -1):
        operator = prefixes.get(digits[:length])
        if operator:
            return operator
    return ""


def check_prefix_table(prefixes: Mapping[str, str]) -> dict[str, str]:
    """A clean copy of a prefix -> operator table; ValueError names the first bad entry."""
    table: dict[str, str] = {}
    for prefix, operator in prefixes.items():
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
            raise ValueError(f"operator prefix {prefix!r}: 1 to 15 digits, no '+' or spaces")
        if not isinstance(operator, str) or not operator.strip():
            raise ValueError(f"operator prefix {prefix!r}: the operator name is empty")
        table[prefix] = operator.strip()
    return table


class NumberPlan:
    """Normalise and classify with one configuration, built once at start.

    Both are cached (bounded, least recently used): the same numbers come back in every
    campaign, typed the same way, and a result depends only on its arguments.
    """

    def __init__(
        self,
        prefixes: Mapping[str, str] | None = None,
        home_country: str = "",
        strict: bool = False,
        cache_size: int = 4096,
    ) -> None:
        if home_country and home_country.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"home country {home_country!r} is not an ISO 3166 alpha-2 code")
        self.prefixes = check_prefix_table(prefixes or {})
        self.home_country = home_country.upper()
        self.strict = strict
        self._classify: Callable[[str, str], Destination] = lru_cache(maxsize=cache_size)(
            self._classify_uncached
        )
        self._normalise: Callable[[str, str | None], str | InvalidNumber] = lru_cache(
            maxsize=cache_size
        )(self._normalise_uncached)

    def normalise(self, raw: str, default_country: str | None = None) -> str | InvalidNumber:
        """``normalise_msisdn`` at this plan's validation level; cached."""
        return self._normalise(raw, default_country)

    def normalise_all(
        self, raws: Iterable[str], default_country: str | None = None
    ) -> tuple[list[str], list[InvalidNumber]]:
        """``normalise_all`` at this plan's validation level, through the cache."""
        return _collect(self._normalise(raw, default_country) for raw in raws)

    def classify(self, e164: str, account_country: str | None = None) -> Destination:
        """Like the module's ``classify`` with this plan's prefixes and home country; cached."""
        return self._classify(e164, (account_country or "").upper())

    def _normalise_uncached(self, raw: str, default_country: str | None) -> str | InvalidNumber:
        return normalise_msisdn(raw, default_country, self.strict)

    def _classify_uncached(self, e164: str, account_country: str) -> Destination:
        return classify(e164, account_country, self.home_country, self.prefixes)
