"""The operator's administration of accounts: the list (search, state, pages), create and
edit (plan, quota and fair-use overrides, SMPP credentials and limits, IP allow-list, time
zone, country, alerts, share, routing groups, client group), sender IDs, suspend and
reactivate, lift a fair-use suspension. Admins change, viewers look; every change is audited
and reloads the pipeline's account directory, so the running gateway applies it at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from twisted.web.iweb import IRequest

from gatewayd.admin.base import FLASHES, app
from gatewayd.admin.operator_forms import (
    FIELDS,
    check_name,
    form_values,
    parse_account_form,
)
from gatewayd.admin.pages_audit import OperatorBase
from gatewayd.admin.rendering import form_value
from gatewayd.errors import FieldError, GatewayError
from gatewayd.routing.fairuse_rules import BUILTIN_PLANS
from gatewayd.security import generate_password, hash_secret
from gatewayd.storage.account_admin import (
    AccountDetail,
    account_detail,
    create_customer,
    edit_account,
    find_accounts,
    grant_sender,
    reset_smpp_password,
    revoke_sender,
    set_suspended,
)
from gatewayd.storage.clients import all_clients
from gatewayd.storage.fair_use import FairUseStatus, account_action, statuses
from gatewayd.storage.websessions import SessionInfo

#: SMPP 3.4 passwords are at most 8 characters.
SMPP_PASSWORD_LENGTH = 8
STATES = ("active", "suspended", "fair_use")

FLASHES["account_created"] = "The account has been created."
FLASHES["account_saved"] = "The account has been saved."
FLASHES["account_unchanged"] = "Nothing was changed."
FLASHES["account_suspended"] = "The account is suspended: its binds and submissions are refused."
FLASHES["account_reactivated"] = "The account is active again."
FLASHES["sender_granted"] = "The sender ID has been granted."
FLASHES["sender_revoked"] = "The sender ID has been revoked."


def local_time(moment: float | None) -> str | None:
    """A time for people: UTC, to the minute."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).strftime("%d/%m/%Y %H:%M UTC")


class OperatorPages(OperatorBase):
    async def _fair_use(self) -> dict[int, FairUseStatus]:
        return await self._db.run("fair_use_statuses", statuses, self._clock.seconds())

    def _plans(self) -> list[str]:
        policy = self._submissions.fair_use
        return sorted(policy.plans if policy is not None else BUILTIN_PLANS)

    def _default_plan(self) -> str:
        policy = self._submissions.fair_use
        return policy.default_plan if policy is not None else "standard"

    # -- the list ---------------------------------------------------------------------------
    @app.route("/admin/accounts", methods=["GET"])
    async def accounts(self, request: IRequest) -> str:
        session = await self._operator(request)
        query = form_value(request, "q").strip()
        state = form_value(request, "state")
        state = state if state in STATES else ""
        fair_use = await self._fair_use()
        held = frozenset(i for i, status in fair_use.items() if status.suspended_until)
        page = await self._paged(request, "find_accounts", find_accounts, query, state, held)
        return self._page(
            request,
            "accounts.html",
            session,
            accounts=page.items,
            fair_use={
                account_id: (local_time(status.suspended_until), status)
                for account_id, status in fair_use.items()
            },
            page=page,
            query=query,
            state=state,
            params={k: v for k, v in (("q", query), ("state", state)) if v},
        )

    # -- create -----------------------------------------------------------------------------
    async def _form_page(
        self,
        request: IRequest,
        session: SessionInfo,
        values: dict[str, str],
        error: str = "",
        code: int = 200,
    ) -> str:
        clients = await self._db.run("all_clients", all_clients)
        return self._page(
            request,
            "account_new.html",
            session,
            code,
            values=values,
            error=error,
            plans=self._plans(),
            default_plan=self._default_plan(),
            clients=clients,
        )

    @app.route("/admin/accounts/new", methods=["GET"])
    async def account_new(self, request: IRequest) -> str:
        session = await self._operator(request, write=True)
        return await self._form_page(request, session, {"timezone": "UTC", "share": "1"})

    @app.route("/admin/accounts", methods=["POST"])
    async def account_create(self, request: IRequest) -> str | bytes:
        session, by, now = await self._writer(request)
        values = {k: form_value(request, k) for k in FIELDS}
        clients = {c[0] for c in await self._db.run("all_clients", all_clients)}
        try:
            name = check_name(values["name"])
            settings = parse_account_form(values, self._plans(), clients)
            password = generate_password(SMPP_PASSWORD_LENGTH) if settings.smpp_system_id else ""
            hashed = await self._db.offload(hash_secret, password) if password else None
            account_id = await self._db.run(
                "create_account", create_customer, name, settings, hashed, by, now
            )
        except GatewayError as error:
            if error.http_status >= 500:
                raise
            return await self._form_page(
                request, session, values, self._error_text(session, error), error.http_status
            )
        await self._reload_directory()
        if not password:
            return self._redirect(request, f"/admin/accounts/{account_id}", "account_created")
        return await self._account_page(
            request, session, account_id, flash="account_created", smpp_password=password
        )

    # -- one account ------------------------------------------------------------------------
    async def _account_page(
        self,
        request: IRequest,
        session: SessionInfo,
        account_id: int,
        values: dict[str, str] | None = None,
        error: str = "",
        code: int = 200,
        flash: str = "",
        smpp_password: str = "",
    ) -> str:
        detail: AccountDetail = await self._db.run("account_detail", account_detail, account_id)
        status = (await self._fair_use()).get(account_id)
        clients = await self._db.run("all_clients", all_clients)
        context: dict[str, Any] = {}
        if flash:  # a page rendered after a POST (it shows a password once: no redirect)
            context["notice"] = FLASHES[flash]
        return self._page(
            request,
            "account.html",
            session,
            code,
            account=detail,
            values=values if values is not None else form_values(detail.settings),
            error=error,
            plans=self._plans(),
            default_plan=self._default_plan(),
            clients=clients,
            fair_use=status,
            fair_use_until=local_time(status.suspended_until) if status else None,
            created=local_time(detail.created_at),
            smpp_password=smpp_password,
            **context,
        )

    @app.route("/admin/accounts/<int:account_id>", methods=["GET"])
    async def account(self, request: IRequest, account_id: int) -> str:
        session = await self._operator(request)
        return await self._account_page(request, session, account_id)

    @app.route("/admin/accounts/<int:account_id>", methods=["POST"])
    async def account_save(self, request: IRequest, account_id: int) -> str | bytes:
        session, by, now = await self._writer(request)
        values = {k: form_value(request, k) for k in FIELDS}
        clients = {c[0] for c in await self._db.run("all_clients", all_clients)}
        try:
            settings = parse_account_form(values, self._plans(), clients)
            detail = await self._db.run("edit_account", edit_account, account_id, settings, by, now)
        except GatewayError as error:
            if error.http_status >= 500 or error.http_status == 404:
                raise
            return await self._account_page(
                request,
                session,
                account_id,
                values,
                self._error_text(session, error),
                error.http_status,
            )
        await self._reload_directory()
        flash = "account_saved" if detail else "account_unchanged"
        return self._redirect(request, f"/admin/accounts/{account_id}", flash)

    async def _action(
        self, request: IRequest, account_id: int, flash: str, fn: Callable[..., None], *args: Any
    ) -> str | bytes:
        """Run an audited change of one account (``fn(s, account_id, *args, who, now)``) and
        go back to its page; a refusal shows there, in the user's language."""
        session, by, now = await self._writer(request)
        try:
            await self._db.run(fn.__name__, fn, account_id, *args, by, now)
        except FieldError as error:
            return await self._account_page(
                request,
                session,
                account_id,
                error=self._error_text(session, error),
                code=error.http_status,
            )
        await self._reload_directory()
        return self._redirect(request, f"/admin/accounts/{account_id}", flash)

    @app.route("/admin/accounts/<int:account_id>/suspend", methods=["POST"])
    async def account_suspend(self, request: IRequest, account_id: int) -> str | bytes:
        return await self._action(request, account_id, "account_suspended", set_suspended, True)

    @app.route("/admin/accounts/<int:account_id>/reactivate", methods=["POST"])
    async def account_reactivate(self, request: IRequest, account_id: int) -> str | bytes:
        return await self._action(request, account_id, "account_reactivated", set_suspended, False)

    @app.route("/admin/accounts/<int:account_id>/senders", methods=["POST"])
    async def sender_grant(self, request: IRequest, account_id: int) -> str | bytes:
        sender = form_value(request, "sender")
        return await self._action(request, account_id, "sender_granted", grant_sender, sender)

    @app.route("/admin/accounts/<int:account_id>/senders/remove", methods=["POST"])
    async def sender_revoke(self, request: IRequest, account_id: int) -> str | bytes:
        sender = form_value(request, "sender")
        return await self._action(request, account_id, "sender_revoked", revoke_sender, sender)

    @app.route("/admin/accounts/<int:account_id>/smpp-password", methods=["POST"])
    async def account_smpp_password(self, request: IRequest, account_id: int) -> str:
        """A new SMPP password, shown once on the page that answers the POST (never in a
        URL or the log); only its argon2id hash is kept."""
        session, by, now = await self._writer(request)
        password = generate_password(SMPP_PASSWORD_LENGTH)
        hashed = await self._db.offload(hash_secret, password)
        try:
            await self._db.run(
                "reset_smpp_password", reset_smpp_password, account_id, hashed, by, now
            )
        except FieldError as error:
            return await self._account_page(
                request, session, account_id, error=self._error_text(session, error), code=409
            )
        return await self._account_page(request, session, account_id, smpp_password=password)

    @app.route("/admin/accounts/<name>/lift", methods=["POST"])
    async def lift(self, request: IRequest, name: str) -> bytes:
        """Lift a fair-use suspension early; the audit log names the admin."""
        _, by, now = await self._writer(request)
        await self._db.run("lift", account_action, name, "lift", None, by.actor, now, by.ip)
        await self._reload_directory()
        back = form_value(request, "back")
        tail = back[16:]  # an account's page: ASCII digits only ('²' is a digit to isdigit)
        target = (
            back
            if back.startswith("/admin/accounts/") and tail.isascii() and tail.isdigit()
            else ""
        )
        return self._redirect(request, target or "/admin/accounts", "lifted")
