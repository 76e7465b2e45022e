"""The operator's routing table: the database's rules as an ordered table editor (add, edit,
delete after a confirmation, move up and down), the config file's rules read-only after them,
and a "test a number" preview that shows the route a message would take and why, as
``gatewayd route explain`` does. The running gateway applies each edit at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twisted.web.iweb import IRequest

from gatewayd.admin.base import FLASHES, app
from gatewayd.admin.ops_pages import page_of, read_toml, toml_table
from gatewayd.admin.pages_plans import PlansPages, json_safe
from gatewayd.admin.rendering import form_value, page_number, parse_count
from gatewayd.errors import Conflict, NotFound, ValidationError
from gatewayd.routing.acceptance import Acceptance
from gatewayd.routing.numbers import InvalidNumber
from gatewayd.routing.rules_parse import parse_rules, rule_to_mapping
from gatewayd.routing.table import Explanation, MessageClass, connectors_used
from gatewayd.storage.account_policy import load_policies
from gatewayd.storage.operations import edit_route_rule, move_route_rule, route_rule
from gatewayd.storage.route_rules import add_route_rule, load_route_rules, remove_route_rule
from gatewayd.storage.websessions import SessionInfo

FLASHES["route_saved"] = "The routing rule has been saved; it applies now."
FLASHES["route_deleted"] = "The routing rule has been deleted."
FLASHES["route_moved"] = "The routing rule has been moved."


@dataclass(frozen=True)
class RuleRow:
    position: int
    name: str
    spec: dict[str, Any]
    origin: str  # "database" (editable) or "config"

    @property
    def text(self) -> str:
        return toml_table({k: v for k, v in self.spec.items() if k != "name"})


@dataclass(frozen=True)
class Preview:
    heading: str  # the number, its classification
    lines: tuple[str, ...]


def explain(
    acceptance: Acceptance, account: Any, raw: str, sender: str, klass: MessageClass, now: float
) -> Preview:
    """What ``gatewayd route explain`` prints, for the console."""
    e164 = acceptance.plan.normalise(raw, account.country)
    if isinstance(e164, InvalidNumber):
        raise ValidationError(f"{raw}: {e164.reason}")
    destination = acceptance.plan.classify(e164, account.country)
    heading = (
        f"{raw} -> +{e164}: {destination.scope} for {account.name!r}, region "
        f"{destination.region or '?'}, operator {destination.operator or 'unknown'}"
    )
    query = acceptance.query(account, destination, sender, klass, now)
    found: Explanation = acceptance.table.explain(query, acceptance.is_bound)
    return Preview(heading, found.lines)


class RoutesPages(PlansPages):
    async def _route_rows(self) -> list[RuleRow]:
        _, specs = await self._db.run("route_rules", load_route_rules)
        rows = [
            RuleRow(i + 1, str(sp.get("name")), dict(sp), "database") for i, sp in enumerate(specs)
        ]
        for spec in self._ops_live().config_rules():
            rows.append(RuleRow(len(rows) + 1, str(spec.get("name")), json_safe(spec), "config"))
        return rows

    @app.route("/admin/routes", methods=["GET"])
    async def routes(self, request: IRequest) -> str:
        session = await self._operator(request)
        return await self._routes_page(request, session)

    async def _routes_page(
        self, request: IRequest, session: SessionInfo, error: str = "", code: int = 200
    ) -> str:
        ops = self._ops_live()
        rows = await self._route_rows()
        policies = sorted(
            (await self._db.run("policies", load_policies)).values(), key=lambda p: p.name
        )
        test = {k: form_value(request, k) for k in ("account", "to", "sender", "class")}
        preview = None
        if test["to"]:
            account = next((p for p in policies if p.name == test["account"]), None)
            klass: MessageClass = "bulk" if test["class"] == "bulk" else "transactional"
            try:
                if account is None:
                    raise ValidationError("Choose an account.")
                now = self._clock.seconds()
                preview = explain(ops.acceptance(), account, test["to"], test["sender"], klass, now)
            except ValidationError as failure:
                error, code = self._(session, failure.message), 400
        return self._page(
            request,
            "routes.html",
            session,
            code,
            page=page_of(rows, page_number(request)),
            editable=sum(1 for r in rows if r.origin == "database"),
            default=ops.default_connector(),
            source=ops.config_source(),
            accounts=[p.name for p in policies],
            test=test,
            preview=preview,
            error=error,
        )

    def _route_spec(self, request: IRequest) -> dict[str, Any]:
        """The form's rule, checked by the routing parser and against the connectors; the
        stored spec is the parser's own mapping (JSON types only)."""
        spec = read_toml(form_value(request, "rule"), "rule")
        try:
            (rule,) = parse_rules([spec], "rule")
        except ValueError as error:
            raise ValidationError(str(error)) from None
        known = {view.name for view in self._ops_live().connectors()}
        missing = sorted(connectors_used([rule]) - known)
        if missing:
            raise ValidationError(f"rule: no connector named {missing[0]!r}")
        return rule_to_mapping(rule)

    def _route_form(
        self,
        request: IRequest,
        session: SessionInfo,
        name: str,
        text: str,
        error: str = "",
        code: int = 200,
    ) -> str:
        connectors = [view.name for view in self._ops_live().connectors()]
        return self._page(
            request,
            "routes_form.html",
            session,
            code,
            name=name,
            text=text,
            error=error,
            connectors=connectors,
        )

    @app.route("/admin/routes/new", methods=["GET"])
    async def route_new(self, request: IRequest) -> str:
        session = await self._operator(request, write=True)
        example = 'name = "mali-orange"\nprefixes = ["22376"]\nconnector = "sim"'
        return self._route_form(request, session, "", example)

    @app.route("/admin/routes", methods=["POST"])
    async def route_create(self, request: IRequest) -> str | bytes:
        session, by, now = await self._writer(request)
        try:
            spec = self._route_spec(request)
            position = parse_count(form_value(request, "position"), 100_000)
            at = position - 1 if position else None
            await self._db.run("add_route", add_route_rule, spec, at, by.actor, now, by.ip)
        except (ValidationError, Conflict) as error:  # a taken name too: the form again
            text = form_value(request, "rule")
            return self._route_form(request, session, "", text, error.message, error.http_status)
        return await self._routes_changed(request, "route_saved")

    async def _routes_changed(self, request: IRequest, flash: str) -> bytes:
        await self._ops_live().reload_routes()
        return self._redirect(request, "/admin/routes", flash)

    @app.route("/admin/routes/<name>/edit", methods=["GET"])
    async def route_edit(self, request: IRequest, name: str) -> str:
        session = await self._operator(request, write=True)
        spec = await self._db.run("route_rule", route_rule, name)
        return self._route_form(request, session, name, toml_table(spec))

    @app.route("/admin/routes/<name>", methods=["POST"])
    async def route_update(self, request: IRequest, name: str) -> str | bytes:
        session, by, now = await self._writer(request)
        await self._db.run("route_rule", route_rule, name)  # 404 before anything else
        actor, ip = by.actor, by.ip
        try:
            spec = self._route_spec(request)
            await self._db.run("edit_route", edit_route_rule, name, spec, actor, ip, now)
        except (ValidationError, Conflict) as error:  # a taken name too: the form again
            text = form_value(request, "rule")
            return self._route_form(request, session, name, text, error.message, error.http_status)
        return await self._routes_changed(request, "route_saved")

    @app.route("/admin/routes/<name>/delete", methods=["GET"])
    async def route_delete_confirm(self, request: IRequest, name: str) -> str:
        session = await self._operator(request, write=True)
        spec = await self._db.run("route_rule", route_rule, name)
        return self._page(request, "routes_delete.html", session, name=name, text=toml_table(spec))

    @app.route("/admin/routes/<name>/delete", methods=["POST"])
    async def route_delete(self, request: IRequest, name: str) -> bytes:
        _session, by, now = await self._writer(request)
        await self._db.run("remove_route", remove_route_rule, name, by.actor, now, by.ip)
        return await self._routes_changed(request, "route_deleted")

    @app.route("/admin/routes/<name>/<direction>", methods=["POST"])
    async def route_move(self, request: IRequest, name: str, direction: str) -> bytes:
        _session, by, now = await self._writer(request)
        if direction not in ("up", "down"):
            raise NotFound("no such page")
        step = -1 if direction == "up" else 1
        actor, ip = by.actor, by.ip
        await self._db.run("move_route", move_route_rule, name, step, actor, ip, now)
        return await self._routes_changed(request, "route_moved")
