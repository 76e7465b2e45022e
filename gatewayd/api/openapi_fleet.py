"""The fleet's part of the OpenAPI document (``routes_fleet.py``): its paths and schemas,
merged into :func:`gatewayd.api.openapi.document`."""

from __future__ import annotations

from gatewayd.api.openapi import _BODY_ERRORS, _PAGE, _ok, _op, _path, _query
from gatewayd.api.routes_fleet import MAX_LINES, SIM_KINDS
from gatewayd.api.schemas import ID, Schema, _nullable, _obj, ref
from gatewayd.fleet.model import STATES, Action, OptionKind, PlanRange
from gatewayd.fleet.orders import OrderState

_TIME = {"type": "string", "format": "date-time"}
_DATE = {"type": "string", "example": "2026-04-01", "description": "YYYY-MM-DD"}
_STR = {"type": "string"}
_INT = {"type": "integer"}


def _page_of(name: str) -> Schema:
    return _obj(
        ["data", "page", "per_page", "total", "pages"],
        {
            "data": {"type": "array", "items": ref(name)},
            "page": {"type": "integer", "description": "this page (the last if past it)"},
            "per_page": _INT,
            "total": {"type": "integer", "description": "items in all pages"},
            "pages": _INT,
        },
    )


_PLAN = _obj(
    ["id", "code", "name", "range", "blocked", "data_mb"],
    {
        "id": ID,
        "code": _STR,
        "name": _STR,
        "range": {"type": "string", "enum": [r.value for r in PlanRange]},
        "blocked": {"type": "boolean"},
        "data_mb": _INT,
    },
)

FLEET_SCHEMAS: dict[str, Schema] = {
    "FleetPlan": _PLAN,
    "FleetOption": _obj(
        ["id", "code", "name", "kind"],
        {
            "id": ID,
            "code": _STR,
            "name": _STR,
            "kind": {"type": "string", "enum": [k.value for k in OptionKind]},
        },
    ),
    "FleetLine": _obj(
        [
            "id",
            "msisdn",
            "iccid",
            "sim_kind",
            "user_name",
            "site",
            "contract",
            "state",
            "plan",
            "options",
            "delivered_on",
            "pending_plan",
            "plan_effective",
            "data_used_kb",
            "data_bundle_mb",
            "data_percent",
            "out_of_bundle",
        ],
        {
            "id": ID,
            "msisdn": _STR,
            "iccid": _STR,
            "sim_kind": {"type": "string", "enum": list(SIM_KINDS)},
            "user_name": _STR,
            "site": _STR,
            "contract": _STR,
            "state": {"type": "string", "enum": [s.value for s in STATES]},
            "plan": ref("FleetPlan"),
            "options": {"type": "array", "items": ref("FleetOption")},
            "delivered_on": _nullable(_DATE),
            "pending_plan": _nullable(_PLAN),
            "plan_effective": _nullable(_DATE),
            "data_used_kb": _INT,
            "data_bundle_mb": _INT,
            "data_percent": {"type": "integer", "minimum": 0, "maximum": 100},
            "out_of_bundle": {"type": "boolean"},
        },
    ),
    "FleetOrder": _obj(
        [
            "id",
            "number",
            "action",
            "state",
            "reason",
            "effective_on",
            "params",
            "lines",
            "created_at",
            "started_at",
            "finished_at",
        ],
        {
            "id": ID,
            "number": {"type": "string", "example": "CMD-2026-000123"},
            "action": {"type": "string", "enum": [a.value for a in Action]},
            "state": {"type": "string", "enum": [s.value for s in OrderState]},
            "reason": _nullable(_STR),
            "effective_on": _nullable(_DATE),
            "params": {"type": "object"},
            "lines": {
                "type": "array",
                "items": _obj(["id", "msisdn"], {"id": ID, "msisdn": _STR}),
            },
            "created_at": _TIME,
            "started_at": _nullable(_TIME),
            "finished_at": _nullable(_TIME),
        },
    ),
    "NewFleetOrder": _obj(
        ["action", "lines"],
        {
            "action": {"type": "string", "enum": [a.value for a in Action]},
            "lines": {
                "type": "array",
                "items": ID,
                "minItems": 1,
                "maxItems": MAX_LINES,
                "description": "several lines only with the same plan and the same state",
            },
            "params": _obj(
                [],
                {
                    "sim": {"type": "string", "enum": list(SIM_KINDS)},
                    "iccid": {"type": "string", "maxLength": 100},
                    "volume_mb": {**ID, "description": "a top-up volume, in MB"},
                    "user_name": {"type": "string", "maxLength": 100},
                    "plan_id": ID,
                    "add": {"type": "array", "items": ID, "maxItems": 100},
                    "remove": {"type": "array", "items": ID, "maxItems": 100},
                },
            ),
        },
    ),
    "FleetLinePage": _page_of("FleetLine"),
}


def fleet_paths() -> dict[str, Schema]:
    line_id = [_path("line_id", ID)]
    order_id = [_path("order_id", ID)]
    state = {"type": "string", "enum": [s.value for s in STATES]}
    return {
        "/fleet/lines": {
            "get": _op(
                "The account's mobile lines, a page at a time",
                _ok("200", "", "FleetLinePage"),
                ("400",),
                params=[
                    *_PAGE,
                    _query("state", state, "only lines in this state"),
                    _query("q", {"type": "string", "maxLength": 100}, "number, user, site"),
                ],
            ),
        },
        "/fleet/lines/{line_id}": {
            "get": _op("A mobile line", _ok("200", "", "FleetLine"), ("404",), params=line_id),
        },
        "/fleet/orders": {
            "post": _op(
                "Order an action on one or several lines (carried out asynchronously)",
                _ok("201", "recorded", "FleetOrder"),
                (*_BODY_ERRORS, "404", "409"),
                "NewFleetOrder",
            ),
        },
        "/fleet/orders/{order_id}": {
            "get": _op(
                "An order and its state", _ok("200", "", "FleetOrder"), ("404",), params=order_id
            ),
        },
    }
