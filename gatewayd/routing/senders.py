"""Sender IDs ("signatures"): their kind, their SMPP address and the account's allow-list. Pure.

Decisions (they go into the docs):

* **Alphanumeric**: 1 to 11 characters (the 3GPP TS 23.040 limit for an alphanumeric
  originating address), ASCII letters and digits with at least one letter, plus ``.`` and ``-``
  inside (not first). No accents, no spaces, as the operator's manual says. ``.`` and ``-`` are
  kept because brands use them ("Dr.Lab", "E-Shop") and both sit in the GSM 03.38 default
  alphabet at their ASCII positions, so every SMSC carries them unchanged; ``_``, ``&``, ``@`` and
  the rest are refused because SMSCs map them to the GSM alphabet inconsistently.
* **Short code**: 3 to 8 digits, no ``+``. Sent with TON=3 (network specific), NPI=0 (unknown):
  a short code belongs to one network and is not in the national numbering plan, and with TON=2
  (national) some SMSCs prepend the country code and the handset shows a number nobody can
  answer. An upstream that wants TON=2 is a per-connector override, not a rule here.
* **International**: 9 to 15 digits (or ``+`` and 7 to 15 digits: a few countries have numbers
  that short), country code first, a possible number for it per phonenumbers. TON=1, NPI=1
  (E.164). The address has no ``+``. A leading ``0`` is refused: it is a national format.
* Alphanumeric senders are sent with TON=5, NPI=0 (SMPP v3.4 section 5.2.5).
* **Allow-list**: alphanumeric senders are compared case-insensitively and the spelling *in the
  list* is the one sent, because that is the spelling the operator approved; numeric senders are
  compared by digits (``+33 6...`` matches ``336...``). ``allowed=None`` means the account has no
  list (any well-formed sender); an empty list allows only the account's default sender.
* An empty sender means "the account's default sender": ``check_sender`` returns None and the
  caller substitutes it. Surrounding whitespace is ignored (web forms); inner spaces are refused.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException

SenderKind = Literal["alphanumeric", "short_code", "international"]

# SMPP v3.4 section 5.2.5 (type of number) and 5.2.6 (numbering plan indicator).
TON_INTERNATIONAL = 1
TON_NETWORK_SPECIFIC = 3
TON_ALPHANUMERIC = 5
NPI_UNKNOWN = 0
NPI_E164 = 1

_ALPHANUMERIC = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,10}")
_LETTER = re.compile(r"[A-Za-z]")
_SHORT_CODE = re.compile(r"[0-9]{3,8}")
_INTERNATIONAL = re.compile(r"[1-9][0-9]{8,14}")
_PLUS_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{6,14}")

ALPHANUMERIC_RULE = (
    "an alphanumeric sender has 1 to 11 ASCII letters or digits (at least one letter, '.' and"
    " '-' allowed inside), no accents or spaces"
)
NUMERIC_RULE = (
    "a numeric sender is a short code of 3 to 8 digits or an international number of up to"
    " 15 digits starting with its country code, digits only"
)


@dataclass(frozen=True)
class SenderAddress:
    """``source_addr`` and its TON/NPI for submit_sm."""

    ton: int
    npi: int
    addr: str
    kind: SenderKind


@dataclass(frozen=True)
class InvalidSender:
    sender: str
    reason: str


def sender_kind(sender: str) -> SenderKind | None:
    """The kind of a well-formed sender ID, or None (use ``sender_address`` for the reason)."""
    address = sender_address(sender)
    return address.kind if isinstance(address, SenderAddress) else None


def sender_address(sender: str) -> SenderAddress | InvalidSender:
    """The SMPP address for ``sender``, or why it cannot be a sender ID."""
    text = sender.strip()
    if not text:
        return InvalidSender(sender, "empty")
    if text.isascii() and text.lstrip("+").isdigit():
        return _numeric(sender, text)
    if text.isascii() and _ALPHANUMERIC.fullmatch(text) and _LETTER.search(text):
        return SenderAddress(TON_ALPHANUMERIC, NPI_UNKNOWN, text, "alphanumeric")
    if not _LETTER.search(text) and text[0] in "+0123456789":
        return InvalidSender(sender, NUMERIC_RULE)  # a number with separators, say
    return InvalidSender(sender, ALPHANUMERIC_RULE)


def _numeric(sender: str, text: str) -> SenderAddress | InvalidSender:
    if _SHORT_CODE.fullmatch(text):
        return SenderAddress(TON_NETWORK_SPECIFIC, NPI_UNKNOWN, text, "short_code")
    if not (_INTERNATIONAL.fullmatch(text) or _PLUS_INTERNATIONAL.fullmatch(text)):
        if text.lstrip("+").startswith("0"):
            return InvalidSender(sender, "an international sender starts with its country code")
        return InvalidSender(sender, NUMERIC_RULE)
    digits = text.lstrip("+")
    try:
        number = phonenumbers.parse("+" + digits, None)
    except NumberParseException:
        return InvalidSender(sender, "invalid country code")
    if not phonenumbers.is_possible_number(number):
        return InvalidSender(
            sender, f"not a possible number for country code +{number.country_code}"
        )
    return SenderAddress(TON_INTERNATIONAL, NPI_E164, digits, "international")


def sender_error(sender: str) -> str | None:
    """Why ``sender`` cannot be a sender ID, or None."""
    address = sender_address(sender)
    return address.reason if isinstance(address, InvalidSender) else None


def _key(sender: str) -> str:
    """What the allow-list compares: digits for numbers, lower case for names."""
    text = sender.strip()
    digits = text.removeprefix("+")
    return digits if digits.isascii() and digits.isdigit() else text.lower()


def check_sender(
    sender: str, allowed: Collection[str] | None
) -> SenderAddress | InvalidSender | None:
    """The address to send from, why not, or None for "use the account's default sender".

    ``allowed`` is the account's list (None: no list). A list entry matches by ``_key``, which
    needs no parsing, so a long list costs little; an entry can only match a well-formed sender.
    """
    if not sender.strip():
        return None
    address = sender_address(sender)
    if isinstance(address, InvalidSender) or allowed is None:
        return address
    wanted = _key(address.addr)
    for entry in allowed:
        if _key(entry) == wanted:
            return (
                replace(address, addr=entry.strip()) if address.kind == "alphanumeric" else address
            )
    return InvalidSender(sender, "not one of the account's allowed senders")
