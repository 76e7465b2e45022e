"""The operator's billing (/admin/billing): every account's and client group's invoices,
filtered by state and by account or client group; issuing a month's invoices (the billing
core's generation, idempotent per month: running it again creates nothing new); an invoice's
detail and downloads; and the manual payment: an admin marks an unpaid invoice paid with the
receipt number of the transfer. The read-only viewer sees everything and changes nothing;
every change is in the audit log, written in the change's transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from twisted.web.iweb import IRequest

from gatewayd.admin.base import FLASHES, app
from gatewayd.admin.pages_audit import OperatorBase
from gatewayd.admin.pages_billing import (
    METHODS,
    PER_PAGE,
    STATES,
    BillingBase,
    mark_paid_audited,
)
from gatewayd.admin.rendering import form_value, page_number
from gatewayd.billing.settings import BillingSettings
from gatewayd.errors import Conflict, FieldError
from gatewayd.plugins.payment_manual import METHOD as MANUAL
from gatewayd.storage.audit import Who, audit
from gatewayd.storage.billing import (
    Generated,
    InvoiceDetail,
    InvoiceRow,
    check_period,
    generate_invoices,
    get_invoice,
    list_invoices,
)
from gatewayd.storage.contacts import Page
from gatewayd.storage.models import Account, Client
from gatewayd.storage.websessions import SessionInfo

FLASHES["invoices_generated"] = "The month's invoices have been issued."
FLASHES["invoice_marked_paid"] = "The invoice is marked paid."


_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class InvoiceFilter:
    state: str = ""  # "", "unpaid" or "paid"
    account: str = ""  # an account's name, exactly
    client: str = ""  # a client group's identifier, exactly
    month: str = ""  # "YYYY-MM", or "" for every month


def _ids(s: Session, found: InvoiceFilter) -> tuple[int | None, int | None]:
    """The account's and the client group's ids; an unknown one is a 404 FieldError."""
    account_id = client_id = None
    if found.account:
        account_id = s.scalar(select(Account.id).where(Account.name == found.account))
        if account_id is None:
            raise FieldError("No account is named %(name)s.", 404, name=found.account)
    if found.client:
        client_id = s.scalar(select(Client.id).where(Client.identifier == found.client))
        if client_id is None:
            raise FieldError("No client group has the identifier %(name)s.", 404, name=found.client)
    return account_id, client_id


def find_invoices(s: Session, found: InvoiceFilter, page: int) -> Page[InvoiceRow]:
    account_id, client_id = _ids(s, found)
    return list_invoices(
        s,
        account_id=account_id,
        client_id=client_id,
        state=found.state or None,
        period=found.month or None,
        page=page,
        per_page=PER_PAGE,
    )


def generate_audited(
    s: Session, settings: BillingSettings, period: str, by: Who, now: float
) -> Generated:
    done = generate_invoices(s, settings, period, now)
    detail = (
        f"period {period}: {done.accounts} account invoices, {done.groups} group invoices, "
        f"{done.open} accounts whose month is not over"
    )
    audit(s, by.actor, None, "invoices_generated", detail, now, by.ip)
    return done


class AdminBillingPages(OperatorBase, BillingBase):
    def _invoice_filter(self, request: IRequest) -> InvoiceFilter:
        state = form_value(request, "state")
        return InvoiceFilter(
            state if state in STATES else "",
            form_value(request, "account").strip(),
            form_value(request, "client").strip(),
            month if _MONTH.fullmatch(month := form_value(request, "month").strip()) else "",
        )

    async def _admin_billing_page(
        self,
        request: IRequest,
        session: SessionInfo,
        error: str = "",
        code: int = 200,
        period: str = "",
    ) -> str:
        found = self._invoice_filter(request)
        params = {k: v for k, v in vars(found).items() if v}
        try:
            page = await self._db.run("find_invoices", find_invoices, found, page_number(request))
        except FieldError as refused:
            error, code = error or self._error_text(session, refused), refused.http_status
            page = Page([], 1, 0, PER_PAGE)
        return self._page(
            request,
            "admin_billing.html",
            session,
            code,
            invoices=page.items,
            page=page,
            filter=found,
            params=params,
            states=STATES,
            error=error,
            period=period,
            money=self._bill_money(session),
        )

    @app.route("/admin/billing", methods=["GET"])
    async def admin_billing(self, request: IRequest) -> str:
        session = await self._operator(request)
        return await self._admin_billing_page(request, session)

    @app.route("/admin/billing/generate", methods=["POST"])
    async def admin_billing_generate(self, request: IRequest) -> str | bytes:
        session, by, now = await self._writer(request)
        period = form_value(request, "period").strip()
        try:
            done = await self._db.run(
                "generate_invoices",
                generate_audited,
                self._bill_settings(),
                check_period(period),
                by,
                now,
            )
        except FieldError as error:
            message = self._error_text(session, error)
            return await self._admin_billing_page(
                request, session, message, error.http_status, period
            )
        return self._redirect(
            request, "/admin/billing", "invoices_generated", period=period, made=done.accounts
        )

    async def _admin_invoice(self, invoice_id: int) -> InvoiceDetail:
        return await self._db.run(
            "get_invoice",
            lambda s: get_invoice(s, invoice_id, account_id=None, client_id=None),
        )

    async def _admin_invoice_page(
        self,
        request: IRequest,
        session: SessionInfo,
        invoice_id: int,
        error: str = "",
        code: int = 200,
        receipt: str = "",
    ) -> str:
        detail = await self._admin_invoice(invoice_id)
        return self._page(
            request,
            "admin_billing_invoice.html",
            session,
            code,
            invoice=detail.row,
            detail=detail,
            lines=detail.lines,
            usage=detail.usage,
            payment=detail.payment,
            states=STATES,
            methods=METHODS,
            error=error,
            receipt=receipt,
            money=self._bill_money(session),
        )

    @app.route("/admin/billing/invoices/<int:invoice_id>", methods=["GET"])
    async def admin_billing_invoice(self, request: IRequest, invoice_id: int) -> str:
        session = await self._operator(request)
        return await self._admin_invoice_page(request, session, invoice_id)

    @app.route("/admin/billing/invoices/<int:invoice_id>.pdf", methods=["GET"])
    async def admin_billing_invoice_pdf(self, request: IRequest, invoice_id: int) -> bytes:
        session = await self._operator(request)
        detail = await self._admin_invoice(invoice_id)
        return self._bill_document(request, session, detail, "pdf")

    @app.route("/admin/billing/invoices/<int:invoice_id>.csv", methods=["GET"])
    async def admin_billing_invoice_csv(self, request: IRequest, invoice_id: int) -> bytes:
        session = await self._operator(request)
        detail = await self._admin_invoice(invoice_id)
        return self._bill_document(request, session, detail, "csv")

    @app.route("/admin/billing/invoices/<int:invoice_id>/paid", methods=["POST"])
    async def admin_billing_mark_paid(self, request: IRequest, invoice_id: int) -> str | bytes:
        session, by, now = await self._writer(request)
        receipt = form_value(request, "receipt_number")
        try:
            await self._db.run("mark_paid", mark_paid_audited, invoice_id, receipt, MANUAL, by, now)
        except Conflict as error:
            # The core's message names the invoice in English: say it in the admin's language.
            detail = await self._admin_invoice(invoice_id)
            if detail.group_number is not None:
                message = self._(
                    session,
                    "This invoice is billed in the client group's invoice %(number)s: "
                    "pay that one.",
                    number=detail.group_number,
                )
            else:
                message = self._(session, "This invoice is already paid.")
            return await self._admin_invoice_page(
                request, session, invoice_id, message, error.http_status, receipt
            )
        except FieldError as error:
            message = self._error_text(session, error)
            return await self._admin_invoice_page(
                request, session, invoice_id, message, error.http_status, receipt
            )
        return self._redirect(
            request, f"/admin/billing/invoices/{invoice_id}", "invoice_marked_paid"
        )
