"""Rate limiting as plain values: a token bucket, an adaptive rate that backs off when the far end
says "too fast", and a meter of the rate actually achieved.

No Twisted and no clock of its own: every call takes ``now`` (seconds, any monotonic origin).
The upstream connectors use these for their TPS limit; the SMPP server uses the same bucket for
per-account TPS and translates :class:`Throttled` into ESME_RTHROTTLED.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

#: A rate of 0 means "no limit" throughout this module.
UNLIMITED = 0.0


@dataclass(frozen=True, slots=True)
class Allowed:
    """Go ahead: a token was taken."""


@dataclass(frozen=True, slots=True)
class Throttled:
    """Not now; a token will be available ``retry_after`` seconds from ``now``."""

    retry_after: float


Decision = Allowed | Throttled
ALLOWED = Allowed()


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst`` (at least 1). Starts full."""

    def __init__(self, rate: float, now: float, burst: float | None = None) -> None:
        if rate < 0:
            raise ValueError("rate must be 0 (unlimited) or more")
        self._rate = rate
        self._burst = _burst_for(rate, burst)
        self._tokens = self._burst
        self._updated = now

    @property
    def rate(self) -> float:
        return self._rate

    def set_rate(self, rate: float, now: float, burst: float | None = None) -> None:
        """Change the rate from ``now`` on; tokens already earned are kept (up to the burst)."""
        self._refill(now)
        self._rate = rate
        self._burst = _burst_for(rate, burst)
        self._tokens = min(self._tokens, self._burst)

    def take(self, now: float, tokens: float = 1.0) -> Decision:
        if self._rate == UNLIMITED:
            return ALLOWED
        self._refill(now)
        if self._tokens >= tokens:
            self._tokens -= tokens
            return ALLOWED
        return Throttled((tokens - self._tokens) / self._rate)

    def available(self, now: float) -> float:
        """Tokens in the bucket at ``now`` (infinite when unlimited)."""
        if self._rate == UNLIMITED:
            return float("inf")
        self._refill(now)
        return self._tokens

    def _refill(self, now: float) -> None:
        # A clock that steps backwards must not mint tokens from nothing.
        elapsed = max(0.0, now - self._updated)
        self._updated = max(now, self._updated)
        if self._rate != UNLIMITED:
            self._tokens = min(self._burst, self._tokens + elapsed * self._rate)


def _burst_for(rate: float, burst: float | None) -> float:
    # A tenth of a second's worth keeps any one-second window within ~10% of the rate.
    return max(1.0, burst if burst is not None else rate / 10)


class AdaptiveRate:
    """The rate to use under a ``ceiling`` (0 = unlimited) when the far end pushes back.

    :meth:`slow_down` halves the rate (never below ``floor`` nor an eighth of the target); it
    then climbs back linearly to the target over ``recovery`` seconds, and from there to the
    ceiling. Cuts closer than
    ``cooldown`` seconds apart count once: a full window of rejections is one signal.
    """

    def __init__(
        self,
        ceiling: float,
        *,
        floor: float = 1.0,
        recovery: float = 30.0,
        cooldown: float = 1.0,
    ) -> None:
        self.ceiling = ceiling
        self.floor = floor
        self.recovery = recovery
        self.cooldown = cooldown
        self._cut: float | None = None  # the rate right after the last cut; None = not cut
        self._target = ceiling
        self._cut_at = float("-inf")

    def rate(self, now: float) -> float:
        """The rate to apply at ``now`` (0 = unlimited)."""
        if self._cut is None:
            return self.ceiling
        climbed = self._cut + (self._target - self._cut) * (now - self._cut_at) / self.recovery
        if climbed >= self._target:
            self._cut = None
            return self.ceiling
        return climbed

    @property
    def reduced(self) -> bool:
        return self._cut is not None

    def slow_down(self, now: float, observed: float) -> float:
        """The far end said "too fast" while we were sending ``observed`` per second."""
        current = self.rate(now)
        if now - self._cut_at < self.cooldown:
            return current
        base = current if current != UNLIMITED else observed
        base = max(base, self.floor)
        if self.ceiling != UNLIMITED:
            self._target = self.ceiling
        else:
            # Unlimited: climb back to the highest rate seen since the first cut, not to a
            # target that shrinks with every cut of a burst.
            self._target = max(base, self._target) if self._cut is not None else base
        # Never below an eighth of the target: an SMSC that refuses a share of submits whatever
        # the rate (not a capacity signal) must not starve the link; retries take the refusals.
        self._cut = max(self.floor, base / 2, self._target / 8)
        self._cut_at = now
        return self._cut


class RateMeter:
    """Events per second over the last ``window`` seconds."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self._events: deque[float] = deque()
        self._first: float | None = None

    def record(self, now: float) -> None:
        if self._first is None:
            self._first = now
        self._events.append(now)
        self._expire(now)

    def rate(self, now: float) -> float:
        """Over the time actually covered: a 0.3 s burst is not spread over the whole window."""
        self._expire(now)
        if self._first is None:
            return 0.0
        span = min(self.window, max(now - self._first, 0.1))  # one event is not a rate
        return len(self._events) / span

    def _expire(self, now: float) -> None:
        horizon = now - self.window
        while self._events and self._events[0] <= horizon:
            self._events.popleft()


class AdaptiveLimiter:
    """A token bucket whose rate follows an :class:`AdaptiveRate`: what one connector shares
    between its binds."""

    def __init__(self, ceiling: float, now: float, meter: RateMeter | None = None) -> None:
        self.adaptive = AdaptiveRate(ceiling)
        self.meter = meter if meter is not None else RateMeter()
        self._bucket = TokenBucket(ceiling, now)

    def take(self, now: float) -> Decision:
        rate = self.adaptive.rate(now)
        if rate != self._bucket.rate:
            self._bucket.set_rate(rate, now)
        decision = self._bucket.take(now)
        if isinstance(decision, Allowed):
            self.meter.record(now)
        return decision

    def slow_down(self, now: float) -> float:
        rate = self.adaptive.slow_down(now, self.meter.rate(now))
        self._bucket.set_rate(rate, now)
        return rate

    def rate(self, now: float) -> float:
        """The limit in force (0 = unlimited)."""
        return self.adaptive.rate(now)


K = TypeVar("K", bound=Hashable)


class RateLimits(Generic[K]):
    """One token bucket per key (an account, a destination operator), each at the rate
    ``rate_of(key)`` (0 = unlimited, which keeps no bucket). The rate is looked up on every
    take, so a changed setting applies at once. A second's worth of burst: senders send a
    window at once, and these limits are fair use, not an SMSC's exact capacity."""

    def __init__(self, rate_of: Callable[[K], float]) -> None:
        self._rate_of = rate_of
        self._buckets: dict[K, TokenBucket] = {}

    def take(self, key: K, now: float) -> Decision:
        rate = self._rate_of(key)
        if rate == UNLIMITED:
            self._buckets.pop(key, None)
            return ALLOWED
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate, now, burst=rate)
        elif bucket.rate != rate:
            bucket.set_rate(rate, now, burst=rate)
        return bucket.take(now)

    def would_allow(self, key: K, now: float) -> bool:
        """Whether :meth:`take` would allow now, without taking."""
        bucket = self._buckets.get(key)
        if bucket is None or self._rate_of(key) == UNLIMITED:
            return True
        return bucket.available(now) >= 1.0
