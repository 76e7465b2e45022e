"""The fleet's operator side: provisioning (plans, options, lines, SIMs, usage) from the CLI,
and what the order runner does with orders (claim, finish and apply, recover, scheduled plan
changes, e-mails owed). Synchronous transaction functions, run with ``Database.run``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gatewayd.errors import Conflict, FieldError, NotFound
from gatewayd.fleet import rules
from gatewayd.fleet.model import Action, LineState, OptionKind, PlanRange, SimKind, UsageKind
from gatewayd.fleet.orders import Order, OrderResult, OrderState
from gatewayd.storage.fleet import _orders
from gatewayd.storage.models import (
    Account,
    FleetAccount,
    FleetLine,
    FleetLineOption,
    FleetOption,
    FleetOrder,
    FleetOrderKey,
    FleetOrderLine,
    FleetPlan,
    FleetSim,
    FleetUsage,
    User,
)

#: Why an order that never got an answer fails (English msgid).
NO_ANSWER = "The operator did not answer: order again later."
BACKEND_ERROR = "The operator could not carry out the order."


def _account_id(s: Session, name: str) -> int:
    found = s.scalar(select(Account.id).where(Account.name == name))
    if found is None:
        raise NotFound(f"no account named {name!r}")
    return found


# --- Provisioning (the operator, from the CLI) -------------------------------------------------


def add_plan(
    s: Session,
    code: str,
    name: str,
    range_: str,
    blocked: bool,
    data_mb: int,
    now: float,
    *,
    voice_minutes: int | None = None,
    sms: int | None = None,
    monthly_fee: int = 0,
) -> int:
    PlanRange(range_)
    if s.scalar(select(FleetPlan.id).where(FleetPlan.code == code)) is not None:
        raise Conflict(f"plan {code!r} exists")
    plan = FleetPlan(
        code=code,
        name=name,
        range=range_,
        blocked=blocked,
        data_mb=data_mb,
        voice_minutes=voice_minutes,
        sms=sms,
        monthly_fee=monthly_fee,
        created_at=now,
    )
    s.add(plan)
    s.flush()
    return plan.id


def add_option(s: Session, code: str, name: str, kind: str, now: float) -> int:
    OptionKind(kind)
    if s.scalar(select(FleetOption.id).where(FleetOption.code == code)) is not None:
        raise Conflict(f"option {code!r} exists")
    option = FleetOption(code=code, name=name, kind=kind, created_at=now)
    s.add(option)
    s.flush()
    return option.id


def set_esim(s: Session, account: str, allowed: bool, now: float) -> None:
    account_id = _account_id(s, account)
    row = s.get(FleetAccount, account_id)
    if row is None:
        s.add(FleetAccount(account_id=account_id, esim_allowed=allowed, updated_at=now))
    else:
        row.esim_allowed, row.updated_at = allowed, now


def _sim_known(s: Session, iccid: str) -> bool:
    in_pool = s.scalar(select(FleetSim.id).where(FleetSim.iccid == iccid))
    in_line = s.scalar(select(FleetLine.id).where(FleetLine.iccid == iccid))
    return in_pool is not None or in_line is not None


def add_sim(s: Session, account: str, iccid: str, puk: str, now: float) -> int:
    """Put a SIM in the customer's pool. A SIM ever known is refused (never reused)."""
    account_id = _account_id(s, account)
    if not iccid.isdigit() or not 18 <= len(iccid) <= 22:
        raise FieldError("An ICCID has 18 to 22 digits.")
    if _sim_known(s, iccid):
        raise Conflict(f"SIM {iccid} is already known (SIMs are never reused)")
    sim = FleetSim(account_id=account_id, iccid=iccid, puk=puk, created_at=now)
    s.add(sim)
    s.flush()
    return sim.id


def add_line(
    s: Session,
    account: str,
    msisdn: str,
    iccid: str,
    plan_code: str,
    now: float,
    *,
    puk: str = "",
    sim_kind: str = "physical",
    user_name: str = "",
    site: str = "",
    contract: str = "",
    state: str = "active",
    delivered_on: str | None = None,
) -> int:
    """Provision a line. Its number and SIM must never have been used."""
    account_id = _account_id(s, account)
    SimKind(sim_kind)
    LineState(state)
    if not msisdn.isdigit() or not 8 <= len(msisdn) <= 15:
        raise FieldError("A number is 8 to 15 digits, with the country code.")
    plan_id = s.scalar(select(FleetPlan.id).where(FleetPlan.code == plan_code))
    if plan_id is None:
        raise NotFound(f"no plan {plan_code!r}")
    if s.scalar(select(FleetLine.id).where(FleetLine.msisdn == msisdn)) is not None:
        raise Conflict(f"number {msisdn} is already known (numbers are never reused)")
    pooled = s.scalar(select(FleetSim).where(FleetSim.iccid == iccid))
    if (pooled is not None and (pooled.account_id != account_id or pooled.line_id)) or (
        pooled is None and _sim_known(s, iccid)
    ):
        raise Conflict(f"SIM {iccid} is already in use (SIMs are never reused)")
    line = FleetLine(
        account_id=account_id,
        msisdn=msisdn,
        iccid=iccid,
        puk=puk if pooled is None else pooled.puk,
        sim_kind=sim_kind,
        user_name=user_name,
        site=site,
        contract=contract,
        plan_id=plan_id,
        state=state,
        delivered_on=delivered_on,
        created_at=now,
        updated_at=now,
    )
    s.add(line)
    s.flush()
    if pooled is not None:
        pooled.line_id, pooled.used_at = line.id, now
    else:
        s.add(
            FleetSim(
                account_id=account_id,
                iccid=iccid,
                puk=puk,
                line_id=line.id,
                created_at=now,
                used_at=now,
            )
        )
    return line.id


def set_line_state(s: Session, msisdn: str, state: str, now: float) -> None:
    """The operator sets a line's state (delivered: active; terminated: cancelled)."""
    LineState(state)
    line = s.scalar(select(FleetLine).where(FleetLine.msisdn == msisdn))
    if line is None:
        raise NotFound(f"no line {msisdn}")
    line.state, line.updated_at = state, now


def add_usage(
    s: Session,
    msisdn: str,
    kind: str,
    quantity: int,
    at: float,
    *,
    in_bundle: bool = True,
    detail: str = "",
) -> int:
    """Record a consumption item (sample data: no CDR feed exists yet)."""
    UsageKind(kind)
    if quantity < 0:
        raise FieldError("A quantity cannot be negative.")
    line_id = s.scalar(select(FleetLine.id).where(FleetLine.msisdn == msisdn))
    if line_id is None:
        raise NotFound(f"no line {msisdn}")
    row = FleetUsage(
        line_id=line_id,
        at=at,
        kind=kind,
        quantity=quantity,
        in_bundle=in_bundle,
        detail=detail[:64],
    )
    s.add(row)
    s.flush()
    return row.id


@dataclass(frozen=True)
class LineRow:
    account: str
    msisdn: str
    iccid: str
    state: str
    plan: str
    user_name: str


def all_lines(s: Session, account: str | None) -> list[LineRow]:
    stmt = (
        select(
            Account.name,
            FleetLine.msisdn,
            FleetLine.iccid,
            FleetLine.state,
            FleetPlan.code,
            FleetLine.user_name,
        )
        .join(Account, Account.id == FleetLine.account_id)
        .join(FleetPlan, FleetPlan.id == FleetLine.plan_id)
        .order_by(Account.name, FleetLine.msisdn)
    )
    if account is not None:
        stmt = stmt.where(FleetLine.account_id == _account_id(s, account))
    return [LineRow(*row) for row in s.execute(stmt)]


# --- The runner ---------------------------------------------------------------------------------


def claim_requested(s: Session, now: float, limit: int = 20) -> list[Order]:
    """Requested orders, oldest first, marked in progress (one more attempt)."""
    stmt = (
        select(FleetOrder)
        .where(FleetOrder.state == OrderState.REQUESTED)
        .order_by(FleetOrder.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(s.scalars(stmt))
    for row in rows:
        row.state, row.started_at, row.attempts = OrderState.IN_PROGRESS, now, row.attempts + 1
    s.flush()
    return _orders(s, rows)


def recover(s: Session, now: float, timeout: float, max_attempts: int) -> tuple[int, int]:
    """In-progress orders started ``timeout`` seconds ago or more (a restart, a backend that
    never answered): requested again while they have attempts left, else failed. Returns
    (retried, failed). Backends are told the order number, so a retry is not a new order."""
    rows = list(
        s.scalars(
            select(FleetOrder).where(
                FleetOrder.state == OrderState.IN_PROGRESS, FleetOrder.started_at <= now - timeout
            )
        )
    )
    retried = given_up = 0
    for row in rows:
        if row.attempts < max_attempts:
            row.state, retried = OrderState.REQUESTED, retried + 1
        else:
            _fail(s, row, NO_ANSWER, now)
            given_up += 1
    return retried, given_up


def _fail(s: Session, row: FleetOrder, reason: str, now: float) -> None:
    row.state, row.reason, row.finished_at = OrderState.FAILED, reason, now
    # Not carried out, so not billed: the same top-up may be ordered again at once.
    s.execute(delete(FleetOrderKey).where(FleetOrderKey.order_id == row.id))
    if row.action == Action.SIM_SWAP:
        params = json.loads(row.params)
        if params.get("sim") == "physical":
            s.execute(
                update(FleetSim)
                .where(FleetSim.iccid == params.get("iccid"))
                .values(line_id=None, used_at=None)
            )


def finish(s: Session, order_id: int, result: OrderResult, now: float) -> Order | None:
    """Record the backend's answer and, when done, apply the order to its lines. An order no
    longer in progress (recovered meanwhile, finished twice) is left alone: None."""
    row = s.get(FleetOrder, order_id, with_for_update=True)
    if row is None or row.state != OrderState.IN_PROGRESS:
        return None
    if not result.ok:
        _fail(s, row, result.reason or BACKEND_ERROR, now)
    else:
        _apply(s, row, result, now)
        row.state, row.reason, row.finished_at = OrderState.DONE, None, now
    s.flush()
    return _orders(s, [row])[0]


def _apply(s: Session, row: FleetOrder, result: OrderResult, now: float) -> None:
    params = json.loads(row.params)
    line_ids = list(
        s.scalars(select(FleetOrderLine.line_id).where(FleetOrderLine.order_id == row.id))
    )
    lines = list(s.scalars(select(FleetLine).where(FleetLine.id.in_(line_ids))))
    for line in lines:
        line.updated_at = now
        if row.action == Action.SUSPEND:
            line.state = LineState.SUSPENDED
        elif row.action == Action.REACTIVATE:
            line.state = LineState.ACTIVE
        elif row.action == Action.RENAME:
            line.user_name = params["user_name"]
        elif row.action == Action.CHANGE_PLAN:
            line.pending_plan_id, line.plan_effective = params["plan_id"], row.effective_on
        elif row.action == Action.OPTIONS:
            _apply_options(s, line.id, params.get("add", []), params.get("remove", []), now)
        elif row.action == Action.SIM_SWAP:
            _apply_swap(s, line, params, result, now)


def _apply_options(s: Session, line_id: int, add: list[int], remove: list[int], now: float) -> None:
    if remove:
        s.execute(
            delete(FleetLineOption).where(
                FleetLineOption.line_id == line_id, FleetLineOption.option_id.in_(remove)
            )
        )
    held = set(
        s.scalars(select(FleetLineOption.option_id).where(FleetLineOption.line_id == line_id))
    )
    s.add_all(
        FleetLineOption(line_id=line_id, option_id=o, added_at=now) for o in add if o not in held
    )


def _apply_swap(
    s: Session, line: FleetLine, params: dict[str, str], result: OrderResult, now: float
) -> None:
    if params.get("sim") == "physical":
        sim = s.scalar(select(FleetSim).where(FleetSim.iccid == params["iccid"]))
        if sim is None:
            raise NotFound("the reserved SIM is gone")
        line.iccid, line.puk, line.sim_kind = sim.iccid, sim.puk, SimKind.PHYSICAL
        return
    iccid = result.data.get("iccid", "")
    if not iccid or _known(s, iccid):
        raise Conflict("the backend gave no new eSIM ICCID")
    s.add(
        FleetSim(
            account_id=line.account_id,
            iccid=iccid,
            puk=result.data.get("puk", ""),
            line_id=line.id,
            created_at=now,
            used_at=now,
        )
    )
    line.iccid, line.puk, line.sim_kind = iccid, result.data.get("puk", ""), SimKind.ESIM


def _known(s: Session, iccid: str) -> bool:
    return s.scalar(select(FleetSim.id).where(FleetSim.iccid == iccid)) is not None


def apply_due_plans(s: Session, now: float) -> int:
    """Scheduled plan changes whose day has come (the account's time zone) take over."""
    rows = s.execute(
        select(FleetLine, Account.timezone)
        .join(Account, Account.id == FleetLine.account_id)
        .where(FleetLine.pending_plan_id.is_not(None))
    )
    changed = 0
    for line, zone in rows:
        today = datetime.fromtimestamp(now, rules.zone_of(zone)).date().isoformat()
        if line.plan_effective and line.plan_effective <= today and line.pending_plan_id:
            line.plan_id, line.pending_plan_id, line.plan_effective = (
                line.pending_plan_id,
                None,
                None,
            )
            line.updated_at = now
            changed += 1
    return changed


@dataclass(frozen=True)
class Notice:
    """What the e-mails of a finished order need."""

    order: Order
    account_name: str
    company: str
    language: str
    customer_emails: tuple[str, ...]


def unnotified(s: Session, limit: int = 50) -> list[Notice]:
    """Finished orders whose e-mails are not sent yet."""
    rows = list(
        s.scalars(
            select(FleetOrder)
            .where(
                FleetOrder.notified_at.is_(None),
                FleetOrder.state.in_([OrderState.DONE, OrderState.FAILED]),
            )
            .order_by(FleetOrder.id)
            .limit(limit)
        )
    )
    notices = []
    for order in _orders(s, rows):
        account = s.get(Account, order.account_id)
        assert account is not None
        user = s.get(User, order.user_id) if order.user_id is not None else None
        emails = tuple(e for e in ((user.email if user else None) or account.email,) if e)
        notices.append(
            Notice(
                order,
                account.name,
                account.company_name or account.name,
                user.language if user else "fr",
                emails,
            )
        )
    return notices


def mark_notified(s: Session, order_ids: Sequence[int], now: float) -> None:
    if order_ids:
        s.execute(update(FleetOrder).where(FleetOrder.id.in_(order_ids)).values(notified_at=now))
