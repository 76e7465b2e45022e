"""Typed bases over twisted.application.service, whose methods carry no annotations.

Our services derive from these so that mypy --strict checks every call site once here.
"""

from __future__ import annotations

from typing import Any

from twisted.application.service import IServiceCollection, MultiService, Service
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger

log = Logger()


class TypedService(Service):
    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]

    def stopService(self) -> Any:
        return super().stopService()  # type: ignore[no-untyped-call]

    def setName(self, name: str) -> None:
        super().setName(name)  # type: ignore[no-untyped-call]

    def setServiceParent(self, parent: IServiceCollection) -> None:
        super().setServiceParent(parent)  # type: ignore[no-untyped-call]


class TypedMultiService(MultiService):
    """Children start in order and stop **one after the other** in reverse order.

    Twisted's MultiService stops every child at once; ours waits for each, so that a service
    never stops under one that still needs it (the database under the group commit draining
    the dispatcher's last writes, which would otherwise wait for ever on a stopped pool)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]

    def stopService(self) -> Deferred[None]:
        Service.stopService(self)
        return Deferred.fromCoroutine(self._stop_children())

    async def _stop_children(self) -> None:
        for service in reversed(list(self)):
            try:
                await maybeDeferred(service.stopService)
            except Exception:
                log.failure("stopping {service} failed", service=service.name)
