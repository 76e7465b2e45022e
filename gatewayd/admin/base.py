"""What every console page shares: the Klein app, sessions, roles, CSRF, languages, pages.

The console is one Klein app whose routes live in one module per area (``pages_*.py``), each
a mixin of :class:`ConsoleBase`; ``console.Console`` puts them together. Routes are
registered on the shared :data:`app` when their module is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlencode

from babel.support import NullTranslations
from klein import Klein
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.server import Request

from gatewayd.admin.i18n import DEFAULT_LANGUAGE, LANGUAGES, pick_language
from gatewayd.admin.operations import Operations
from gatewayd.admin.rendering import Templates, form_value, redirect, render
from gatewayd.billing.payments import Payments
from gatewayd.billing.settings import BillingSettings
from gatewayd.config import AdminConfig
from gatewayd.errors import FieldError, GatewayError, NotFound, PermissionDenied
from gatewayd.metrics import Metrics
from gatewayd.pipeline.destinations import Networks
from gatewayd.pipeline.directory import AccountDirectory
from gatewayd.pipeline.submission import Submissions
from gatewayd.security import tokens_equal
from gatewayd.smpp.lockout import BindLockout, LockoutPolicy
from gatewayd.storage.accounts import AccountStore
from gatewayd.storage.database import Database
from gatewayd.storage.fair_use import fair_use_view
from gatewayd.storage.messages import MessageStore
from gatewayd.storage.websessions import SessionInfo, WebSessionStore

log = Logger()
app = Klein()

SESSION_COOKIE = b"gw_session"
LOGIN_CSRF_COOKIE = b"gw_login"
LANGUAGE_COOKIE = b"gw_lang"
CUSTOMER_ROLES = frozenset({"manager", "user"})
OPERATOR_ROLES = frozenset({"admin", "viewer"})

#: Flash messages shown once after a redirect (``?flash=KEY``): only these fixed texts (English
#: msgids, translated when shown), so a link cannot make the console display text of its own.
#: Each area adds its own keys when its module is imported.
FLASHES: dict[str, str] = {
    "sent": "Your message has been accepted for sending.",
    "password_changed": "Your password has been changed.",
    "lifted": "The fair-use suspension has been lifted.",
}


@dataclass(frozen=True)
class Quota:
    limit: int | None  # SMS parts a month; None: unlimited
    used: int

    @property
    def left(self) -> int:
        return max(0, (self.limit or 0) - self.used)

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used / self.limit)) if self.limit else 0


class NotLoggedIn(GatewayError):
    http_status = 401


@dataclass(frozen=True)
class Services:
    """What the console's pages use, built by the composition root."""

    accounts: AccountStore
    sessions: WebSessionStore
    messages: MessageStore
    submissions: Submissions
    db: Database
    clock: IReactorTime
    config: AdminConfig
    #: The running gateway's connectors, routing table and figures (operator pages).
    operations: Operations | None = None
    #: The pipeline's cache of account settings, reloaded after an operator's change.
    directory: AccountDirectory | None = None
    #: ``[callbacks] allowed_networks``: the private networks a callback URL may name.
    callback_networks: Networks = ()
    #: ``[billing]``: the tariff and invoicing settings (None: the defaults, nothing priced).
    billing: BillingSettings | None = None
    #: The payment plugins and the ``payment`` hook's call (billing pages).
    payments: Payments = field(default_factory=Payments)
    #: The Prometheus registry served at /metrics (None: not served).
    metrics: Metrics | None = None


class ConsoleBase:
    app = app

    def __init__(self, services: Services, templates: Templates) -> None:
        self._services = services
        self._accounts = services.accounts
        self._sessions = services.sessions
        self._messages = services.messages
        self._submissions = services.submissions
        self._db = services.db
        self._clock = services.clock
        self._config = services.config
        self._templates = templates

    # -- sessions, roles and CSRF ----------------------------------------------------------
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
        """A customer's session (manager or user); anything else gets 404, as for a page
        that does not exist for them."""
        session = await self._session(request)
        if session.user.role not in CUSTOMER_ROLES:
            raise NotFound("no such page")
        return session

    async def _operator(self, request: IRequest, write: bool = False) -> SessionInfo:
        """An operator's session; ``write``: an admin (the read-only role may only look)."""
        session = await self._session(request)
        if session.user.role not in OPERATOR_ROLES:
            raise NotFound("no such page")
        if write and session.user.role != "admin":
            raise PermissionDenied("your role may look, not change")
        return session

    def _check_csrf(self, request: IRequest, session: SessionInfo) -> None:
        if not tokens_match(form_value(request, "csrf_token"), session.csrf_token):
            raise PermissionDenied("The form has expired: reload the page and try again.")

    def _cookie(self, request: IRequest, name: bytes, value: bytes, max_age: int) -> None:
        # IRequest declares fewer cookie options than the Request that Klein hands us.
        cast(Request, request).addCookie(
            name,
            value,
            path=b"/",
            httpOnly=True,
            sameSite="strict",
            # Secure whenever the console serves TLS itself, or when told it sits behind a
            # TLS-terminating proxy (the request then looks plain to us).
            secure=self._config.secure_cookies or request.isSecure(),
            max_age=str(max_age).encode(),
        )

    # -- guessing passwords ------------------------------------------------------------------
    _lockout: BindLockout | None = None

    def _login_lockout(self) -> BindLockout:
        """Failed passwords per address and per login, at the login and at a password change
        (whoever holds a stolen session may not guess the password behind it either)."""
        if self._lockout is None:
            config = self._config
            policy = LockoutPolicy(
                config.lockout_threshold, config.lockout_base, config.lockout_max
            )
            self._lockout = BindLockout(policy)
        return self._lockout

    @staticmethod
    def _peer(request: IRequest) -> str:
        return str(getattr(request.getClientAddress(), "host", "unknown"))

    # -- the customer's plan ----------------------------------------------------------------
    async def _quota(self, session: SessionInfo) -> Quota:
        """The account's monthly quota (None: unlimited) and the SMS parts used this month."""
        policy = self._submissions.fair_use
        if policy is None:
            return Quota(None, 0)
        now = self._clock.seconds()
        _plan, rules, state, _zone = await self._db.run(
            "fair_use_view", fair_use_view, policy, session.user.account.name, now
        )
        return Quota(rules.monthly_quota, state.parts)

    async def _customer_page(
        self,
        request: IRequest,
        template: str,
        session: SessionInfo,
        code: int = 200,
        **context: Any,
    ) -> str:
        """A customer page, with the plan's badge ("Unlimited volume" or what is left)."""
        quota = await self._quota(session)
        return self._page(request, template, session, code, quota=quota, **context)

    # -- languages and pages ---------------------------------------------------------------
    def _language(self, request: IRequest, session: SessionInfo | None) -> str:
        if session is not None:
            return pick_language(session.user.language)
        cookie = request.getCookie(LANGUAGE_COOKIE)
        return pick_language(cookie.decode("ascii", "replace") if cookie else DEFAULT_LANGUAGE)

    def _translations(self, language: str) -> NullTranslations:
        return self._templates.translations(language)

    def _(self, session: SessionInfo | None, text: str, **values: Any) -> str:
        """``text`` (an English msgid) in the session's language, with ``%(name)s`` values."""
        language = pick_language(session.user.language) if session else DEFAULT_LANGUAGE
        translated = self._translations(language).gettext(text)
        return translated % values if values else translated

    def _error_text(self, session: SessionInfo | None, error: GatewayError) -> str:
        """A refusal in the user's language: a FieldError's msgid with its values (field
        labels are msgids too), else the error's message."""
        if isinstance(error, FieldError):
            values = {k: self._(session, str(v)) for k, v in error.values.items()}
            return self._(session, error.msgid, **values)
        return self._(session, error.message)

    def _page(
        self,
        request: IRequest,
        template: str,
        session: SessionInfo | None,
        code: int = 200,
        **context: Any,
    ) -> str:
        language = self._language(request, session)
        flash_key = form_value(request, "flash")
        return render(
            self._templates.env(language),
            request,
            template,
            code,
            session=session,
            language=language,
            languages=LANGUAGES,
            flash=FLASHES.get(flash_key, ""),
            path=request.path.decode("utf-8", "replace"),
            **context,
        )

    def _redirect(
        self, request: IRequest, location: str, flash: str = "", **params: str | int
    ) -> bytes:
        """303 to ``location``, with a flash message key and query parameters."""
        if flash:
            params = {**params, "flash": flash}
        query = urlencode(cast(Mapping[str, str], params))
        return redirect(request, f"{location}?{query}" if query else location)


def tokens_match(given: str, expected: str) -> bool:
    return bool(given) and tokens_equal(given, expected)
