"""Connector leases on a real PostgreSQL: a node takes its share, a second node cannot take a
held lease, and takes it over once the holder stopped renewing and it expired."""

from __future__ import annotations

import pytest
import pytest_twisted
from sqlalchemy.orm import Session

from gatewayd.storage.cluster import heartbeat, lease_holders, live_nodes, take_leases
from gatewayd.storage.database import Database

CONNECTORS = ["c1", "c2"]


def _expire(s: Session, node: str) -> None:
    from sqlalchemy import text

    s.execute(text("UPDATE connector_leases SET expires_at = 0 WHERE node = :n"), {"n": node})


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest_twisted.ensureDeferred
async def test_a_lease_is_taken_over_after_it_expired(database: Database) -> None:
    await database.run("hb", heartbeat, "a")
    await database.run("hb", heartbeat, "b")
    assert await database.run("live", live_nodes, 15.0) == ["a", "b"]
    assert await database.run("lease", take_leases, "a", CONNECTORS, 2, 15.0) == CONNECTORS
    # b wants one, but both are held and unexpired.
    assert await database.run("lease", take_leases, "b", CONNECTORS, 1, 15.0) == []
    assert await database.run("holders", lease_holders) == {"c1": "a", "c2": "a"}
    # a stops renewing: its leases expire (the rows driven to the past).
    await database.run("expire", _expire, "a")
    assert await database.run("holders", lease_holders) == {}
    assert await database.run("lease", take_leases, "b", CONNECTORS, 2, 15.0) == CONNECTORS
    assert await database.run("holders", lease_holders) == {"c1": "b", "c2": "b"}
    # a comes back: it holds nothing any more and cannot take b's leases.
    assert await database.run("lease", take_leases, "a", CONNECTORS, 2, 15.0) == []
