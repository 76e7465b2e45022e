"""A service that listens on one Twisted endpoint string and reports when it is up."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort, IProtocolFactory
from twisted.logger import Logger

from gatewayd.services import TypedService

log = Logger()


class ListenFailed(Exception):
    def __init__(self, label: str, description: str, reason: str) -> None:
        super().__init__(f"{label}: cannot listen on {description}: {reason}")


class ListenerService(TypedService):
    """Listens in startService; ``listening`` fires once the port is open, or fails."""

    def __init__(
        self, label: str, description: str, factory: IProtocolFactory, reactor: Any
    ) -> None:
        self.label = label
        self.description = description
        self._factory = factory
        self._reactor = reactor
        self._port: IListeningPort | None = None
        self.listening: Deferred[IListeningPort] = Deferred()

    def startService(self) -> None:
        super().startService()
        endpoint = serverFromString(self._reactor, self.description)
        d = endpoint.listen(self._factory)
        d.addCallbacks(self._listened, self._failed)

    def _listened(self, port: IListeningPort) -> None:
        self._port = port
        log.info("{label} listening on {address}", label=self.label, address=port.getHost())
        self.listening.callback(port)

    def _failed(self, failure: Any) -> None:
        reason = failure.getErrorMessage()
        self.listening.errback(ListenFailed(self.label, self.description, reason))

    def stopService(self) -> Deferred[None]:
        super().stopService()
        if self._port is None:
            return succeed(None)
        port, self._port = self._port, None
        stopped: Deferred[None] | None = port.stopListening()
        return stopped if stopped is not None else succeed(None)
