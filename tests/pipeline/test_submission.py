from __future__ import annotations

import pytest

from gatewayd.errors import ValidationError
from gatewayd.pipeline.submission import InvalidRecipients, SubmitRequest, prepare
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
    assert [n.raw for n in info.value.invalid] == ["076600000"]
    assert info.value.http_status == 400 and info.value.smpp_status == 0x0B


@pytest.mark.parametrize(
    ("kw", "message", "smpp_status"),
    [
        ({"text": ""}, "empty", 0x01),
        ({"text": "x" * 1601}, "more than", 0x01),
        ({"sender": "Société"}, "sender", 0x0A),
        ({"recipients": []}, "no recipient", 0x08),
        ({"account": AccountInfo(1, "A", "customer", None, True)}, "suspended", 0x08),
    ],
)
def test_bad_requests_map_to_http_and_smpp_errors(
    kw: dict[str, object], message: str, smpp_status: int
) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        prepare(request(**kw))
    assert info.value.http_status == 400 and info.value.smpp_status == smpp_status
