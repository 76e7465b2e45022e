"""The monthly invoicing job: a service on the injected reactor that issues last month's
invoices once the month is over.

Every ``[billing] check_interval`` seconds (first check one interval after start), from the
``invoice_day`` of a month (UTC) to its end, it runs
:func:`gatewayd.storage.billing.generate_invoices` for the month before. That is idempotent, so
running it at every check costs one read per account and creates nothing twice; an account whose
month has not ended in its own time zone (west of UTC on the 1st) is invoiced at a later check,
and its client group's invoice waits for it. A failed run is logged and retried at the next
check. A month the daemon missed entirely is issued with ``gatewayd billing invoice``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gatewayd.billing.settings import BillingSettings
from gatewayd.services import TypedService
from gatewayd.storage.billing import Generated, generate_invoices

log = Logger()


class _Db(Protocol):
    def run(self, label: str, fn: Any, *args: Any) -> Deferred[Any]: ...


def due_period(now: float, invoice_day: int) -> str | None:
    """The month to invoice at ``now``: the previous one (UTC) from ``invoice_day`` on."""
    today = datetime.fromtimestamp(now, UTC)
    if today.day < invoice_day:
        return None
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{year:04d}-{month:02d}"


class InvoiceJob(TypedService):
    name = "billing-invoices"

    def __init__(self, db: _Db, clock: IReactorTime, settings: BillingSettings) -> None:
        self._db, self._clock, self._settings = db, clock, settings
        self._loop = LoopingCall(self.check)
        self._loop.clock = clock
        #: What the last run did, and the run under way (tests read them).
        self.last: Generated | None = None
        self.pending: Deferred[None] | None = None

    def check(self) -> Deferred[None]:
        """One check: generate the due month's invoices (never fails: logged)."""
        now = self._clock.seconds()
        period = due_period(now, self._settings.invoice_day)
        if period is None:
            return Deferred.fromCoroutine(_nothing())
        d = self._db.run("generate_invoices", generate_invoices, self._settings, period, now)

        def done(result: Generated) -> None:
            self.last = result
            if result.accounts or result.groups:
                log.info(
                    "billing: {period}: {accounts} account and {groups} group invoice(s) issued",
                    period=period,
                    accounts=result.accounts,
                    groups=result.groups,
                )

        d.addCallback(done)
        d.addErrback(lambda f: log.failure("billing: invoicing {period} failed", f, period=period))
        self.pending = d
        return d

    def startService(self) -> None:
        super().startService()
        self._loop.start(self._settings.check_interval, now=False)

    def stopService(self) -> None:
        super().stopService()
        if self._loop.running:
            self._loop.stop()


async def _nothing() -> None:
    return None
