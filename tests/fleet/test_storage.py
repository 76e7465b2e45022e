"""The fleet's storage on real SQLite and PostgreSQL: scoping, lists, orders and their
rules, the top-up's idempotency, the runner's steps, consumption."""

from __future__ import annotations

import pytest

from gatewayd.errors import FieldError, NotFound
from gatewayd.fleet import rules
from gatewayd.fleet.orders import OrderState, done, failed
from gatewayd.storage import fleet as store
from gatewayd.storage import fleet_orders as ops
from tests.fleet.conftest import NOW, Fleet


def _run_order(fleet: Fleet, order_id: int, result=None):  # type: ignore[no-untyped-def]
    claimed = fleet.run(ops.claim_requested, NOW + 1)
    assert order_id in [o.id for o in claimed]
    return fleet.run(ops.finish, order_id, result or done(), NOW + 2)


def test_lists_are_scoped_counted_searched_and_paged(fleet: Fleet) -> None:
    page = fleet.run(store.list_lines, fleet.acme, None, "", 1, now=NOW)
    assert page.total == 5 and page.items[0].msisdn == "33600000001"
    assert page.items[0].plan.code == "u10" and page.items[0].billed
    assert fleet.run(store.line_counters, fleet.acme) == {
        "active": 5, "suspended": 0, "in_progress": 0, "cancelled": 0,
    }  # fmt: skip
    found = fleet.run(store.list_lines, fleet.acme, None, "lyon", 1, now=NOW)
    assert [v.user_name for v in found.items] == ["Jean Martin"]
    assert fleet.run(store.list_lines, fleet.acme, None, "%", 1, now=NOW).total == 0
    assert fleet.run(store.list_lines, fleet.acme, None, "Other", 1, now=NOW).total == 0
    assert fleet.run(store.list_lines, fleet.acme, "suspended", "", 1, now=NOW).total == 0
    far = fleet.run(store.list_lines, fleet.acme, None, "", 9, now=NOW, per_page=2)
    assert far.number == 3 and len(far.items) == 1
    rows = list(fleet.run(store.export_rows, fleet.acme, None, "", now=NOW))
    assert len(rows) == 5 and len(rows[0]) == len(store.EXPORT_HEADER)


def test_another_accounts_line_or_order_is_not_found(fleet: Fleet) -> None:
    theirs = fleet.lines["b1"]
    with pytest.raises(NotFound):
        fleet.run(store.get_line, fleet.acme, theirs, now=NOW)
    with pytest.raises(NotFound):
        fleet.run(
            store.order_action, fleet.acme, None, [fleet.lines["a1"], theirs], "suspend", {}, NOW
        )
    with pytest.raises(NotFound):
        fleet.run(store.consumption_month, fleet.acme, theirs, "2026-03")
    with pytest.raises(NotFound):
        fleet.run(store.journal, fleet.acme, theirs, 0.0, None)
    order = fleet.run(store.order_action, fleet.other, None, [theirs], "suspend", {}, NOW)
    with pytest.raises(NotFound):
        fleet.run(store.get_order, fleet.acme, order.id)
    assert fleet.run(store.list_orders, fleet.acme, 1).total == 0


def test_suspend_is_an_order_applied_when_done_and_still_billed(fleet: Fleet) -> None:
    a1 = fleet.lines["a1"]
    order = fleet.run(store.order_action, fleet.acme, None, [a1], "suspend", {}, NOW)
    assert order.state == OrderState.REQUESTED
    assert order.number == f"CMD-2026-{order.id:06d}"
    assert order.lines[0].contract == "C-100"
    with pytest.raises(FieldError, match="not finished yet"):
        fleet.run(store.order_action, fleet.acme, None, [a1], "suspend", {}, NOW)
    assert fleet.run(store.get_line, fleet.acme, a1, now=NOW).state == "active"
    finished = _run_order(fleet, order.id)
    assert finished.state == OrderState.DONE and finished.finished_at == NOW + 2
    line = fleet.run(store.get_line, fleet.acme, a1, now=NOW)
    assert line.state == "suspended" and line.billed
    assert fleet.run(store.line_counters, fleet.acme)["suspended"] == 1
    with pytest.raises(FieldError, match="Only an active line"):
        fleet.run(store.order_action, fleet.acme, None, [a1], "suspend", {}, NOW)
    # Finishing twice changes nothing.
    assert fleet.run(ops.finish, order.id, failed("late"), NOW + 3) is None


def test_several_lines_only_with_the_same_plan_and_state(fleet: Fleet) -> None:
    a1, a2, a3 = fleet.lines["a1"], fleet.lines["a2"], fleet.lines["a3"]
    with pytest.raises(FieldError, match="same plan and the same state"):
        fleet.run(
            store.order_action,
            fleet.acme,
            None,
            [a1, a3],
            "options",
            {"add": [fleet.options["eu"]]},
            NOW,
        )
    order = fleet.run(
        store.order_action,
        fleet.acme,
        None,
        [a1, a2],
        "options",
        {"add": [fleet.options["eu"]]},
        NOW,
    )
    assert len(order.lines) == 2
    _run_order(fleet, order.id)
    assert [o.code for o in fleet.run(store.get_line, fleet.acme, a2, now=NOW).options] == ["eu"]
    with pytest.raises(FieldError, match="at least one option"):
        fleet.run(
            store.order_action,
            fleet.acme,
            None,
            [a1, a2],
            "options",
            {"add": [fleet.options["eu"]]},
            NOW,
        )
    with pytest.raises(FieldError, match="data-only plan"):
        fleet.run(
            store.order_action,
            fleet.acme,
            None,
            [fleet.lines["a4"]],
            "options",
            {"add": [fleet.options["sms"]]},
            NOW,
        )


def test_a_topup_repeated_within_30_minutes_is_refused_and_not_billed_twice(fleet: Fleet) -> None:
    a1 = fleet.lines["a1"]
    first = fleet.run(
        store.order_action, fleet.acme, None, [a1], "topup", {"volume_mb": "1024"}, NOW
    )
    assert first.params == {"volume_mb": 1024}
    with pytest.raises(FieldError) as refused:
        fleet.run(
            store.order_action, fleet.acme, None, [a1], "topup", {"volume_mb": 1024}, NOW + 29 * 60
        )
    assert refused.value.msgid == rules.TOPUP_REPEATED
    assert refused.value.values["number"] == first.number
    assert refused.value.values["time"] == "11:00"  # Europe/Paris
    assert fleet.run(store.list_orders, fleet.acme, 1).total == 1
    _run_order(fleet, first.id)
    assert fleet.run(store.get_line, fleet.acme, a1, now=NOW + 60).data_bundle_mb == 10240 + 1024
    # Another volume is another order; after 30 minutes the same one may be ordered again.
    fleet.run(store.order_action, fleet.acme, None, [a1], "topup", {"volume_mb": 5120}, NOW + 60)
    again = fleet.run(
        store.order_action, fleet.acme, None, [a1], "topup", {"volume_mb": 1024}, NOW + 30 * 60
    )
    assert again.id != first.id
    with pytest.raises(FieldError, match="no data"):
        fleet.run(
            store.order_action,
            fleet.acme,
            None,
            [fleet.lines["a5"]],
            "topup",
            {"volume_mb": 1024},
            NOW,
        )


def test_a_failed_topup_frees_its_key(fleet: Fleet) -> None:
    a1 = fleet.lines["a1"]
    first = fleet.run(store.order_action, fleet.acme, None, [a1], "topup", {"volume_mb": 1024}, NOW)
    assert _run_order(fleet, first.id, failed("operator down")).reason == "operator down"
    fleet.run(store.order_action, fleet.acme, None, [a1], "topup", {"volume_mb": 1024}, NOW + 5)


def test_plan_change_is_scheduled_for_the_first_of_next_month_and_range_is_kept(
    fleet: Fleet,
) -> None:
    a1 = fleet.lines["a1"]
    with pytest.raises(FieldError, match="Changing range"):
        fleet.run(
            store.order_action,
            fleet.acme,
            None,
            [a1],
            "change_plan",
            {"plan_id": fleet.plans["d20"]},
            NOW,
        )
    order = fleet.run(
        store.order_action,
        fleet.acme,
        None,
        [a1],
        "change_plan",
        {"plan_id": fleet.plans["u10b"]},
        NOW,
    )
    assert order.effective_on == "2026-04-01" and order.params["kind"] == "migration"
    _run_order(fleet, order.id)
    line = fleet.run(store.get_line, fleet.acme, a1, now=NOW)
    assert line.plan.code == "u10" and line.pending_plan and line.pending_plan.code == "u10b"
    assert fleet.run(ops.apply_due_plans, NOW + 86400) == 0
    # 2026-03-31 22:30 UTC is already April 1st in Paris.
    assert fleet.run(ops.apply_due_plans, 1775003400.0) == 1
    line = fleet.run(store.get_line, fleet.acme, a1, now=NOW)
    assert line.plan.code == "u10b" and line.pending_plan is None


def test_sim_swap_takes_a_pool_sim_or_an_esim(fleet: Fleet) -> None:
    a1 = fleet.lines["a1"]
    assert fleet.run(store.line_actions, fleet.acme, [a1])["sim_swap"] == rules.NO_SWAP
    with pytest.raises(FieldError, match="No SIM swap"):
        fleet.run(store.order_action, fleet.acme, None, [a1], "sim_swap", {"sim": "physical"}, NOW)
    fleet.run(ops.add_sim, "Acme", "89330000000000000900", "9999", NOW)
    with pytest.raises(FieldError, match="eSIM"):
        fleet.run(store.order_action, fleet.acme, None, [a1], "sim_swap", {"sim": "esim"}, NOW)
    order = fleet.run(
        store.order_action, fleet.acme, None, [a1], "sim_swap", {"sim": "physical"}, NOW
    )
    assert order.params["iccid"] == "89330000000000000900"
    assert fleet.run(store.customer_facts, fleet.acme).free_sims == 0  # held by the order
    _run_order(fleet, order.id)
    line = fleet.run(store.get_line, fleet.acme, a1, now=NOW)
    assert (line.iccid, line.puk, line.sim_kind) == ("89330000000000000900", "9999", "physical")
    # SIMs are never reused: the old one cannot come back into a pool.
    with pytest.raises(Exception, match="never reused"):
        fleet.run(ops.add_sim, "Acme", "89330000000000000001", "", NOW)
    fleet.run(ops.set_esim, "Acme", True, NOW)
    esim = fleet.run(store.order_action, fleet.acme, None, [a1], "sim_swap", {"sim": "esim"}, NOW)
    _run_order(fleet, esim.id, done(iccid="89330000000000000777", puk="1234"))
    assert fleet.run(store.get_line, fleet.acme, a1, now=NOW).sim_kind == "esim"


def test_a_failed_swap_gives_the_sim_back(fleet: Fleet) -> None:
    fleet.run(ops.add_sim, "Acme", "89330000000000000900", "", NOW)
    order = fleet.run(
        store.order_action,
        fleet.acme,
        None,
        [fleet.lines["a2"]],
        "sim_swap",
        {"sim": "physical"},
        NOW,
    )
    _run_order(fleet, order.id, failed("no"))
    assert fleet.run(store.free_sims, fleet.acme) == ["89330000000000000900"]


def test_rename_and_recovery_after_a_restart(fleet: Fleet) -> None:
    a2 = fleet.lines["a2"]
    order = fleet.run(
        store.order_action, fleet.acme, None, [a2], "rename", {"user_name": "  Ana   Lopes "}, NOW
    )
    fleet.run(ops.claim_requested, NOW)
    assert fleet.run(ops.recover, NOW + 10, 300.0, 2) == (0, 0)
    assert fleet.run(ops.recover, NOW + 300, 300.0, 2) == (1, 0)
    fleet.run(ops.claim_requested, NOW + 301)
    assert fleet.run(ops.recover, NOW + 601, 300.0, 2) == (0, 1)
    assert fleet.run(store.get_order, fleet.acme, order.id).reason == ops.NO_ANSWER
    again = fleet.run(
        store.order_action, fleet.acme, None, [a2], "rename", {"user_name": "Ana Lopes"}, NOW
    )
    _run_order(fleet, again.id)
    assert fleet.run(store.get_line, fleet.acme, a2, now=NOW).user_name == "Ana Lopes"


def test_consumption_of_the_month_and_the_journal(fleet: Fleet) -> None:
    a1 = fleet.lines["a1"]
    fleet.run(ops.add_usage, "33600000001", "data", 5 * 1024 * 1024, NOW)
    fleet.run(ops.add_usage, "33600000001", "data", 6 * 1024 * 1024, NOW + 1, in_bundle=False)
    fleet.run(ops.add_usage, "33600000001", "voice", 120, NOW + 2, detail="33140000000")
    fleet.run(ops.add_usage, "33600000001", "mms", 1, NOW + 3)
    fleet.run(ops.add_usage, "33600000001", "sms", 2, NOW - 40 * 86400)  # February
    month = fleet.run(store.consumption_month, fleet.acme, a1, "2026-03")
    assert month.data.in_bundle == 5 * 1024 * 1024 and month.data.out_of_bundle == 6 * 1024 * 1024
    assert month.voice.total == 120 and month.out_of_bundle and month.data_bundle_mb == 10240
    line = fleet.run(store.get_line, fleet.acme, a1, now=NOW)
    assert line.out_of_bundle and line.data_percent == 100
    assert fleet.run(store.consumption_month, fleet.acme, a1, "2026-02").sms.total == 2
    since = rules.journal_since(NOW, rules.zone_of("Europe/Paris"))
    everything = fleet.run(store.journal, fleet.acme, a1, since, None)
    assert everything.total == 5 and everything.items[0].kind == "mms"
    assert [u.kind for u in fleet.run(store.journal, fleet.acme, a1, since, "sms").items] == [
        "mms",
        "sms",
    ]


def test_two_top_ups_at_once_make_one_order(fleet: Fleet, db_url: str) -> None:
    """PostgreSQL: the second transaction waits for the first's lock on the line, then sees its
    key and is refused; only one order exists (one top-up billed)."""
    import threading

    if db_url.startswith("sqlite"):
        pytest.skip("SQLite runs one writer at a time")
    a1 = fleet.lines["a1"]
    first = fleet.db.session()
    first.begin()
    store.order_action(first, fleet.acme, None, [a1], "topup", {"volume_mb": 1024}, NOW)
    outcome: list[object] = []

    def second() -> None:
        try:
            fleet.run(store.order_action, fleet.acme, None, [a1], "topup", {"volume_mb": 1024}, NOW)
            outcome.append("ordered")
        except FieldError as error:
            outcome.append(error.msgid)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive() and outcome == []  # waiting for the line's lock
    first.commit()
    first.close()
    thread.join(10)
    assert outcome == [rules.TOPUP_REPEATED]
    assert fleet.run(store.list_orders, fleet.acme, 1).total == 1
