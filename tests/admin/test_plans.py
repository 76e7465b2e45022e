"""The operator's plans and fair-use rules (with an editor that applies at once) and the alerts
and suspensions log."""

from __future__ import annotations

import json

import pytest
import pytest_twisted
from sqlalchemy import update

from gatewayd.errors import GatewayError
from gatewayd.pipeline.submission import SubmitRequest
from gatewayd.storage.models import Account, AuditEntry, Notification
from tests.admin.conftest import ConsoleRig


@pytest_twisted.ensureDeferred
async def test_plans_show_their_rules_and_the_accounts_overrides(rig: ConsoleRig) -> None:
    await rig.customer("acme", "alice")
    rig.gateway.db.run_sync(
        "overrides",
        lambda s: s.execute(
            update(Account)
            .where(Account.name == "acme")
            .values(plan="unlimited", fair_use=json.dumps({"monthly_quota": 5000}))
        ),
    )
    viewer = await rig.operator("vera", role="viewer")
    page = await viewer.get("/admin/plans")
    assert page.code == 200
    assert 'data-plan="standard"' in page.text and 'data-plan="unlimited"' in page.text
    assert "hourly_messages" in page.text and "intégré" in page.text  # built in
    assert "monthly_quota = 5000" in page.text and "/admin/plans/new" not in page.text
    assert (await viewer.post("/admin/plans", {"name": "x", "rules": ""})).code == 403
    customer = await rig.customer("acme", "bob")
    assert (await customer.get("/admin/plans")).code == 404
    assert (await customer.get("/admin/alerts")).code == 404


@pytest_twisted.ensureDeferred
async def test_an_edited_plan_applies_to_the_next_message_and_is_checked(
    any_rig: ConsoleRig,
) -> None:
    await any_rig.customer("acme", "alice")
    account = await any_rig.gateway.accounts.account_by_name("acme")

    async def send() -> list[str]:
        request = SubmitRequest(account, None, "cli", ["22376600000"], "hi")
        return await any_rig.gateway.submissions.submit(request)

    admin = await any_rig.operator("olga")
    edit = await admin.get("/admin/plans/standard/edit")
    assert edit.code == 200 and "hourly_messages = 500" in edit.text
    typo = await admin.post("/admin/plans", {"name": "standard", "rules": "hourly_mesages = 2"})
    assert typo.code == 400 and "plans.standard.hourly_mesages: unknown key" in typo.text
    word = await admin.post("/admin/plans", {"name": "standard", "rules": 'monthly_quota = "x"'})
    assert word.code == 400 and "plans.standard.monthly_quota" in word.text
    saved = await admin.post("/admin/plans", {"name": "standard", "rules": "monthly_quota = 1"})
    assert saved.code == 303
    assert len(await send()) == 1
    with pytest.raises(GatewayError):
        await send()  # a blocked plan stops at 100 %
    listed = await admin.get("/admin/plans")
    assert "console" in listed.text and "/admin/plans/standard/reset" in listed.text
    assert (await admin.post("/admin/plans/standard/reset")).code == 303
    assert len(await send()) == 1
    assert (await admin.post("/admin/plans/standard/reset")).code == 404
    assert (await admin.get("/admin/plans/nosuch/edit")).code == 404
    # The quota alert of the first message is in the log.
    alerts = await admin.get("/admin/alerts")
    assert "alerte de quota" in alerts.text and "acme" in alerts.text and "100 %" in alerts.text


def _fill_alerts(s: object) -> None:
    """60 suspensions of acme, a lift for zeta and an audit entry that is not an alert."""
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    ids = {a.name: a.id for a in s.query(Account)}
    for i in range(60):
        payload = {"until": 1_900_000_000.0 + i, "messages": 501}
        s.add(
            Notification(
                account_id=ids["acme"],
                kind="suspended",
                payload=json.dumps(payload),
                created_at=1_800_000_000.0 + i,
            )
        )
    s.add(
        AuditEntry(
            at=1_800_000_100.0,
            actor="console:olga",
            account_id=ids["zeta"],
            action="lift",
            detail="",
        )
    )
    s.add(AuditEntry(at=1.0, actor="x", account_id=None, action="add route", detail=""))


@pytest_twisted.ensureDeferred
async def test_the_alerts_log_filters_and_pages(any_rig: ConsoleRig) -> None:
    await any_rig.customer("acme", "alice")
    await any_rig.customer("zeta", "zoe")

    any_rig.gateway.db.run_sync("fill", _fill_alerts)
    admin = await any_rig.operator("olga")
    first = await admin.get("/admin/alerts")
    assert first.code == 200 and "Page 1 sur 2" in first.text
    assert first.text.index("suspension levée") < first.text.index("501 messages")  # newest
    assert "add route" not in first.text
    second = await admin.get("/admin/alerts?page=2")
    assert second.text.count("501 messages") == 61 - 50
    lifts = await admin.get("/admin/alerts?kind=lift")
    assert "console:olga" in lifts.text and "501 messages" not in lifts.text
    zeta = await admin.get("/admin/alerts?account=zeta")
    assert "suspension levée" in zeta.text and "501 messages" not in zeta.text
    nobody = await admin.get("/admin/alerts?account=nosuch")
    assert "Aucune alerte" in nobody.text


@pytest_twisted.ensureDeferred
async def test_a_far_page_of_alerts_is_the_last_one_read_in_sql(any_rig: ConsoleRig) -> None:
    """page=1000000 shows the last page, and no query asks the database for more than a page
    (the two sources were fetched offset + limit rows each, 50 million, and merged in memory)."""
    from sqlalchemy import event

    await any_rig.customer("acme", "alice")
    await any_rig.customer("zeta", "zoe")
    any_rig.gateway.db.run_sync("fill", _fill_alerts)
    admin = await any_rig.operator("vera", role="viewer")
    asked: list[object] = []

    def record(_conn: object, _cursor: object, _sql: str, params: object, *_: object) -> None:
        values = params.values() if isinstance(params, dict) else params
        asked.extend(v for v in values or () if isinstance(v, int))  # type: ignore[union-attr]

    engine = any_rig.gateway.db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        far = await admin.get("/admin/alerts?page=1000000")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert far.code == 200 and "Page 2 sur 2" in far.text
    assert far.text.count("501 messages") == 61 - 50
    assert asked and max(asked) <= 50, asked  # a page's LIMIT and OFFSET, never the window


@pytest_twisted.ensureDeferred
async def test_a_config_reload_keeps_the_consoles_plans(rig: ConsoleRig) -> None:
    import dataclasses

    admin = await rig.operator("olga")
    await admin.get("/admin/plans/standard/edit")
    saved = await admin.post("/admin/plans", {"name": "standard", "rules": "monthly_quota = 7"})
    assert saved.code == 303
    policy = rig.gateway.submissions.fair_use
    assert policy is not None and policy.plans["standard"].monthly_quota == 7
    reloaded = dataclasses.replace(rig.gateway.config, plans={"gold": {"monthly_quota": 9}})
    assert rig.gateway.reload(reloaded)  # SIGHUP: [plans] changed, applied from the file
    ops = rig.gateway.submissions
    assert ops.fair_use is not None and ops.fair_use.plans["standard"].monthly_quota is None
    operations = rig.gateway.getServiceNamed("console-operations")
    await operations.sync()  # what the next sweep does
    after = rig.gateway.submissions.fair_use
    assert after is not None and after.plans["standard"].monthly_quota == 7
    assert after.plans["gold"].monthly_quota == 9
    assert rig.gateway.dispatcher.fair_use is after
