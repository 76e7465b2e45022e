"""The customer's fleet pages and the operator's fleet view, on a whole gateway (SQLite, and
PostgreSQL for the scoping test when configured): list, filters, CSV, a line's detail and
actions, options on several lines, orders, roles, CSRF and another account's objects."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest_twisted
from sqlalchemy import func, select

from gatewayd.storage import fleet_orders as ops
from gatewayd.storage.models import AuditEntry, FleetOrder
from tests.admin.conftest import Browser, ConsoleRig


@dataclass
class Seeded:
    lines: dict[str, int]
    options: dict[str, int]
    plans: dict[str, int]


def _seed(rig: ConsoleRig, *, esim: bool = False, sims: int = 0) -> Seeded:
    run = rig.gateway.db.run_sync
    now = time.time()
    plans = {
        "u10": run("p", ops.add_plan, "u10", "Unlimited 10 GB", "unlimited", False, 10240, now),
        "u50": run("p", ops.add_plan, "u50", "Unlimited 50 GB", "unlimited", False, 51200, now),
        "d20": run("p", ops.add_plan, "d20", "Data only 20 GB", "data_only", True, 20480, now),
    }
    options = {
        "eu": run("o", ops.add_option, "eu", "Roaming Europe", "roaming", now),
        "ip": run("o", ops.add_option, "ip", "Fixed IP", "data", now),
        "volte": run("o", ops.add_option, "volte", "VoLTE", "other", now),
    }
    lines = {
        "a1": run("l", ops.add_line, "acme", "33600000001", "89330000000000000001", "u10", now,
                  user_name="Awa Diallo", site="Paris", contract="C-100", puk="11112222"),
        "a2": run("l", ops.add_line, "acme", "33600000002", "89330000000000000002", "u10", now,
                  user_name="Jean Martin", site="Lyon", contract="C-101"),
        "a3": run("l", ops.add_line, "acme", "33600000003", "89330000000000000003", "u50", now,
                  user_name="<b>Zoé</b>", contract="C-102"),
        "a4": run("l", ops.add_line, "acme", "33600000004", "89330000000000000004", "d20", now,
                  user_name="Router", contract="C-103", state="suspended"),
        "b1": run("l", ops.add_line, "other", "33600000101", "89330000000000000101", "u10", now,
                  user_name="Other user", contract="X-1"),
    }  # fmt: skip
    run("u", ops.add_usage, "33600000001", "data", 9 * 1024 * 1024, now, in_bundle=True)
    run("u", ops.add_usage, "33600000001", "data", 2 * 1024 * 1024, now, in_bundle=False)
    run("u", ops.add_usage, "33600000001", "sms", 3, now, detail="33611111111")
    run("u", ops.add_usage, "33600000001", "voice", 125, now, detail="33622222222")
    if esim:
        run("e", ops.set_esim, "acme", True, now)
    for i in range(sims):
        run("s", ops.add_sim, "acme", f"8933000000000000900{i}", "99990000", now)
    return Seeded(lines, options, plans)


async def _accounts(rig: ConsoleRig) -> tuple[Browser, Browser]:
    """A manager of acme and a manager of other (made first, so that _seed finds both)."""
    acme = await rig.customer("acme", "fm_alice")
    other = await rig.customer("other", "fm_oscar")
    return acme, other


def _orders(rig: ConsoleRig) -> int:
    return int(rig.gateway.db.run_sync("n", lambda s: s.scalar(select(func.count(FleetOrder.id)))))


@pytest_twisted.ensureDeferred
async def test_fleet_list_counters_filters_bar_flag_and_csv(rig: ConsoleRig) -> None:
    acme, _other = await _accounts(rig)
    _seed(rig)
    page = await acme.get("/fleet")
    assert page.code == 200
    text = page.shown
    assert "33600000001" in text and "33600000101" not in text  # only the account's lines
    assert re.search(r"<strong>3</strong>\s*<span[^>]*>Active", page.text)
    assert re.search(r"<strong>1</strong>\s*<span[^>]*>Suspendue", page.text)
    assert '<meter min="0" max="100" value="100"' in page.text  # 11 GB of 10 GB: capped at 100
    assert "Hors forfait" in text and "Oui" in text
    assert "&lt;b&gt;Zoé&lt;/b&gt;" in page.text and "<b>Zoé</b>" not in page.text
    assert 'src="/static/fleet.js"' in page.text and "<script>" not in page.text
    suspended = await acme.get("/fleet?state=suspended")
    assert "33600000004" in suspended.text and "33600000001" not in suspended.text
    found = await acme.get("/fleet?q=lyon")
    assert "33600000002" in found.text and "33600000001" not in found.text
    none = await acme.get("/fleet?q=nothing-like-this")
    assert "Aucune ligne ne correspond" in none.shown
    csv = await acme.get("/fleet/export?state=active")
    assert csv.code == 200 and "text/csv" in csv.headers["content-type"]
    body = csv.body.decode("utf-8-sig")
    assert body.splitlines()[0].startswith("Numéro;")
    assert "33600000001" in body and "33600000004" not in body and "33600000101" not in body


@pytest_twisted.ensureDeferred
async def test_line_detail_shows_options_totals_journal_and_greyed_swap(rig: ConsoleRig) -> None:
    acme, _other = await _accounts(rig)
    seeded = _seed(rig)
    page = await acme.get(f"/fleet/lines/{seeded.lines['a1']}")
    assert page.code == 200
    text = page.shown
    assert "89330000000000000001" in text and "Awa Diallo" in text
    assert "11112222" not in page.text  # the PUK only on request
    assert "ne suspend pas sa facturation" in text  # suspension does not stop billing
    # No SIM in the pool and no eSIM permission: the swap is disabled, with the reason.
    assert re.search(r"<fieldset disabled><legend>Changement de SIM", page.text)
    assert "aucune carte SIM libre dans votre stock et pas de droit eSIM" in text
    # The month's totals and the journal, filterable by type.
    assert "0:02:05" in text  # 125 s of voice
    journal = await acme.get(f"/fleet/lines/{seeded.lines['a1']}?kind=sms")
    assert "33611111111" in journal.text and "33622222222" not in journal.text


@pytest_twisted.ensureDeferred
async def test_puk_on_request_is_audited_and_refused_to_users(rig: ConsoleRig) -> None:
    acme, _other = await _accounts(rig)
    seeded = _seed(rig)
    a1 = seeded.lines["a1"]
    await acme.get(f"/fleet/lines/{a1}")
    shown = await acme.post(f"/fleet/lines/{a1}/puk")
    assert shown.code == 200 and "11112222" in shown.text
    audited = rig.gateway.db.run_sync(
        "a",
        lambda s: s.scalar(select(func.count()).where(AuditEntry.action == "fleet_puk_shown")),
    )
    assert audited == 1
    await rig.user("acme", "fm_ursula", "user")
    user = Browser(rig.base)
    await user.login("fm_ursula")
    view = await user.get(f"/fleet/lines/{a1}")
    assert view.code == 200 and "gestionnaire de flotte" in view.shown
    assert (await user.post(f"/fleet/lines/{a1}/puk")).code == 403
    refused = await user.post(f"/fleet/lines/{a1}/orders", {"action": "suspend"})
    assert refused.code == 403 and _orders(rig) == 0


@pytest_twisted.ensureDeferred
async def test_suspend_makes_an_order_with_a_confirmation_and_number(rig: ConsoleRig) -> None:
    acme, _other = await _accounts(rig)
    seeded = _seed(rig)
    a1 = seeded.lines["a1"]
    await acme.get(f"/fleet/lines/{a1}")
    placed = await acme.post(f"/fleet/lines/{a1}/orders", {"action": "suspend"})
    assert placed.code == 303 and placed.location.startswith("/fleet/orders/")
    order = await acme.get(placed.location)
    assert re.search(r"Numéro de commande : CMD-\d{4}-\d{6}", order.shown)
    assert "33600000001" in order.text
    assert "(fm_alice)" in order.text  # the order keeps who placed it
    listed = await acme.get("/fleet/orders")
    assert "CMD-" in listed.text and "Suspendre la ligne" in listed.shown


@pytest_twisted.ensureDeferred
async def test_topup_again_within_30_minutes_is_refused_clearly(rig: ConsoleRig) -> None:
    acme, _other = await _accounts(rig)
    seeded = _seed(rig)
    a2 = seeded.lines["a2"]
    await acme.get(f"/fleet/lines/{a2}")
    first = await acme.post(f"/fleet/lines/{a2}/orders", {"action": "topup", "volume_mb": "1024"})
    assert first.code == 303
    again = await acme.post(f"/fleet/lines/{a2}/orders", {"action": "topup", "volume_mb": "1024"})
    assert again.code == 409
    assert "30 minutes" in again.shown and "facturée deux fois" in again.shown
    assert _orders(rig) == 1


@pytest_twisted.ensureDeferred
async def test_plan_change_is_scheduled_and_range_change_refused(rig: ConsoleRig) -> None:
    acme, _other = await _accounts(rig)
    seeded = _seed(rig)
    a1 = seeded.lines["a1"]
    await acme.get(f"/fleet/lines/{a1}")
    refused = await acme.post(
        f"/fleet/lines/{a1}/orders", {"action": "change_plan", "plan_id": str(seeded.plans["d20"])}
    )
    assert refused.code == 409 and "changement de gamme" in refused.shown.lower()
    placed = await acme.post(
        f"/fleet/lines/{a1}/orders", {"action": "change_plan", "plan_id": str(seeded.plans["u50"])}
    )
    assert placed.code == 303
    order = await acme.get(placed.location)
    assert re.search(r"\d{4}-\d{2}-01", order.text)  # the 1st of next month


@pytest_twisted.ensureDeferred
async def test_options_on_several_lines_only_with_same_plan_and_state(rig: ConsoleRig) -> None:
    acme, _other = await _accounts(rig)
    seeded = _seed(rig)
    a1, a2, a3 = seeded.lines["a1"], seeded.lines["a2"], seeded.lines["a3"]
    same = await acme.get(f"/fleet/options?line={a1}&line={a2}")
    assert same.code == 200 and "33600000001" in same.text and "33600000002" in same.text
    mixed = await acme.get(f"/fleet/options?line={a1}&line={a3}")
    assert mixed.code == 409 and "même forfait" in mixed.shown
    # The server checks the selection again on the POST: nothing is ordered.
    posted = await acme.post(
        "/fleet/options", [("line", str(a1)), ("line", str(a3)), ("add", str(seeded.options["eu"]))]
    )
    assert posted.code == 409 and _orders(rig) == 0
    await acme.get(f"/fleet/options?line={a1}&line={a2}")
    placed = await acme.post(
        "/fleet/options", [("line", str(a1)), ("line", str(a2)), ("add", str(seeded.options["eu"]))]
    )
    assert placed.code == 303
    order = await acme.get(placed.location)
    assert "33600000001" in order.text and "33600000002" in order.text


@pytest_twisted.ensureDeferred
async def test_another_accounts_line_and_order_are_404_and_csrf_is_checked(
    any_rig: ConsoleRig,
) -> None:
    rig = any_rig
    acme, other = await _accounts(rig)
    seeded = _seed(rig)
    b1 = seeded.lines["b1"]
    assert (await acme.get(f"/fleet/lines/{b1}")).code == 404
    await acme.get("/fleet")
    assert (await acme.post(f"/fleet/lines/{b1}/orders", {"action": "suspend"})).code == 404
    assert (await acme.post(f"/fleet/lines/{b1}/puk")).code == 404
    assert (await acme.get(f"/fleet/options?line={b1}")).code == 404
    assert _orders(rig) == 0
    await other.get(f"/fleet/lines/{b1}")
    placed = await other.post(f"/fleet/lines/{b1}/orders", {"action": "suspend"})
    order_id = placed.location.split("/")[-1].split("?")[0]
    assert (await acme.get(f"/fleet/orders/{order_id}")).code == 404
    a1 = seeded.lines["a1"]
    forged = await acme.post(f"/fleet/lines/{a1}/orders", {"action": "suspend"}, csrf=False)
    assert forged.code == 403 and _orders(rig) == 1


@pytest_twisted.ensureDeferred
async def test_sim_swap_to_the_pool_and_esim_allowed(rig: ConsoleRig) -> None:
    acme, _other = await _accounts(rig)
    seeded = _seed(rig, esim=True, sims=1)
    a1 = seeded.lines["a1"]
    page = await acme.get(f"/fleet/lines/{a1}")
    assert "<fieldset ><legend>" in page.text or "<fieldset><legend>" in page.text
    assert "89330000000000009000" in page.text
    placed = await acme.post(f"/fleet/lines/{a1}/orders", {"action": "sim_swap", "sim": "esim"})
    assert placed.code == 303


@pytest_twisted.ensureDeferred
async def test_operator_sees_every_customer_fleet_read_only(rig: ConsoleRig) -> None:
    await _accounts(rig)
    seeded = _seed(rig)
    viewer = await rig.operator("fv_vera", role="viewer")
    listed = await viewer.get("/admin/fleet")
    assert listed.code == 200 and "acme" in listed.text and "other" in listed.text
    lines = await viewer.get("/admin/fleet/acme")
    assert "33600000001" in lines.text and "33600000101" not in lines.text
    line = await viewer.get(f"/admin/fleet/acme/lines/{seeded.lines['a1']}")
    assert line.code == 200 and "11112222" not in line.text
    assert (await viewer.get(f"/admin/fleet/acme/lines/{seeded.lines['b1']}")).code == 404
    assert (await viewer.get("/admin/fleet/nobody")).code == 404
    assert (await viewer.get("/admin/fleet/acme/orders")).code == 200
    customer = Browser(rig.base)
    await customer.login("fm_alice")
    assert (await customer.get("/admin/fleet")).code == 404


@pytest_twisted.ensureDeferred
async def test_rename_and_a_refused_action_writes_nothing(rig: ConsoleRig) -> None:
    acme, _other = await _accounts(rig)
    seeded = _seed(rig)
    a1 = seeded.lines["a1"]
    await acme.get(f"/fleet/lines/{a1}")
    refused = await acme.post(f"/fleet/lines/{a1}/orders", {"action": "reactivate"})
    assert refused.code == 409 and "Seule une ligne suspendue" in refused.shown
    empty = await acme.post(f"/fleet/lines/{a1}/orders", {"action": "rename", "user_name": "  "})
    assert empty.code == 400 and "Saisissez le nom" in empty.shown
    assert _orders(rig) == 0
    renamed = await acme.post(
        f"/fleet/lines/{a1}/orders", {"action": "rename", "user_name": "Awa <Traoré>"}
    )
    assert renamed.code == 303 and _orders(rig) == 1
    order = await acme.get(renamed.location)
    assert "Renommer l'utilisateur" in order.shown and "<Traoré>" not in order.text
