from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.routing.throttle import (
    ALLOWED,
    AdaptiveLimiter,
    AdaptiveRate,
    RateMeter,
    Throttled,
    TokenBucket,
)


def test_bucket_starts_full_then_paces_at_the_rate() -> None:
    bucket = TokenBucket(10.0, now=0.0, burst=2)
    assert [bucket.take(0.0) for _ in range(2)] == [ALLOWED, ALLOWED]
    decision = bucket.take(0.0)
    assert decision == Throttled(pytest.approx(0.1))
    assert bucket.take(0.05) == Throttled(pytest.approx(0.05))
    assert bucket.take(0.1) == ALLOWED


def test_bucket_burst_defaults_to_a_tenth_of_a_second_and_at_least_one() -> None:
    fast, slow = TokenBucket(100.0, 0.0), TokenBucket(2.0, 0.0)
    assert sum(fast.take(0.0) == ALLOWED for _ in range(20)) == 10
    assert sum(slow.take(0.0) == ALLOWED for _ in range(5)) == 1


def test_zero_rate_is_unlimited() -> None:
    bucket = TokenBucket(0.0, 0.0)
    assert all(bucket.take(0.0) == ALLOWED for _ in range(10_000))


def test_a_clock_going_backwards_mints_nothing() -> None:
    bucket = TokenBucket(1.0, now=100.0)
    assert bucket.take(100.0) == ALLOWED
    assert isinstance(bucket.take(50.0), Throttled)
    assert isinstance(bucket.take(100.5), Throttled)
    assert bucket.take(101.0) == ALLOWED


def test_set_rate_keeps_earned_tokens_up_to_the_new_burst() -> None:
    bucket = TokenBucket(100.0, 0.0)  # burst 10
    bucket.set_rate(5.0, 0.0)  # burst 1
    assert bucket.take(0.0) == ALLOWED
    assert bucket.take(0.0) == Throttled(pytest.approx(0.2))


def test_negative_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(-1.0, 0.0)


@given(
    rate=st.floats(0.5, 500.0),
    times=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=200),
)
def test_never_more_than_burst_plus_rate_times_elapsed(rate: float, times: list[float]) -> None:
    bucket = TokenBucket(rate, 0.0)
    burst = max(1.0, rate / 10)
    granted = sum(bucket.take(t) == ALLOWED for t in sorted(times))
    assert granted <= burst + rate * max(times) + 1e-6


def test_adaptive_rate_halves_then_climbs_back_linearly() -> None:
    rate = AdaptiveRate(100.0, recovery=10.0)
    assert rate.rate(0.0) == 100.0 and not rate.reduced
    assert rate.slow_down(5.0, observed=80.0) == 50.0
    assert rate.rate(10.0) == pytest.approx(75.0)
    assert rate.reduced
    assert rate.rate(15.0) == 100.0 and not rate.reduced


def test_push_back_within_the_cooldown_counts_once() -> None:
    rate = AdaptiveRate(100.0, cooldown=1.0, recovery=1000.0)
    rate.slow_down(0.0, 0.0)
    assert rate.slow_down(0.5, 0.0) == pytest.approx(50.0, abs=0.1)  # no second cut
    assert rate.slow_down(1.0, 0.0) == pytest.approx(25.0, abs=0.1)


def test_adaptive_rate_never_goes_below_the_floor() -> None:
    rate = AdaptiveRate(4.0, floor=1.0, cooldown=0.0, recovery=1000.0)
    for t in range(10):
        rate.slow_down(float(t), 0.0)
    assert rate.rate(10.0) == pytest.approx(1.0, abs=0.1)


def test_unlimited_is_cut_from_the_measured_rate_and_returns_to_unlimited() -> None:
    rate = AdaptiveRate(0.0, recovery=10.0)
    assert rate.slow_down(0.0, observed=40.0) == 20.0
    assert rate.rate(5.0) == pytest.approx(30.0)
    assert rate.rate(10.0) == 0.0


def test_meter_counts_the_last_window() -> None:
    meter = RateMeter(window=2.0)
    for t in (0.0, 0.5, 1.0, 1.5):
        meter.record(t)
    assert meter.rate(1.5) == pytest.approx(4 / 1.5)  # over the 1.5 s actually covered
    assert meter.rate(2.6) == 1.0  # 0.0 and 0.5 have left the window
    assert meter.rate(10.0) == 0.0


def test_limiter_applies_the_cut_to_its_bucket() -> None:
    limiter = AdaptiveLimiter(10.0, now=0.0)
    assert limiter.take(0.0) == ALLOWED
    assert limiter.slow_down(0.0) == 5.0
    assert limiter.take(0.1) == Throttled(pytest.approx(0.1, rel=0.01))
    assert limiter.take(0.2) == ALLOWED
    assert limiter.meter.rate(0.2) == pytest.approx(2 / 0.2)


def test_a_burst_is_measured_over_its_own_duration() -> None:
    # Regression: 20 submits in 0.3 s were read as 4/s (20 over the 5 s window), so the first
    # ESME_RTHROTTLED cut an unlimited connector to 2/s.
    limiter = AdaptiveLimiter(0.0, now=0.0)
    for i in range(20):
        assert limiter.take(i * 0.015) == ALLOWED
    assert limiter.slow_down(0.3) == pytest.approx(20 / 0.3 / 2)


def test_unlimited_recovers_to_the_highest_rate_not_a_shrinking_one() -> None:
    rate = AdaptiveRate(0.0, recovery=10.0, cooldown=1.0)
    rate.slow_down(0.0, observed=1000.0)  # cut to 500, climbing back to 1000
    rate.slow_down(2.0, observed=100.0)  # a second push-back while reduced
    assert rate.rate(100.0) == 0.0  # recovered: unlimited again
    rate2 = AdaptiveRate(0.0, recovery=10.0, cooldown=1.0)
    rate2.slow_down(0.0, observed=1000.0)
    cut = rate2.slow_down(2.0, observed=100.0)
    assert rate2.rate(2.0 + 5.0) > cut + (1000.0 - cut) * 0.4  # heading for 1000, not 600


def test_constant_push_back_never_starves_the_link() -> None:
    # An SMSC that refuses a share of submits at any rate: a cut every second, each from the
    # rate in force, must not end at the 1/s floor.
    rate = AdaptiveRate(0.0, recovery=30.0, cooldown=1.0)
    rate.slow_down(0.0, observed=800.0)
    for second in range(1, 60):
        rate.slow_down(float(second), observed=rate.rate(float(second)))
    assert rate.rate(60.0) >= 800.0 / 8
