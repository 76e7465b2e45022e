"""The fleet's storage: lines, the SIM pool, orders and consumption, always within one
account (another account's line or order is :class:`NotFound`, as if it did not exist).

Synchronous transaction functions, run with ``Database.run``. The rules that decide whether an
action is allowed are pure (:mod:`gatewayd.fleet.rules`); this module loads their facts, checks
them and writes the order in one transaction, so a refused action writes nothing.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gatewayd.errors import FieldError, NotFound
from gatewayd.fleet import rules
from gatewayd.fleet.model import (
    KB_PER_MB,
    Action,
    CustomerFacts,
    LineFacts,
    LineState,
    Option,
    OptionKind,
    Plan,
    PlanRange,
    UsageKind,
    billed,
)
from gatewayd.fleet.orders import FINAL, Order, OrderLine, OrderState, order_number
from gatewayd.storage.contacts import PER_PAGE, Page, page_within
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


@dataclass(frozen=True)
class LineView:
    """A line as the console lists and shows it. ``data_used_kb`` and ``out_of_bundle`` are
    the current month's (the account's time zone)."""

    id: int
    msisdn: str
    iccid: str
    puk: str
    sim_kind: str
    user_name: str
    site: str
    contract: str
    state: LineState
    plan: Plan
    options: tuple[Option, ...]
    delivered_on: str | None
    pending_plan: Plan | None
    plan_effective: str | None
    data_used_kb: int = 0
    data_bundle_mb: int = 0
    out_of_bundle: bool = False

    @property
    def billed(self) -> bool:
        """A suspended line is still billed; the UI says so."""
        return billed(self.state)

    @property
    def data_percent(self) -> int:
        """The month's data use against the bundle (plus top-ups), 0-100 (capped)."""
        if self.data_bundle_mb <= 0:
            return 100 if self.data_used_kb > 0 else 0
        return min(100, round(100 * self.data_used_kb / (self.data_bundle_mb * 1024)))


@dataclass(frozen=True)
class Totals:
    in_bundle: int = 0
    out_of_bundle: int = 0

    @property
    def total(self) -> int:
        return self.in_bundle + self.out_of_bundle


@dataclass(frozen=True)
class Consumption:
    """A line's totals for a month ("YYYY-MM"): voice in seconds, SMS/MMS in messages, data in
    kB; bundles from the plan (None: unlimited), data bundle with the month's top-ups."""

    month: str
    voice: Totals
    sms: Totals
    mms: Totals
    data: Totals
    data_bundle_mb: int
    voice_bundle_minutes: int | None
    sms_bundle: int | None

    @property
    def out_of_bundle(self) -> bool:
        return any(t.out_of_bundle for t in (self.voice, self.sms, self.mms, self.data))


@dataclass(frozen=True)
class UsageView:
    id: int
    at: float
    kind: UsageKind
    quantity: int
    in_bundle: bool
    detail: str


#: The CSV export's columns (English; the console translates the header).
EXPORT_HEADER = (
    "Number",
    "User",
    "Site",
    "Contract",
    "Plan",
    "Options",
    "State",
    "SIM",
    "Data used (MB)",
    "Data bundle (MB)",
    "Out of bundle",
)


# --- Reading ------------------------------------------------------------------------------


def _plan(row: FleetPlan) -> Plan:
    return Plan(
        id=row.id,
        code=row.code,
        name=row.name,
        range=PlanRange(row.range),
        blocked=row.blocked,
        data_mb=row.data_mb,
        voice_minutes=row.voice_minutes,
        sms=row.sms,
    )


def _option(row: FleetOption) -> Option:
    return Option(id=row.id, code=row.code, name=row.name, kind=OptionKind(row.kind))


def _zone_of_account(s: Session, account_id: int) -> Any:
    name = s.scalar(select(Account.timezone).where(Account.id == account_id))
    if name is None:
        raise NotFound("no such account")
    return rules.zone_of(name)


def _filtered(account_id: int, state: str | None, query: str) -> Select[FleetLine]:
    stmt = select(FleetLine).where(FleetLine.account_id == account_id)
    if state:
        stmt = stmt.where(FleetLine.state == state)
    needle = query.strip()
    if needle:
        like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                FleetLine.msisdn.like(like, escape="\\"),
                FleetLine.user_name.ilike(like, escape="\\"),
                FleetLine.site.ilike(like, escape="\\"),
                FleetLine.contract.ilike(like, escape="\\"),
            )
        )
    return stmt.order_by(FleetLine.msisdn, FleetLine.id)


def _month_data(
    s: Session, line_ids: Sequence[int], start: float, end: float
) -> tuple[dict[int, int], set[int], dict[int, int]]:
    """Per line: data used (kB), whether anything was out of bundle, top-ups done (MB)."""
    used: dict[int, int] = defaultdict(int)
    out: set[int] = set()
    topups: dict[int, int] = defaultdict(int)
    if not line_ids:
        return used, out, topups
    rows = s.execute(
        select(
            FleetUsage.line_id, FleetUsage.kind, FleetUsage.in_bundle, func.sum(FleetUsage.quantity)
        )
        .where(FleetUsage.line_id.in_(line_ids), FleetUsage.at >= start, FleetUsage.at < end)
        .group_by(FleetUsage.line_id, FleetUsage.kind, FleetUsage.in_bundle)
    )
    for line_id, kind, in_bundle, total in rows:
        if kind == UsageKind.DATA:
            used[line_id] += int(total or 0)
        if not in_bundle:
            out.add(line_id)
    orders = s.execute(
        select(FleetOrderLine.line_id, FleetOrder.params)
        .join(FleetOrder, FleetOrder.id == FleetOrderLine.order_id)
        .where(
            FleetOrderLine.line_id.in_(line_ids),
            FleetOrder.action == Action.TOPUP,
            FleetOrder.state == OrderState.DONE,
            FleetOrder.finished_at >= start,
            FleetOrder.finished_at < end,
        )
    )
    for line_id, params in orders:
        topups[line_id] += int(json.loads(params).get("volume_mb", 0))
    return used, out, topups


def _views(s: Session, account_id: int, rows: Sequence[FleetLine], now: float) -> list[LineView]:
    if not rows:
        return []
    ids = [row.id for row in rows]
    plan_ids = {row.plan_id for row in rows} | {
        r.pending_plan_id for r in rows if r.pending_plan_id
    }
    plans = {p.id: _plan(p) for p in s.scalars(select(FleetPlan).where(FleetPlan.id.in_(plan_ids)))}
    options: dict[int, list[Option]] = defaultdict(list)
    for line_id, option in s.execute(
        select(FleetLineOption.line_id, FleetOption)
        .join(FleetOption, FleetOption.id == FleetLineOption.option_id)
        .where(FleetLineOption.line_id.in_(ids))
        .order_by(FleetOption.kind, FleetOption.name)
    ):
        options[line_id].append(_option(option))
    zone = _zone_of_account(s, account_id)
    start, end = rules.month_bounds(rules.month_of(now, zone), zone)
    used, out, topups = _month_data(s, ids, start, end)
    views = []
    for row in rows:
        plan = plans[row.plan_id]
        bundle = plan.data_mb + topups.get(row.id, 0)
        views.append(
            LineView(
                id=row.id,
                msisdn=row.msisdn,
                iccid=row.iccid,
                puk=row.puk,
                sim_kind=row.sim_kind,
                user_name=row.user_name,
                site=row.site,
                contract=row.contract,
                state=LineState(row.state),
                plan=plan,
                options=tuple(options.get(row.id, ())),
                delivered_on=row.delivered_on,
                pending_plan=plans.get(row.pending_plan_id) if row.pending_plan_id else None,
                plan_effective=row.plan_effective,
                data_used_kb=used.get(row.id, 0),
                data_bundle_mb=bundle,
                out_of_bundle=row.id in out or used.get(row.id, 0) > bundle * KB_PER_MB,
            )
        )
    return views


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def list_lines(
    s: Session,
    account_id: int,
    state: str | None,
    query: str,
    page: int,
    *,
    now: float | None = None,
    per_page: int = PER_PAGE,
) -> Page[LineView]:
    """The account's lines, by number; ``state`` None for all, ``query`` searched in the
    number, the user's name, the site and the contract. ``now``: the clock's time for the
    month's consumption (None: the wall clock)."""
    stmt = _filtered(account_id, state, query)
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    number = page_within(page, total, per_page)
    rows = list(s.scalars(stmt.limit(per_page).offset((number - 1) * per_page)))
    return Page(_views(s, account_id, rows, _now(now)), number, total, per_page)


def line_counters(s: Session, account_id: int) -> dict[str, int]:
    """How many lines the account has in each state (every state, 0 included)."""
    counts = {state.value: 0 for state in LineState}
    for state, count in s.execute(
        select(FleetLine.state, func.count())
        .where(FleetLine.account_id == account_id)
        .group_by(FleetLine.state)
    ):
        counts[state] = count
    return counts


def _own_line(s: Session, account_id: int, line_id: int) -> FleetLine:
    row = s.get(FleetLine, line_id)
    if row is None or row.account_id != account_id:
        raise NotFound("no such line")
    return row


def get_line(s: Session, account_id: int, line_id: int, *, now: float | None = None) -> LineView:
    """One line of the account; another account's (or no) line is NotFound."""
    return _views(s, account_id, [_own_line(s, account_id, line_id)], _now(now))[0]


def customer_facts(s: Session, account_id: int) -> CustomerFacts:
    """The customer's free SIMs and eSIM permission."""
    free = s.scalar(
        select(func.count())
        .select_from(FleetSim)
        .where(FleetSim.account_id == account_id, FleetSim.line_id.is_(None))
    )
    allowed = s.scalar(
        select(FleetAccount.esim_allowed).where(FleetAccount.account_id == account_id)
    )
    return CustomerFacts(free_sims=free or 0, esim_allowed=bool(allowed))


def free_sims(s: Session, account_id: int) -> list[str]:
    """The ICCIDs of the customer's pool not yet in a line."""
    return list(
        s.scalars(
            select(FleetSim.iccid)
            .where(FleetSim.account_id == account_id, FleetSim.line_id.is_(None))
            .order_by(FleetSim.iccid)
        )
    )


def list_plans(s: Session) -> list[Plan]:
    return [
        _plan(p) for p in s.scalars(select(FleetPlan).order_by(FleetPlan.range, FleetPlan.data_mb))
    ]


def list_options(s: Session, kind: str | None = None) -> list[Option]:
    """The option catalogue, of one kind (roaming, data, sms, other) or all."""
    stmt = select(FleetOption).order_by(FleetOption.kind, FleetOption.name)
    if kind:
        stmt = stmt.where(FleetOption.kind == kind)
    return [_option(o) for o in s.scalars(stmt)]


def _facts(s: Session, rows: Sequence[FleetLine]) -> list[LineFacts]:
    ids = [row.id for row in rows]
    held: dict[int, set[int]] = defaultdict(set)
    for line_id, option_id in s.execute(
        select(FleetLineOption.line_id, FleetLineOption.option_id).where(
            FleetLineOption.line_id.in_(ids)
        )
    ):
        held[line_id].add(option_id)
    plans = {
        p.id: _plan(p)
        for p in s.scalars(select(FleetPlan).where(FleetPlan.id.in_({r.plan_id for r in rows})))
    }
    return [
        LineFacts(
            id=row.id,
            state=LineState(row.state),
            plan=plans[row.plan_id],
            option_ids=frozenset(held.get(row.id, ())),
            pending_plan_id=row.pending_plan_id,
        )
        for row in rows
    ]


def line_actions(s: Session, account_id: int, line_ids: Sequence[int]) -> dict[Action, str | None]:
    """Each action and why it is greyed out on these lines (a msgid), None when possible."""
    rows = _own_lines(s, account_id, line_ids, lock=False)
    return rules.availability(_facts(s, rows), customer_facts(s, account_id))


def _own_lines(
    s: Session, account_id: int, line_ids: Sequence[int], *, lock: bool
) -> list[FleetLine]:
    ids = sorted(set(line_ids))
    if not ids:
        raise FieldError(rules.NO_LINE)
    stmt = select(FleetLine).where(FleetLine.id.in_(ids), FleetLine.account_id == account_id)
    if lock:
        stmt = stmt.with_for_update()
    rows = list(s.scalars(stmt.order_by(FleetLine.id)))
    if len(rows) != len(ids):
        raise NotFound("no such line")
    return rows


# --- Orders -------------------------------------------------------------------------------


def _orders(s: Session, rows: Sequence[FleetOrder]) -> list[Order]:
    if not rows:
        return []
    ids = [row.id for row in rows]
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for order_id, line, plan_code in s.execute(
        select(FleetOrderLine.order_id, FleetLine, FleetPlan.code)
        .join(FleetLine, FleetLine.id == FleetOrderLine.line_id)
        .join(FleetPlan, FleetPlan.id == FleetLine.plan_id)
        .where(FleetOrderLine.order_id.in_(ids))
        .order_by(FleetLine.msisdn)
    ):
        lines[order_id].append(
            OrderLine(line.id, line.msisdn, line.iccid, line.user_name, line.contract, plan_code)
        )
    users = {r.user_id for r in rows if r.user_id is not None}
    logins: dict[int, str] = {}
    if users:
        found = s.execute(select(User.id, User.login).where(User.id.in_(users)))
        logins = {user_id: login for user_id, login in found}
    return [
        Order(
            id=row.id,
            number=row.number or "",
            account_id=row.account_id,
            user_id=row.user_id,
            action=row.action,
            params=json.loads(row.params),
            state=OrderState(row.state),
            lines=tuple(lines.get(row.id, ())),
            created_at=row.created_at,
            reason=row.reason,
            effective_on=row.effective_on,
            started_at=row.started_at,
            finished_at=row.finished_at,
            attempts=row.attempts,
            user_login=logins.get(row.user_id, "") if row.user_id is not None else "",
        )
        for row in rows
    ]


def _pending_order(s: Session, line_ids: Sequence[int], action: str) -> str | None:
    return s.scalar(
        select(FleetOrder.number)
        .join(FleetOrderLine, FleetOrderLine.order_id == FleetOrder.id)
        .where(
            FleetOrderLine.line_id.in_(line_ids),
            FleetOrder.action == action,
            FleetOrder.state.not_in([state.value for state in FINAL]),
        )
        .limit(1)
    )


def _held_key(s: Session, key: str, now: float) -> FleetOrder | None:
    return s.scalar(
        select(FleetOrder)
        .join(FleetOrderKey, FleetOrderKey.order_id == FleetOrder.id)
        .where(FleetOrderKey.key == key, FleetOrderKey.expires_at > now)
    )


def _repeated(order: FleetOrder, msisdn: str, zone: Any) -> FieldError:
    when = datetime.fromtimestamp(order.created_at, zone).strftime("%H:%M")
    return FieldError(
        rules.TOPUP_REPEATED, 409, msisdn=msisdn, time=when, number=order.number or ""
    )


def order_action(
    s: Session,
    account_id: int,
    user_id: int | None,
    line_ids: Sequence[int],
    action: str,
    params: Mapping[str, Any],
    now: float,
) -> Order:
    """Check ``action`` on the lines with the rules and record it as a requested order (the
    runner carries it out). A refusal is a FieldError (English msgid) and writes nothing.
    The lines are locked (PostgreSQL) so that two orders on them are checked one after the
    other; a top-up's idempotency key is held by its primary key even if both race."""
    rows = _own_lines(s, account_id, line_ids, lock=True)
    zone = _zone_of_account(s, account_id)
    facts = _facts(s, rows)
    checked = rules.check(
        action,
        facts,
        customer_facts(s, account_id),
        params,
        now=now,
        zone=zone,
        options={o.id: o for o in list_options(s)},
        plans={p.id: p for p in list_plans(s)},
    )
    ids = [row.id for row in rows]
    if action != Action.TOPUP:
        pending = _pending_order(s, ids, action)
        if pending is not None:
            raise FieldError(rules.PENDING, 409, number=pending)
    by_id = {row.id: row for row in rows}
    for key in checked.keys:
        held = _held_key(s, key, now)
        if held is not None:
            line_id = int(key.split(":")[1])
            raise _repeated(held, by_id[line_id].msisdn, zone)
    stored = dict(checked.params)
    if action == Action.SIM_SWAP and stored.get("sim") == "physical":
        stored["iccid"] = _reserve_sim(s, account_id, ids[0], str(stored.get("iccid", "")), now)
    order = FleetOrder(
        account_id=account_id,
        user_id=user_id,
        action=action,
        params=json.dumps(stored, sort_keys=True),
        state=OrderState.REQUESTED,
        idempotency_key=",".join(checked.keys) or None,
        effective_on=checked.effective_on,
        created_at=now,
    )
    s.add(order)
    s.flush()
    order.number = order_number(datetime.fromtimestamp(now, zone).year, order.id)
    s.add_all(FleetOrderLine(order_id=order.id, line_id=line_id) for line_id in ids)
    if checked.keys:
        s.execute(
            delete(FleetOrderKey).where(
                FleetOrderKey.key.in_(checked.keys), FleetOrderKey.expires_at <= now
            )
        )
        try:
            with s.begin_nested():
                s.add_all(
                    FleetOrderKey(key=key, order_id=order.id, expires_at=now + checked.key_ttl)
                    for key in checked.keys
                )
        except IntegrityError:
            # Another order took a key meanwhile (both passed the check above).
            for key in checked.keys:
                held = _held_key(s, key, now)
                if held is not None:
                    raise _repeated(held, by_id[int(key.split(":")[1])].msisdn, zone) from None
            raise
    s.flush()
    return _orders(s, [order])[0]


def _reserve_sim(s: Session, account_id: int, line_id: int, iccid: str, now: float) -> str:
    """Take a free SIM of the pool (the given one, or the first) for the swap: it is held from
    now, so two swaps cannot take the same SIM, and freed again if the order fails."""
    stmt = select(FleetSim.iccid).where(
        FleetSim.account_id == account_id, FleetSim.line_id.is_(None)
    )
    if iccid:
        stmt = stmt.where(FleetSim.iccid == iccid)
    chosen = s.scalar(stmt.order_by(FleetSim.iccid).limit(1))
    if chosen is None:
        raise FieldError(rules.NO_SIM, 409)
    taken = s.execute(
        update(FleetSim)
        .where(FleetSim.iccid == chosen, FleetSim.line_id.is_(None))
        .values(line_id=line_id, used_at=now)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise FieldError(rules.NO_SIM, 409)
    return chosen


def list_orders(
    s: Session, account_id: int, page: int, *, line_id: int | None = None, per_page: int = PER_PAGE
) -> Page[Order]:
    """The account's orders, newest first (``line_id``: only those on that line)."""
    stmt = select(FleetOrder).where(FleetOrder.account_id == account_id)
    if line_id is not None:
        _own_line(s, account_id, line_id)
        stmt = stmt.where(
            FleetOrder.id.in_(
                select(FleetOrderLine.order_id).where(FleetOrderLine.line_id == line_id)
            )
        )
    total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    number = page_within(page, total, per_page)
    rows = list(
        s.scalars(
            stmt.order_by(FleetOrder.created_at.desc(), FleetOrder.id.desc())
            .limit(per_page)
            .offset((number - 1) * per_page)
        )
    )
    return Page(_orders(s, rows), number, total, per_page)


def get_order(s: Session, account_id: int, order_id: int) -> Order:
    """One order of the account; another account's is NotFound."""
    row = s.get(FleetOrder, order_id)
    if row is None or row.account_id != account_id:
        raise NotFound("no such order")
    return _orders(s, [row])[0]


# --- Consumption --------------------------------------------------------------------------


def consumption_month(s: Session, account_id: int, line_id: int, month: str) -> Consumption:
    """The line's totals for ``month`` ("YYYY-MM", the account's time zone)."""
    line = _own_line(s, account_id, line_id)
    zone = _zone_of_account(s, account_id)
    start, end = rules.month_bounds(month, zone)
    sums: dict[tuple[str, bool], int] = {}
    for kind, in_bundle, total in s.execute(
        select(FleetUsage.kind, FleetUsage.in_bundle, func.sum(FleetUsage.quantity))
        .where(FleetUsage.line_id == line_id, FleetUsage.at >= start, FleetUsage.at < end)
        .group_by(FleetUsage.kind, FleetUsage.in_bundle)
    ):
        sums[(kind, bool(in_bundle))] = int(total or 0)

    def totals(kind: UsageKind) -> Totals:
        return Totals(sums.get((kind, True), 0), sums.get((kind, False), 0))

    plan = s.get(FleetPlan, line.plan_id)
    assert plan is not None
    _, _, topups = _month_data(s, [line_id], start, end)
    return Consumption(
        month=month,
        voice=totals(UsageKind.VOICE),
        sms=totals(UsageKind.SMS),
        mms=totals(UsageKind.MMS),
        data=totals(UsageKind.DATA),
        data_bundle_mb=plan.data_mb + topups.get(line_id, 0),
        voice_bundle_minutes=plan.voice_minutes,
        sms_bundle=plan.sms,
    )


def journal(
    s: Session,
    account_id: int,
    line_id: int,
    since: float,
    kind: str | None,
    page: int = 1,
    *,
    per_page: int = PER_PAGE,
) -> Page[UsageView]:
    """The line's consumption records since ``since``, newest first, of one ``kind`` or all
    ("sms" takes SMS and MMS, as the journal's SMS/MMS filter)."""
    _own_line(s, account_id, line_id)
    stmt = select(FleetUsage).where(FleetUsage.line_id == line_id, FleetUsage.at >= since)
    if kind:
        kinds = [UsageKind.SMS.value, UsageKind.MMS.value] if kind == UsageKind.SMS else [kind]
        stmt = stmt.where(FleetUsage.kind.in_(kinds))
    total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    number = page_within(page, total, per_page)
    rows = s.scalars(
        stmt.order_by(FleetUsage.at.desc(), FleetUsage.id.desc())
        .limit(per_page)
        .offset((number - 1) * per_page)
    )
    items = [
        UsageView(r.id, r.at, UsageKind(r.kind), r.quantity, r.in_bundle, r.detail) for r in rows
    ]
    return Page(items, number, total, per_page)


def export_rows(
    s: Session, account_id: int, state: str | None, query: str, *, now: float | None = None
) -> Iterable[Sequence[object]]:
    """The rows of the CSV export (:data:`EXPORT_HEADER`), for the same filters as the list."""
    rows = list(s.scalars(_filtered(account_id, state, query)))
    out: list[Sequence[object]] = []
    for start in range(0, len(rows), 500):
        for view in _views(s, account_id, rows[start : start + 500], _now(now)):
            out.append(
                (
                    view.msisdn,
                    view.user_name,
                    view.site,
                    view.contract,
                    view.plan.name,
                    ", ".join(o.name for o in view.options),
                    view.state.value,
                    view.sim_kind,
                    round(view.data_used_kb / KB_PER_MB, 1),
                    view.data_bundle_mb,
                    "yes" if view.out_of_bundle else "no",
                )
            )
    return out
