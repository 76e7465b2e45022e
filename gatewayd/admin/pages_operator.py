"""The operator's administration: accounts and their fair-use counters."""

from __future__ import annotations

from datetime import UTC, datetime

from twisted.web.iweb import IRequest

from gatewayd.admin.base import ConsoleBase, app
from gatewayd.storage.fair_use import FairUseStatus, account_action, statuses


def local_time(moment: float | None) -> str | None:
    """A time for people: UTC, to the minute."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).strftime("%d/%m/%Y %H:%M UTC")


class OperatorPages(ConsoleBase):
    async def _fair_use(self) -> dict[int, FairUseStatus]:
        return await self._db.run("fair_use_statuses", statuses, self._clock.seconds())

    @app.route("/admin/accounts", methods=["GET"])
    async def accounts(self, request: IRequest) -> str:
        session = await self._operator(request)
        accounts = await self._accounts.accounts()
        fair_use = {
            account_id: (local_time(status.suspended_until), status)
            for account_id, status in (await self._fair_use()).items()
        }
        return self._page(request, "accounts.html", session, accounts=accounts, fair_use=fair_use)

    @app.route("/admin/accounts/<name>/lift", methods=["POST"])
    async def lift(self, request: IRequest, name: str) -> bytes:
        """Lift a fair-use suspension early; the audit log names the admin."""
        session = await self._operator(request, write=True)
        self._check_csrf(request, session)
        actor = f"console:{session.user.login}"
        now = self._clock.seconds()
        await self._db.run("lift", account_action, name, "lift", None, actor, now)
        return self._redirect(request, "/admin/accounts", "lifted")
