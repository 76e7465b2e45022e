"""The customer's billing (/billing): the month's consumption so far, the invoices with their
PDF and CSV, paying an unpaid invoice through the ``payment`` hook, and printable receipts.

Who sees what (docs/console.md, "Billing"):

- every customer user sees the month's consumption in SMS parts; amounts, invoices and payment
  are the account's managers' (a user gets 404 on the invoice pages);
- a manager sees the account's own invoices ("account" view) and, when the account is in a
  client group, the group's view (the group invoices and its accounts' invoices, as the
  operator's "Identifiant Client" covers all of a company's accounts);
- an invoice of another account or group is 404.

Paying twice never charges twice: the pay form carries an attempt key, made when the page is
shown; :class:`~gatewayd.billing.payments.PaymentDesk` answers a key already used with its
first result and lets one attempt per invoice run at a time, and the database records one
payment per invoice (:func:`~gatewayd.storage.billing.mark_paid` refuses a second).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from twisted.web.iweb import IRequest

from gatewayd.admin.base import FLASHES, ConsoleBase, app
from gatewayd.admin.pages_audit import who
from gatewayd.admin.rendering import form_value, page_number, security_headers
from gatewayd.billing.documents import invoice_csv, invoice_pdf, receipt_pdf
from gatewayd.billing.invoices import UsageRow
from gatewayd.billing.money import Money
from gatewayd.billing.payments import (
    Approved,
    Declined,
    PaymentDesk,
    PaymentRequest,
    Pending,
    checked_key,
)
from gatewayd.billing.settings import BillingSettings
from gatewayd.errors import Conflict, FieldError, GatewayError, NotFound
from gatewayd.plugins.payment_manual import METHOD as MANUAL
from gatewayd.storage.audit import Who, audit
from gatewayd.storage.billing import (
    PAID,
    UNPAID,
    InvoiceDetail,
    get_invoice,
    list_invoices,
    mark_paid,
    rated_usage,
)
from gatewayd.storage.models import Account
from gatewayd.storage.websessions import SessionInfo

FLASHES["invoice_paid"] = "The invoice is paid. Thank you!"
FLASHES["invoice_already_paid"] = "This invoice was already paid: nothing more was charged."
FLASHES["pay_by_transfer"] = (
    "Pay by transfer as shown below: the invoice is marked paid on receipt."
)

#: The states' labels (English msgids).
STATES = {UNPAID: "Unpaid", PAID: "Paid"}
#: The payment methods' labels (English msgids); a plugin's own method shows as its name.
METHODS = {"card": "Card", "manual": "Bank transfer"}
PER_PAGE = 20
CARD = "card"


@dataclass(frozen=True)
class ZoneUse:
    """The month's messages and SMS parts to one zone, and how many parts were out of bundle."""

    zone: str
    messages: int
    parts: int
    out_of_bundle: int


def zone_totals(usage: Iterable[UsageRow]) -> list[ZoneUse]:
    """The consumption detail's days added up per zone, by zone name."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in usage:
        found = totals[row.zone]
        found[0] += row.messages
        found[1] += row.parts
        found[2] += row.parts if row.out_of_bundle else 0
    return [ZoneUse(zone, *figures) for zone, figures in sorted(totals.items())]


def money_text(language: str) -> Callable[[Money], str]:
    """An amount as people read it: "1 234,50 EUR" in French, "1,234.50 EUR" in English."""

    def shown(value: Money) -> str:
        text = f"{value.major:,}"
        if language == "fr":
            text = text.replace(",", "\u202f").replace(".", ",")
        return f"{text} {value.currency}"

    return shown


def current_period(now: float, timezone: str | None) -> str:
    """The month ("YYYY-MM") ``now`` is in, in the account's time zone."""
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    return datetime.fromtimestamp(now, zone).strftime("%Y-%m")


def _account_row(s: Session, account_id: int) -> tuple[str | None, int | None]:
    account = s.get(Account, account_id)
    if account is None:
        raise NotFound("no such account")
    return account.timezone, account.client_id


def _visible_invoice(
    s: Session, invoice_id: int, account_id: int, client_id: int | None
) -> InvoiceDetail:
    """The invoice if the account sees it: its own, or its client group's (NotFound else)."""
    try:
        return get_invoice(s, invoice_id, account_id=account_id, client_id=None)
    except NotFound:
        if client_id is None:
            raise
        return get_invoice(s, invoice_id, account_id=None, client_id=client_id)


def mark_paid_audited(
    s: Session, invoice_id: int, receipt_number: str, method: str, by: Who, now: float
) -> None:
    """Mark the invoice paid and record who did it, in one transaction."""
    row = get_invoice(s, invoice_id, account_id=None, client_id=None).row
    payment = mark_paid(s, invoice_id, receipt_number, method, now)
    detail = f"invoice {row.number}: paid by {method}, receipt {payment.receipt_number}"
    audit(s, by.actor, row.account_id, "invoice_paid", detail, now, by.ip)


class BillingBase(ConsoleBase):
    """What the customer's and the operator's billing pages share."""

    _bill_desk_made: PaymentDesk | None = None

    def _bill_settings(self) -> BillingSettings:
        return self._services.billing or BillingSettings()

    def _bill_desk(self) -> PaymentDesk:
        if self._bill_desk_made is None:
            self._bill_desk_made = PaymentDesk(self._services.payments.call())
        return self._bill_desk_made

    def _bill_money(self, session: SessionInfo) -> Callable[[Money], str]:
        return money_text(self._bill_language(session))

    def _bill_language(self, session: SessionInfo) -> str:
        from gatewayd.admin.i18n import pick_language

        return pick_language(session.user.language)

    def _bill_document(
        self, request: IRequest, session: SessionInfo, detail: InvoiceDetail, kind: str
    ) -> bytes:
        """The invoice's PDF or CSV as a download, named by its number."""
        number = detail.row.number
        language = self._bill_language(session)
        if kind == "pdf":
            body = invoice_pdf(detail, language, self._bill_settings().issuer)
            content_type = b"application/pdf"
        else:
            body = invoice_csv(detail, language)
            content_type = b"text/csv; charset=utf-8"
        return self._bill_download(request, f"{number}.{kind}", body, content_type)

    @staticmethod
    def _bill_download(
        request: IRequest, filename: str, body: bytes, content_type: bytes = b"application/pdf"
    ) -> bytes:
        """``body`` as an attachment; the file name keeps ASCII letters, digits and ``._-``
        (a receipt number may hold any printable character)."""
        security_headers(request)
        safe = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in filename)
        request.setHeader(b"Content-Type", content_type)
        request.setHeader(b"Content-Disposition", f'attachment; filename="{safe}"'.encode())
        return body


class BillingPages(BillingBase):
    async def _bill_manager(self, request: IRequest) -> tuple[SessionInfo, int | None]:
        """A manager's session and the account's client group (a user gets 404)."""
        session = await self._customer(request)
        if session.user.role != "manager":
            raise NotFound("no such page")
        _tz, client_id = await self._db.run(
            "billing_account", _account_row, session.user.account.id
        )
        return session, client_id

    @app.route("/billing", methods=["GET"])
    async def billing_home(self, request: IRequest) -> str:
        session = await self._customer(request)
        account_id = session.user.account.id
        timezone, client_id = await self._db.run("billing_account", _account_row, account_id)
        period = current_period(self._clock.seconds(), timezone)
        current = await self._db.run(
            "rated_usage", rated_usage, self._bill_settings(), account_id, period
        )
        manager = session.user.role == "manager"
        view = "group" if client_id is not None and form_value(request, "view") == "group" else ""
        invoices = None
        if manager:
            invoices = await self._db.run(
                "list_invoices",
                lambda s: list_invoices(
                    s,
                    account_id=None if view else account_id,
                    client_id=client_id if view else None,
                    page=page_number(request),
                    per_page=PER_PAGE,
                ),
            )
        return await self._customer_page(
            request,
            "billing.html",
            session,
            manager=manager,
            period=period,
            current=current.draft,
            zones=zone_totals(current.draft.usage),
            invoices=invoices.items if invoices else [],
            page=invoices,
            view=view,
            in_group=client_id is not None,
            states=STATES,
            money=self._bill_money(session),
        )

    async def _bill_invoice(
        self, request: IRequest, invoice_id: int
    ) -> tuple[SessionInfo, InvoiceDetail]:
        session, client_id = await self._bill_manager(request)
        detail = await self._db.run(
            "get_invoice", _visible_invoice, invoice_id, session.user.account.id, client_id
        )
        return session, detail

    async def _bill_invoice_page(
        self,
        request: IRequest,
        session: SessionInfo,
        detail: InvoiceDetail,
        error: str = "",
        code: int = 200,
    ) -> str:
        payments = self._services.payments
        return await self._customer_page(
            request,
            "invoice.html",
            session,
            code,
            invoice=detail.row,
            detail=detail,
            lines=detail.lines,
            usage=detail.usage,
            card=payments.offered(CARD) is not None,
            manual=payments.offered(MANUAL),
            attempt=secrets.token_urlsafe(24),
            error=error,
            states=STATES,
            money=self._bill_money(session),
        )

    @app.route("/billing/invoices/<int:invoice_id>", methods=["GET"])
    async def billing_invoice(self, request: IRequest, invoice_id: int) -> str:
        session, detail = await self._bill_invoice(request, invoice_id)
        return await self._bill_invoice_page(request, session, detail)

    @app.route("/billing/invoices/<int:invoice_id>.pdf", methods=["GET"])
    async def billing_invoice_pdf(self, request: IRequest, invoice_id: int) -> bytes:
        session, detail = await self._bill_invoice(request, invoice_id)
        return self._bill_document(request, session, detail, "pdf")

    @app.route("/billing/invoices/<int:invoice_id>.csv", methods=["GET"])
    async def billing_invoice_csv(self, request: IRequest, invoice_id: int) -> bytes:
        session, detail = await self._bill_invoice(request, invoice_id)
        return self._bill_document(request, session, detail, "csv")

    @app.route("/billing/invoices/<int:invoice_id>/pay", methods=["POST"])
    async def billing_invoice_pay(self, request: IRequest, invoice_id: int) -> str | bytes:
        session, detail = await self._bill_invoice(request, invoice_id)
        self._check_csrf(request, session)
        here = f"/billing/invoices/{invoice_id}"
        if detail.row.state == PAID:
            return self._redirect(request, f"{here}/receipt", "invoice_already_paid")
        method = form_value(request, "method")
        if method == MANUAL and self._services.payments.offered(MANUAL) is not None:
            return self._redirect(request, here, "pay_by_transfer")
        try:
            key = checked_key(form_value(request, "attempt"))
            if detail.group_number is not None:
                raise Conflict(
                    "This invoice is billed in the client group's invoice: pay that one."
                )
            if self._services.payments.offered(method) is None:
                raise FieldError("This payment method is not available.")
        except GatewayError as error:
            message = self._error_text(session, error)
            return await self._bill_invoice_page(
                request, session, detail, message, error.http_status
            )
        total = detail.row.total
        payment = PaymentRequest(
            invoice_id,
            session.user.account.name,
            total,
            method,
            here,
            f"{invoice_id}-{key}",
        )
        result = await self._bill_desk().attempt(payment)
        if isinstance(result, Declined):
            message = self._(session, result.reason)
            return await self._bill_invoice_page(request, session, detail, message, 402)
        if isinstance(result, Pending):
            return self._bill_pending(request, result.redirect_url, here)
        return await self._bill_record(request, session, detail, result, method)

    def _bill_pending(self, request: IRequest, url: str, here: str) -> bytes:
        """To the processor's page (https) or back into the console; nothing else."""
        safe = url.startswith("https://") or (url.startswith("/") and not url.startswith("//"))
        return self._redirect(request, url if safe else here)

    async def _bill_record(
        self,
        request: IRequest,
        session: SessionInfo,
        detail: InvoiceDetail,
        approved: Approved,
        method: str,
    ) -> str | bytes:
        here = f"/billing/invoices/{detail.row.id}"
        try:
            await self._db.run(
                "mark_paid",
                mark_paid_audited,
                detail.row.id,
                approved.receipt_number,
                method,
                who(request, session),
                self._clock.seconds(),
            )
        except Conflict:
            # Paid meanwhile (another tab, an operator): the processor's attempt key lets it
            # refund or refuse a second charge; the customer sees the invoice's receipt.
            return self._redirect(request, f"{here}/receipt", "invoice_already_paid")
        return self._redirect(request, f"{here}/receipt", "invoice_paid")

    @app.route("/billing/invoices/<int:invoice_id>/receipt", methods=["GET"])
    async def billing_receipt(self, request: IRequest, invoice_id: int) -> str:
        session, detail = await self._bill_invoice(request, invoice_id)
        if detail.payment is None:
            raise NotFound("no receipt: the invoice is not paid")
        return await self._customer_page(
            request,
            "receipt.html",
            session,
            invoice=detail.row,
            detail=detail,
            payment=detail.payment,
            issuer=self._bill_settings().issuer,
            methods=METHODS,
            money=self._bill_money(session),
        )

    @app.route("/billing/invoices/<int:invoice_id>/receipt.pdf", methods=["GET"])
    async def billing_receipt_pdf(self, request: IRequest, invoice_id: int) -> bytes:
        session, detail = await self._bill_invoice(request, invoice_id)
        if detail.payment is None:
            raise NotFound("no receipt: the invoice is not paid")
        body = receipt_pdf(
            detail, detail.payment, self._bill_language(session), self._bill_settings().issuer
        )
        return self._bill_download(request, f"receipt-{detail.payment.receipt_number}.pdf", body)
