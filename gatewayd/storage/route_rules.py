"""Routing rules kept in the database: added and removed by the operator (CLI, later the
console), read by every node. They come before the config's rules. Each row's ``spec`` is the
rule as JSON, in the config's shape, checked by the same parser before it is stored."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gatewayd.errors import Conflict, NotFound, ValidationError
from gatewayd.routing.rules_parse import parse_rules
from gatewayd.storage.audit import audit
from gatewayd.storage.models import RouteRule

Specs = list[Mapping[str, Any]]


def load_route_rules(s: Session) -> tuple[tuple[int, float], Specs]:
    """The rules in order, with a version (count, latest change) to see changes cheaply."""
    rows = s.scalars(select(RouteRule).order_by(RouteRule.position, RouteRule.id)).all()
    version = (len(rows), max((r.updated_at for r in rows), default=0.0))
    return version, [json.loads(r.spec) for r in rows]


def route_rules_version(s: Session) -> tuple[int, float]:
    count, latest = s.execute(
        select(func.count(RouteRule.id), func.max(RouteRule.updated_at))
    ).one()
    return int(count), float(latest or 0.0)


def add_route_rule(
    s: Session,
    spec: Mapping[str, Any],
    position: int | None,
    actor: str,
    now: float,
    ip: str = "",
) -> None:
    """Insert a rule at ``position`` (0 first; None last); the spec is checked first. ``ip``:
    the console's peer address, for the audit log ("" from the CLI)."""
    try:
        (rule,) = parse_rules([spec], "rule")
    except ValueError as error:
        raise ValidationError(str(error)) from None
    if s.scalar(select(RouteRule.id).where(RouteRule.name == rule.name)) is not None:
        raise Conflict(f"a routing rule named {rule.name!r} exists")
    rows = s.scalars(select(RouteRule).order_by(RouteRule.position, RouteRule.id)).all()
    at = len(rows) if position is None else max(0, min(position, len(rows)))
    for index, row in enumerate(rows):
        row.position = index if index < at else index + 1
    s.add(RouteRule(position=at, name=rule.name, spec=json.dumps(spec), updated_at=now))
    audit(s, actor, None, "add route", json.dumps(spec, sort_keys=True), now, ip)


def remove_route_rule(s: Session, name: str, actor: str, now: float, ip: str = "") -> None:
    row = s.scalar(select(RouteRule).where(RouteRule.name == name))
    if row is None:
        raise NotFound("no such routing rule in the database")
    s.delete(row)
    audit(s, actor, None, "remove route", name, now, ip)
