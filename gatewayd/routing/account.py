"""An account's settings as routing and fair use see them: a plain value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AccountPolicy:
    id: int
    name: str
    kind: str = "customer"
    country: str | None = None  # ISO 3166 alpha-2: national numbers and "national" traffic
    timezone: str = "UTC"
    groups: frozenset[str] = frozenset()
    share: int = 1
    senders: frozenset[str] = frozenset()  # empty: any well-formed sender ID
    plan: str | None = None  # None: [fair_use] default_plan
    pending_plan: str | None = None
    plan_effective: str | None = None  # "YYYY-MM"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    alert_msisdn: str | None = None
    suspended: bool = False
    tps: float | None = None
