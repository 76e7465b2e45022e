"""The fleet's domain values: pure, typed, no I/O.

A line belongs to one customer account and has a state, a plan and options. A plan belongs to
a range (data only or unlimited voice/SMS/MMS + data) and is blocked (service stops at the
bundle) or unblocked (reduced speed beyond it, no surcharge). Every action on lines becomes an
order (see :mod:`gatewayd.fleet.orders`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class LineState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    #: Being delivered or changed by the operator: no customer action until it settles.
    IN_PROGRESS = "in_progress"
    CANCELLED = "cancelled"


class OptionKind(StrEnum):
    ROAMING = "roaming"
    DATA = "data"
    SMS = "sms"
    OTHER = "other"


class PlanRange(StrEnum):
    DATA_ONLY = "data_only"
    UNLIMITED = "unlimited"


class SimKind(StrEnum):
    PHYSICAL = "physical"
    ESIM = "esim"


class Action(StrEnum):
    """What a customer may order on lines."""

    SUSPEND = "suspend"
    REACTIVATE = "reactivate"
    SIM_SWAP = "sim_swap"
    TOPUP = "topup"
    RENAME = "rename"
    OPTIONS = "options"
    CHANGE_PLAN = "change_plan"


class UsageKind(StrEnum):
    VOICE = "voice"  # seconds
    SMS = "sms"  # messages
    MMS = "mms"  # messages
    DATA = "data"  # kB


#: Every state a list can be filtered by, in the order the counters show them.
STATES: tuple[LineState, ...] = tuple(LineState)
#: Data is counted in kB; bundles and top-ups in MB.
KB_PER_MB = 1024


def billed(state: str) -> bool:
    """Whether a line in ``state`` is billed: a suspended line still is (the UI says so)."""
    return state != LineState.CANCELLED


@dataclass(frozen=True)
class Plan:
    id: int
    code: str
    name: str
    range: PlanRange
    blocked: bool
    data_mb: int
    voice_minutes: int | None = None
    sms: int | None = None


@dataclass(frozen=True)
class Option:
    id: int
    code: str
    name: str
    kind: OptionKind


@dataclass(frozen=True)
class LineFacts:
    """What the rules need to know about a line."""

    id: int
    state: LineState
    plan: Plan
    option_ids: frozenset[int] = field(default_factory=frozenset)
    pending_plan_id: int | None = None


@dataclass(frozen=True)
class CustomerFacts:
    """What the rules need to know about the customer: its free SIMs and eSIM permission."""

    free_sims: int
    esim_allowed: bool
