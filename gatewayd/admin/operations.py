"""What the operator's console sees of the running gateway, and the few live actions it takes.

The console's pages take an :class:`Operations` (``Services.operations``); the composition
root gives them :class:`gatewayd.ops_view.GatewayOperations`, an adapter over the ``Gateway``.
Everything here is a snapshot value, read on the reactor thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from gatewayd.config.model import ConnectorConfig
from gatewayd.routing.acceptance import Acceptance
from gatewayd.storage.fair_use import FairUsePolicy

Origin = Literal["config", "console"]


@dataclass(frozen=True, slots=True)
class BindView:
    index: int
    state: str  # "bound_trx", "connecting", "disconnected", "stopped"...
    since: float
    window_used: int
    window_size: int
    tps: float  # submits per second now (the last few seconds)
    last_error: str | None


@dataclass(frozen=True, slots=True)
class ConnectorView:
    """One connector's live status, summed over its binds."""

    name: str
    origin: Origin  # the config file's, or added from the console
    config: ConnectorConfig
    running: bool  # False: disabled (not started, or stopped from the console)
    state: str  # "bound" when a bind is bound, else the first bind's state
    tps: float
    tps_limit: float  # 0: unlimited
    window_used: int
    window_size: int
    queue_depth: int  # waiting in the dispatcher's queue and in the connector's own FIFO
    last_error: str | None
    binds: tuple[BindView, ...]

    @property
    def bound(self) -> bool:
        return self.state == "bound"


class Operations(Protocol):
    """The console's live handles on the gateway."""

    def connectors(self) -> list[ConnectorView]:
        """Every connector, the config file's first, by name."""
        ...

    def connector(self, name: str) -> ConnectorView | None: ...

    def config_connectors(self) -> Mapping[str, ConnectorConfig]:
        """The config file's connectors (the console cannot take their names)."""
        ...

    def name_taken(self, name: str) -> bool:
        """Whether a new console connector cannot take ``name``."""
        ...

    async def set_enabled(self, name: str, enabled: bool) -> None:
        """Start or stop a connector now (its queue waits while it is stopped)."""
        ...

    async def reconnect(self, name: str) -> None:
        """Unbind and bind again."""
        ...

    async def put_connector(
        self, name: str, config: ConnectorConfig, secrets_dir: str | None = None
    ) -> None:
        """Start a connector, or replace it (the old one unbinds first); its password file
        read on a thread, in ``secrets_dir`` for a console connector (None: the file's)."""
        ...

    async def reload_routes(self) -> None:
        """Apply the database's routing rules now (after an edit)."""
        ...

    async def sync(self) -> None:
        """Apply the console's connectors and plans from the database now (after an edit)."""
        ...

    def acceptance(self) -> Acceptance:
        """Numbers and the routing table in force (database rules, then the config's)."""
        ...

    def config_rules(self) -> tuple[Mapping[str, Any], ...]:
        """The config file's routing rules, as written."""
        ...

    def default_connector(self) -> str | None: ...

    def config_plans(self) -> Mapping[str, Mapping[str, Any]]:
        """The config file's [plans.NAME] tables, as written."""
        ...

    def fair_use(self) -> FairUsePolicy | None:
        """The plans in force (built-in, config, console), or None when fair use is off."""
        ...

    def config_source(self) -> str:
        """The config file's path, for pages that send the operator there."""
        ...

    def throughput(self) -> float:
        """Submits per second to the SMSCs now, every connector together."""
        ...

    def queue_depths(self) -> dict[str, int]:
        """Messages waiting per connector."""
        ...
