"""SMPP 3.4 §7.1.1 time format: "YYMMDDhhmmsstnnp", absolute (p = '+' or '-', nn quarter
hours from UTC) or relative (p = 'R'). Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gatewayd.errors import ValidationError

ESME_RINVEXPIRY = 0x00000062


def parse_validity(text: str, now: float) -> float | None:
    """The moment (UTC seconds) ``text`` names, or None when it is empty (no validity set)."""
    if not text:
        return None
    if len(text) != 16 or not text[:15].isdigit() or text[15] not in "+-R":
        raise ValidationError(
            f"validity_period {text!r} is not an SMPP time", smpp_status=ESME_RINVEXPIRY
        )
    yy, mo, dd, hh, mi, ss = (int(text[i : i + 2]) for i in range(0, 12, 2))
    tenths, quarters = int(text[12]), int(text[13:15])
    if text[15] == "R":
        # Relative: years and months taken as 365 and 30 days, as SMSCs commonly do.
        span = timedelta(days=yy * 365 + mo * 30 + dd, hours=hh, minutes=mi, seconds=ss)
        return now + span.total_seconds()
    try:
        local = datetime(2000 + yy, mo, dd, hh, mi, ss, tenths * 100_000, tzinfo=UTC)
    except ValueError:
        raise ValidationError(
            f"validity_period {text!r} is not a valid date", smpp_status=ESME_RINVEXPIRY
        ) from None
    if quarters > 48:
        raise ValidationError(
            f"validity_period {text!r}: bad UTC offset", smpp_status=ESME_RINVEXPIRY
        )
    offset = timedelta(minutes=15 * quarters)
    moment = local - offset if text[15] == "+" else local + offset
    return moment.timestamp()
