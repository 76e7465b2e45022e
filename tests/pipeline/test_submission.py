from __future__ import annotations

import pytest

from gatewayd.errors import ValidationError
from gatewayd.pipeline.submission import InvalidRecipients, SubmitRequest, prepare
from gatewayd.routing.acceptance import Acceptance
from gatewayd.routing.account import AccountPolicy
from gatewayd.routing.numbers import NumberPlan
from gatewayd.routing.table import Match, Reject, RoutingTable, Rule
from gatewayd.storage.accounts import AccountInfo

ACME = AccountInfo(1, "Acme", "customer", None, False)


def request(**kw: object) -> SubmitRequest:
    base: dict[str, object] = {
        "account": ACME,
        "user_id": 7,
        "channel": "web",
        "recipients": ["22376600000"],
        "text": "hi",
    }
    base.update(kw)
    return SubmitRequest(**base)  # type: ignore[arg-type]


def test_a_valid_request_becomes_a_batch() -> None:
    batch = prepare(
        request(
            recipients=["+22376600000", "22376600000", "22376600001"],
            text="é" * 71,
            subject="  Promo  ",
            sender="ACME",
        )
    )
    assert batch.recipients == ["22376600000", "22376600001"]
    assert batch.part_count == 1  # é is in the GSM alphabet
    assert batch.subject == "Promo" and batch.sender == "ACME" and batch.user_id == 7


def test_a_ucs2_text_counts_its_parts() -> None:
    assert prepare(request(text="ж" * 71)).part_count == 2


def test_invalid_recipients_are_listed_with_reasons_and_nothing_is_accepted() -> None:
    with pytest.raises(InvalidRecipients) as info:
        prepare(request(recipients=["22376600000", "076600000"]))
    assert [n.raw for n in info.value.refused] == ["076600000"]
    assert info.value.http_status == 400 and info.value.smpp_status == 0x0B


@pytest.mark.parametrize(
    ("kw", "message", "smpp_status"),
    [
        ({"text": ""}, "empty", 0x01),
        ({"text": "x" * 1601}, "more than", 0x01),
        ({"sender": "Société"}, "sender", 0x0A),
        ({"recipients": []}, "no recipient", 0x0B),
        ({"account": AccountInfo(1, "A", "customer", None, True)}, "suspended", 0x08),
    ],
)
def test_bad_requests_map_to_http_and_smpp_errors(
    kw: dict[str, object], message: str, smpp_status: int
) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        prepare(request(**kw))
    assert info.value.http_status == 400 and info.value.smpp_status == smpp_status


def acceptance(*rules: Rule, bound: bool = True) -> Acceptance:
    plan = NumberPlan({"2237": "Orange Mali"}, home_country="ML")
    return Acceptance(plan, RoutingTable(rules, "default"), lambda name: bound)


def test_the_accounts_country_settings_and_senders_apply() -> None:
    account = AccountPolicy(1, "Acme", country="FR", senders=frozenset({"Acme", "36123"}))
    batch = prepare(
        request(recipients=["06 12 34 56 78", "+22376600000"], sender="ACME"),
        acceptance=acceptance(),
        account=account,
    )
    assert batch.recipients == ["33612345678", "22376600000"]
    assert batch.sender == "Acme"  # the granted spelling
    assert [scope for scope, _ in batch.classes] == ["national", "international"]
    assert batch.classes[1][1] == "Orange Mali"
    with pytest.raises(ValidationError, match="allowed senders") as info:
        prepare(request(sender="OTHER"), acceptance=acceptance(), account=account)
    assert info.value.smpp_status == 0x0A


def test_a_reject_route_refuses_the_recipient_with_its_status() -> None:
    rule = Rule("no-mali", Match(prefixes=("223",)), Reject(0x0B, "Mali is closed"))
    with pytest.raises(InvalidRecipients, match="Mali is closed") as info:
        prepare(request(recipients=["22376600000", "33612345678"]), acceptance=acceptance(rule))
    assert [r.raw for r in info.value.refused] == ["22376600000"]
    assert info.value.smpp_status == 0x0B
    batch = prepare(request(recipients=["33612345678"]), acceptance=acceptance(rule))
    assert batch.recipients == ["33612345678"]
