"""The console in-process: a whole gatewayd service tree (real SQLite file or PostgreSQL,
the built-in simulator as its SMSC) on the test reactor, and HTTP clients with their own
cookie jars that log in as a user and post forms with the page's CSRF token."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest_twisted
import treq
from treq.client import HTTPClient
from twisted.internet import reactor
from twisted.web.client import Agent

from gatewayd.app import Gateway
from gatewayd.config import parse_config
from gatewayd.security import hash_secret
from gatewayd.storage.database import create_db_engine
from gatewayd.storage.migrate import upgrade
from tests.e2e.conftest import free_port

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Response:
    code: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def shown(self) -> str:
        """The page's text as a reader sees it: HTML entities decoded (markup stays)."""
        return html.unescape(self.text)

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


@dataclass
class Browser:
    """One user's HTTP client: cookies kept, forms posted with the last page's CSRF token."""

    base: str
    jar: CookieJar = field(default_factory=CookieJar)
    csrf: str = ""

    def __post_init__(self) -> None:
        self._http = HTTPClient(Agent(reactor), cookiejar=self.jar)

    async def get(self, path: str, follow: bool = False) -> Response:
        return await self._send("GET", path, None, follow)

    async def post(
        self,
        path: str,
        data: Mapping[str, Any] | list[tuple[str, str]] | None = None,
        files: Mapping[str, tuple[str, str, bytes]] | None = None,
        csrf: bool = True,
    ) -> Response:
        """A form post, with the CSRF token of the last page fetched unless ``csrf`` is off."""
        fields = list(data.items()) if isinstance(data, Mapping) else list(data or [])
        if csrf and self.csrf:
            fields.append(("csrf_token", self.csrf))
        if files:
            response = await self._http.request(
                "POST",
                self.base + path,
                data=fields,
                files={k: v for k, v in files.items()},
                allow_redirects=False,
            )
        else:
            response = await self._http.request(
                "POST", self.base + path, data=fields, allow_redirects=False
            )
        return await self._read(response)

    async def _send(self, method: str, path: str, data: Any, follow: bool) -> Response:
        response = await self._http.request(
            method, self.base + path, data=data, allow_redirects=follow
        )
        return await self._read(response)

    async def _read(self, response: Any) -> Response:
        body = await response.content()
        headers = {
            k.decode().lower(): v[-1].decode() for k, v in response.headers.getAllRawHeaders()
        }
        found = _CSRF.search(body.decode("utf-8", "replace"))
        if found:
            self.csrf = found.group(1)
        return Response(response.code, headers, body)

    async def login(self, login: str, password: str = PASSWORD) -> Response:
        await self.get("/login")
        answer = await self.post("/login", {"login": login, "password": password})
        assert answer.code == 303, answer.text
        return answer


@dataclass
class ConsoleRig:
    gateway: Gateway
    base: str

    async def customer(
        self, account: str, login: str, role: str = "manager", language: str = "fr"
    ) -> Browser:
        """A customer account (created unless it exists) with a user, logged in."""
        now = float(reactor.seconds())
        try:
            await self.gateway.accounts.account_by_name(account)
        except Exception:
            await self.gateway.accounts.create_account(account, "customer", now)
        await self.user(account, login, role)
        browser = Browser(self.base)
        await browser.login(login)
        if language != "fr":
            self.gateway.db.run_sync("language", _set_language, login, language)
        return browser

    async def operator(self, login: str, role: str = "admin") -> Browser:
        now = float(reactor.seconds())
        try:
            await self.gateway.accounts.account_by_name("operator")
        except Exception:
            await self.gateway.accounts.create_account("operator", "operator", now)
        await self.user("operator", login, role)
        browser = Browser(self.base)
        await browser.login(login)
        return browser

    async def user(self, account: str, login: str, role: str) -> None:
        now = float(reactor.seconds())
        await self.gateway.accounts.create_user(account, login, role, _HASH, now)


_HASH = hash_secret(PASSWORD)


def _set_language(s: Any, login: str, language: str) -> None:
    from sqlalchemy import update

    from gatewayd.storage.models import User

    s.execute(update(User).where(User.login == login).values(language=language))


def console_config(url: str, sim_port: int) -> dict[str, Any]:
    return {
        "database": {"url": url},
        "smpp_server": {"listen": ["tcp:0:interface=127.0.0.1"]},
        "admin": {"listen": ["tcp:0:interface=127.0.0.1"]},
        "control": {"socket": ""},
        "logging": {"level": "warn"},
        "simulator": {
            "enabled": True,
            "listen": f"tcp:{sim_port}:interface=127.0.0.1",
            "delivery_delay": 0.05,
        },
        "connectors": {
            "sim": {
                "host": "127.0.0.1",
                "port": sim_port,
                "system_id": "gatewayd",
                "password": "secret",
                "bind": "transceiver",
            }
        },
        "routing": {"default_connector": "sim"},
    }


async def start_rig(url: str, sections: dict[str, Any] | None = None) -> ConsoleRig:
    """``sections``: config sections added to (or replacing) the console's."""
    upgrade(create_db_engine(parse_config({"database": {"url": url}}, "test").database))
    config = parse_config({**console_config(url, free_port()), **(sections or {})}, "test")
    gateway = Gateway(config, reactor, "test")
    gateway.startService()
    await gateway.when_ready()
    port = gateway.listening_addresses()["admin console"][0].port
    return ConsoleRig(gateway, f"http://127.0.0.1:{port}")


@pytest_twisted.async_yield_fixture
async def rig(tmp_path: Path) -> AsyncIterator[ConsoleRig]:
    """The console on a SQLite file."""
    found = await start_rig(f"sqlite:///{tmp_path}/gatewayd.db")
    yield found
    await found.gateway.stopService()


@pytest_twisted.async_yield_fixture
async def any_rig(db_url: str) -> AsyncIterator[ConsoleRig]:
    """The console on SQLite and, when configured, on PostgreSQL."""
    found = await start_rig(db_url)
    yield found
    await found.gateway.stopService()


__all__ = ["Browser", "ConsoleRig", "Response", "treq"]
