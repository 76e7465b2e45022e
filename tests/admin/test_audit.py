"""The audit log page: who, what, when, from where; filters, pages, CSV export; operators
only (viewers read it too), customers get 404."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest_twisted

from gatewayd.storage.audit import audit, changes
from tests.admin.conftest import ConsoleRig


def _at(day: str) -> float:
    return datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()


def _seed(rig: ConsoleRig) -> None:
    acme = rig.gateway.db.run_sync(
        "acme",
        lambda s: s.execute(
            __import__("sqlalchemy").text("SELECT id FROM accounts WHERE name = 'acme'")
        ).scalar(),
    )

    def write(s: object) -> None:
        audit(
            s, "console:root", acme, "suspend account", "", _at("2026-03-01T10:00:00"), "10.1.2.3"
        )  # type: ignore[arg-type]
        audit(s, "cli:ops", acme, "set plan", "gold", _at("2026-03-02T23:59:00"))  # type: ignore[arg-type]
        audit(s, "system", acme, "suspend", '{"until": 1}', _at("2026-03-03T00:00:00"))  # type: ignore[arg-type]
        audit(
            s,
            "console:vera",
            None,
            "create client",
            '=HYPERLINK("x")',
            _at("2026-03-04T08:00:00"),
            "::1",
        )  # type: ignore[arg-type]

    rig.gateway.db.run_sync("seed", write)


def test_changes_name_old_and_new_values_only_when_they_differ() -> None:
    before = {"tps": 20.0, "zone": "UTC", "networks": ("10.0.0.0/8",), "plan": None}
    after = {"tps": 5.0, "zone": "UTC", "networks": (), "plan": "gold"}
    assert changes(before, after) == "tps: 20.0 -> 5.0; networks: 10.0.0.0/8 -> —; plan: — -> gold"
    assert changes(after, after) == ""


@pytest_twisted.ensureDeferred
async def test_filters_and_dates(any_rig: ConsoleRig) -> None:
    await any_rig.gateway.accounts.create_account("acme", "customer", 0.0)
    admin = await any_rig.operator("root")
    _seed(any_rig)
    page = await admin.get("/admin/audit")
    assert page.code == 200
    body = page.text.split("<tbody>")[1]
    # Newest first, with the address.
    assert body.index("create client") < body.index("set plan") < body.index("suspend account")
    assert "10.1.2.3" in body and "01/03/2026 10:00:00" in body
    by_actor = (await admin.get("/admin/audit?actor=CLI")).text.split("<tbody>")[1]
    assert "set plan" in by_actor and "suspend account" not in by_actor
    by_action = (await admin.get("/admin/audit?action=suspend")).text.split("<tbody>")[1]
    assert '{"until": 1}' in by_action.replace("&#34;", '"') and "suspend account" not in by_action
    by_account = (await admin.get("/admin/audit?account=acme")).text.split("<tbody>")[1]
    assert "create client" not in by_account and "set plan" in by_account
    # Both days included, in UTC.
    days = (await admin.get("/admin/audit?since=2026-03-02&until=2026-03-03")).text
    rows = days.split("<tbody>")[1]
    assert "set plan" in rows and ">suspend<" in rows
    assert "suspend account" not in rows and "create client" not in rows
    none = await admin.get("/admin/audit?actor=nobody")
    assert "Aucune entrée ne correspond" in none.text
    bad = await admin.get("/admin/audit?since=yesterday")
    assert bad.code == 400 and "pas une date" in bad.text
    backwards = await admin.get("/admin/audit?since=2026-03-05&until=2026-03-01")
    assert backwards.code == 400


@pytest_twisted.ensureDeferred
async def test_console_actions_are_logged_with_login_and_address(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")
    await admin.get("/admin/clients")
    await admin.post("/admin/clients", {"identifier": "C-1", "name": "One"})
    page = await admin.get("/admin/audit?actor=console:root")
    row = page.text.split("<tbody>")[1]
    assert "create client" in row and "C-1: One" in row and "127.0.0.1" in row


@pytest_twisted.ensureDeferred
async def test_pages_of_fifty(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")

    def write(s: object) -> None:
        for n in range(120):
            audit(s, "cli:ops", None, "add route", f"route-{n:03d}", 1000.0 + n)  # type: ignore[arg-type]

    rig.gateway.db.run_sync("seed", write)
    first = await admin.get("/admin/audit?action=add+route")
    assert "route-119" in first.text and "route-070" in first.text and "route-069" not in first.text
    assert "Page 1 sur 3" in first.text and "action=add+route" in first.text
    last = await admin.get("/admin/audit?action=add+route&page=3")
    assert "route-000" in last.text and "route-020" not in last.text


@pytest_twisted.ensureDeferred
async def test_csv_export_follows_the_filters_and_defuses_formulas(rig: ConsoleRig) -> None:
    await rig.gateway.accounts.create_account("acme", "customer", 0.0)
    viewer = await rig.operator("vera", role="viewer")
    _seed(rig)
    answer = await viewer.get("/admin/audit.csv?since=2026-03-01&until=2026-03-04")
    assert answer.code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Heure (UTC)", "Qui", "Compte", "Action", "Détail", "IP"]
    assert rows[1] == [
        "2026-03-04 08:00:00",
        "console:vera",
        "",
        "create client",
        '\'=HYPERLINK("x")',
        "::1",
    ]
    assert rows[-1] == [
        "2026-03-01 10:00:00",
        "console:root",
        "acme",
        "suspend account",
        "",
        "10.1.2.3",
    ]
    assert len(rows) == 5
    only = await viewer.get("/admin/audit.csv?actor=cli")
    assert len(only.body.decode("utf-8-sig").strip().splitlines()) == 2


@pytest_twisted.ensureDeferred
async def test_customers_get_404(rig: ConsoleRig) -> None:
    customer = await rig.customer("acme", "carol")
    assert (await customer.get("/admin/audit")).code == 404
    assert (await customer.get("/admin/audit.csv")).code == 404
