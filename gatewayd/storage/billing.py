"""Billing in the database: rated usage per month, invoices per account and per client group,
their lines and consumption detail, and payments (docs/billing.md).

Sync functions taking a Session, run on the database thread. :func:`generate_invoices` is
idempotent per (account or client group, month): the unique (owner_key, period) index settles
two runs at once, each invoice being written in a savepoint of its own.

Visibility: every read takes ``account_id`` and ``client_id`` keyword arguments. An account
sees its own account invoices; a client group (its "Identifiant Client") sees its group
invoices and the account invoices of its accounts; both None is the operator, who sees all.
An invoice outside that is :class:`NotFound`, as if it did not exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gatewayd.billing.invoices import Draft, Member, UsageRow, account_draft, group_draft
from gatewayd.billing.money import Money
from gatewayd.billing.settings import BillingSettings
from gatewayd.billing.views import InvoiceDetail, InvoiceRow, LineView, PaymentView
from gatewayd.errors import Conflict, FieldError, NotFound
from gatewayd.routing.fairuse_rules import following_period, period_start
from gatewayd.status import Status
from gatewayd.storage.billing_models import (
    ACCOUNT,
    GROUP,
    PAID,
    UNPAID,
    Invoice,
    InvoiceLine,
    InvoiceUsage,
    Payment,
)
from gatewayd.storage.contacts import PER_PAGE, Page
from gatewayd.storage.models import Account, Client, Message

__all__ = [
    "ACCOUNT",
    "BILLED_STATUSES",
    "GROUP",
    "PAID",
    "UNPAID",
    "Generated",
    "InvoiceDetail",
    "InvoiceRow",
    "LineView",
    "PaymentView",
    "RatedMonth",
    "generate_invoices",
    "get_invoice",
    "list_invoices",
    "mark_paid",
    "rated_usage",
]

#: Messages the SMSC took: billed. Refused, expired (it may never have left), cancelled or
#: still waiting are not.
BILLED_STATUSES = (Status.SENT, Status.DELIVERED, Status.UNDELIVERABLE, Status.UNKNOWN)


@dataclass(frozen=True)
class Generated:
    """What one run of :func:`generate_invoices` did."""

    accounts: int  # account invoices created
    groups: int  # group invoices created
    open: int  # accounts whose month has not ended yet in their time zone (done later)


@dataclass(frozen=True)
class RatedMonth:
    """An account's month rated so far (the current consumption), as its invoice would be."""

    period: str
    draft: Draft


# -- rating from the messages -------------------------------------------------------------


def _tz(account: Account) -> ZoneInfo:
    try:
        return ZoneInfo(account.timezone or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def _usage(
    s: Session, settings: BillingSettings, account: Account, period: str
) -> tuple[UsageRow, ...]:
    tz = _tz(account)
    start, end = period_start(period, tz), period_start(following_period(period), tz)
    q = (
        select(
            Message.created_at,
            Message.destination,
            Message.scope,
            Message.part_count,
            Message.out_of_bundle,
        )
        .where(
            Message.account_id == account.id,
            Message.created_at >= start,
            Message.created_at < end,
            Message.status.in_([str(status) for status in BILLED_STATUSES]),
        )
        .execution_options(yield_per=5000)
    )
    counts: dict[tuple[str, str, bool], list[int]] = defaultdict(lambda: [0, 0])
    zone_of = settings.tariff.zone_of
    for at, destination, scope, parts, oob in s.execute(q):
        day = datetime.fromtimestamp(at, tz).date().isoformat()
        key = (day, zone_of(destination, scope), bool(oob))
        counts[key][0] += 1
        counts[key][1] += parts
    return tuple(UsageRow(d, z, o, m, p) for (d, z, o), (m, p) in sorted(counts.items()))


def _plan(account: Account, period: str) -> str | None:
    """The account's plan during ``period`` (a pending plan applies from its month)."""
    if account.pending_plan and account.plan_effective and account.plan_effective <= period:
        return account.pending_plan
    return account.plan


def _start(account: Account) -> date:
    return datetime.fromtimestamp(account.created_at, _tz(account)).date()


def _draft(s: Session, settings: BillingSettings, account: Account, period: str) -> Draft:
    usage = _usage(s, settings, account, period)
    plan = _plan(account, period)
    return account_draft(settings.tariff, settings.vat_rate, plan, period, _start(account), usage)


def rated_usage(s: Session, settings: BillingSettings, account_id: int, period: str) -> RatedMonth:
    """``period`` of the account rated as its invoice would be (the month so far when current)."""
    account = s.get(Account, account_id)
    if account is None:
        raise NotFound("no such account")
    return RatedMonth(period, _draft(s, settings, account, period))


# -- generation ---------------------------------------------------------------------------


def check_period(period: str) -> str:
    """``period`` if it is a month "YYYY-MM"; FieldError otherwise."""
    try:
        if len(period) != 7 or period[4] != "-":
            raise ValueError(period)
        date(int(period[:4]), int(period[5:7]), 1)
    except ValueError:
        raise FieldError("%(period)s is not a month (YYYY-MM).", period=period) from None
    return period


def _write(s: Session, invoice: Invoice, draft: Draft) -> bool:
    """Insert the invoice with its lines and detail in a savepoint; False if it exists."""
    try:
        with s.begin_nested():
            s.add(invoice)
            s.flush()
            for i, line in enumerate(draft.lines):
                s.add(
                    InvoiceLine(
                        invoice_id=invoice.id,
                        position=i,
                        kind=line.kind,
                        description=line.description,
                        zone=line.zone,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                        amount=line.amount.minor,
                    )
                )
            for row in draft.usage:
                s.add(
                    InvoiceUsage(
                        invoice_id=invoice.id,
                        day=row.day,
                        zone=row.zone,
                        out_of_bundle=row.out_of_bundle,
                        messages=row.messages,
                        parts=row.parts,
                    )
                )
            s.flush()
    except IntegrityError:
        return False
    return True


def _invoice(kind: str, key: str, period: str, draft: Draft, now: float) -> Invoice:
    return Invoice(
        number=f"F{period.replace('-', '')}-{key.upper()}",
        kind=kind,
        owner_key=key,
        period=period,
        currency=draft.currency,
        subtotal=draft.subtotal.minor,
        vat_rate=str(draft.vat_rate),
        vat=draft.vat.minor,
        total=draft.total.minor,
        state=UNPAID,
        issued_at=now,
        paid_at=None,
    )


def _exists(s: Session, key: str, period: str) -> bool:
    q = select(Invoice.id).where(Invoice.owner_key == key, Invoice.period == period)
    return s.scalar(q) is not None


def generate_invoices(s: Session, settings: BillingSettings, period: str, now: float) -> Generated:
    """Issue the invoices of ``period`` ("YYYY-MM") that do not exist yet: one per customer
    account whose month has ended at ``now`` in its time zone and that has something to bill,
    then one per client group once none of its accounts' months is still open. Running it
    again creates nothing new."""
    check_period(period)
    created = groups = still_open = 0
    open_clients: set[int] = set()
    accounts = s.scalars(select(Account).where(Account.kind == "customer").order_by(Account.id))
    for account in accounts:
        end = period_start(following_period(period), _tz(account))
        if account.created_at >= end:
            continue
        if now < end:
            still_open += 1
            if account.client_id is not None:
                open_clients.add(account.client_id)
            continue
        key = f"a{account.id}"
        if _exists(s, key, period):
            continue
        draft = _draft(s, settings, account, period)
        if draft.empty:
            continue
        invoice = _invoice(ACCOUNT, key, period, draft, now)
        invoice.account_id, invoice.client_id = account.id, account.client_id
        invoice.customer_ref = account.name
        invoice.customer_name = account.company_name or account.name
        invoice.customer_address = account.address
        created += _write(s, invoice, draft)
    for client in s.scalars(select(Client).order_by(Client.id)):
        if client.id not in open_clients:
            groups += _group(s, settings, client, period, now)
    return Generated(created, groups, still_open)


def _vat(inv: Invoice) -> Money:
    return Money(inv.vat, inv.currency)


def _group(s: Session, settings: BillingSettings, client: Client, period: str, now: float) -> bool:
    key = f"c{client.id}"
    members = list(
        s.scalars(
            select(Invoice)
            .where(
                Invoice.kind == ACCOUNT,
                Invoice.client_id == client.id,
                Invoice.period == period,
                Invoice.group_invoice_id.is_(None),
            )
            .order_by(Invoice.id)
        )
    )
    if not members or _exists(s, key, period):
        return False
    currency = settings.tariff.currency
    draft = group_draft(
        currency,
        settings.vat_rate,
        [
            Member(
                m.number, m.customer_ref, Money(m.subtotal, m.currency), Money(m.vat, m.currency)
            )
            for m in members
        ],
    )
    invoice = _invoice(GROUP, key, period, draft, now)
    invoice.client_id = client.id
    invoice.customer_ref, invoice.customer_name = client.identifier, client.name
    invoice.customer_address = ""
    if not _write(s, invoice, draft):
        return False
    ids = [m.id for m in members]
    s.execute(update(Invoice).where(Invoice.id.in_(ids)).values(group_invoice_id=invoice.id))
    return True


# -- reading ------------------------------------------------------------------------------


def _visible(q: Select[Invoice], account_id: int | None, client_id: int | None) -> Select[Invoice]:
    if account_id is not None:
        q = q.where(Invoice.kind == ACCOUNT, Invoice.account_id == account_id)
    if client_id is not None:
        q = q.where(Invoice.client_id == client_id)
    return q


def _row(inv: Invoice) -> InvoiceRow:
    return InvoiceRow(
        inv.id,
        inv.number,
        inv.kind,
        inv.period,
        inv.customer_ref,
        inv.customer_name,
        Money(inv.total, inv.currency),
        inv.state,
        inv.issued_at,
        inv.paid_at,
        inv.account_id,
        inv.client_id,
        inv.group_invoice_id,
    )


def list_invoices(
    s: Session,
    *,
    account_id: int | None,
    client_id: int | None,
    state: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
    period: str | None = None,
) -> Page[InvoiceRow]:
    """One page of the invoices visible (module docstring), newest month first; ``period``
    ("YYYY-MM") keeps one month's."""
    q = _visible(select(Invoice), account_id, client_id)
    if state is not None:
        q = q.where(Invoice.state == state)
    if period is not None:
        q = q.where(Invoice.period == period)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    pages = max(1, -(-total // per_page))
    number = min(max(1, page), pages)
    found = s.scalars(
        q.order_by(Invoice.period.desc(), Invoice.kind.desc(), Invoice.id)
        .offset((number - 1) * per_page)
        .limit(per_page)
    )
    return Page([_row(inv) for inv in found], number, total, per_page)


def _get(s: Session, invoice_id: int, account_id: int | None, client_id: int | None) -> Invoice:
    q = _visible(select(Invoice).where(Invoice.id == invoice_id), account_id, client_id)
    inv = s.scalar(q)
    if inv is None:
        raise NotFound("no such invoice")
    return inv


def _payment(s: Session, inv: Invoice) -> PaymentView | None:
    payer = inv.group_invoice_id if inv.group_invoice_id is not None else inv.id
    found = s.execute(
        select(Payment, Invoice.number)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Payment.invoice_id == payer)
    ).first()
    if found is None:
        return None
    pay, number = found
    return PaymentView(
        pay.invoice_id,
        number,
        pay.receipt_number,
        pay.method,
        Money(pay.amount, pay.currency),
        pay.paid_at,
    )


def get_invoice(
    s: Session, invoice_id: int, *, account_id: int | None, client_id: int | None
) -> InvoiceDetail:
    """An invoice with its lines, consumption detail and payment; NotFound if not visible."""
    inv = _get(s, invoice_id, account_id, client_id)
    lines = s.scalars(
        select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id).order_by(InvoiceLine.position)
    )
    usage = s.scalars(
        select(InvoiceUsage)
        .where(InvoiceUsage.invoice_id == inv.id)
        .order_by(InvoiceUsage.day, InvoiceUsage.zone, InvoiceUsage.out_of_bundle)
    )
    group_number = None
    if inv.group_invoice_id is not None:
        group_number = s.scalar(select(Invoice.number).where(Invoice.id == inv.group_invoice_id))
    return InvoiceDetail(
        _row(inv),
        Money(inv.subtotal, inv.currency),
        inv.vat_rate,
        Money(inv.vat, inv.currency),
        inv.customer_address,
        tuple(
            LineView(
                line.kind,
                line.description,
                line.zone,
                line.quantity,
                line.unit_price,
                Money(line.amount, inv.currency),
            )
            for line in lines
        ),
        tuple(UsageRow(u.day, u.zone, u.out_of_bundle, u.messages, u.parts) for u in usage),
        _payment(s, inv),
        group_number,
    )


def _members(s: Session, group_id: int) -> Iterator[int]:
    yield from s.scalars(select(Invoice.id).where(Invoice.group_invoice_id == group_id))


# -- payment ------------------------------------------------------------------------------


def check_receipt_number(receipt_number: str) -> str:
    receipt_number = receipt_number.strip()
    if not 1 <= len(receipt_number) <= 64 or not receipt_number.isprintable():
        raise FieldError("A receipt number is 1 to 64 printable characters.")
    return receipt_number


def mark_paid(
    s: Session, invoice_id: int, receipt_number: str, method: str, now: float
) -> PaymentView:
    """Record the payment in full of an unpaid invoice, with its receipt number; a group
    invoice's payment pays its accounts' invoices too. An account invoice billed by a group
    invoice is paid through that one (Conflict), as is an invoice already paid; a receipt
    number already used is a 409 FieldError. Nothing is written when it refuses."""
    receipt_number = check_receipt_number(receipt_number)
    method = method.strip()
    if not 1 <= len(method) <= 32:
        raise FieldError("A payment method is 1 to 32 characters.")
    inv = s.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update())
    if inv is None:
        raise NotFound("no such invoice")
    if inv.state == PAID:
        raise Conflict(f"invoice {inv.number} is already paid")
    if inv.group_invoice_id is not None:
        group = s.scalar(select(Invoice.number).where(Invoice.id == inv.group_invoice_id))
        raise Conflict(f"invoice {inv.number} is billed in group invoice {group}: pay that one")
    pay = Payment(
        invoice_id=inv.id,
        receipt_number=receipt_number,
        method=method,
        amount=inv.total,
        currency=inv.currency,
        paid_at=now,
    )
    try:
        with s.begin_nested():
            s.add(pay)
            s.flush()
    except IntegrityError:
        raise FieldError(
            "The receipt number %(number)s is already used.", 409, number=receipt_number
        ) from None
    inv.state, inv.paid_at = PAID, now
    members = list(_members(s, inv.id))
    if members:
        s.execute(update(Invoice).where(Invoice.id.in_(members)).values(state=PAID, paid_at=now))
    s.flush()
    return PaymentView(
        inv.id, inv.number, receipt_number, method, Money(inv.total, inv.currency), now
    )
