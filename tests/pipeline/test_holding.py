from __future__ import annotations

from gatewayd.pipeline.holding import Holding
from gatewayd.storage.messages import Outbound


def msg(id_: int, account: int) -> Outbound:
    return Outbound(id_, f"m{id_}", "33612345678", "", "hi", False, account)


def test_under_the_limit_everything_stays_in_memory() -> None:
    holding = Holding(memory_limit=100)
    for i in range(99):
        holding.remember(msg(i, account=1))
    assert not holding.spills(1) and not holding.spilled
    holding.remember(msg(99, account=1))
    assert holding.spills(1)  # full, and account 1 has more than a tenth of it
    assert not holding.spills(2)  # another account's batch still gets in
    for i in range(10):
        holding.remember(msg(1000 + i, account=2))
    assert holding.spills(2)  # now it has its tenth too


def test_once_spilled_an_account_waits_for_the_refill_to_keep_its_order() -> None:
    holding = Holding(memory_limit=10)
    for i in range(10):
        holding.remember(msg(i, account=1))
    holding.spill(msg(10, account=1))
    holding.spill(msg(11, account=1))
    for i in range(10):
        holding.release(i)
    assert len(holding) == 0
    assert holding.spills(1)  # memory is free, yet its next message must follow the others
    assert holding.wants_refill()
    [step] = holding.refill_steps(page=1000)
    assert (step.account, step.after, step.limit) == (1, 9, 10)
    holding.refilled(step, [msg(10, 1), msg(11, 1)])  # a short read: the spill is over
    assert not holding.spilled and not holding.spills(1)


def test_refills_share_the_room_and_a_spill_during_a_read_is_not_lost() -> None:
    holding = Holding(memory_limit=10)
    holding.spill_from({1: 0, 2: 50})
    steps = holding.refill_steps(page=1000)
    assert [(s.account, s.after, s.limit) for s in steps] == [(1, 0, 5), (2, 50, 5)]
    holding.spill(msg(60, account=2))  # more of account 2 left to the database meanwhile
    holding.refilled(steps[0], [msg(1, 1)])
    holding.refilled(steps[1], [msg(51, 2)])
    assert holding.refill_steps(page=1000)[0].account == 2  # account 1 is done, 2 is not
    assert holding.refill_steps(page=1000)[0].after == 51
    for i in range(10):
        holding.remember(msg(100 + i, account=3))
    assert holding.refill_steps(page=1000) == []  # memory full
