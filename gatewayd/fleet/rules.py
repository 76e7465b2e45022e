"""The contract rules of the fleet: which actions lines allow, and what an order must carry.

Pure: the facts come in (:class:`LineFacts`, :class:`CustomerFacts`), a refusal goes out as a
:class:`FieldError` whose English msgid the console translates. The rules come from the
reseller's reference (seed 002) and the options page (seed 003):

- several lines are changed together only when they share the same plan and the same state;
- a cancelled line or a line in progress allows nothing; suspend needs an active line,
  reactivate a suspended one; suspension does not stop billing;
- a SIM swap (one line) goes to a free SIM of the customer's pool or to an eSIM if the customer
  may; a data top-up needs a plan with data, and the same top-up of a line within 30 minutes
  is refused (never billed twice);
- plan changes (up/downgrade, blocked <-> unblocked) take effect on the 1st of next month in
  the account's time zone; a change of range (data only <-> unlimited) is refused;
- options: data-only plans take no roaming or SMS option.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gatewayd.errors import FieldError
from gatewayd.fleet.model import (
    Action,
    CustomerFacts,
    LineFacts,
    LineState,
    Option,
    OptionKind,
    Plan,
    PlanRange,
    SimKind,
)

#: A data top-up ordered again within this many seconds is refused.
TOPUP_WINDOW = 30 * 60.0
#: The top-up volumes offered (MB), as the reference lists them: 10 MB to 1 TB.
TOPUP_CHOICES: tuple[int, ...] = (
    10, 25, 50, 100, 250, 500,
    1024, 5 * 1024, 10 * 1024, 20 * 1024, 30 * 1024, 50 * 1024, 100 * 1024,
    150 * 1024, 200 * 1024, 250 * 1024, 500 * 1024, 1024 * 1024,
)  # fmt: skip
#: Actions that act on one line only.
SINGLE = frozenset({Action.SIM_SWAP, Action.RENAME})
MAX_NAME = 100

MIXED_SELECTION = (
    "Several lines can be changed together only when they have the same plan and the same state."
)
NO_LINE = "Select at least one line."
ONE_LINE = "This action applies to one line at a time."
CANCELLED = "This line is cancelled: no action is possible."
IN_PROGRESS = "This line is being set up by the operator: try again once it is active."
NOT_ACTIVE = "Only an active line can be suspended."
NOT_SUSPENDED = "Only a suspended line can be reactivated."
NO_SIM = "No SIM of your pool is free: ask your operator for SIM cards."
NO_ESIM = "Your contract does not allow a swap to an eSIM."
NO_SWAP = "No SIM swap is possible: no free SIM in your pool and no eSIM permission."
NO_DATA = "This plan has no data: a top-up is not possible."
BAD_VOLUME = "Choose a top-up volume from the list."
TOPUP_REPEATED = (
    "This top-up was already ordered for %(msisdn)s at %(time)s (order %(number)s). It can take "
    "up to 30 minutes to show: it is not ordered again, so it is not billed twice."
)
EMPTY_NAME = "Enter the user's name (at most 100 characters)."
NO_CHANGE = "Tick at least one option to add or remove."
UNKNOWN_OPTION = "This option does not exist."
RANGE_OPTION = "A data-only plan takes no roaming or SMS option: %(name)s."
SAME_PLAN = "The line already has this plan."
UNKNOWN_PLAN = "This plan does not exist."
RANGE_CHANGE = "Changing range (data only against unlimited) is not possible: order a new line."
PENDING = "Order %(number)s on this line is not finished yet: wait for it."
UNKNOWN_ACTION = "Unknown action."


@dataclass(frozen=True)
class Checked:
    """An accepted action: the params to store, when it takes effect, its idempotency keys
    (one per line; empty when none) and how long they hold."""

    params: dict[str, Any]
    effective_on: str | None = None
    keys: tuple[str, ...] = ()
    key_ttl: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)


def zone_of(name: str) -> ZoneInfo:
    """The account's time zone; an unknown name is UTC."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def month_of(now: float, zone: ZoneInfo) -> str:
    """The month of ``now`` in ``zone``: "YYYY-MM"."""
    return datetime.fromtimestamp(now, zone).strftime("%Y-%m")


def month_bounds(month: str, zone: ZoneInfo) -> tuple[float, float]:
    """The first second of ``month`` ("YYYY-MM") in ``zone`` and of the next month."""
    try:
        year, number = (int(part) for part in month.split("-"))
        start = datetime(year, number, 1, tzinfo=zone)
    except ValueError:
        raise FieldError("Choose a month as YYYY-MM.") from None
    end = datetime(year + 1, 1, 1, tzinfo=zone) if number == 12 else start.replace(month=number + 1)
    return start.timestamp(), end.timestamp()


def journal_since(now: float, zone: ZoneInfo, months: int = 3) -> float:
    """The start of the journal: the 1st of the month ``months - 1`` before ``now``'s."""
    today = datetime.fromtimestamp(now, zone)
    index = today.year * 12 + today.month - 1 - (months - 1)
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=zone).timestamp()


def first_of_next_month(now: float, zone: ZoneInfo) -> str:
    """The 1st of the month after ``now`` in ``zone``, as "YYYY-MM-DD"."""
    today = datetime.fromtimestamp(now, zone).date()
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, 1).isoformat()


def topup_key(line_id: int, volume_mb: int) -> str:
    return f"topup:{line_id}:{volume_mb}"


def check_selection(lines: Sequence[LineFacts]) -> None:
    """Several lines only with the same plan and the same state."""
    if not lines:
        raise FieldError(NO_LINE)
    first = lines[0]
    if any(line.plan.id != first.plan.id or line.state != first.state for line in lines):
        raise FieldError(MIXED_SELECTION, 409)


def _state_refusal(state: LineState) -> str | None:
    if state == LineState.CANCELLED:
        return CANCELLED
    if state == LineState.IN_PROGRESS:
        return IN_PROGRESS
    return None


def refusal(action: Action, lines: Sequence[LineFacts], customer: CustomerFacts) -> str | None:
    """Why ``action`` is not possible on ``lines`` (a msgid), or None when it is: what the
    console greys out. The params are checked later, by :func:`check`."""
    if not lines:
        return NO_LINE
    first = lines[0]
    if len(lines) > 1:
        if action in SINGLE:
            return ONE_LINE
        if any(line.plan.id != first.plan.id or line.state != first.state for line in lines):
            return MIXED_SELECTION
    blocked = _state_refusal(first.state)
    if blocked:
        return blocked
    if action == Action.SUSPEND and first.state != LineState.ACTIVE:
        return NOT_ACTIVE
    if action == Action.REACTIVATE and first.state != LineState.SUSPENDED:
        return NOT_SUSPENDED
    if action == Action.SIM_SWAP and customer.free_sims == 0 and not customer.esim_allowed:
        return NO_SWAP
    if action == Action.TOPUP and first.plan.data_mb <= 0:
        return NO_DATA
    return None


def availability(lines: Sequence[LineFacts], customer: CustomerFacts) -> dict[Action, str | None]:
    """Every action and why it is not possible (None: possible)."""
    return {action: refusal(action, lines, customer) for action in Action}


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _ids(value: Any) -> list[int]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list | tuple | set | frozenset) else [value]
    out = []
    for item in items:
        number = _int(item)
        if number is None:
            raise FieldError(UNKNOWN_OPTION)
        out.append(number)
    return sorted(set(out))


def check(
    action: str,
    lines: Sequence[LineFacts],
    customer: CustomerFacts,
    params: Mapping[str, Any],
    *,
    now: float,
    zone: ZoneInfo,
    options: Mapping[int, Option] | None = None,
    plans: Mapping[int, Plan] | None = None,
) -> Checked:
    """Accept ``action`` with ``params`` on ``lines`` or raise a FieldError.

    Params: sim_swap ``sim`` ("physical" with an optional ``iccid`` of the pool, or "esim");
    topup ``volume_mb``; rename ``user_name``; options ``add`` and ``remove`` (option ids);
    change_plan ``plan_id``.
    """
    try:
        act = Action(action)
    except ValueError:
        raise FieldError(UNKNOWN_ACTION) from None
    if len(lines) > 1:
        check_selection(lines)
    reason = refusal(act, lines, customer)
    if reason is not None:
        status = 400 if reason in (NO_LINE, ONE_LINE) else 409
        raise FieldError(reason, status)
    plan = lines[0].plan
    if act in (Action.SUSPEND, Action.REACTIVATE):
        return Checked({})
    if act == Action.SIM_SWAP:
        kind = str(params.get("sim", "")).strip()
        if kind == SimKind.ESIM:
            if not customer.esim_allowed:
                raise FieldError(NO_ESIM, 409)
            return Checked({"sim": "esim"})
        if kind == SimKind.PHYSICAL:
            if customer.free_sims == 0:
                raise FieldError(NO_SIM, 409)
            iccid = str(params.get("iccid", "") or "").strip()
            return Checked({"sim": "physical", "iccid": iccid})
        raise FieldError("Choose a physical SIM or an eSIM.")
    if act == Action.TOPUP:
        volume = _int(params.get("volume_mb", ""))
        if volume not in TOPUP_CHOICES:
            raise FieldError(BAD_VOLUME)
        keys = tuple(topup_key(line.id, volume) for line in lines)
        return Checked({"volume_mb": volume}, keys=keys, key_ttl=TOPUP_WINDOW)
    if act == Action.RENAME:
        name = " ".join(str(params.get("user_name", "")).split())
        if not name or len(name) > MAX_NAME:
            raise FieldError(EMPTY_NAME)
        return Checked({"user_name": name})
    if act == Action.OPTIONS:
        return _check_options(lines, plan, params, options or {})
    return _check_plan(lines, plan, params, plans or {}, now, zone)


def _check_options(
    lines: Sequence[LineFacts],
    plan: Plan,
    params: Mapping[str, Any],
    catalogue: Mapping[int, Option],
) -> Checked:
    add, remove = _ids(params.get("add")), _ids(params.get("remove"))
    if set(add) & set(remove):
        raise FieldError("An option cannot be both added and removed.")
    for option_id in add + remove:
        if option_id not in catalogue:
            raise FieldError(UNKNOWN_OPTION)
    for option_id in add:
        option = catalogue[option_id]
        if plan.range == PlanRange.DATA_ONLY and option.kind in (
            OptionKind.ROAMING,
            OptionKind.SMS,
        ):
            raise FieldError(RANGE_OPTION, 409, name=option.name)
    # Only what changes something on at least one line.
    add = [o for o in add if any(o not in line.option_ids for line in lines)]
    remove = [o for o in remove if any(o in line.option_ids for line in lines)]
    if not add and not remove:
        raise FieldError(NO_CHANGE)
    return Checked({"add": add, "remove": remove})


def _check_plan(
    lines: Sequence[LineFacts],
    plan: Plan,
    params: Mapping[str, Any],
    catalogue: Mapping[int, Plan],
    now: float,
    zone: ZoneInfo,
) -> Checked:
    target_id = _int(params.get("plan_id", ""))
    target = catalogue.get(target_id) if target_id is not None else None
    if target is None:
        raise FieldError(UNKNOWN_PLAN)
    if target.id == plan.id:
        raise FieldError(SAME_PLAN, 409)
    if target.range != plan.range:
        raise FieldError(RANGE_CHANGE, 409)
    kind = (
        "migration"
        if target.blocked != plan.blocked
        else ("upgrade" if target.data_mb > plan.data_mb else "downgrade")
    )
    return Checked(
        {"plan_id": target.id, "plan_code": target.code, "from_plan": plan.code, "kind": kind},
        effective_on=first_of_next_month(now, zone),
    )
