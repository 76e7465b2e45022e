"""The fleet: a customer's mobile lines and the orders on them (``/fleet/...``).

The console's store does the work (``gatewayd/storage/fleet.py``) with the same rules: every
action is an order, checked in one transaction (a refusal writes nothing); another account's
line or order is a 404. An API key acts for its account, as for messages. The PUK is not
given here: the console shows it on request and records the reading.
"""

from __future__ import annotations

from typing import Any

from twisted.web.iweb import IRequest

from gatewayd.api import input as body_input
from gatewayd.api import views
from gatewayd.api.base import ApiBase, app
from gatewayd.api.errors import FieldError
from gatewayd.api.input import PAGED, check_keys, ids, object_id, read_body, text
from gatewayd.fleet.model import STATES, Action, Option, Plan
from gatewayd.fleet.orders import Order
from gatewayd.storage import fleet
from gatewayd.storage.fleet import LineView

#: Lines one order may name.
MAX_LINES = 200
_ORDER = frozenset({"action", "lines", "params"})
#: Each parameter an action may carry, and its JSON type.
PARAM_TYPES: dict[str, type] = {
    "sim": str,
    "iccid": str,
    "volume_mb": int,
    "user_name": str,
    "plan_id": int,
    "add": list,
    "remove": list,
}
SIM_KINDS = ("physical", "esim")


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def plan_view(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "code": plan.code,
        "name": plan.name,
        "range": plan.range.value,
        "blocked": plan.blocked,
        "data_mb": plan.data_mb,
    }


def option_view(option: Option) -> dict[str, Any]:
    return {"id": option.id, "code": option.code, "name": option.name, "kind": option.kind.value}


def line_view(line: LineView) -> dict[str, Any]:
    return {
        "id": line.id,
        "msisdn": line.msisdn,
        "iccid": line.iccid,
        "sim_kind": line.sim_kind,
        "user_name": line.user_name,
        "site": line.site,
        "contract": line.contract,
        "state": line.state.value,
        "plan": plan_view(line.plan),
        "options": [option_view(o) for o in line.options],
        "delivered_on": line.delivered_on,
        "pending_plan": plan_view(line.pending_plan) if line.pending_plan else None,
        "plan_effective": line.plan_effective,
        "data_used_kb": line.data_used_kb,
        "data_bundle_mb": line.data_bundle_mb,
        "data_percent": line.data_percent,
        "out_of_bundle": line.out_of_bundle,
    }


def order_view(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "number": order.number,
        "action": order.action,
        "state": order.state.value,
        "reason": order.reason,
        "effective_on": order.effective_on,
        "params": dict(order.params),
        "lines": [{"id": line.id, "msisdn": line.msisdn} for line in order.lines],
        "created_at": views.when(order.created_at),
        "started_at": views.when(order.started_at),
        "finished_at": views.when(order.finished_at),
    }


def order_params(body: dict[str, Any]) -> dict[str, Any]:
    """The ``params`` object, each key of its documented type (the rules check the values)."""
    raw = body.get("params", {})
    if not isinstance(raw, dict):
        raise FieldError("params", "must be an object")
    params: dict[str, Any] = {}
    for key, value in raw.items():
        kind = PARAM_TYPES.get(key)
        if kind is None:
            raise FieldError(f"params.{key}", "unknown field")
        if kind is list:
            params[key] = ids(raw, key, max_items=100)
        elif kind is int:
            if not _is_id(value):
                raise FieldError(f"params.{key}", "must be a positive integer")
            params[key] = value
        else:
            params[key] = text(raw, key, max_length=100)
    if params.get("sim") not in (None, *SIM_KINDS):
        raise FieldError("params.sim", "must be physical or esim")
    return params


class FleetApi(ApiBase):
    @app.route("/fleet/lines", methods=["GET"])
    async def fleet_lines(self, request: IRequest) -> bytes:
        who = await self._principal(request, PAGED | {"state", "q"})
        number, per_page = body_input.page(request)
        state = body_input.query(request, "state")
        if state is not None and state not in {s.value for s in STATES}:
            raise FieldError("state", "must be one of " + ", ".join(s.value for s in STATES))
        search = text({"q": body_input.query(request, "q")}, "q", max_length=100) or ""
        found = await self._db.run(
            "api_fleet_lines", fleet.list_lines, who.account.id, state, search.strip(), number,
            now=self._clock.seconds(), per_page=per_page,
        )  # fmt: skip
        return self._json(request, views.page(found, line_view))

    @app.route("/fleet/lines/<int:line_id>", methods=["GET"])
    async def fleet_line(self, request: IRequest, line_id: int) -> bytes:
        who = await self._principal(request)
        found = object_id(line_id, "line")
        line = await self._db.run(
            "api_fleet_line", fleet.get_line, who.account.id, found, now=self._clock.seconds()
        )
        return self._json(request, line_view(line))

    @app.route("/fleet/orders", methods=["POST"])
    async def create_fleet_order(self, request: IRequest) -> bytes:
        who = await self._principal(request)
        body = read_body(request)
        check_keys(body, _ORDER)
        action = text(body, "action", required=True, max_length=32) or ""
        if action not in {a.value for a in Action}:
            raise FieldError("action", "must be one of " + ", ".join(a.value for a in Action))
        lines = ids(body, "lines", max_items=MAX_LINES)
        if not lines:
            raise FieldError("lines", "must name at least one line")
        params = order_params(body)
        order = await self._db.run(
            "api_fleet_order", fleet.order_action, who.account.id, who.user_id,
            sorted(set(lines)), action, params, self._clock.seconds(),
        )  # fmt: skip
        return self._json(request, order_view(order), 201)

    @app.route("/fleet/orders/<int:order_id>", methods=["GET"])
    async def fleet_order(self, request: IRequest, order_id: int) -> bytes:
        who = await self._principal(request)
        found = object_id(order_id, "order")
        order = await self._db.run("api_fleet_order", fleet.get_order, who.account.id, found)
        return self._json(request, order_view(order))
