"""The in-memory send queue of one connector: priority levels, and accounts taking turns within
a level. Pure.

The database holds the durable queue; this is its working copy, so the dispatcher never reads
the database to find its next message. Higher priorities drain first (transactional = 1 before
bulk = 0). Within a level each account has its own FIFO and the accounts take turns, ``weight``
messages per turn (weighted round robin): one account's million-message campaign holds another
account's message back by at most one turn of each account ahead of it, never by its backlog.
A message put back after a retryable failure goes to the front of its account's FIFO.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

from gatewayd.storage.messages import Outbound

TRANSACTIONAL = 1
BULK = 0

#: Messages an account sends per turn, by account id.
WeightOf = Callable[[int], int]


def equal_shares(account_id: int) -> int:
    return 1


class _Level:
    """One priority level: a FIFO per account and the ring of accounts with messages."""

    __slots__ = ("credit", "fifos", "ring", "size")

    def __init__(self) -> None:
        self.fifos: dict[int, deque[Outbound]] = {}
        self.ring: deque[int] = deque()  # accounts with messages; the head's turn now
        self.credit = 0  # messages left in the head's turn
        self.size = 0


class SendQueue:
    def __init__(self, weight_of: WeightOf = equal_shares) -> None:
        self._weight_of = weight_of
        self._levels: dict[int, _Level] = {}
        self._order: list[int] = []  # priorities, highest first
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def push(self, msg: Outbound, *, front: bool = False) -> None:
        level = self._levels.get(msg.priority)
        if level is None:
            level = self._levels[msg.priority] = _Level()
            self._order = sorted(self._levels, reverse=True)
        fifo = level.fifos.get(msg.account_id)
        if fifo is None:
            fifo = level.fifos[msg.account_id] = deque()
            level.ring.append(msg.account_id)
            if len(level.ring) == 1:
                level.credit = self._turn(msg.account_id)
        if front:
            fifo.appendleft(msg)
        else:
            fifo.append(msg)
        level.size += 1
        self._size += 1

    def _turn(self, account_id: int) -> int:
        return max(1, self._weight_of(account_id))

    def _first(self) -> _Level | None:
        for priority in self._order:
            level = self._levels[priority]
            if level.size:
                return level
        return None

    def peek(self) -> Outbound | None:
        """The message :meth:`pop` would return."""
        level = self._first()
        return None if level is None else level.fifos[level.ring[0]][0]

    def pop(self) -> Outbound | None:
        level = self._first()
        return None if level is None else self._pop_head(level)

    def peek_eligible(self, ok: Callable[[Outbound], bool]) -> Outbound | None:
        """The first message ``ok`` accepts, in pop order but passing over the accounts whose
        head message it refuses (paced): highest level first, accounts in turn order."""
        for priority in self._order:
            level = self._levels[priority]
            for account in level.ring:
                msg = level.fifos[account][0]
                if ok(msg):
                    return msg
        return None

    def take(self, msg: Outbound) -> None:
        """Pop ``msg``, as returned by :meth:`peek_eligible`: the accounts passed over go
        behind its account, which gets the turn."""
        level = self._levels[msg.priority]
        if level.ring[0] != msg.account_id:
            while level.ring[0] != msg.account_id:
                level.ring.rotate(-1)
            self._start_turn(level)
        self._pop_head(level)

    def _pop_head(self, level: _Level) -> Outbound:
        account = level.ring[0]
        fifo = level.fifos[account]
        msg = fifo.popleft()
        level.size -= 1
        self._size -= 1
        level.credit -= 1
        if not fifo:
            del level.fifos[account]
            level.ring.popleft()
            self._start_turn(level)
        elif level.credit <= 0:
            level.ring.rotate(-1)
            self._start_turn(level)
        return msg

    def _start_turn(self, level: _Level) -> None:
        level.credit = self._turn(level.ring[0]) if level.ring else 0

    def remove(self, message_ids: set[int]) -> list[Outbound]:
        """Take out the given messages wherever they are (cancelled, expired...)."""
        removed: list[Outbound] = []
        for level in self._levels.values():
            head = level.ring[0] if level.ring else None
            for account in list(level.ring):
                fifo = level.fifos[account]
                gone = [m for m in fifo if m.id in message_ids]
                if not gone:
                    continue
                removed.extend(gone)
                kept = deque(m for m in fifo if m.id not in message_ids)
                if kept:
                    level.fifos[account] = kept
                else:
                    del level.fifos[account]
                    level.ring.remove(account)
                level.size -= len(gone)
            if level.ring and level.ring[0] != head:
                self._start_turn(level)
        self._size -= len(removed)
        return removed

    def rewrite(self, message_id: int, change: Callable[[Outbound], Outbound]) -> bool:
        """Replace a queued message by ``change(message)``; False when it is not here."""
        for level in self._levels.values():
            for fifo in level.fifos.values():
                for index, msg in enumerate(fifo):
                    if msg.id == message_id:
                        fifo[index] = change(msg)
                        return True
        return False

    def __iter__(self) -> Iterator[Outbound]:
        """Every queued message, level by level (not in the order pop takes them)."""
        for priority in self._order:
            for fifo in self._levels[priority].fifos.values():
                yield from fifo

    def depth(self, priority: int) -> int:
        level = self._levels.get(priority)
        return 0 if level is None else level.size

    def depth_by_account(self) -> dict[int, int]:
        found: dict[int, int] = {}
        for level in self._levels.values():
            for account, fifo in level.fifos.items():
                found[account] = found.get(account, 0) + len(fifo)
        return found
