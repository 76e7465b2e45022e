"""The connector over real sockets on 127.0.0.1: TCP_NODELAY on both ends, and TLS with a
verified certificate. The only wall-clock bound is a safety timeout on the bind; no timer under
test is waited for."""

from __future__ import annotations

import socket
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed
from twisted.internet.ssl import PrivateCertificate

from gatewayd.config.model import ConnectorConfig, SmppServerConfig
from gatewayd.smpp.bind import UpstreamBind
from gatewayd.smpp.client import UpstreamConnector
from gatewayd.smpp.server import SmppServerFactory
from tests.smpp.certificates import make_certificate

SAFETY_TIMEOUT = 10.0


def _server() -> SmppServerFactory[str]:
    return SmppServerFactory(
        SmppServerConfig(), reactor, lambda *a: succeed("demo"), lambda *a: succeed("id")
    )


def _connector(port: int, **settings: Any) -> tuple[UpstreamConnector, Deferred[UpstreamBind]]:
    config = ConnectorConfig(host="127.0.0.1", port=port, system_id="demo", **settings)
    connector = UpstreamConnector("real", config, reactor, "pw", lambda *a: None)
    bound: Deferred[UpstreamBind] = Deferred()
    ready = connector.bind_ready

    def on_ready(bind: UpstreamBind) -> None:
        ready(bind)
        if not bound.called:
            bound.callback(bind)

    connector.bind_ready = on_ready  # type: ignore[method-assign]
    bound.addTimeout(SAFETY_TIMEOUT, reactor)
    return connector, bound


def _no_delay(transport: Any) -> int:
    """TCP_NODELAY on the socket under ``transport`` and any wrappers (ours, TLS)."""
    handle = transport.getHandle()
    while not isinstance(handle, socket.socket):  # a TLS layer hands out its SSL object
        transport = transport.transport
        handle = transport.getHandle()
    return handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


@pytest_twisted.inlineCallbacks
def test_tcp_nodelay_is_set_on_our_client_and_our_server() -> Generator[Any, Any, None]:
    server = _server()
    port = reactor.listenTCP(0, server, interface="127.0.0.1")  # type: ignore[attr-defined]
    connector, bound = _connector(port.getHost().port)
    connector.startService()
    try:
        bind = yield bound
        [smsc_side] = server.sessions("demo")
        assert bind.session is not None
        assert _no_delay(bind.session.transport) != 0
        assert _no_delay(smsc_side.transport) != 0
    finally:
        yield connector.stopService()
        yield port.stopListening()


@pytest_twisted.inlineCallbacks
def test_binds_over_tls_checking_the_certificate(tmp_path: Path) -> Generator[Any, Any, None]:
    cert, key = make_certificate(tmp_path, "smsc.test")
    identity = PrivateCertificate.loadPEM(key.read_bytes() + cert.read_bytes())
    server = _server()
    port = reactor.listenSSL(  # type: ignore[attr-defined]
        0, server, identity.options(), interface="127.0.0.1"
    )
    connector, bound = _connector(
        port.getHost().port, tls=True, tls_ca_file=str(cert), tls_server_name="smsc.test"
    )
    connector.startService()
    try:
        bind = yield bound
        assert bind.is_bound and server.sessions("demo")
        assert bind.session is not None
        assert _no_delay(bind.session.transport) != 0  # through the TLS layer too
    finally:
        yield connector.stopService()
        yield port.stopListening()
