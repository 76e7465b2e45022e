"""Receipts and MO owed to customers: on their SMPP binds, or POSTed to their HTTP callback.

Every entry is committed to the ``outbox`` table before the upstream deliver_sm is answered,
and deleted only once the customer acknowledged it (deliver_sm_resp with ESME_ROK, or an HTTP
2xx), so a customer that is not bound, or a callback that is down, loses nothing: its entries
wait, in order, until its next bind or a retry succeeds, up to ``[pipeline] outbox_expiry``.
A callback failure that trying again cannot cure (a refused destination, see
:mod:`gatewayd.pipeline.destinations`) is recorded and not retried, until the URL is set again.
Delivery is at-least-once: an acknowledgement lost in a crash means the entry is sent again.
"""

from __future__ import annotations

import random as _random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.config import PipelineConfig
from gatewayd.errors import GatewayError
from gatewayd.pipeline.callbacks import CallbackFailed, backoff, mo_payload, receipt_payload
from gatewayd.pipeline.customer_pdus import mo_deliver, receipt_deliver
from gatewayd.services import TypedService
from gatewayd.smpp.concat import concat_info, parse_udh
from gatewayd.storage.committer import GroupCommitter
from gatewayd.storage.database import Database
from gatewayd.storage.traffic import (
    OUTBOX_DONE,
    OUTBOX_PARK,
    OUTBOX_RETRY,
    OutboxRetry,
    OutboxRow,
    callback_targets,
    expire_outbox,
    outbox_due,
    outbox_for,
)

log = Logger()
_PAGE = 500


class Customers(Protocol):
    """The SMPP server's side: who is bound, and a deliver_sm to one of its receivers."""

    def principal_for(self, account_id: int) -> Any | None: ...

    def deliver(
        self, principal: Any, fields: Mapping[str, int | bytes], tlvs: Sequence[tuple[int, bytes]]
    ) -> Deferred[bool]: ...


class Poster(Protocol):
    def post(
        self, url: str, secret: bytes, delivery_id: str, payload: Mapping[str, Any]
    ) -> Deferred[int]: ...


def http_payload(row: OutboxRow) -> dict[str, Any]:
    """The documented JSON (docs/callbacks.md) for an outbox entry."""
    p = row.payload
    if row.kind == "receipt":
        return receipt_payload(
            p["message_id"], p["status"], p["error_code"], p["to"], p["from"], p["done_at"], None
        )
    udh = None
    if p["esm_class"] & 0x40:
        try:
            found = concat_info(parse_udh(bytes.fromhex(p["short_message"]))[0], ())
        except GatewayError:  # a broken UDH: the text is still delivered, without it
            found = None
        if found is not None:
            udh = {"ref": found[0], "total": found[1], "seq": found[2]}
    return mo_payload(p["mo_id"], p["from"], p["to"], p["text"], p["at"], udh)


class Outbox(TypedService):
    name = "outbox"

    def __init__(
        self,
        db: Database,
        committer: GroupCommitter,
        clock: IReactorTime,
        config: PipelineConfig,
        customers: Customers,
        poster: Poster | None,
        *,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self._db = db
        self._committer = committer
        self._clock = clock
        self._config = config
        self._customers = customers
        self._poster = poster
        self._random = random
        self._busy: set[int] = set()  # entries on their way, never offered twice at once
        self._waiting: dict[int, deque[OutboxRow]] = {}  # per account, for its window
        self._sending: dict[int, int] = {}
        self._loop = LoopingCall(self.sweep)
        self._loop.clock = clock
        self._kick: IDelayedCall | None = None
        self._sweeping: Deferred[None] | None = None
        self.delivered = 0

    def startService(self) -> None:
        super().startService()
        self._loop.start(self._config.sweep_interval, now=True).addErrback(
            lambda f: log.failure("outbox loop stopped", f)
        )

    def stopService(self) -> None:
        super().stopService()
        if self._loop.running:
            self._loop.stop()
        if self._kick is not None and self._kick.active():
            self._kick.cancel()

    # --- intake ------------------------------------------------------------------------------

    def offer(self, rows: Sequence[OutboxRow]) -> None:
        """Just-committed entries: send the SMPP ones now if their customer is bound."""
        http = False
        for row in rows:
            if row.channel == "smpp":
                self._smpp(row)
            else:
                http = True
        if http:
            self._sweep_soon()

    def account_bound(self, account_id: int) -> None:
        """A receiver of the account just bound: send what waits for it, oldest first."""
        d = Deferred.fromCoroutine(self._backlog(account_id))
        d.addErrback(lambda f: log.failure("outbox backlog of account {a}", f, a=account_id))

    async def _backlog(self, account_id: int) -> None:
        after = 0
        while self.running:
            rows = await self._db.run("outbox_for", outbox_for, account_id, "smpp", after, _PAGE)
            for row in rows:
                self._smpp(row)
            if len(rows) < _PAGE:
                return
            after = rows[-1].id

    # --- SMPP --------------------------------------------------------------------------------

    def _smpp(self, row: OutboxRow) -> None:
        if row.id in self._busy or self._customers.principal_for(row.account_id) is None:
            return  # on its way already, or it waits for the customer's next bind
        self._busy.add(row.id)
        self._waiting.setdefault(row.account_id, deque()).append(row)
        self._drain(row.account_id)

    def _drain(self, account_id: int) -> None:
        waiting = self._waiting.get(account_id)
        while waiting and self._sending.get(account_id, 0) < self._config.deliver_window:
            row = waiting.popleft()
            principal = self._customers.principal_for(account_id)
            if principal is None:
                self._busy.discard(row.id)
                continue
            fields, tlvs = (
                receipt_deliver(row.payload) if row.kind == "receipt" else mo_deliver(row.payload)
            )
            self._sending[account_id] = self._sending.get(account_id, 0) + 1
            d = self._customers.deliver(principal, fields, tlvs)
            d.addCallbacks(self._sent, self._send_failed, callbackArgs=(row,), errbackArgs=(row,))
        if not waiting:
            self._waiting.pop(account_id, None)

    def _sent(self, bound: bool, row: OutboxRow) -> None:
        self._sending[row.account_id] -= 1
        if bound:
            self.delivered += 1
            done = self._committer.add(OUTBOX_DONE, row.id)
            done.addBoth(self._settled, row.id)
        else:
            self._busy.discard(row.id)  # unbound meanwhile: it waits for the next bind
        self._drain(row.account_id)

    def _send_failed(self, failure: Failure, row: OutboxRow) -> None:
        self._sending[row.account_id] -= 1
        self._retry_later(row, failure.getErrorMessage())
        self._drain(row.account_id)

    def _settled(self, result: object, row_id: int) -> object:
        self._busy.discard(row_id)
        if isinstance(result, Failure):
            log.failure("deleting delivered outbox entry {id} failed", result, id=row_id)
            return None
        return result

    def _retry_later(self, row: OutboxRow, why: str) -> Deferred[object]:
        attempts = row.attempts + 1
        delay = backoff(attempts, jitter=0.2, random=self._random)
        log.info(
            "{kind} for account {account} not delivered ({why}); retry in {delay:.0f} s",
            kind=row.kind,
            account=row.account_id,
            why=why,
            delay=delay,
        )
        item = OutboxRetry(row.id, attempts, self._clock.seconds() + delay, why)
        return self._committer.add(OUTBOX_RETRY, item).addBoth(self._settled, row.id)

    def _give_up(self, row: OutboxRow, why: str) -> Deferred[object]:
        """Trying again cannot help (the destination is refused): the entry records why and
        waits, untried, for its expiry."""
        log.warn(
            "{kind} for account {account} not delivered, not retried ({why})",
            kind=row.kind,
            account=row.account_id,
            why=why,
        )
        item = OutboxRetry(row.id, row.attempts + 1, self._clock.seconds(), why)
        return self._committer.add(OUTBOX_PARK, item).addBoth(self._settled, row.id)

    # --- HTTP and housekeeping ---------------------------------------------------------------

    def _sweep_soon(self) -> None:
        if self._kick is None or not self._kick.active():
            self._kick = self._clock.callLater(0, self.sweep)

    def sweep(self) -> Deferred[None] | None:
        """Expire old entries, POST the HTTP ones that are due, and retry SMPP ones of bound
        customers whose earlier attempt failed."""
        if self._sweeping is not None:
            return self._sweeping
        d = Deferred.fromCoroutine(self._sweep())
        d.addErrback(lambda f: log.failure("outbox sweep failed", f))
        self._sweeping = d.addBoth(self._swept)
        return self._sweeping

    def _swept(self, _: object) -> None:
        self._sweeping = None

    async def _sweep(self) -> None:
        now = self._clock.seconds()
        expired = await self._db.run("expire_outbox", expire_outbox, now)
        if expired:
            log.warn("{n} outbox entr(ies) expired undelivered", n=expired)
        for row in await self._db.run("outbox_due", outbox_due, "smpp", now, _PAGE):
            if row.attempts:
                self._smpp(row)
        if self._poster is None:
            return
        rows = await self._db.run("outbox_due", outbox_due, "http", now, _PAGE)
        due = [r for r in rows if r.id not in self._busy]
        if not due:
            return
        targets = await self._db.run(
            "callback_targets", callback_targets, sorted({r.account_id for r in due})
        )
        posts = []
        for row in due:
            target = targets.get(row.account_id)
            if target is None:
                continue  # the account dropped its callback: the entry expires in time
            self._busy.add(row.id)
            posts.append(self._post(row, *target))
        # The pass ends when its POSTs are answered and recorded (each bounded by
        # callback_timeout), so passes never overlap.
        await DeferredList(posts, consumeErrors=True)

    def _post(self, row: OutboxRow, url: str, secret: str) -> Deferred[object]:
        assert self._poster is not None
        d = self._poster.post(
            url, secret.encode("utf-8"), f"{row.kind}-{row.id}", http_payload(row)
        )

        def posted(_: int) -> Deferred[object]:
            self.delivered += 1
            return self._committer.add(OUTBOX_DONE, row.id).addBoth(self._settled, row.id)

        def failed(failure: Failure) -> Deferred[object]:
            if isinstance(failure.value, CallbackFailed) and failure.value.permanent:
                return self._give_up(row, failure.getErrorMessage())
            return self._retry_later(row, failure.getErrorMessage())

        return d.addCallbacks(posted, failed)
