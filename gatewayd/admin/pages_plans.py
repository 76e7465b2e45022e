"""The operator's fair-use plans (built in, from the config file, edited from the console) with
their rules and the accounts' own overrides, and the alerts and suspensions log.

A plan edited here is kept in the database (``plan_specs``, the ``[plans.NAME]`` table as
JSON): it replaces the config file's plan of that name, or adds a plan, on every node, until it
is reset. It is checked by the config's own plan parser.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from twisted.web.iweb import IRequest

from gatewayd.admin.base import FLASHES, app
from gatewayd.admin.ops_pages import OpsBase, page_of, read_toml, toml_table
from gatewayd.admin.pages_operator import local_time
from gatewayd.admin.rendering import form_value, page_number
from gatewayd.config import Config
from gatewayd.config.policy import fair_use_policy
from gatewayd.errors import ConfigError, NotFound, ValidationError
from gatewayd.ops_view import CONSOLE_SOURCE
from gatewayd.routing.fairuse_rules import BUILTIN_PLANS
from gatewayd.storage.contacts import Page
from gatewayd.storage.operations import (
    ALERT_KINDS,
    account_overrides,
    alerts_page,
    console_plans,
    delete_plan,
    save_plan,
)
from gatewayd.storage.websessions import SessionInfo

FLASHES["plan_saved"] = "The plan has been saved; it applies now."
FLASHES["plan_reset"] = "The plan is back to the config file's."
_PLAN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
ALERTS_PER_PAGE = 50


class PlansPages(OpsBase):
    async def _plan_specs(self) -> dict[str, dict[str, Any]]:
        return {p.name: p.spec for p in await self._db.run("console_plans", console_plans)}

    @app.route("/admin/plans", methods=["GET"])
    async def plans(self, request: IRequest) -> str:
        session = await self._operator(request)
        ops = self._ops_live()
        console = await self._plan_specs()
        policy = ops.fair_use()
        in_force = policy.plans if policy is not None else {}
        rows = []
        for name in sorted(in_force):
            origin = (
                "console"
                if name in console
                else "config"
                if name in ops.config_plans()
                else "built-in"
            )
            rows.append((name, origin, in_force[name].to_mapping()))
        overrides = page_of(
            await self._db.run("account_overrides", account_overrides), page_number(request)
        )
        return self._page(
            request,
            "plans.html",
            session,
            plans=rows,
            default=policy.default_plan if policy else None,
            overrides=overrides,
            source=ops.config_source(),
            enabled=policy is not None,
        )

    def _plan_form(
        self,
        request: IRequest,
        session: SessionInfo,
        name: str,
        text: str,
        error: str = "",
        code: int = 200,
    ) -> str:
        return self._page(
            request, "plans_form.html", session, code, name=name, text=text, error=error
        )

    @app.route("/admin/plans/new", methods=["GET"])
    async def plan_new(self, request: IRequest) -> str:
        session = await self._operator(request, write=True)
        return self._plan_form(request, session, "", "hourly_messages = 500\nsuspension_days = 3")

    @app.route("/admin/plans/<name>/edit", methods=["GET"])
    async def plan_edit(self, request: IRequest, name: str) -> str:
        session = await self._operator(request, write=True)
        console = await self._plan_specs()
        config = self._ops_live().config_plans()
        if name in console:
            spec: dict[str, Any] = console[name]
        elif name in config:
            spec = json_safe(config[name])
        elif name in BUILTIN_PLANS:
            spec = BUILTIN_PLANS[name].to_mapping()
        else:
            raise NotFound("no such plan")
        return self._plan_form(request, session, name, toml_table(spec))

    @app.route("/admin/plans", methods=["POST"])
    async def plan_save(self, request: IRequest) -> str | bytes:
        session, by, now = await self._writer(request)
        name = form_value(request, "name").strip()
        text = form_value(request, "rules")
        try:
            if not _PLAN_NAME.fullmatch(name):
                raise ValidationError("A plan name has 1 to 64 letters, digits, '.', '_' or '-'.")
            spec = read_toml(text, f"plans.{name}")
            self._check_plan(name, spec, await self._plan_specs())
        except (ConfigError, ValidationError) as error:
            message = self._(session, error.message)
            return self._plan_form(request, session, name, text, message, 400)
        actor, ip = by.actor, by.ip
        await self._db.run("save_plan", save_plan, name, spec, actor, ip, now)
        await self._ops_live().sync()
        return self._redirect(request, "/admin/plans", "plan_saved")

    def _check_plan(self, name: str, spec: dict[str, Any], console: dict[str, Any]) -> None:
        """The config's own check of the plans, with this one in: errors name the key."""
        ops = self._ops_live()
        config = ops.config_plans()
        plans = {**config, **console, name: spec}
        default = ops.fair_use()
        stub = dataclasses.replace(_EMPTY, plans=plans)
        if default is not None:
            stub = dataclasses.replace(
                stub, fair_use=dataclasses.replace(stub.fair_use, default_plan=default.default_plan)
            )
        fair_use_policy(stub, CONSOLE_SOURCE)

    @app.route("/admin/plans/<name>/reset", methods=["POST"])
    async def plan_reset(self, request: IRequest, name: str) -> bytes:
        _session, by, now = await self._writer(request)
        actor, ip = by.actor, by.ip
        await self._db.run("delete_plan", delete_plan, name, actor, ip, now)
        await self._ops_live().sync()
        return self._redirect(request, "/admin/plans", "plan_reset")

    # -- alerts and suspensions ---------------------------------------------------------------
    @app.route("/admin/alerts", methods=["GET"])
    async def alerts(self, request: IRequest) -> str:
        session = await self._operator(request)
        account = form_value(request, "account").strip()
        kind = form_value(request, "kind")
        kind = kind if kind in ALERT_KINDS else ""
        asked, size = page_number(request), ALERTS_PER_PAGE
        rows, number, total = await self._db.run("alerts", alerts_page, account, kind, asked, size)
        page = Page(rows, number, total, size)  # a page past the last is the last
        return self._page(
            request,
            "alerts.html",
            session,
            page=page,
            account=account,
            kind=kind,
            kinds=ALERT_KINDS,
            when=local_time,
        )


def json_safe(table: Any) -> dict[str, Any]:
    """A TOML table as JSON types (times and dates as text)."""
    found: dict[str, Any] = json.loads(json.dumps(dict(table), default=str))
    return found


_EMPTY = Config()
