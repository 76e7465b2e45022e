"""Matching an SMSC's receipt to the submit_sm_resp it answers.

SMSCs do not agree on how they write their own message ids: some answer submit_sm_resp in hex
and put the same number in decimal in the receipt (or the reverse), change the letter case, or
pad with zeros. A part is stored under :func:`normalise` of its submit_sm_resp id; a receipt is
looked up under the connector's configured reading first, then under the other readings.
"""

from __future__ import annotations

import string
from typing import Literal

#: How a connector's receipts write the id its submit_sm_resp gave: "same" (up to case and
#: leading zeros), "decimal" (the response was hex, the receipt says it in decimal) or "hex"
#: (the response was decimal, the receipt says it in hex).
ReceiptIds = Literal["same", "decimal", "hex"]
READINGS: tuple[ReceiptIds, ...] = ("same", "decimal", "hex")
_HEX = frozenset(string.hexdigits)


def normalise(smsc_id: str) -> str:
    """Lower case, without surrounding blanks or leading zeros ("0" stays "0")."""
    key = smsc_id.strip().lower().lstrip("0")
    return key or ("0" if smsc_id.strip() else "")


def reading(receipt_id: str, how: ReceiptIds) -> str | None:
    """The stored key that ``receipt_id`` stands for under one reading, or None if it cannot."""
    text = receipt_id.strip()
    if not text:
        return None
    if how == "same":
        return normalise(text)
    if how == "decimal":
        return format(int(text), "x") if text.isdigit() and len(text) <= 40 else None
    if all(c in _HEX for c in text) and len(text) <= 32:
        return str(int(text, 16))
    return None


def candidates(receipt_id: str, first: ReceiptIds) -> tuple[str, ...]:
    """Every key ``receipt_id`` may stand for, the configured reading first, without repeats."""
    keys: list[str] = []
    for how in (first, *(r for r in READINGS if r != first)):
        key = reading(receipt_id, how)
        if key is not None and key not in keys:
            keys.append(key)
    return tuple(keys)
