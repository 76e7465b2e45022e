"""Logging in and out, the language switch, errors and the static files."""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.static import File
from werkzeug.exceptions import HTTPException

from gatewayd.admin.base import (
    CUSTOMER_ROLES,
    LANGUAGE_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleBase,
    NotLoggedIn,
    app,
    tokens_match,
)
from gatewayd.admin.i18n import LANGUAGES
from gatewayd.admin.rendering import STATIC, form_value, redirect
from gatewayd.errors import AuthenticationFailed, GatewayError
from gatewayd.security import new_token

log = Logger()

#: How much of a login typed is logged: a password pasted there is not logged whole.
LOGGED_LOGIN = 64


def loggable_login(login: str) -> str:
    """What was typed as a login, for the log: its first LOGGED_LOGIN characters, quoted and
    escaped like a Python literal (no control character, so no forged log line)."""
    shown = repr(login[:LOGGED_LOGIN])
    return shown + "..." if len(login) > LOGGED_LOGIN else shown


class AuthPages(ConsoleBase):
    @app.handle_errors(NotLoggedIn)
    def _not_logged_in(self, request: IRequest, failure: Any) -> bytes:
        return redirect(request, "/login")

    @app.handle_errors(GatewayError)
    def _gateway_error(self, request: IRequest, failure: Any) -> str:
        error: GatewayError = failure.value
        return self._page(request, "error.html", None, error.http_status, message=error.message)

    @app.handle_errors(HTTPException)
    def _no_such_route(self, request: IRequest, failure: Any) -> str:
        """Klein's routing answers (no such page, wrong method) as our own error page."""
        error: HTTPException = failure.value
        code = error.code or 404
        message = "method not allowed" if code == 405 else "no such page"
        return self._page(request, "error.html", None, code, message=message)

    @app.handle_errors(Exception)
    def _unexpected(self, request: IRequest, failure: Any) -> str:
        log.failure("console request failed: {uri}", failure, uri=request.uri)
        return self._page(request, "error.html", None, 500, message="internal error")

    @app.route("/", methods=["GET"])
    async def home(self, request: IRequest) -> bytes:
        session = await self._session(request)
        target = "/messages" if session.user.role in CUSTOMER_ROLES else "/admin"
        return redirect(request, target)

    @app.route("/login", methods=["GET"])
    def login_form(self, request: IRequest, error: str = "", code: int = 200) -> str:
        token = new_token()
        self._cookie(request, LOGIN_CSRF_COOKIE, token.encode(), 3600)
        return self._page(
            request,
            "login.html",
            None,
            code,
            csrf_token=token,
            error=error,
            login=form_value(request, "login"),
        )

    @app.route("/language/<language>", methods=["GET"])
    def language(self, request: IRequest, language: str) -> bytes:
        """The login page's language (a logged-in user chooses theirs in the profile)."""
        if language in LANGUAGES:
            self._cookie(request, LANGUAGE_COOKIE, language.encode(), 365 * 86400)
        return redirect(request, "/login")

    @app.route("/login", methods=["POST"])
    async def login(self, request: IRequest) -> str | bytes:
        cookie = (request.getCookie(LOGIN_CSRF_COOKIE) or b"").decode("ascii", "replace")
        if not tokens_match(cookie, form_value(request, "csrf_token")):
            return self.login_form(request, "The form has expired, please try again.", 403)
        login, password = form_value(request, "login"), form_value(request, "password")
        address = self._peer(request)
        now = self._clock.seconds()
        lockout = self._login_lockout()
        if lockout.retry_after(address, login, now) > 0:
            log.warn("console login refused while locked out: {login}", login=loggable_login(login))
            return self.login_form(
                request, "Too many failed attempts: wait a few minutes and try again.", 429
            )
        try:
            user = await self._accounts.authenticate_user(login, password)
        except AuthenticationFailed:
            lockout.failed(address, login, now)
            log.info("console login failed for {login}", login=loggable_login(login))
            return self.login_form(request, "Wrong login or password.", 401)
        lockout.succeeded(login)
        # A new session at every login: a token planted before the login is worth nothing.
        old = request.getCookie(SESSION_COOKIE)
        if old:
            await self._sessions.close(old.decode("ascii", "replace"))
        token, _session = await self._sessions.open(user.id, now, self._config.session_ttl)
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

    @app.route("/static/", branch=True, methods=["GET"])
    def static(self, request: IRequest) -> File:
        return File(str(STATIC))
