"""Fair share on the clock: an SMSC link that takes 1,000 messages a second (window 10, 10 ms
per answer) carries one account's 20,000-message campaign; another account's one-time password
and its own small campaign, submitted while the big one drains from memory and the database,
go out within a fraction of a second instead of after the campaign."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from gatewayd.config import PipelineConfig
from gatewayd.storage.database import Database
from tests.pipeline.rig import Rig, ScriptedConnector

WINDOW, ANSWER = 10, 0.01


class Link(ScriptedConnector):
    """Answers each submit ANSWER seconds later on the clock, WINDOW at a time."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.open = 0
        self.sent_at: dict[bytes, float] = {}

    def has_room(self, submits: int) -> bool:
        return self.open + submits <= WINDOW

    def submit(self, fields: Mapping[str, Any], tlvs: Sequence[tuple[int, bytes]] = ()) -> Any:
        self.open += 1
        self.sent_at[bytes(fields["destination_addr"])] = self.clock.seconds()
        d: Deferred[str] = Deferred()

        def answer() -> None:
            self.open -= 1
            self.counter += 1
            d.callback(f"{self.counter:X}")

        self.clock.callLater(ANSWER, answer)
        return d


@pytest_twisted.ensureDeferred
async def test_a_big_campaign_does_not_delay_another_accounts_otp(database: Database) -> None:
    clock = Clock()
    clock.advance(1_000_000)
    link = Link(clock)
    rig = Rig(database, link, PipelineConfig(commit_delay=0.0, memory_limit=5_000), clock=clock)
    await rig.start()
    big, small = await rig.account("Big"), await rig.account("Small")
    await rig.send(big, "promo", to=[f"4915{n:08d}" for n in range(20_000)])
    for _ in range(200):  # two seconds of the campaign (its records committing as it goes)
        clock.advance(ANSWER)
        await rig.committer.drain()
    assert 1_500 < len(link.sent_at) < 2_500
    asked = clock.seconds()
    await rig.send(small, "code 4821", to=["22376600000"])
    await rig.send(small, "news", to=[f"2237660{n:04d}" for n in range(1, 101)])
    for _ in range(100):
        clock.advance(ANSWER)
        await rig.settle()
    otp = link.sent_at[b"22376600000"] - asked
    news = max(link.sent_at[f"2237660{n:04d}".encode()] for n in range(1, 101)) - asked
    assert otp <= 0.05, otp  # the next free window slot
    assert news <= 0.5, news  # every other message, while 18,000 of Big's wait
    assert len(link.sent_at) < 3_500
