"""MO routing: which account gets a message sent to one of our numbers or short codes.

A rule names an address (the MO's destination: a short code or a long number) and optionally a
keyword. The keyword is the first word of the text, compared case-insensitively after folding
to ASCII ("Stöp" is STOP) and dropping punctuation at its ends ("stop." is STOP). On one address
a keyword rule beats the address-only rule; a text whose keyword has no rule goes to the
address-only rule, if any. Addresses are compared exactly, apart from surrounding spaces and a
leading '+'. Pure code, no I/O.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MoRule:
    """``keyword`` None matches any text; parsing stores it folded (see :func:`fold_keyword`)."""

    address: str
    keyword: str | None
    account: str


@dataclass(frozen=True, slots=True)
class MoMatch:
    account: str
    rule: MoRule


def normalise_address(address: str) -> str:
    text = address.strip()
    return text[1:] if text.startswith("+") else text


def fold_keyword(word: str) -> str:
    """Upper-case ASCII: accents dropped, letters without an ASCII form dropped."""
    decomposed = unicodedata.normalize("NFKD", word)
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii")
    return ascii_only.strip(string.punctuation).upper()


def first_keyword(text: str) -> str | None:
    words = text.split(maxsplit=1)
    if not words:
        return None
    return fold_keyword(words[0]) or None


class MoTable:
    """Raises ValueError for two rules on the same address and keyword."""

    def __init__(self, rules: Sequence[MoRule]) -> None:
        self.rules = tuple(rules)
        self._by_keyword: dict[tuple[str, str], MoRule] = {}
        self._by_address: dict[str, MoRule] = {}
        for rule in self.rules:
            address = normalise_address(rule.address)
            if rule.keyword is None:
                if address in self._by_address:
                    raise ValueError(f"two MO rules for {address} without a keyword")
                self._by_address[address] = rule
            else:
                key = (address, fold_keyword(rule.keyword))
                if key in self._by_keyword:
                    raise ValueError(f"two MO rules for {address} with keyword {key[1]}")
                self._by_keyword[key] = rule

    def route(self, destination_address: str, text: str) -> MoMatch | None:
        address = normalise_address(destination_address)
        keyword = first_keyword(text)
        rule = None
        if keyword is not None:
            rule = self._by_keyword.get((address, keyword))
        if rule is None:
            rule = self._by_address.get(address)
        return None if rule is None else MoMatch(rule.account, rule)
