"""The operator's fleet: every customer's lines and orders, read-only (roles admin and viewer
alike). The customers act from their own console; the storage offers no provisioning yet,
so the operator's pages add none.

A customer is named by its account name in the path; a line or an order of another account
than the one named is a 404, as on the customer's side.
"""

from __future__ import annotations

from twisted.web.iweb import IRequest

from gatewayd.admin import fleet_reads
from gatewayd.admin.base import app
from gatewayd.admin.pages_fleet import FleetBase
from gatewayd.admin.rendering import page_number
from gatewayd.errors import NotFound
from gatewayd.storage import fleet


class AdminFleetPages(FleetBase):
    async def _fleet_account(self, name: str) -> int:
        found = await self._db.run("fleet_account", fleet_reads.account_id_of, name)
        if found is None:
            raise NotFound("no such account")
        return found

    @app.route("/admin/fleet", methods=["GET"])
    async def admin_fleet(self, request: IRequest) -> str:
        session = await self._operator(request)
        accounts = await self._db.run("fleet_accounts", fleet_reads.fleet_accounts)
        return self._page(request, "admin_fleet.html", session, accounts=accounts)

    @app.route("/admin/fleet/<string:account>", methods=["GET"])
    async def admin_fleet_lines(self, request: IRequest, account: str) -> str:
        session = await self._operator(request)
        account_id = await self._fleet_account(account)
        context = await self._lines_context(request, account_id)
        return self._page(request, "admin_fleet_lines.html", session, account=account, **context)

    @app.route("/admin/fleet/<string:account>/lines/<int:line_id>", methods=["GET"])
    async def admin_fleet_line(self, request: IRequest, account: str, line_id: int) -> str:
        session = await self._operator(request)
        account_id = await self._fleet_account(account)
        context = await self._line_context(request, account_id, line_id)
        return self._page(request, "admin_fleet_line.html", session, account=account, **context)

    @app.route("/admin/fleet/<string:account>/orders", methods=["GET"])
    async def admin_fleet_orders(self, request: IRequest, account: str) -> str:
        session = await self._operator(request)
        account_id = await self._fleet_account(account)
        page = await self._db.run(
            "fleet_orders", fleet.list_orders, account_id, page_number(request)
        )
        return self._page(request, "admin_fleet_orders.html", session, account=account, page=page)
