"""The fleet's contract rules and e-mails, pure: no database."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from gatewayd.errors import FieldError
from gatewayd.fleet import emails, rules
from gatewayd.fleet.model import (
    Action,
    CustomerFacts,
    LineFacts,
    LineState,
    Option,
    OptionKind,
    Plan,
    PlanRange,
)
from gatewayd.fleet.orders import Order, OrderLine, OrderState

U10 = Plan(1, "u10", "Unlimited 10 GB", PlanRange.UNLIMITED, False, 10240)
U50 = Plan(2, "u50", "Unlimited 50 GB", PlanRange.UNLIMITED, False, 51200)
U10B = Plan(3, "u10b", "Unlimited 10 GB blocked", PlanRange.UNLIMITED, True, 10240)
D20 = Plan(4, "d20", "Data only 20 GB", PlanRange.DATA_ONLY, True, 20480)
VOICE = Plan(5, "voice", "Voice", PlanRange.UNLIMITED, False, 0)
PLANS = {p.id: p for p in (U10, U50, U10B, D20, VOICE)}
ROAM = Option(1, "eu", "Roaming EU", OptionKind.ROAMING)
OPTIONS = {ROAM.id: ROAM}
PARIS = ZoneInfo("Europe/Paris")
NOW = 1773568800.0  # 2026-03-15 10:00 UTC
NOBODY = CustomerFacts(free_sims=0, esim_allowed=False)


def line(id: int = 1, state: LineState = LineState.ACTIVE, plan: Plan = U10) -> LineFacts:
    return LineFacts(id, state, plan)


def check(action: str, lines: list[LineFacts], customer: CustomerFacts = NOBODY, **params: object):  # type: ignore[no-untyped-def]
    return rules.check(
        action, lines, customer, params, now=NOW, zone=PARIS, options=OPTIONS, plans=PLANS
    )


def test_several_lines_need_the_same_plan_and_state() -> None:
    check("suspend", [line(1), line(2)])
    with pytest.raises(FieldError, match="same plan"):
        check("suspend", [line(1), line(2, plan=U50)])
    with pytest.raises(FieldError, match="same plan"):
        check("options", [line(1), line(2, LineState.SUSPENDED)], add=[1])
    assert rules.refusal(Action.RENAME, [line(1), line(2)], NOBODY) == rules.ONE_LINE


def test_states_allow_what_they_should() -> None:
    with pytest.raises(FieldError, match="Only a suspended"):
        check("reactivate", [line()])
    check("reactivate", [line(state=LineState.SUSPENDED)])
    for state in (LineState.CANCELLED, LineState.IN_PROGRESS):
        assert all(v is not None for v in rules.availability([line(state=state)], NOBODY).values())


def test_sim_swap_is_greyed_out_without_a_free_sim_or_esim_permission() -> None:
    assert rules.refusal(Action.SIM_SWAP, [line()], NOBODY) == rules.NO_SWAP
    pool = CustomerFacts(free_sims=1, esim_allowed=False)
    assert rules.refusal(Action.SIM_SWAP, [line()], pool) is None
    with pytest.raises(FieldError, match="eSIM"):
        check("sim_swap", [line()], pool, sim="esim")
    assert check("sim_swap", [line()], CustomerFacts(0, True), sim="esim").params == {"sim": "esim"}


def test_topup_has_a_key_per_line_and_needs_data() -> None:
    checked = check("topup", [line(1), line(2)], volume_mb="1024")
    assert checked.keys == ("topup:1:1024", "topup:2:1024") and checked.key_ttl == 1800.0
    with pytest.raises(FieldError, match="from the list"):
        check("topup", [line()], volume_mb="3")
    with pytest.raises(FieldError, match="no data"):
        check("topup", [line(plan=VOICE)], volume_mb="1024")


def test_plan_changes_wait_for_the_first_of_next_month_and_keep_the_range() -> None:
    assert check("change_plan", [line()], plan_id=2).effective_on == "2026-04-01"
    assert check("change_plan", [line()], plan_id=3).params["kind"] == "migration"
    assert check("change_plan", [line(plan=U50)], plan_id=1).params["kind"] == "downgrade"
    with pytest.raises(FieldError, match="Changing range"):
        check("change_plan", [line()], plan_id=4)
    with pytest.raises(FieldError, match="already has"):
        check("change_plan", [line()], plan_id=1)
    # At the turn of the year, in Paris time.
    assert rules.first_of_next_month(1798756200.0, PARIS) == "2027-01-01"
    assert rules.first_of_next_month(1798759800.0 + 3600, PARIS) == "2027-02-01"


def test_options_on_data_only_plans_and_names() -> None:
    with pytest.raises(FieldError, match="data-only"):
        check("options", [line(plan=D20)], add=[1])
    with pytest.raises(FieldError, match="Tick at least"):
        check("options", [line()], remove=[1])
    assert check("rename", [line()], user_name="  Ana  Lopes ").params == {"user_name": "Ana Lopes"}
    with pytest.raises(FieldError, match="user's name"):
        check("rename", [line()], user_name=" ")


def test_the_journal_starts_three_months_back() -> None:
    assert rules.journal_since(NOW, PARIS) == 1767222000.0  # 2026-01-01 00:00 Paris
    assert rules.month_bounds("2026-03", PARIS) == (1772319600.0, 1774994400.0)


def test_emails_in_english_and_the_reseller_sentence() -> None:
    order = Order(
        9, "CMD-2026-000009", 1, None, "topup", {"volume_mb": 5120}, OrderState.DONE,
        (OrderLine(1, "33600000001", "8933", "Awa Diallo", "C-100"),), 0.0,
    )  # fmt: skip
    mail = emails.customer_email(order, "en")
    assert mail.subject == "Order CMD-2026-000009 done"
    assert "ordered a data top-up of 5 GB for: 33600000001" in mail.body
    reseller = emails.reseller_email(order, "Acme")
    assert (
        "Votre client Acme a commandé une recharge data de 5 GB pour la ligne de l'utilisateur "
        "Awa Diallo (33600000001), contrat C-100, commande CMD-2026-000009." in reseller.body
    )
