"""The operator's connectors: live status, add and edit (checked by the config file's own
parser), enable, disable and reconnect without a restart.

A connector added from the console is kept in the database (``connectors.spec``, the
``[connectors.NAME]`` table as JSON) and adds to the config file's; a config connector is
changed in the file. See docs/console.md, "Operator: connectors".
"""

from __future__ import annotations

import re
import tomllib
from typing import Any, get_type_hints
from urllib.parse import quote

from twisted.web.iweb import IRequest

from gatewayd.admin.base import FLASHES, app
from gatewayd.admin.ops_pages import OpsBase, page_of, toml_table
from gatewayd.admin.rendering import form_value, page_number
from gatewayd.config import ConnectorConfig
from gatewayd.errors import ConfigError, NotFound, ValidationError
from gatewayd.ops_view import checked_connector
from gatewayd.storage.audit import Who
from gatewayd.storage.operations import (
    console_connectors,
    record_action,
    save_connector,
    set_connector_enabled,
)
from gatewayd.storage.websessions import SessionInfo

FLASHES["connector_saved"] = "The connector has been saved and started."
FLASHES["connector_enabled"] = "The connector has been enabled."
FLASHES["connector_disabled"] = "The connector has been disabled."
FLASHES["connector_reconnected"] = "The connector is binding again."

#: The keys the form has a field for; any other key goes in the TOML box.
TEXT_KEYS = (
    "host",
    "port",
    "system_id",
    "password",
    "password_file",
    "system_type",
    "bind",
    "binds",
    "window",
    "tps",
    "queue_limit",
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HINTS = get_type_hints(ConnectorConfig)
_INTEGER = re.compile(r"[+-]?[0-9]+")


def _typed(key: str, raw: str) -> object:
    """A form field as TOML would type it; left a string when it is not a number, so the
    parser says "expected an integer, got a string" for that key, as for the file."""
    hint = _HINTS.get(key)
    if hint is int and _INTEGER.fullmatch(raw):
        return int(raw)
    if hint is float:
        try:
            return int(raw) if _INTEGER.fullmatch(raw) else float(raw)
        except ValueError:
            return raw
    return raw


def spec_from_form(request: IRequest, name: str, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The table the config file would hold for this form; raises ConfigError on the key."""
    spec: dict[str, Any] = {}
    for key in TEXT_KEYS:
        raw = form_value(request, key).strip()
        if raw:
            spec[key] = _typed(key, raw)
    if stored and stored.get("password") and not spec.keys() & {"password", "password_file"}:
        spec["password"] = stored["password"]  # an empty password field keeps the old one
    if form_value(request, "tls"):
        spec["tls"] = True
    if not form_value(request, "enabled"):
        spec["enabled"] = False
    more = form_value(request, "more")
    if more.strip():
        try:
            extra = tomllib.loads(more)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError("console", f"connectors.{name}", f"not valid TOML: {error}") from None
        for key, value in extra.items():
            if key in spec:
                raise ConfigError("console", f"connectors.{name}.{key}", "given twice")
            spec[key] = value
    return spec


def form_of(spec: dict[str, Any] | None) -> dict[str, Any]:
    """The form's fields for a stored spec: no password shown, other keys as TOML."""
    spec = dict(spec or {})
    fields = {key: spec.pop(key) for key in TEXT_KEYS if key in spec}
    fields.pop("password", None)
    fields["tls"] = spec.pop("tls", False)
    fields["enabled"] = spec.pop("enabled", True)
    fields["more"] = toml_table(spec)
    return fields


class ConnectorsPages(OpsBase):
    async def _conn_stored(self, name: str) -> dict[str, Any] | None:
        found = await self._db.run("console_connectors", console_connectors)
        return next((c.spec for c in found if c.name == name), None)

    @app.route("/admin/connectors", methods=["GET"])
    async def connectors(self, request: IRequest) -> str:
        session = await self._operator(request)
        views = self._ops_live().connectors()
        page = page_of(views, page_number(request))
        return self._page(request, "connectors.html", session, page=page)

    @app.route("/admin/connectors/new", methods=["GET"])
    async def connector_new(self, request: IRequest) -> str:
        session = await self._operator(request, write=True)
        fields = form_of({"port": 2775, "bind": "transceiver"})
        return self._conn_form(request, session, "", fields)

    def _conn_form(
        self,
        request: IRequest,
        session: SessionInfo,
        name: str,
        fields: dict[str, Any],
        error: str = "",
        code: int = 200,
    ) -> str:
        return self._page(
            request,
            "connector_form.html",
            session,
            code,
            name=name,
            fields=fields,
            error=error,
            binds=("transceiver", "transmitter", "receiver"),
        )

    @app.route("/admin/connectors", methods=["POST"])
    async def connector_create(self, request: IRequest) -> str | bytes:
        session, by, now = await self._writer(request)
        name = form_value(request, "name").strip()
        ops = self._ops_live()
        try:
            if not _NAME.fullmatch(name):
                raise ValidationError(
                    "A connector name has 1 to 64 letters, digits, '.', '_' or '-'."
                )
            if ops.name_taken(name):
                raise ValidationError("This name is taken by another connector.")
            spec = spec_from_form(request, name, None)
            await self._conn_checked(name, spec)
        except (ConfigError, ValidationError) as error:
            fields = {**form_of(None), **_posted(request), "name": name}
            message = self._(session, error.message)
            return self._conn_form(request, session, "", fields, message, 400)
        return await self._conn_save(request, by, now, name, spec, create=True)

    async def _conn_checked(self, name: str, spec: dict[str, Any]) -> None:
        """Parsed as the file's; its password file read on a thread, never the reactor."""
        await self._db.offload(checked_connector, name, spec, self._config.connector_secrets_dir)

    async def _conn_save(
        self, request: IRequest, by: Who, now: float, name: str, spec: dict[str, Any], create: bool
    ) -> bytes:
        args = (name, spec, create, by.actor, by.ip, now)
        await self._db.run("save_connector", save_connector, *args)
        await self._ops_live().sync()
        return self._redirect(request, _detail(name), "connector_saved")

    @app.route("/admin/connectors/<name>", methods=["GET"])
    async def connector_detail(self, request: IRequest, name: str) -> str:
        session = await self._operator(request)
        view = self._ops_live().connector(name)
        if view is None:
            raise NotFound("no such connector")
        source = self._ops_live().config_source()
        return self._page(request, "connector.html", session, c=view, source=source)

    @app.route("/admin/connectors/<name>/edit", methods=["GET"])
    async def connector_edit(self, request: IRequest, name: str) -> str:
        session = await self._operator(request, write=True)
        stored = await self._conn_stored(name)
        if stored is None:  # a config connector is edited in the file
            raise NotFound("no such connector")
        return self._conn_form(request, session, name, form_of(stored))

    @app.route("/admin/connectors/<name>", methods=["POST"])
    async def connector_update(self, request: IRequest, name: str) -> str | bytes:
        session, by, now = await self._writer(request)
        stored = await self._conn_stored(name)
        if stored is None:
            raise NotFound("no such connector")
        try:
            spec = spec_from_form(request, name, stored)
            await self._conn_checked(name, spec)
        except ConfigError as error:
            fields = {**form_of(stored), **_posted(request)}
            return self._conn_form(request, session, name, fields, error.message, 400)
        return await self._conn_save(request, by, now, name, spec, create=False)

    @app.route("/admin/connectors/<name>/<action>", methods=["POST"])
    async def connector_action(self, request: IRequest, name: str, action: str) -> bytes:
        _session, by, now = await self._writer(request)
        ops = self._ops_live()
        view = ops.connector(name)
        if view is None or action not in ("enable", "disable", "reconnect"):
            raise NotFound("no such connector")
        actor, ip = by.actor, by.ip
        if action == "reconnect":
            await ops.reconnect(name)
            await self._db.run("audit", record_action, "reconnect connector", name, actor, ip, now)
            return self._redirect(request, _detail(name), "connector_reconnected")
        enabled = action == "enable"
        if view.origin == "console":  # kept in its spec
            await self._db.run("enable", set_connector_enabled, name, enabled, actor, ip, now)
            await ops.sync()
        else:  # until the next start: the file says whether it starts
            await ops.set_enabled(name, enabled)
            what, detail = f"{action} connector", f"{name} (until restart)"
            await self._db.run("audit", record_action, what, detail, actor, ip, now)
        flash = "connector_enabled" if enabled else "connector_disabled"
        return self._redirect(request, _detail(name), flash)


def _detail(name: str) -> str:
    return "/admin/connectors/" + quote(name, safe="")


def _posted(request: IRequest) -> dict[str, Any]:
    """What the operator typed, to show the form again (never the password)."""
    fields: dict[str, Any] = {key: form_value(request, key) for key in TEXT_KEYS}
    fields.pop("password")
    fields["tls"] = bool(form_value(request, "tls"))
    fields["enabled"] = bool(form_value(request, "enabled"))
    fields["more"] = form_value(request, "more")
    return fields
