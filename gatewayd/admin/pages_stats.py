"""The customer's statistics: traffic per day (national, international, total), a chart drawn
on the server, the delivery rate, the quota in use, and a CSV export of the table."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup
from twisted.web.iweb import IRequest

from gatewayd.admin.base import ConsoleBase, app
from gatewayd.admin.rendering import csv_download, form_value
from gatewayd.admin.svgchart import Series, stacked_bars
from gatewayd.csvwriter import csv_text
from gatewayd.errors import ValidationError
from gatewayd.storage.stats import (
    Delivery,
    Statistics,
    account_statistics,
    account_zone,
    parse_period,
    this_month,
)
from gatewayd.storage.websessions import SessionInfo

NATIONAL_COLOUR = "#2457c5"
INTERNATIONAL_COLOUR = "#ff7900"
CSV_HEADER = [
    "date",
    "national",
    "international",
    "total",
    "national_parts",
    "international_parts",
    "total_parts",
]


class StatsPages(ConsoleBase):
    async def _statistics(self, request: IRequest, session: SessionInfo) -> Statistics:
        """The statistics the query string asks for (ValidationError: a bad period)."""
        account_id = session.user.account.id
        zone = await self._db.run("account_zone", account_zone, account_id)
        period = parse_period(
            form_value(request, "from"), form_value(request, "to"), self._clock.seconds(), zone
        )
        operator = form_value(request, "operator").strip()
        return await self._db.run(
            "account_statistics", account_statistics, account_id, period, operator
        )

    @app.route("/statistics", methods=["GET"])
    async def statistics(self, request: IRequest) -> str:
        session = await self._customer(request)
        try:
            stats = await self._statistics(request, session)
        except ValidationError as e:
            return await self._stats_error_page(request, session, e.message)
        return await self._customer_page(
            request,
            "statistics.html",
            session,
            stats=stats,
            chart=self._stats_chart(session, stats),
            values={"from": stats.period.first.isoformat(), "to": stats.period.last.isoformat()},
            error="",
        )

    async def _stats_error_page(self, request: IRequest, session: SessionInfo, message: str) -> str:
        zone = await self._db.run("account_zone", account_zone, session.user.account.id)
        empty = Statistics(this_month(self._clock.seconds(), zone), "", [], Delivery(), [])
        return await self._customer_page(
            request,
            "statistics.html",
            session,
            400,
            stats=empty,
            chart=None,
            values={k: form_value(request, k) for k in ("from", "to")},
            error=self._(session, message),
        )

    def _stats_chart(self, session: SessionInfo, stats: Statistics) -> Markup | None:
        if not stats.totals.total:
            return None
        period = stats.period
        svg = stacked_bars(
            [d.day.strftime("%d/%m") for d in stats.days],
            [
                Series(
                    self._(session, "National"),
                    [d.national for d in stats.days],
                    NATIONAL_COLOUR,
                    "national",
                ),
                Series(
                    self._(session, "International"),
                    [d.international for d in stats.days],
                    INTERNATIONAL_COLOUR,
                    "international",
                ),
            ],
            self._(session, "Messages sent per day"),
            self._(
                session,
                "Messages per day from %(first)s to %(last)s, national and international "
                "stacked; the table below gives the same numbers.",
                first=_day(period.first),
                last=_day(period.last),
            ),
            ident="traffic",
        )
        # stacked_bars escapes every text it writes: the markup is ours.
        return Markup(svg)  # noqa: S704

    @app.route("/statistics.csv", methods=["GET"])
    async def statistics_csv(self, request: IRequest) -> str | bytes:
        session = await self._customer(request)
        try:
            stats = await self._statistics(request, session)
        except ValidationError as e:
            return await self._stats_error_page(request, session, e.message)
        period = stats.period
        name = f"statistics-{period.first.isoformat()}-{period.last.isoformat()}.csv"
        return csv_download(request, name, csv_table(stats).encode("utf-8"))


def csv_table(stats: Statistics) -> str:
    """The per-day table: ``;``-separated like the address book's files, dates ISO 8601
    (without a BOM: figures and dates only)."""
    return csv_text(
        CSV_HEADER,
        (
            [
                d.day.isoformat(),
                d.national,
                d.international,
                d.total,
                d.national_parts,
                d.international_parts,
                d.total_parts,
            ]
            for d in stats.days
        ),
    )


def _day(day: date) -> str:
    return day.strftime("%d/%m/%Y")
