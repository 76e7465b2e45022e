"""The statistics page: per-day table and chart, operator filter, delivery rate, quota, CSV,
bad periods, and one account never sees another's traffic (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime
from itertools import count
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest_twisted
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gatewayd.admin.base import Quota
from gatewayd.admin.rendering import Templates
from gatewayd.storage.accounts import AccountInfo, UserInfo
from gatewayd.storage.models import Account, Batch, Message
from gatewayd.storage.stats import Period, fold
from gatewayd.storage.websessions import SessionInfo
from tests.admin.conftest import ConsoleRig

_ids = count(1)
MARCH = "from=2026-03-01&to=2026-03-03"


def _add(s: Session, account: str, rows: list[tuple[str, str, str, str, int]]) -> None:
    """Messages for ``account`` at local times of its zone: (time, scope, status, operator,
    parts)."""
    row = s.scalars(select(Account).where(Account.name == account)).one()
    batch = Batch(account_id=row.id, channel="web", body="x", created_at=0.0)
    s.add(batch)
    s.flush()
    for local, scope, status, operator, parts in rows:
        at = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(row.timezone)).timestamp()
        s.add(
            Message(
                public_id=f"st{next(_ids):030d}",
                batch_id=batch.id,
                account_id=row.id,
                destination="22376600000",
                status=status,
                part_count=parts,
                scope=scope,
                operator=operator,
                created_at=at,
                updated_at=at,
            )
        )


def _zone(s: Session, account: str, zone: str) -> None:
    s.execute(update(Account).where(Account.name == account).values(timezone=zone))


TRAFFIC = [
    ("2026-03-01T00:00:00", "national", "delivered", "Orange", 1),
    ("2026-03-01T10:00:00", "national", "delivered", "Orange", 2),
    ("2026-03-01T23:59:59", "international", "undeliverable", "", 1),
    ("2026-03-03T08:00:00", "national", "sent", "Moov", 3),
    ("2026-03-04T00:00:00", "national", "delivered", "Moov", 1),  # the day after: outside
]


async def _seeded(rig: ConsoleRig, account: str, login: str, **kw: Any) -> Any:
    browser = await rig.customer(account, login, **kw)
    rig.gateway.db.run_sync("zone", _zone, account, "Europe/Paris")
    rig.gateway.db.run_sync("seed", _add, account, TRAFFIC)
    return browser


def _cells(html: str) -> list[list[str]]:
    """The table body's rows as text cells (the page is well-formed enough for that)."""
    start, end = html.index("<tbody>"), html.index("</tbody>")
    body = ElementTree.fromstring(html[start : end + len("</tbody>")])
    return [[(cell.text or "").strip() for cell in tr] for tr in body]


@pytest_twisted.ensureDeferred
async def test_per_day_table_chart_and_delivery_rate(any_rig: ConsoleRig) -> None:
    browser = await _seeded(any_rig, "acme", "alice")
    page = await browser.get(f"/statistics?{MARCH}")
    assert page.code == 200, page.text
    assert "Trafic du 01/03/2026 au 03/03/2026" in page.text
    assert _cells(page.text) == [
        ["01/03/2026", "2", "1", "3", "3", "1", "4"],
        ["02/03/2026", "0", "0", "0", "0", "0", "0"],
        ["03/03/2026", "1", "0", "1", "3", "0", "3"],
    ]
    start = page.text.index("<svg")
    svg = ElementTree.fromstring(page.text[start : page.text.index("</svg>") + 6])
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "traffic-title traffic-desc"
    bars = [r for r in svg.iter("{http://www.w3.org/2000/svg}rect") if r.get("class")]
    assert [b.get("class") for b in bars] == [
        "bar bar-national",
        "bar bar-international",
        "bar bar-national",
    ]
    # 2 delivered, 1 failed (1 still on its way is shown apart): 66.7 %.
    assert '<span id="delivery-rate">66,7 %</span>' in page.text
    assert "Volume illimité" in page.text
    assert '<option value="Moov"' in page.text and '<option value="Orange"' in page.text


@pytest_twisted.ensureDeferred
async def test_operator_filter_and_csv_export(any_rig: ConsoleRig) -> None:
    browser = await _seeded(any_rig, "acme", "bob")
    page = await browser.get(f"/statistics?{MARCH}&operator=Orange")
    assert [row[3] for row in _cells(page.text)] == ["2", "0", "0"]
    assert '<option value="Orange" selected>' in page.text
    exported = await browser.get(f"/statistics.csv?{MARCH}")
    assert exported.code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert (
        'filename="statistics-2026-03-01-2026-03-03.csv"' in exported.headers["content-disposition"]
    )
    assert exported.text.splitlines() == [
        "date;national;international;total;national_parts;international_parts;total_parts",
        "2026-03-01;2;1;3;3;1;4",
        "2026-03-02;0;0;0;0;0;0",
        "2026-03-03;1;0;1;3;0;3",
    ]


@pytest_twisted.ensureDeferred
async def test_another_account_sees_none_of_this_traffic(any_rig: ConsoleRig) -> None:
    await _seeded(any_rig, "acme", "carol")
    other = await any_rig.customer("globex", "gina")
    page = await other.get(f"/statistics?{MARCH}")
    assert page.code == 200 and "Aucune donnée pour cette période." in page.text
    assert "<svg" not in page.text and "Orange" not in page.text
    exported = await other.get(f"/statistics.csv?{MARCH}&operator=Orange")
    assert exported.text.splitlines()[1] == "2026-03-01;0;0;0;0;0;0"
    operator = await any_rig.operator("olga")
    assert (await operator.get("/statistics")).code == 404
    assert (await operator.get("/statistics.csv")).code == 404


@pytest_twisted.ensureDeferred
async def test_bad_periods_get_a_clear_400(rig: ConsoleRig) -> None:
    browser = await rig.customer("acme", "dave")
    for query, text in (
        ("from=2026-03-05&to=2026-03-04", "La date de début est après la date de fin."),
        ("from=2025-01-01&to=2026-03-04", "La période est trop longue"),
        ("from=31/02/2026&to=2026-03-04", "Une date n&#39;est pas valide"),
    ):
        page = await browser.get(f"/statistics?{query}")
        assert page.code == 400 and text in page.text, query
    assert (await browser.get("/statistics.csv?from=x")).code == 400


@pytest_twisted.ensureDeferred
async def test_default_period_is_this_month_and_a_real_send_is_counted(rig: ConsoleRig) -> None:
    browser = await rig.customer("acme", "erin", language="en")
    await browser.get("/statistics")  # any page: its CSRF token
    sent = await browser.post("/messages", {"recipients": "22376600000", "text": "bonjour"})
    assert sent.code == 303
    page = await browser.get("/statistics")
    assert page.code == 200 and "Unlimited volume" in page.text
    today = datetime.now(ZoneInfo("UTC")).date()
    assert f'name="from" value="{today.replace(day=1).isoformat()}"' in page.text
    assert f'name="to" value="{today.isoformat()}"' in page.text
    assert "<svg" in page.text and 'class="bar bar-' in page.text
    totals = page.text[page.text.index("<tfoot>") :]
    assert "<td>1</td>" in totals


def test_a_quota_is_drawn_as_a_meter_with_what_is_left() -> None:
    user = UserInfo(1, "alice", "manager", "fr", AccountInfo(1, "acme", "customer", None, False))
    stats = fold(Period(date(2026, 3, 1), date(2026, 3, 2), "UTC"), "", [])
    html = (
        Templates()
        .env("fr")
        .get_template("statistics.html")
        .render(
            session=SessionInfo(user, "t", 0.0),
            language="fr",
            languages={},
            path="/statistics",
            quota=Quota(1000, 250),
            stats=stats,
            chart=None,
            values={"from": "2026-03-01", "to": "2026-03-02"},
            error="",
        )
    )
    assert '<meter id="quota-meter" min="0" max="1000"' in html and 'value="250"' in html
    assert "250 SMS utilisés sur 1000 (25 %), reste 750" in html
    assert "Volume illimité" not in html
