# ruff: noqa: S608
"""Cluster SQL (PostgreSQL only): node heartbeats, connector leases and queue claims, all
timed by the database's clock so that the nodes' clocks do not matter."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

# The queries below put only this constant into their text (ruff S608 does not know that).

NOW = "EXTRACT(EPOCH FROM clock_timestamp())"


def heartbeat(s: Session, node: str) -> float:
    """Record that ``node`` is alive; returns the database time."""
    row = s.execute(
        text(
            f"INSERT INTO cluster_nodes (name, started_at, heartbeat_at) VALUES (:n, {NOW}, {NOW})"
            f" ON CONFLICT (name) DO UPDATE SET heartbeat_at = {NOW} RETURNING heartbeat_at"
        ),
        {"n": node},
    ).one()
    return float(row[0])


def live_nodes(s: Session, lease_seconds: float) -> list[str]:
    """Nodes whose heartbeat is younger than ``lease_seconds``."""
    rows = s.execute(
        text(f"SELECT name FROM cluster_nodes WHERE heartbeat_at > {NOW} - :l ORDER BY name"),
        {"l": lease_seconds},
    ).all()
    return [r[0] for r in rows]


def take_leases(
    s: Session, node: str, connectors: list[str], want: int, lease_seconds: float
) -> list[str]:
    """Renew every lease ``node`` holds, then take free or expired ones up to ``want`` in all;
    returns the connectors ``node`` holds now."""
    s.execute(
        text(f"UPDATE connector_leases SET expires_at = {NOW} + :l WHERE node = :n"),
        {"l": lease_seconds, "n": node},
    )
    for name in connectors:
        s.execute(
            text(
                "INSERT INTO connector_leases (connector, node, expires_at)"
                " VALUES (:c, '', 0) ON CONFLICT (connector) DO NOTHING"
            ),
            {"c": name},
        )
    held = [
        r[0]
        for r in s.execute(
            text("SELECT connector FROM connector_leases WHERE node = :n ORDER BY connector"),
            {"n": node},
        ).all()
    ]
    free = max(0, want - len(held))
    if free:
        rows = s.execute(
            text(
                f"UPDATE connector_leases SET node = :n, expires_at = {NOW} + :l"
                " WHERE connector IN (SELECT connector FROM connector_leases"
                f" WHERE expires_at <= {NOW} AND connector = ANY(:cs) ORDER BY connector"
                " LIMIT :k FOR UPDATE SKIP LOCKED) RETURNING connector"
            ),
            {"n": node, "l": lease_seconds, "cs": connectors, "k": free},
        ).all()
        held = sorted(held + [r[0] for r in rows])
    return held


def lease_holders(s: Session) -> dict[str, str]:
    """Each connector with an unexpired lease, and its holder."""
    rows = s.execute(
        text(f"SELECT connector, node FROM connector_leases WHERE expires_at > {NOW}")
    ).all()
    return {r[0]: r[1] for r in rows}


__all__ = ["heartbeat", "lease_holders", "live_nodes", "take_leases"]
