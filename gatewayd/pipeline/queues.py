"""The in-memory send queue of one connector: priority levels, FIFO within a level. Pure.

The database holds the durable queue; this is its working copy, so the dispatcher never reads
the database to find its next message. Higher priorities drain first (transactional = 1 before
bulk = 0); a message put back after a retryable failure goes to the front of its level.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

from gatewayd.storage.messages import Outbound

TRANSACTIONAL = 1
BULK = 0


class SendQueue:
    def __init__(self) -> None:
        self._levels: dict[int, deque[Outbound]] = {}
        self._order: list[int] = []  # priorities, highest first
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def push(self, msg: Outbound, *, front: bool = False) -> None:
        level = self._levels.get(msg.priority)
        if level is None:
            level = self._levels[msg.priority] = deque()
            self._order = sorted(self._levels, reverse=True)
        if front:
            level.appendleft(msg)
        else:
            level.append(msg)
        self._size += 1

    def peek(self) -> Outbound | None:
        for priority in self._order:
            level = self._levels[priority]
            if level:
                return level[0]
        return None

    def pop(self) -> Outbound | None:
        for priority in self._order:
            level = self._levels[priority]
            if level:
                self._size -= 1
                return level.popleft()
        return None

    def remove(self, message_ids: set[int]) -> list[Outbound]:
        """Take out the given messages wherever they are (cancelled, expired...)."""
        removed: list[Outbound] = []
        for priority, level in self._levels.items():
            kept = deque(m for m in level if m.id not in message_ids)
            if len(kept) != len(level):
                removed.extend(m for m in level if m.id in message_ids)
                self._levels[priority] = kept
        self._size -= len(removed)
        return removed

    def rewrite(self, message_id: int, change: Callable[[Outbound], Outbound]) -> bool:
        """Replace a queued message by ``change(message)``; False when it is not here."""
        for level in self._levels.values():
            for index, msg in enumerate(level):
                if msg.id == message_id:
                    level[index] = change(msg)
                    return True
        return False

    def __iter__(self) -> Iterator[Outbound]:
        for priority in self._order:
            yield from self._levels[priority]

    def depth(self, priority: int) -> int:
        return len(self._levels.get(priority, ()))
