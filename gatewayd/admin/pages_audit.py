"""The operator's audit log: every administrative action, who did it, when and from where;
filtered, paginated, exported to CSV.

Other operator pages record their actions with :func:`gatewayd.storage.audit.audit` inside
their change's transaction, passing :func:`who` of the request::

    by = who(request, session)
    await self._db.run("label", change, ..., by.actor, now, by.ip)

The address is the TCP peer of the request: behind a reverse proxy it is the proxy's
(``X-Forwarded-For`` is not trusted; there is no trusted-proxy setting yet).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from twisted.web.iweb import IRequest

from gatewayd.admin.base import ConsoleBase, app
from gatewayd.admin.rendering import csv_download, form_value, page_number
from gatewayd.csvwriter import csv_file
from gatewayd.errors import FieldError
from gatewayd.storage.audit import AuditFilter, Who, audit_actions, audit_export, audit_page
from gatewayd.storage.contacts import Page
from gatewayd.storage.stats import OUT_OF_YEARS, within_years
from gatewayd.storage.websessions import SessionInfo

PER_PAGE = 50
T = TypeVar("T")


def who(request: IRequest, session: SessionInfo) -> Who:
    """The audit log's actor for a console request (``console:LOGIN``) and its peer address."""
    address = request.getClientAddress()
    return Who(f"console:{session.user.login}", str(getattr(address, "host", "") or ""))


def _day(text: str) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise FieldError("%(date)s is not a date (YYYY-MM-DD).", date=text) from None
    if not within_years(day):
        raise FieldError(OUT_OF_YEARS)
    return day


def _seconds(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def audit_filter(params: dict[str, str]) -> AuditFilter:
    """The filter of the page's query (dates are UTC days, both included)."""
    since, until = _day(params["since"]), _day(params["until"])
    if since is not None and until is not None and until < since:
        raise FieldError("The end date is before the start date.")
    return AuditFilter(
        actor=params["actor"].strip(),
        account=params["account"].strip(),
        action=params["action"].strip(),
        since=None if since is None else _seconds(since),
        until=None if until is None else _seconds(until + timedelta(days=1)),
    )


def _utc(moment: float, shown: str = "%Y-%m-%d %H:%M:%S") -> str:
    return datetime.fromtimestamp(moment, UTC).strftime(shown)


def _for_people(moment: float) -> str:
    return _utc(moment, "%d/%m/%Y %H:%M:%S")


class OperatorBase(ConsoleBase):
    """What the operator's administration pages share."""

    async def _writer(self, request: IRequest) -> tuple[SessionInfo, Who, float]:
        """An admin's POST: the session (its role and CSRF token checked), who acts, now."""
        session = await self._operator(request, write=True)
        self._check_csrf(request, session)
        return session, who(request, session), self._clock.seconds()

    async def _paged(
        self,
        request: IRequest,
        label: str,
        find: Callable[..., tuple[list[T], int]],
        *args: Any,
        per_page: int = PER_PAGE,
    ) -> Page[T]:
        """The page the request asks for of ``find(session, *args, offset, limit)``, a store
        query that answers one page's rows and how many there are in all."""
        number = page_number(request)
        rows, total = await self._db.run(label, find, *args, (number - 1) * per_page, per_page)
        return Page(rows, number, total, per_page)

    async def _reload_directory(self) -> None:
        """The pipeline's cached account settings, read again: a change applies at once."""
        if self._services.directory is not None:
            await self._services.directory.reload()


class AuditPages(OperatorBase):
    def _audit_params(self, request: IRequest) -> dict[str, str]:
        return {k: form_value(request, k) for k in ("actor", "account", "action", "since", "until")}

    @app.route("/admin/audit", methods=["GET"])
    async def audit_log(self, request: IRequest) -> str:
        session = await self._operator(request)
        params = self._audit_params(request)
        actions = await self._db.run("audit_actions", audit_actions)
        try:
            found = audit_filter(params)
        except FieldError as error:
            return self._page(
                request,
                "audit.html",
                session,
                400,
                params=params,
                actions=actions,
                error=self._error_text(session, error),
                entries=[],
                page=Page([], 1, 0, PER_PAGE),
            )
        page = await self._paged(request, "audit_page", audit_page, found)
        return self._page(
            request,
            "audit.html",
            session,
            params=params,
            actions=actions,
            error="",
            entries=page.items,
            page=page,
            query={k: v for k, v in params.items() if v},
            utc=_for_people,
        )

    @app.route("/admin/audit.csv", methods=["GET"])
    async def audit_csv(self, request: IRequest) -> bytes:
        session = await self._operator(request)
        found = audit_filter(self._audit_params(request))
        entries = await self._db.run("audit_export", audit_export, found)
        header = [
            self._(session, h) for h in ("Time (UTC)", "Who", "Account", "Action", "Detail", "IP")
        ]
        rows = [[_utc(e.at), e.actor, e.account or "", e.action, e.detail, e.ip] for e in entries]
        return csv_download(request, "audit.csv", csv_file(header, rows))
