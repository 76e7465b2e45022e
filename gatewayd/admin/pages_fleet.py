"""The customer's fleet: the list of lines (counters by state, filters, search, CSV export),
a line's detail (options, SIM, PUK on request, actions, the month's totals, a 3-month
journal), options on several lines at once, and the orders.

Roles: a "manager" orders (every POST), a "user" may look (a POST from a user is 403). Every
id is looked up within the session's account: another account's line or order is a 404.
Every action becomes an order (``gatewayd/storage/fleet.py``), checked by the fleet's rules
in one transaction: a refusal writes nothing and is shown in the user's language. Several
lines are changed together only when they share plan and state: the page greys out the
others (``static/fleet.js``) and the server checks it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twisted.web.iweb import IRequest

from gatewayd.admin import fleet_reads
from gatewayd.admin.base import FLASHES, ConsoleBase, app
from gatewayd.admin.book_base import ids_of
from gatewayd.admin.rendering import csv_download, form_value, page_number
from gatewayd.csvwriter import csv_file
from gatewayd.errors import FieldError, PermissionDenied
from gatewayd.fleet import rules
from gatewayd.fleet.model import STATES, Action, LineState, OptionKind, UsageKind
from gatewayd.fleet.orders import Order
from gatewayd.storage import fleet
from gatewayd.storage.fleet import EXPORT_HEADER, LineView
from gatewayd.storage.websessions import SessionInfo

FLASHES["fleet_order_placed"] = (
    "We have received your order and will carry it out within a few minutes."
)
#: Journal months shown (the current one and the two before).
JOURNAL_MONTHS = 3
OPTION_KINDS = tuple(OptionKind)


@dataclass(frozen=True)
class FleetFilter:
    state: str | None
    q: str

    @property
    def params(self) -> dict[str, str]:
        found = {"state": self.state or "", "q": self.q}
        return {k: v for k, v in found.items() if v}


def order_params(request: IRequest) -> dict[str, Any]:
    """The action's parameters from a form (the rules check them)."""
    params: dict[str, Any] = {
        key: form_value(request, key)
        for key in ("sim", "iccid", "volume_mb", "user_name", "plan_id")
        if form_value(request, key)
    }
    params["add"] = ids_of(request, "add")
    params["remove"] = ids_of(request, "remove")
    return params


def months_back(now: float, zone_name: str, count: int = JOURNAL_MONTHS) -> list[str]:
    """The current month and the ones before it, newest first ("YYYY-MM")."""
    today = datetime.fromtimestamp(now, rules.zone_of(zone_name))
    index = today.year * 12 + today.month - 1
    return [f"{(index - i) // 12:04d}-{(index - i) % 12 + 1:02d}" for i in range(count)]


class FleetBase(ConsoleBase):
    """What the customer's and the operator's fleet pages share."""

    def _fleet_filter(self, request: IRequest) -> FleetFilter:
        state = form_value(request, "state")
        return FleetFilter(
            state if state in {s.value for s in STATES} else None,
            form_value(request, "q").strip()[:100],
        )

    async def _lines_context(self, request: IRequest, account_id: int) -> dict[str, Any]:
        chosen = self._fleet_filter(request)
        now = self._clock.seconds()
        page = await self._db.run(
            "fleet_lines", fleet.list_lines, account_id, chosen.state, chosen.q,
            page_number(request), now=now,
        )  # fmt: skip
        counters = await self._db.run("fleet_counters", fleet.line_counters, account_id)
        return {"page": page, "counters": counters, "filter": chosen, "states": STATES}

    async def _line_context(
        self, request: IRequest, account_id: int, line_id: int
    ) -> dict[str, Any]:
        """A line, its month's totals and its journal (month and kind from the query)."""
        now = self._clock.seconds()
        line = await self._db.run("fleet_line", fleet.get_line, account_id, line_id, now=now)
        zone_name = await self._db.run("fleet_zone", fleet_reads.account_zone, account_id)
        months = months_back(now, zone_name)
        month = form_value(request, "month")
        month = month if month in months else months[0]
        totals = await self._db.run(
            "fleet_month", fleet.consumption_month, account_id, line_id, month
        )
        kind = form_value(request, "kind")
        kind_value = kind if kind in {k.value for k in UsageKind} else None
        since = rules.journal_since(now, rules.zone_of(zone_name), JOURNAL_MONTHS)
        journal = await self._db.run(
            "fleet_journal", fleet.journal, account_id, line_id, since, kind_value,
            page_number(request),
        )  # fmt: skip
        return {
            "line": line,
            "months": months,
            "month": month,
            "totals": totals,
            "journal": journal,
            "kind": kind_value or "",
            "kinds": tuple(UsageKind),
        }


class FleetPages(FleetBase):
    async def _manager(self, request: IRequest) -> SessionInfo:
        """A customer's manager, with a valid CSRF token: users may look, not order."""
        session = await self._customer(request)
        self._check_csrf(request, session)
        if session.user.role != "manager":
            raise PermissionDenied("your role may look, not change")
        return session

    async def _order(
        self, request: IRequest, session: SessionInfo, line_ids: list[int], action: str
    ) -> Order:
        return await self._db.run(
            "fleet_order", fleet_reads.place_order, session.user.account.id, session.user.id,
            sorted(set(line_ids)), action, order_params(request),
            f"console:{session.user.login}", self._peer(request), self._clock.seconds(),
        )  # fmt: skip

    @app.route("/fleet", methods=["GET"])
    async def fleet(self, request: IRequest) -> str:
        session = await self._customer(request)
        context = await self._lines_context(request, session.user.account.id)
        return await self._customer_page(request, "fleet.html", session, **context)

    @app.route("/fleet/export", methods=["GET"])
    async def fleet_export(self, request: IRequest) -> bytes:
        session = await self._customer(request)
        chosen = self._fleet_filter(request)
        rows = await self._db.run(
            "fleet_export", _export, session.user.account.id, chosen.state, chosen.q,
            self._clock.seconds(),
        )  # fmt: skip
        header = [self._(session, title) for title in EXPORT_HEADER]
        return csv_download(request, "fleet.csv", csv_file(header, rows))

    async def _line_page(
        self,
        request: IRequest,
        session: SessionInfo,
        line_id: int,
        code: int = 200,
        **extra: Any,
    ) -> str:
        account_id = session.user.account.id
        context = await self._line_context(request, account_id, line_id)
        line: LineView = context["line"]
        extras = await self._db.run("fleet_extras", fleet_reads.line_extras, account_id, [line_id])
        orders = await self._db.run("fleet_line_orders", _line_orders, account_id, line_id)
        return await self._customer_page(
            request,
            "line.html",
            session,
            code,
            available=extras.available,
            free_sims=extras.free_sims,
            esim_allowed=extras.esim_allowed,
            topups=rules.TOPUP_CHOICES,
            plans=[p for p in extras.plans if p.range == line.plan.range],
            options=extras.options,
            option_kinds=OPTION_KINDS,
            orders=orders,
            manager=session.user.role == "manager",
            **context,
            **extra,
        )

    @app.route("/fleet/lines/<int:line_id>", methods=["GET"])
    async def fleet_line(self, request: IRequest, line_id: int) -> str:
        session = await self._customer(request)
        return await self._line_page(request, session, line_id)

    @app.route("/fleet/lines/<int:line_id>/puk", methods=["POST"])
    async def fleet_puk(self, request: IRequest, line_id: int) -> str:
        """The PUK, shown on request to a manager and recorded in the audit log."""
        session = await self._manager(request)
        puk = await self._db.run(
            "fleet_puk", fleet_reads.reveal_puk, session.user.account.id, line_id,
            f"console:{session.user.login}", self._peer(request), self._clock.seconds(),
        )  # fmt: skip
        return await self._line_page(request, session, line_id, puk=puk)

    @app.route("/fleet/lines/<int:line_id>/orders", methods=["POST"])
    async def fleet_line_order(self, request: IRequest, line_id: int) -> str | bytes:
        session = await self._manager(request)
        action = form_value(request, "action")
        try:
            order = await self._order(request, session, [line_id], action)
        except FieldError as refused:
            return await self._line_page(
                request, session, line_id, refused.http_status,
                refusal=self._error_text(session, refused), refused_action=action,
            )  # fmt: skip
        return self._redirect(request, f"/fleet/orders/{order.id}", "fleet_order_placed")

    # -- options on several lines -----------------------------------------------------------
    async def _options_page(
        self, request: IRequest, session: SessionInfo, line_ids: list[int], code: int = 200,
        **extra: Any,
    ) -> str:  # fmt: skip
        account_id = session.user.account.id
        now = self._clock.seconds()
        lines = await self._db.run(
            "fleet_lines_by_id", fleet_reads.lines_by_id, account_id, line_ids, now
        )
        extras = await self._db.run(
            "fleet_extras", fleet_reads.line_extras, account_id, [line.id for line in lines]
        )
        reason = extras.available[Action.OPTIONS.value]
        if not lines or reason is not None:
            message = self._(session, reason or rules.NO_LINE)
            return await self._customer_page(
                request, "fleet_refused.html", session, 400 if not lines else 409, message=message
            )
        on_all = frozenset.intersection(*(frozenset(o.id for o in ln.options) for ln in lines))
        on_any = frozenset().union(*(frozenset(o.id for o in ln.options) for ln in lines))
        return await self._customer_page(
            request, "fleet_options.html", session, code,
            lines=lines, options=extras.options, option_kinds=OPTION_KINDS,
            on_all=on_all, on_any=on_any, manager=session.user.role == "manager", **extra,
        )  # fmt: skip

    @app.route("/fleet/options", methods=["GET"])
    async def fleet_options(self, request: IRequest) -> str:
        session = await self._customer(request)
        return await self._options_page(request, session, ids_of(request, "line"))

    @app.route("/fleet/options", methods=["POST"])
    async def fleet_options_order(self, request: IRequest) -> str | bytes:
        session = await self._manager(request)
        line_ids = ids_of(request, "line")
        try:
            order = await self._order(request, session, line_ids, Action.OPTIONS.value)
        except FieldError as refused:
            return await self._options_page(
                request, session, line_ids, refused.http_status,
                refusal=self._error_text(session, refused),
            )  # fmt: skip
        return self._redirect(request, f"/fleet/orders/{order.id}", "fleet_order_placed")

    # -- orders -----------------------------------------------------------------------------
    @app.route("/fleet/orders", methods=["GET"])
    async def fleet_orders(self, request: IRequest) -> str:
        session = await self._customer(request)
        page = await self._db.run(
            "fleet_orders", fleet.list_orders, session.user.account.id, page_number(request)
        )
        return await self._customer_page(request, "orders.html", session, page=page)

    @app.route("/fleet/orders/<int:order_id>", methods=["GET"])
    async def fleet_order(self, request: IRequest, order_id: int) -> str:
        session = await self._customer(request)
        order = await self._db.run(
            "fleet_order", fleet.get_order, session.user.account.id, order_id
        )
        return await self._customer_page(request, "order.html", session, order=order)


def _export(s: Any, account_id: int, state: str | None, q: str, now: float) -> list[list[object]]:
    """The export's rows, read within the transaction (a generator would outlive it)."""
    return [list(row) for row in fleet.export_rows(s, account_id, state, q, now=now)]


def _line_orders(s: Any, account_id: int, line_id: int) -> list[Any]:
    """The line's latest orders (the first page)."""
    return list(fleet.list_orders(s, account_id, 1, line_id=line_id).items)


__all__ = ["FleetBase", "FleetPages", "LineState"]
