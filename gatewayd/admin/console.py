"""The admin console: a Klein class with injected services, mounted into our own Site.

Customers (roles manager and user) send and follow messages; the operator's admins
(role admin) administer accounts. Every state-changing request checks a CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from jinja2 import Environment
from klein import Klein
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource
from twisted.web.server import Request
from twisted.web.static import File

from gatewayd.admin.rendering import STATIC, form_value, redirect, render
from gatewayd.config import AdminConfig
from gatewayd.errors import (
    AuthenticationFailed,
    GatewayError,
    NotFound,
    PermissionDenied,
    RateLimited,
    retry_after,
)
from gatewayd.pipeline.submission import InvalidRecipients, Submissions, SubmitRequest
from gatewayd.routing.numbers import split_recipients
from gatewayd.security import new_token, tokens_equal
from gatewayd.smpp.text import segments
from gatewayd.status import PENDING
from gatewayd.storage.accounts import AccountStore
from gatewayd.storage.database import Database
from gatewayd.storage.fair_use import FairUseStatus, account_action, statuses
from gatewayd.storage.messages import MessageStore
from gatewayd.storage.websessions import SessionInfo, WebSessionStore

log = Logger()
SESSION_COOKIE = b"gw_session"
LOGIN_CSRF_COOKIE = b"gw_login"
CUSTOMER_ROLES = frozenset({"manager", "user"})


def _local(moment: float | None) -> str | None:
    """A time for people: UTC, to the minute (the console has no per-user zone yet)."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).strftime("%d/%m/%Y %H:%M UTC")


class NotLoggedIn(GatewayError):
    http_status = 401


class Console:
    app = Klein()

    def __init__(
        self,
        accounts: AccountStore,
        sessions: WebSessionStore,
        messages: MessageStore,
        submissions: Submissions,
        templates: Environment,
        clock: IReactorTime,
        config: AdminConfig,
        db: Database | None = None,
    ) -> None:
        self._accounts = accounts
        self._sessions = sessions
        self._messages = messages
        self._submissions = submissions
        self._env = templates
        self._clock = clock
        self._config = config
        self._db = db  # fair-use counters and the operator's actions on them

    def resource(self) -> IResource:
        return self.app.resource()

    # -- sessions and CSRF -----------------------------------------------------------------
    async def _session(self, request: IRequest) -> SessionInfo:
        token = request.getCookie(SESSION_COOKIE)
        if token:
            found = await self._sessions.lookup(
                token.decode("ascii", "replace"), self._clock.seconds()
            )
            if found is not None:
                return found
        raise NotLoggedIn("please log in")

    async def _customer(self, request: IRequest) -> SessionInfo:
        session = await self._session(request)
        if session.user.role not in CUSTOMER_ROLES:
            raise PermissionDenied("this page is for customer accounts")
        return session

    def _check_csrf(self, request: IRequest, session: SessionInfo) -> None:
        if not tokens_equal(form_value(request, "csrf_token"), session.csrf_token):
            raise PermissionDenied("the form has expired: reload the page and try again")

    def _cookie(self, request: IRequest, name: bytes, value: bytes, max_age: int) -> None:
        # IRequest declares fewer cookie options than the Request that Klein hands us.
        cast(Request, request).addCookie(
            name,
            value,
            path=b"/",
            httpOnly=True,
            sameSite="strict",
            secure=self._config.secure_cookies,
            max_age=str(max_age).encode(),
        )

    @app.handle_errors(NotLoggedIn)
    def _not_logged_in(self, request: IRequest, failure: Any) -> bytes:
        return redirect(request, "/login")

    @app.handle_errors(GatewayError)
    def _gateway_error(self, request: IRequest, failure: Any) -> str:
        error: GatewayError = failure.value
        return render(self._env, request, "error.html", error.http_status, message=error.message)

    @app.handle_errors(Exception)
    def _unexpected(self, request: IRequest, failure: Any) -> str:
        log.failure("console request failed: {uri}", failure, uri=request.uri)
        return render(self._env, request, "error.html", 500, message="internal error")

    # -- login -----------------------------------------------------------------------------
    @app.route("/", methods=["GET"])
    async def home(self, request: IRequest) -> bytes:
        session = await self._session(request)
        target = "/messages" if session.user.role in CUSTOMER_ROLES else "/admin/accounts"
        return redirect(request, target)

    @app.route("/login", methods=["GET"])
    def login_form(self, request: IRequest, error: str = "", code: int = 200) -> str:
        token = new_token()
        self._cookie(request, LOGIN_CSRF_COOKIE, token.encode(), 3600)
        return render(
            self._env,
            request,
            "login.html",
            code,
            csrf_token=token,
            error=error,
            login=form_value(request, "login"),
        )

    @app.route("/login", methods=["POST"])
    async def login(self, request: IRequest) -> str | bytes:
        cookie = (request.getCookie(LOGIN_CSRF_COOKIE) or b"").decode("ascii", "replace")
        if not cookie or not tokens_equal(cookie, form_value(request, "csrf_token")):
            return self.login_form(request, "Le formulaire a expiré, réessayez.", 403)
        login, password = form_value(request, "login"), form_value(request, "password")
        try:
            user = await self._accounts.authenticate_user(login, password)
        except AuthenticationFailed:
            log.info("console login failed for {login}", login=login)
            return self.login_form(request, "Identifiant ou mot de passe incorrect.", 401)
        token, _session = await self._sessions.open(
            user.id, self._clock.seconds(), self._config.session_ttl
        )
        self._cookie(request, SESSION_COOKIE, token.encode(), int(self._config.session_ttl))
        log.info("console login {login} ({role})", login=user.login, role=user.role)
        return redirect(request, "/")

    @app.route("/logout", methods=["POST"])
    async def logout(self, request: IRequest) -> bytes:
        session = await self._session(request)
        self._check_csrf(request, session)
        await self._sessions.close((request.getCookie(SESSION_COOKIE) or b"").decode())
        self._cookie(request, SESSION_COOKIE, b"", 0)
        return redirect(request, "/login")

    # -- customer: compose, sent list, statuses --------------------------------------------
    @app.route("/messages/new", methods=["GET"])
    async def compose(self, request: IRequest) -> str:
        session = await self._customer(request)
        return await self._compose_page(request, session, {}, "", 200)

    async def _fair_use(self) -> dict[int, FairUseStatus]:
        if self._db is None:
            return {}
        return await self._db.run("fair_use_statuses", statuses, self._clock.seconds())

    async def _compose_page(
        self,
        request: IRequest,
        session: SessionInfo,
        values: dict[str, str],
        error: str,
        code: int,
        invalid: Any = (),
    ) -> str:
        fair_use = (await self._fair_use()).get(session.user.account.id)
        return render(
            self._env,
            request,
            "compose.html",
            code,
            session=session,
            values=values,
            error=error,
            invalid=invalid,
            counter=segments(values.get("text", "")),
            suspended_until=_local(fair_use.suspended_until) if fair_use else None,
        )

    @app.route("/messages", methods=["POST"])
    async def send(self, request: IRequest) -> str | bytes:
        session = await self._customer(request)
        self._check_csrf(request, session)
        values = {k: form_value(request, k) for k in ("subject", "recipients", "text", "sender")}
        submit = SubmitRequest(
            account=session.user.account,
            user_id=session.user.id,
            channel="web",
            recipients=split_recipients(values["recipients"]),
            text=values["text"],
            sender=values["sender"].strip(),
            subject=values["subject"],
        )
        try:
            await self._submissions.submit(submit)
        except InvalidRecipients as e:
            return await self._compose_page(request, session, values, e.message, 400, e.refused)
        except GatewayError as e:
            if e.http_status >= 500:
                raise
            if isinstance(e, RateLimited) and e.http_status == 429:
                request.setHeader(b"Retry-After", retry_after(e))
            return await self._compose_page(request, session, values, e.message, e.http_status)
        return redirect(request, "/messages")

    @app.route("/messages", methods=["GET"])
    async def sent(self, request: IRequest) -> str:
        session = await self._customer(request)
        batches = await self._messages.batches(session.user.account.id, 50, 0)
        return render(
            self._env,
            request,
            "sent.html",
            session=session,
            batches=batches,
            refresh=any(b.pending for b in batches),
        )

    @app.route("/batches/<int:batch_id>", methods=["GET"])
    async def batch(self, request: IRequest, batch_id: int) -> str:
        session = await self._customer(request)
        messages = await self._messages.batch_messages(batch_id, session.user.account.id)
        return render(
            self._env,
            request,
            "batch.html",
            session=session,
            batch_id=batch_id,
            messages=messages,
            refresh=any(m.status in PENDING for m in messages),
        )

    # -- operator ----------------------------------------------------------------------------
    @app.route("/admin/accounts", methods=["GET"])
    async def accounts(self, request: IRequest) -> str:
        session = await self._session(request)
        if session.user.role != "admin":
            raise NotFound("no such page")
        accounts = await self._accounts.accounts()
        fair_use = {
            account_id: (_local(status.suspended_until), status)
            for account_id, status in (await self._fair_use()).items()
        }
        return render(
            self._env,
            request,
            "accounts.html",
            session=session,
            accounts=accounts,
            fair_use=fair_use,
        )

    @app.route("/admin/accounts/<name>/lift", methods=["POST"])
    async def lift(self, request: IRequest, name: str) -> bytes:
        """Lift a fair-use suspension early; the audit log names the admin."""
        session = await self._session(request)
        if session.user.role != "admin" or self._db is None:
            raise NotFound("no such page")
        self._check_csrf(request, session)
        actor = f"console:{session.user.login}"
        now = self._clock.seconds()
        await self._db.run("lift", account_action, name, "lift", None, actor, now)
        return redirect(request, "/admin/accounts")

    @app.route("/static/", branch=True, methods=["GET"])
    def static(self, request: IRequest) -> File:
        return File(str(STATIC))
