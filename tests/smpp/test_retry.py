from __future__ import annotations

from typing import Any

import pytest

from gatewayd.config import ConfigError, parse_config
from gatewayd.config.model import RetryRuleConfig
from gatewayd.smpp import pdu as p
from gatewayd.smpp.retry import (
    DISCONNECT,
    TIMEOUT,
    GiveUp,
    Reject,
    Retry,
    RetryRule,
    RetryTable,
    jittered_backoff,
    parse_cause,
)


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("ESME_RTHROTTLED", p.ESME_RTHROTTLED),
        ("esme_rmsgqful", p.ESME_RMSGQFUL),
        ("0x08", p.ESME_RSYSERR),
        ("1024", 1024),
        ("timeout", TIMEOUT),
        ("Disconnect", DISCONNECT),
        ("*", "*"),
    ],
)
def test_parse_cause(text: str, cause: object) -> None:
    assert parse_cause(text) == cause


@pytest.mark.parametrize("text", ["ESME_NOPE", "0", "0x100000000", "-3", ""])
def test_parse_cause_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cause(text)


@pytest.mark.parametrize(
    "cause",
    [p.ESME_RTHROTTLED, p.ESME_RMSGQFUL, p.ESME_RSYSERR, p.ESME_RX_T_APPN, TIMEOUT, DISCONNECT],
)
def test_default_temporary_causes(cause: int | str) -> None:
    table = RetryTable()
    assert isinstance(table.decide(cause, 1), Retry)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "status", [p.ESME_RINVDSTADR, p.ESME_RINVSRCADR, p.ESME_RINVMSGLEN, p.ESME_RX_P_APPN, 0x400]
)
def test_default_permanent_statuses(status: int) -> None:
    assert RetryTable().decide(status, 1) == Reject()


def test_delays_double_up_to_the_cap_and_attempts_run_out() -> None:
    table = RetryTable({p.ESME_RSYSERR: RetryRule(True, attempts=5, delay=10.0, max_delay=25.0)})
    verdicts = [table.decide(p.ESME_RSYSERR, n) for n in range(1, 6)]
    assert verdicts == [Retry(10.0), Retry(20.0), Retry(25.0), Retry(25.0), GiveUp()]


def test_config_overrides_replace_single_rules() -> None:
    table = RetryTable.from_config(
        {
            "ESME_RSYSERR": RetryRuleConfig(kind="permanent"),
            "*": RetryRuleConfig(kind="temporary", attempts=2, delay=1.0, max_delay=1.0),
        }
    )
    assert table.decide(p.ESME_RSYSERR, 1) == Reject()
    assert table.decide(0x400, 1) == Retry(1.0)
    assert table.decide(0x400, 2) == GiveUp()
    assert table.decide(p.ESME_RINVDSTADR, 1) == Reject()  # named defaults stay
    assert table.decide(p.ESME_RTHROTTLED, 1) == Retry(1.0)


def test_backoff_grows_caps_and_jitters_between_half_and_all() -> None:
    low = jittered_backoff(1.0, 10.0, lambda: 0.0)
    high = jittered_backoff(1.0, 10.0, lambda: 0.999999)
    assert [low(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert [round(high(n), 3) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert low(10_000) == 5.0  # no overflow after a long outage


def test_the_config_refuses_an_unknown_cause() -> None:
    data: dict[str, Any] = {
        "routing": {"default_connector": "u"},
        "connectors": {"u": {"host": "h", "system_id": "x", "retry": {"ESME_BOGUS": {}}}},
    }
    with pytest.raises(ConfigError, match=r"connectors\.u\.retry: 'ESME_BOGUS' is not"):
        parse_config(data, "t.toml")
    data["connectors"]["u"]["retry"] = {"esme_rsyserr": {"kind": "permanent"}}
    rule = parse_config(data, "t.toml").connectors["u"].retry["esme_rsyserr"]
    assert rule == RetryRuleConfig(kind="permanent")
