"""Orders: what a fleet backend is asked to carry out, and what it answers.

An order acts on one or several lines of one account. Its state goes
``requested -> in_progress -> done | failed`` (a failure has a reason). The runner
(:mod:`gatewayd.fleet.runner`) hands each order to the configured :class:`FleetBackend`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from twisted.internet.defer import Deferred


class OrderState(StrEnum):
    REQUESTED = "requested"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"


FINAL = frozenset({OrderState.DONE, OrderState.FAILED})


def order_number(year: int, order_id: int) -> str:
    """The number a customer reads: ``CMD-2026-000123`` (the id, at least six digits)."""
    return f"CMD-{year:04d}-{order_id:06d}"


@dataclass(frozen=True)
class OrderLine:
    """A line as an order names it."""

    id: int
    msisdn: str
    iccid: str
    user_name: str
    contract: str
    plan_code: str = ""


@dataclass(frozen=True)
class Order:
    id: int
    number: str
    account_id: int
    user_id: int | None
    action: str
    params: Mapping[str, Any]
    state: OrderState
    lines: tuple[OrderLine, ...]
    created_at: float
    reason: str | None = None
    effective_on: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    user_login: str = ""


@dataclass(frozen=True)
class OrderResult:
    """A backend's answer. ``data`` carries what the operator assigned (an eSIM's ``iccid``
    and ``puk``, for instance); a failure carries the ``reason`` the customer reads."""

    ok: bool
    reason: str = ""
    data: Mapping[str, str] = field(default_factory=dict)


def done(**data: str) -> OrderResult:
    return OrderResult(True, "", data)


def failed(reason: str) -> OrderResult:
    return OrderResult(False, reason)


class FleetBackend(Protocol):
    """Carries out orders at the operator. ``execute`` may answer at once, or return a
    Deferred or a coroutine; an exception (or a failed Deferred) fails the order with a
    generic reason and is logged."""

    name: str

    def execute(
        self, order: Order
    ) -> OrderResult | Deferred[OrderResult] | Awaitable[OrderResult]: ...
