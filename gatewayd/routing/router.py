"""Choose the connector for a message. The first slice has one rule: the default connector."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StaticRouter:
    default_connector: str

    def route(self, destination: str) -> str:
        return self.default_connector
