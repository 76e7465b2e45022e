"""`gatewayd route` and `gatewayd account set / sender-*`, run in-process on a real SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.test_cli import Run

CONFIG = """
[connectors.orange]
host = "127.0.0.1"
system_id = "gw"
[connectors.backup]
host = "127.0.0.1"
system_id = "gw"
[routing]
default_connector = "backup"
[[routing.rules]]
name = "ml-night"
prefixes = ["223"]
window = { from = "22:00", to = "06:00", tz = "Africa/Bamako" }
connector = "backup"
[[routing.rules]]
name = "ml"
prefixes = ["223"]
failover = ["orange", "backup"]
[numbers]
operators = { "2237" = "Orange Mali" }
"""


@pytest.fixture
def run(tmp_path: Path) -> Run:
    r = Run(tmp_path)
    r.config.write_text(r.config.read_text() + CONFIG, encoding="utf-8")
    assert r("db", "upgrade", "-c", "CONF")[0] == 0
    assert r("account", "create", "-c", "CONF", "--name", "Acme")[0] == 0
    return r


def test_route_explain_says_which_rule_and_why(run: Run) -> None:
    code, out, err = run(
        "route", "explain", "-c", "CONF", "--account", "Acme", "--to", "+223 76 60 00 00",
        "--at", "2026-11-23T12:00+00:00",
    )  # fmt: skip
    assert code == 0, err
    assert "+22376600000: international" in out and "Orange Mali" in out
    assert "rule 'ml-night': mon 12:00 Africa/Bamako is outside the window" in out
    assert "rule 'ml': matched" in out and "'orange'" in out
    code, out, _ = run(
        "route", "explain", "-c", "CONF", "--account", "Acme", "--to", "22376600000",
        "--at", "2026-11-23T12:00+00:00", "--down", "orange",
    )  # fmt: skip
    assert code == 0 and "'backup'" in out.splitlines()[-1]


def test_account_settings_change_classification_and_are_audited(run: Run) -> None:
    code, out, err = run(
        "account", "set", "-c", "CONF", "--name", "Acme", "--country", "ML",
        "--timezone", "Africa/Bamako", "--groups", "vip,resellers", "--plan", "gold",
    )  # fmt: skip
    assert code == 0, err
    assert "country ML" in out and "groups resellers,vip" in out and "plan gold" in out
    code, out, _ = run("account", "set", "-c", "CONF", "--name", "Acme", "--plan", "silver")
    assert "silver from 20" in out  # the next month, not now
    code, out, _ = run(
        "route", "explain", "-c", "CONF", "--account", "Acme", "--to", "76600000",
        "--at", "2026-11-23T12:00+00:00",
    )  # fmt: skip
    assert code == 0 and "national" in out and "international" not in out
    code, _, err = run("account", "set", "-c", "CONF", "--name", "Acme", "--timezone", "Mars/Base")
    assert code == 1 and "IANA time zone" in err
    with run.database().session() as s:
        actions = [r[0] for r in s.execute(text("SELECT action FROM audit_entries ORDER BY id"))]
    assert actions[:4] == ["set country", "set timezone", "set groups", "set plan"]


def test_sender_ids_are_granted_checked_and_revoked(run: Run) -> None:
    code, out, _ = run("account", "sender-add", "-c", "CONF", "--name", "Acme", "ACME")
    assert code == 0 and "may send as: ACME" in out
    code, _, err = run("account", "sender-add", "-c", "CONF", "--name", "Acme", "Société")
    assert code == 1 and "sender 'Société'" in err
    code, _, err = run("account", "sender-add", "-c", "CONF", "--name", "Acme", "ACME")
    assert code == 1 and "already has" in err
    code, out, _ = run("account", "sender-remove", "-c", "CONF", "--name", "Acme", "ACME")
    assert code == 0 and "no list" in out


def test_route_rules_in_the_database_come_first_and_are_checked(run: Run) -> None:
    rule = {"name": "fr", "prefixes": ["33"], "reject": {"status": "ESME_RINVDSTADR"}}
    code, out, err = run("route", "add", "-c", "CONF", "--rule", json.dumps(rule))
    assert code == 0, err
    code, out, _ = run("route", "list", "-c", "CONF")
    assert out.splitlines()[0].startswith("database") and '"fr"' in out.splitlines()[0]
    code, out, _ = run(
        "route", "explain", "-c", "CONF", "--account", "Acme", "--to", "33612345678",
    )  # fmt: skip
    assert "rule 'fr': matched" in out and "decision: reject with ESME_RINVDSTADR" in out
    bad = {"name": "x", "connector": "nowhere"}
    code, _, err = run("route", "add", "-c", "CONF", "--rule", json.dumps(bad))
    assert code == 1 and "nowhere" in err
    empty = {"name": "y", "prefixes": [], "connector": "orange"}
    code, _, err = run("route", "add", "-c", "CONF", "--rule", json.dumps(empty))
    assert code == 1 and "prefixes" in err
    assert run("route", "remove", "-c", "CONF", "fr")[0] == 0
    code, _, err = run("route", "remove", "-c", "CONF", "fr")
    assert code == 1 and "no such routing rule" in err


def test_policy_explain_shows_the_rules_the_counters_and_the_decision(run: Run) -> None:
    plans = '\n[plans.small]\nhourly_messages = 5\nmonthly_quota = 100\nprice_national = "0.02"\n'
    run.config.write_text(run.config.read_text() + plans, encoding="utf-8")
    assert run("account", "set", "-c", "CONF", "--name", "Acme", "--plan", "small")[0] == 0
    assert run("account", "set", "-c", "CONF", "--name", "Acme", "--country", "ML")[0] == 0
    # Noon UTC today: outside the 'ml-night' window whatever time the suite runs, and in the
    # month the plan was set in.
    noon_today = datetime.now(UTC).strftime("%Y-%m-%dT12:00+00:00")
    code, out, err = run(
        "policy", "explain", "-c", "CONF", "--account", "Acme", "--to", "76600000",
        "--text", "x" * 200, "--at", noon_today,
    )  # fmt: skip
    assert code == 0, err
    assert "rule 'ml': matched" in out  # the route first
    assert "fair use: plan 'small', time zone UTC" in out
    assert "rule monthly_quota = 100" in out and "rule hourly_messages = 5" in out
    assert "check monthly_quota: 2 against 100: ok" in out  # 200 characters: two parts
    assert "decision: accepted, cost 0.04" in out


def test_lift_top_up_and_review_are_audited(run: Run) -> None:
    code, _, err = run("account", "lift", "-c", "CONF", "--name", "Acme")
    assert code == 1 and "not suspended" in err
    code, out, _ = run("account", "top-up", "-c", "CONF", "--name", "Acme", "--amount", "25.50")
    assert code == 0 and "credit 25.50" in out
    code, _, err = run("account", "top-up", "-c", "CONF", "--name", "Acme", "--amount", "-1")
    assert code == 1 and "positive" in err
    assert run("account", "clear-review", "-c", "CONF", "--name", "Acme")[0] == 0
    with run.database().session() as s:
        actions = [r[0] for r in s.execute(text("SELECT action FROM audit_entries ORDER BY id"))]
    assert actions == ["top-up", "clear-review"]
