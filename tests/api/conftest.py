"""The API in-process: the console's rig (a whole gateway on a real port), API keys made in
its database, and a JSON client that sends ``Authorization: Bearer``."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import treq
from twisted.internet import reactor
from twisted.internet.task import deferLater

from gatewayd.storage.api_keys import create_api_key
from gatewayd.storage.models import Account
from tests.admin.conftest import ConsoleRig, any_rig, rig

__all__ = ["ApiClient", "Reply", "any_rig", "api_account", "rig", "until"]


@dataclass
class Reply:
    code: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> dict[str, Any]:
        found: dict[str, Any] = self.json["error"]
        return found


@dataclass
class ApiClient:
    base: str
    token: str | None

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        response = await treq.request(
            method, self.base + "/api/v1" + path, data=data, headers=sent, reactor=reactor
        )
        content = await response.content()
        found = {k.decode().lower(): v[-1].decode() for k, v in response.headers.getAllRawHeaders()}
        return Reply(response.code, found, content)

    async def get(self, path: str) -> Reply:
        return await self.call("GET", path)

    async def post(self, path: str, body: Any) -> Reply:
        return await self.call("POST", path, body)


async def api_account(rig: ConsoleRig, name: str, **settings: Any) -> tuple[int, ApiClient]:
    """A customer account (``settings``: its columns) with a fresh key, and a client."""
    now = float(reactor.seconds())
    info = await rig.gateway.accounts.create_account(name, "customer", now)
    if settings:
        rig.gateway.db.run_sync("settings", _settings, info.id, settings)
        await rig.gateway.directory.reload()
    _key, token = rig.gateway.db.run_sync("key", create_api_key, info.id, None, "test", now)
    return info.id, ApiClient(rig.base, token)


def _settings(s: Any, account_id: int, settings: dict[str, Any]) -> None:
    row = s.get(Account, account_id)
    for key, value in settings.items():
        setattr(row, key, value)


async def until(api: ApiClient, path: str, check: Any, seconds: float = 10.0) -> Any:
    """GET ``path`` until ``check(json)`` holds (an outcome of the pipeline, not a timer)."""
    started = time.monotonic()
    while True:
        found = (await api.get(path)).json
        if check(found):
            return found
        if time.monotonic() - started > seconds:
            raise AssertionError(f"{path}: {found}")
        await deferLater(reactor, 0.05, lambda: None)
