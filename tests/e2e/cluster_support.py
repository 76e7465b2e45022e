"""Two ``gatewayd run`` nodes on one PostgreSQL database (issue 8 item 1), built from the
fault tests' pieces (:mod:`tests.e2e.faults_support`): the same configuration for both, plus
a ``[cluster]`` section with each node's own name; each node has its own directory, SMPP and
admin ports; both have the one connector to the in-process :class:`CountingSimulator`, and
the customer binds to both (one :class:`Load` per node, each with its own destinations).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from twisted.internet.defer import Deferred

from gatewayd.smpp.simulator import Behaviour
from tests.e2e.faults_support import (
    CountingSimulator,
    Esme,
    Gateway,
    Load,
    Store,
    Upstream,
    wait_until,
)

#: The connector both nodes have (faults_support names it so).
CONNECTOR = "smsc"


class Node(Gateway):
    """A :class:`Gateway` with ``[cluster] enabled = true`` and its own node name."""

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        upstream: Upstream,
        esme_window: int,
        *,
        name: str,
        lease_seconds: float,
    ) -> None:
        self.name = name
        self.lease_seconds = lease_seconds
        workdir.mkdir(parents=True, exist_ok=True)
        super().__init__(workdir, database_url, upstream, esme_window)

    def _config_text(self, esme_window: int) -> str:
        return super()._config_text(esme_window) + (
            f'[cluster]\nenabled = true\nnode = "{self.name}"\n'
            f"lease_seconds = {self.lease_seconds}\n"
        )


class ClusterStore(Store):
    """The fault tests' queries, plus the cluster's tables."""

    def holder(self) -> str | None:
        """The node holding the connector's lease (None: nobody)."""
        with self.engine.connect() as conn:
            node = conn.execute(
                text("SELECT node FROM connector_leases WHERE connector = :c"), {"c": CONNECTOR}
            ).scalar_one_or_none()
        return None if node is None else str(node)

    def by_node(self) -> dict[str | None, int]:
        """Messages by the node whose memory holds them (``messages.node``)."""
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT node, count(*) FROM messages GROUP BY node")).all()
        return {node: int(n) for node, n in rows}


@dataclass
class Cluster:
    """The simulator, two nodes in front of it, and one customer load per node."""

    reactor: Any
    simulator: CountingSimulator
    nodes: list[Node]
    loads: list[Load]
    store: ClusterStore
    #: Which node each load is bound to now (a load follows its node's death to the other).
    bound_to: list[Node] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        reactor: Any,
        workdir: Path,
        database_url: str,
        behaviour: Behaviour,
        *,
        count: int,
        esme_window: int,
        long_every: int,
        lease_seconds: float,
        binds: int = 2,
        window: int = 10,
    ) -> Cluster:
        """``count`` messages per node; both nodes share the customer's account (created
        once, in the shared database) and so its password."""
        simulator = CountingSimulator(reactor, 0.05, behaviour=behaviour, rng=random.Random(8))
        upstream = Upstream(simulator.listen(reactor), binds, window)
        nodes = [
            Node(
                workdir / name, database_url, upstream, esme_window,
                name=name, lease_seconds=lease_seconds,
            )
            for name in ("node-a", "node-b")
        ]  # fmt: skip
        nodes[1].password = nodes[0].password
        nodes[0].prepare()
        loads = [
            Load(reactor, count, esme_window, long_every, first=i * count)
            for i in range(len(nodes))
        ]
        return cls(reactor, simulator, nodes, loads, ClusterStore(database_url), list(nodes))

    # --- starting and connecting -------------------------------------------------------

    def _running(self, node: Node) -> None:
        if not node.alive():
            raise AssertionError(f"gatewayd {node.name} exited:\n" + node.tail(60))

    async def start_holder(self, deadline: float = 30.0) -> Node:
        """Start the first node alone and wait until it holds the lease and has bound every
        bind; then the second, which finds the lease taken."""
        first, second = self.nodes
        first.start()

        def up() -> bool:
            self._running(first)
            return self.simulator.bound_sessions >= first.upstream.binds

        await wait_until(self.reactor, f"{first.name} binding to the simulator", up, deadline)
        holder = await self.store.in_thread(self.store.holder)
        assert holder == first.name, f"the lease is held by {holder!r}, not {first.name}"
        second.start()

        def ready() -> bool:
            self._running(second)
            return bool(second.matches(r"gatewayd ready"))

        # Load.connect's retry catches the builtin ConnectionRefusedError, not Twisted's.
        await wait_until(self.reactor, f"{second.name} ready", ready, deadline)
        return first

    async def connect(self, index: int, node: Node) -> Esme:
        """Bind load ``index`` to ``node`` (trying again while its port refuses)."""
        self._running(node)
        self.bound_to[index] = node
        return await self.loads[index].connect(node.smpp_port, node.password)

    # --- outcomes ----------------------------------------------------------------------

    @property
    def answered(self) -> int:
        return sum(load.answered for load in self.loads)

    def acked_ids(self) -> list[str]:
        return [mid for load in self.loads for ids in load.acked.values() for mid in ids]

    def receipted(self) -> set[str]:
        """Every receipted message id any of the customer's binds got."""
        return set().union(*(load.receipted for load in self.loads))

    async def reached(self, answered: int, deadline: float) -> None:
        """Wait until the loads together have ``answered`` ESME_ROK answers."""
        await wait_until(
            self.reactor, f"{answered} answers", lambda: self.answered >= answered, deadline
        )

    async def takeover(self, survivor: Node, deadline: float) -> float:
        """Wait until ``survivor`` holds the lease and has bound every bind again; the
        seconds it took."""
        start = time.monotonic()

        def taken() -> Deferred[bool]:
            self._running(survivor)
            d = self.store.in_thread(self.store.holder)
            return d.addCallback(
                lambda holder: (
                    holder == survivor.name
                    and self.simulator.bound_sessions >= survivor.upstream.binds
                )
            )

        await wait_until(
            self.reactor, f"{survivor.name} taking the connector over", taken, deadline
        )
        return time.monotonic() - start

    async def all_final(self, deadline: float) -> float:
        """Wait until every message in the database is final; seconds since the first send."""

        def settled() -> Deferred[bool]:
            return self.store.in_thread(self.store.unfinished).addCallback(lambda n: n == 0)

        try:
            await wait_until(self.reactor, "every message final in the database", settled, deadline)
        except AssertionError as e:
            detail = await self.store.in_thread(self.store.unfinished_detail)
            by_node = await self.store.in_thread(self.store.by_node)
            raise AssertionError(f"{e}: {detail}, messages by node {by_node}") from None
        return time.monotonic() - min(load.first_sent for load in self.loads)

    async def receipts_delivered(self, deadline: float) -> None:
        """Wait until the customer has a receipt, on any bind, for every message it was
        answered for."""

        def all_in() -> bool:
            return set(self.acked_ids()) <= self.receipted()

        try:
            await wait_until(self.reactor, "a receipt for every message", all_in, deadline)
        except AssertionError as e:
            missing = set(self.acked_ids()) - self.receipted()
            raise AssertionError(
                f"{e}: {len(missing)} missing, e.g. {sorted(missing)[:3]}"
            ) from None

    async def close(self) -> dict[str, int]:
        """Unbind the loads, stop the nodes still running (SIGTERM), stop the simulator; the
        exit codes of the nodes that were running."""
        codes: dict[str, int] = {}
        try:
            for load in self.loads:
                if load.esme is not None and not load.esme.closed.called:
                    await load.esme.unbind().addTimeout(10, self.reactor)
        finally:
            for node in self.nodes:
                if node.alive():
                    codes[node.name] = await node.stop()
            await self.simulator.shutdown()
            self.store.dispose()
        return codes
