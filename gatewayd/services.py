"""Typed bases over twisted.application.service, whose methods carry no annotations.

Our services derive from these so that mypy --strict checks every call site once here.
"""

from __future__ import annotations

from typing import Any

from twisted.application.service import IServiceCollection, MultiService, Service


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
    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]

    def stopService(self) -> Any:
        return super().stopService()  # type: ignore[no-untyped-call]
