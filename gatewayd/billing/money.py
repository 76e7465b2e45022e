"""Money: integer minor units (cents) with a currency, never a float.

Rounding rules, in one place:

* A unit price (per SMS part, a plan's monthly fee) is a :class:`~decimal.Decimal` and may have
  more decimals than the currency (0.0125 per part).
* An invoice line's amount is ``quantity * unit price`` (or a prorated fee) rounded **once**,
  half up (0.005 -> 0.01), to the currency's minor unit: :func:`to_minor`.
* An invoice's subtotal is the sum of its rounded lines; its VAT is ``subtotal * rate`` rounded
  half up once, on the subtotal (not per line); the total is subtotal + VAT. So the lines always
  add up to what the document prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

#: Digits after the decimal point of the currencies whose minor unit is not the cent.
_EXPONENTS = {"JPY": 0, "KRW": 0, "XOF": 0, "XAF": 0, "MGA": 0, "BHD": 3, "KWD": 3, "TND": 3}


def exponent(currency: str) -> int:
    """The currency's minor-unit digits (ISO 4217): 2 unless listed otherwise."""
    return _EXPONENTS.get(currency, 2)


def to_minor(value: Decimal, currency: str) -> int:
    """``value`` (major units) in minor units, rounded half up."""
    scaled = value.scaleb(exponent(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def decimal_text(text: str) -> Decimal:
    """A decimal read from text (config, database); ValueError if it is not a finite number."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return value


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in minor units of ``currency``."""

    minor: int
    currency: str

    @classmethod
    def of(cls, value: Decimal | str, currency: str) -> Money:
        """From major units (``"12.345"`` -> 1235 cents), rounded half up."""
        amount = decimal_text(value) if isinstance(value, str) else value
        return cls(to_minor(amount, currency), currency)

    @property
    def major(self) -> Decimal:
        """The amount in major units, with exactly the currency's digits."""
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def text(self) -> str:
        """``"12.35 EUR"``: the documents' and the CSV's form (a point, no grouping)."""
        return f"{self.major} {self.currency}"

    def __str__(self) -> str:
        return self.text()


def zero(currency: str) -> Money:
    return Money(0, currency)
