from __future__ import annotations

from ipaddress import ip_address

import pytest

from gatewayd.smpp.lockout import BindLockout, Lockout, LockoutPolicy, address_key

POLICY = LockoutPolicy(threshold=3, base=10.0, maximum=100.0)


def _fail(lockout: Lockout[str], key: str, times: int, now: float = 0.0) -> float:
    lock = 0.0
    for _ in range(times):
        lock = lockout.failed(key, now)
    return lock


def test_failures_below_the_threshold_do_not_lock() -> None:
    lockout: Lockout[str] = Lockout(POLICY)
    assert _fail(lockout, "k", 2) == 0.0
    assert lockout.retry_after("k", 0.0) == 0.0


def test_the_threshold_locks_for_base_seconds_then_frees() -> None:
    lockout: Lockout[str] = Lockout(POLICY)
    assert _fail(lockout, "k", 3, now=5.0) == 10.0
    assert lockout.retry_after("k", 5.0) == 10.0
    assert lockout.retry_after("k", 14.0) == pytest.approx(1.0)
    assert lockout.retry_after("k", 15.0) == 0.0
    assert lockout.retry_after("other", 5.0) == 0.0


def test_each_failure_after_a_lock_doubles_it_up_to_the_maximum() -> None:
    lockout: Lockout[str] = Lockout(POLICY)
    _fail(lockout, "k", 3)
    locks = [lockout.failed("k", now) for now in (10.0, 30.0, 70.0, 150.0, 250.0)]
    assert locks == [20.0, 40.0, 80.0, 100.0, 100.0]
    assert lockout.retry_after("k", 250.0) == 100.0


def test_success_clears_the_count() -> None:
    lockout: Lockout[str] = Lockout(POLICY)
    _fail(lockout, "k", 2)
    lockout.succeeded("k")
    assert _fail(lockout, "k", 2) == 0.0


def test_a_key_quiet_for_the_maximum_after_its_lock_is_forgotten() -> None:
    lockout: Lockout[str] = Lockout(POLICY)
    _fail(lockout, "old", 2, now=0.0)
    _fail(lockout, "locked", 3, now=1.0)  # locked until 11.0
    _fail(lockout, "recent", 2, now=50.0)
    lockout.failed("third", 100.0)  # any failure expires what has been quiet long enough
    assert len(lockout) == 3
    assert lockout.failed("old", 100.0) == 0.0  # its count started again
    assert lockout.failed("recent", 100.0) == 10.0
    assert lockout.failed("locked", 110.9) == 20.0  # still remembered
    lockout.failed("third", 300.0)
    assert lockout.retry_after("locked", 300.0) == 0.0
    assert lockout.failed("locked", 300.0) == 0.0


def test_memory_is_bounded_by_dropping_the_longest_quiet_key() -> None:
    lockout: Lockout[str] = Lockout(POLICY, max_keys=100)
    _fail(lockout, "attacker", 3, now=0.0)
    for n in range(1000):
        lockout.failed(f"spray-{n}", 1.0)
    assert len(lockout) == 100
    assert lockout.retry_after("attacker", 1.0) == 0.0  # evicted: a lock can only shorten
    assert lockout.retry_after("spray-999", 1.0) == 0.0
    assert _fail(lockout, "spray-999", 2, now=1.0) == 10.0  # still counted


def test_a_policy_needs_a_threshold_and_positive_durations() -> None:
    with pytest.raises(ValueError):
        LockoutPolicy(threshold=0, base=1.0, maximum=2.0)
    with pytest.raises(ValueError):
        LockoutPolicy(threshold=1, base=0.0, maximum=2.0)
    assert LockoutPolicy(threshold=1, base=5.0, maximum=2.0).duration(1) == 2.0


def test_bind_lockout_locks_an_address_for_every_system_id() -> None:
    guard = BindLockout(POLICY)
    for n in range(3):
        guard.failed("192.0.2.1", f"user{n}", now=0.0)
    assert guard.retry_after("192.0.2.1", "somebody", 0.0) == 10.0
    assert guard.retry_after("192.0.2.2", "somebody", 0.0) == 0.0


def test_bind_lockout_locks_a_system_id_from_every_address() -> None:
    guard = BindLockout(POLICY)
    for n in range(3):
        guard.failed(f"192.0.2.{n}", "acme", now=0.0)
    assert guard.retry_after("198.51.100.1", "acme", 0.0) == 10.0
    assert guard.retry_after("198.51.100.1", "other", 0.0) == 0.0


def test_bind_success_clears_the_system_id_but_not_the_address() -> None:
    guard = BindLockout(POLICY)
    for n in range(2):
        guard.failed("192.0.2.1", f"user{n}", now=0.0)
    guard.failed("192.0.2.1", "acme", now=0.0)
    assert guard.retry_after("192.0.2.1", "x", 0.0) == 10.0
    guard.succeeded("acme")
    assert guard.system_ids.retry_after("acme", 0.0) == 0.0
    assert guard.addresses.retry_after("192.0.2.1", 0.0) == 10.0


def test_address_keys() -> None:
    assert address_key(ip_address("192.0.2.7")) == "192.0.2.7"
    assert address_key(ip_address("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64"
    assert address_key(ip_address("2001:db8:1:2:bbbb::9")) == "2001:db8:1:2::/64"
    assert address_key(None) == "unknown"
