from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gatewayd.errors import ValidationError
from gatewayd.smpp.times import ESME_RINVEXPIRY, parse_validity

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()


def test_empty_means_no_validity() -> None:
    assert parse_validity("", NOW) is None


def test_relative_period() -> None:
    assert parse_validity("000001020304000R", NOW) == NOW + 86400 + 2 * 3600 + 3 * 60 + 4


def test_absolute_with_offset_is_converted_to_utc() -> None:
    # 14:00 local, 8 quarter hours ahead of UTC = 12:00 UTC.
    assert parse_validity("261123140000008+", NOW) == NOW
    assert parse_validity("261123100000008-", NOW) == NOW


@pytest.mark.parametrize("bad", ["26112314000000+", "2611231400000089", "261332140000008+", "x"])
def test_bad_times_are_refused_with_invalid_expiry(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_validity(bad, NOW)
    assert caught.value.smpp_status == ESME_RINVEXPIRY
