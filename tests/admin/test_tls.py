"""The console over TLS: an ``ssl:`` endpoint, Secure cookies and HSTS."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_twisted
import treq
from twisted.internet import reactor
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

from gatewayd.app import Gateway
from gatewayd.config import parse_config
from gatewayd.storage.database import create_db_engine
from gatewayd.storage.migrate import upgrade
from tests.admin.conftest import console_config
from tests.e2e.conftest import free_port
from tests.smpp.certificates import make_certificate


@implementer(IPolicyForHTTPS)
class _TrustOne:
    """Trust our throw-away certificate, for its own name only."""

    def __init__(self, cert: Path) -> None:
        self._root = Certificate.loadPEM(cert.read_bytes())

    def creatorForNetloc(self, hostname: bytes, port: int) -> object:
        return optionsForClientTLS("console.test", trustRoot=self._root)


@pytest_twisted.ensureDeferred
async def test_the_console_serves_tls_with_secure_cookies_and_hsts(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path, "console.test")
    url = f"sqlite:///{tmp_path}/gatewayd.db"
    upgrade(create_db_engine(parse_config({"database": {"url": url}}, "test").database))
    raw = console_config(url, free_port())
    raw["admin"]["listen"] = [f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"]
    gateway = Gateway(parse_config(raw, "test"), reactor, "test")
    gateway.startService()
    try:
        await gateway.when_ready()
        port = gateway.listening_addresses()["admin console"][0].port
        agent = Agent(reactor, contextFactory=_TrustOne(cert))
        response = await treq.get(f"https://127.0.0.1:{port}/login", agent=agent)
        assert response.code == 200
        assert 'name="password"' in await response.text()
        cookies = response.headers.getRawHeaders(b"set-cookie") or []
        assert cookies and all(b"Secure" in c for c in cookies), cookies
        assert response.headers.getRawHeaders(b"strict-transport-security") == [b"max-age=31536000"]
        # A client that does not trust the certificate gets no page.
        untrusting = Agent(reactor, contextFactory=BrowserLikePolicyForHTTPS())
        with pytest.raises(Exception, match=r"VerificationError|SSL|certificate"):
            await treq.get(f"https://127.0.0.1:{port}/login", agent=untrusting)
    finally:
        await gateway.stopService()


@pytest_twisted.ensureDeferred
async def test_plain_http_cookies_are_not_secure_unless_configured(tmp_path: Path) -> None:
    from tests.admin.conftest import start_rig

    rig = await start_rig(f"sqlite:///{tmp_path}/gatewayd.db")
    try:
        response = await treq.get(rig.base + "/login")
        cookies = response.headers.getRawHeaders(b"set-cookie") or []
        assert cookies and not any(b"Secure" in c for c in cookies)
        assert not response.headers.hasHeader(b"strict-transport-security")
    finally:
        await rig.gateway.stopService()
