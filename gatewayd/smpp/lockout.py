"""Bind-failure lockout with exponential back-off. Pure: time is the ``now`` argument.

One :class:`Lockout` tracks one kind of key (a peer address, a system_id). After
``threshold`` consecutive failures the key is locked for ``base`` seconds; every further failure
once the lock has expired doubles the lock, up to ``maximum``. While a key is locked the server
refuses binds without checking the password, so a guessing attack costs us no password hashing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    threshold: int
    base: float
    maximum: float

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.base <= 0 or self.maximum <= 0:
            raise ValueError(f"bad lockout policy {self}")

    def duration(self, failures: int) -> float:
        """How long ``failures`` consecutive failures lock a key (0 below the threshold)."""
        if failures < self.threshold:
            return 0.0
        doublings = min(failures - self.threshold, 64)  # 2**64 * base is beyond any maximum
        return float(min(self.base * 2**doublings, self.maximum))


@dataclass(slots=True)
class _Entry:
    failures: int
    last_failure: float
    locked_until: float


class Lockout(Generic[K]):
    """Failure counts per key, bounded to ``max_keys`` entries.

    A key is forgotten on success, or once ``maximum`` seconds have passed since its lock (or,
    if none, its last failure) ended without another failure: a persistent guesser stays at
    about one guess per ``maximum``, while old mistakes fade. When more than
    ``max_keys`` keys are tracked the longest-quiet one is dropped: that can only shorten a
    lock, never lock out an innocent key.
    """

    def __init__(self, policy: LockoutPolicy, max_keys: int = 100_000) -> None:
        self.policy = policy
        self.max_keys = max_keys
        # Ordered by last failure, oldest first, so expiry and eviction pop from the front.
        self._entries: OrderedDict[K, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def retry_after(self, key: K, now: float) -> float:
        """Seconds until ``key`` may try again; 0.0 when it is not locked."""
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        return max(0.0, entry.locked_until - now)

    def failed(self, key: K, now: float) -> float:
        """Record a failure; returns the lock it imposes in seconds (0.0 for none)."""
        self._expire(now)
        entry = self._entries.pop(key, None)
        failures = 1 if entry is None else entry.failures + 1
        lock = self.policy.duration(failures)
        self._entries[key] = _Entry(failures, now, now + lock)
        while len(self._entries) > self.max_keys:
            self._entries.popitem(last=False)
        return lock

    def succeeded(self, key: K) -> None:
        self._entries.pop(key, None)

    def _expire(self, now: float) -> None:
        while self._entries:
            # Entries are ordered by last failure, not by lock end: one still locked at the
            # front holds back later expired ones, which the max_keys bound still covers.
            oldest = next(iter(self._entries.values()))
            if now - oldest.locked_until < self.policy.maximum:
                return
            self._entries.popitem(last=False)


class BindLockout:
    """Bind failures counted per peer address and per system_id: an address spraying many
    system_ids and many addresses aiming at one system_id are both held back.

    Success clears the system_id's count only. An address's count fades on its own, so one
    valid account cannot be used to reset the count of an address guessing at others.
    """

    def __init__(self, policy: LockoutPolicy, max_keys: int = 100_000) -> None:
        self.addresses: Lockout[str] = Lockout(policy, max_keys)
        self.system_ids: Lockout[str] = Lockout(policy, max_keys)

    def retry_after(self, address: str, system_id: str, now: float) -> float:
        """Seconds before a bind from ``address`` for ``system_id`` may be tried (0.0: now)."""
        return max(
            self.addresses.retry_after(address, now), self.system_ids.retry_after(system_id, now)
        )

    def failed(self, address: str, system_id: str, now: float) -> float:
        """Record a refused bind; returns the longer lock it imposes (0.0 for none)."""
        return max(self.addresses.failed(address, now), self.system_ids.failed(system_id, now))

    def succeeded(self, system_id: str) -> None:
        self.system_ids.succeeded(system_id)


def address_key(address: IPv4Address | IPv6Address | None) -> str:
    """The lockout key of a peer: an IPv4 address, or the /64 of an IPv6 one (a single host
    usually holds a whole /64, so counting per address would be trivially evaded)."""
    if address is None:
        return "unknown"
    if isinstance(address, IPv6Address):
        return str(IPv6Network((address, 64), strict=False))
    return str(address)
