"""What the dispatcher holds in memory, per account, and what waits in the database. Pure.

Messages are queued in memory up to ``memory_limit``; beyond, an account's bulk messages wait in
the database ("spilled") from a cursor on, and refills read them back, the spilled accounts
taking turns. Transactional messages always get in, and so does an account's batch while it has
less than a tenth of the limit in memory (up to twice the limit in all), so one account's
backlog cannot push another account's batch to the disk. Once spilled, an account's messages
wait until the refill reaches them: its order is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatewayd.storage.messages import Outbound


@dataclass(frozen=True)
class RefillStep:
    """Read up to ``limit`` of ``account``'s queued messages after id ``after``."""

    account: int
    after: int
    limit: int
    skips: int  # the account's spill count when the step was planned


class Holding:
    def __init__(self, memory_limit: int) -> None:
        self.memory_limit = memory_limit
        self._known: dict[int, int] = {}  # message id -> account: queued or in flight here
        self._per_account: dict[int, int] = {}
        self._spilled: dict[int, int] = {}  # account -> id after which it may be on disk only
        self._skips: dict[int, int] = {}  # account -> messages left to the database

    def __len__(self) -> int:
        return len(self._known)

    def __contains__(self, message_id: int) -> bool:
        return message_id in self._known

    @property
    def spilled(self) -> bool:
        return bool(self._spilled)

    def spill_from(self, cursors: dict[int, int]) -> None:
        """Accounts with queued messages in the database (at start: all of them)."""
        self._spilled.update(cursors)

    def spills(self, account: int) -> bool:
        """Whether the account's new bulk message waits in the database."""
        if account in self._spilled:
            return True
        limit, held = self.memory_limit, len(self._known)
        if held < limit:
            return False
        return held >= 2 * limit or self._per_account.get(account, 0) >= limit // 10

    def spill(self, msg: Outbound) -> None:
        """``msg`` stays in the database, for a refill."""
        account = msg.account_id
        self._spilled.setdefault(account, msg.id - 1)
        self._skips[account] = self._skips.get(account, 0) + 1

    def remember(self, msg: Outbound) -> None:
        if msg.id not in self._known:
            self._known[msg.id] = msg.account_id
            self._per_account[msg.account_id] = self._per_account.get(msg.account_id, 0) + 1

    def release(self, message_id: int) -> None:
        account = self._known.pop(message_id, None)
        if account is not None:
            left = self._per_account[account] - 1
            if left:
                self._per_account[account] = left
            else:
                del self._per_account[account]

    def wants_refill(self) -> bool:
        return bool(self._spilled) and len(self._known) < self.memory_limit // 2

    def refill_steps(self, page: int) -> list[RefillStep]:
        """One read per spilled account, sharing the room left; empty when memory is full."""
        room = self.memory_limit - len(self._known)
        if room <= 0 or not self._spilled:
            return []
        share = max(1, min(page, room) // len(self._spilled))
        return [
            RefillStep(account, after, share, self._skips.get(account, 0))
            for account, after in self._spilled.items()
        ]

    def refilled(self, step: RefillStep, rows: list[Outbound]) -> None:
        """The step read ``rows``: move the cursor; a short read ends the account's spill,
        unless more of its messages were left to the database meanwhile."""
        if step.account not in self._spilled:
            return
        if rows:
            self._spilled[step.account] = rows[-1].id
        if len(rows) < step.limit and step.skips == self._skips.get(step.account, 0):
            del self._spilled[step.account]
            self._skips.pop(step.account, None)
