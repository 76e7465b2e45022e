"""The customer's messages pages: compose (address book, groups, senders, schedule), the
confirmation step, sending, the sent list, each batch's statuses, resend and the archives."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_twisted
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gatewayd.smpp.text import GSM_BASIC, GSM_EXTENSION, segments
from gatewayd.storage.models import (
    Account,
    Batch,
    Contact,
    ContactGroup,
    GroupMember,
    Message,
    MessageEvent,
    SenderId,
)
from tests.admin.conftest import Browser, ConsoleRig, Response

COMPOSE_JS = Path(__file__).parents[2] / "gatewayd" / "admin" / "static" / "compose.js"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
#: Within the 366 days a batch may be scheduled ahead (the rig runs on the real clock).
FUTURE = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")


def _account_id(s: Session, name: str) -> int:
    return s.scalars(select(Account.id).where(Account.name == name)).one()


def _address_book(s: Session, account: str, group: str, people: list[tuple[str, str]]) -> None:
    """Contacts (first name, number) in one group, and a granted sender."""
    account_id = _account_id(s, account)
    row = ContactGroup(account_id=account_id, name=group, created_at=0.0)
    s.add(row)
    s.flush()
    for first, msisdn in people:
        contact = Contact(
            account_id=account_id, first_name=first, last_name="Test", msisdn=msisdn, created_at=0
        )
        s.add(contact)
        s.flush()
        s.add(GroupMember(group_id=row.id, contact_id=contact.id))
    s.add(SenderId(account_id=account_id, sender="ACME", created_at=0.0))


def _batches(s: Session, account: str) -> list[tuple[int, float | None, list[str]]]:
    found = []
    account_id = _account_id(s, account)
    for batch in s.scalars(select(Batch).where(Batch.account_id == account_id).order_by(Batch.id)):
        numbers = s.scalars(
            select(Message.destination).where(Message.batch_id == batch.id).order_by(Message.id)
        )
        found.append((batch.id, batch.scheduled_at, list(numbers)))
    return found


def _set_status(s: Session, batch_id: int, destination: str, status: str, code: str) -> None:
    s.execute(
        update(Message)
        .where(Message.batch_id == batch_id, Message.destination == destination)
        .values(status=status, error_code=code)
    )


def _hidden(page: Response, form_action: str) -> list[tuple[str, str]]:
    """The hidden fields of the form posting to ``form_action`` (without the CSRF token)."""
    start = page.text.index(f'action="{form_action}"')
    form = page.text[start : page.text.index("</form>", start)]
    return [(n, unescape(v)) for n, v in _HIDDEN.findall(form) if n != "csrf_token"]


async def _scheduled_batch(browser: Browser, numbers: str, subject: str = "later") -> Response:
    """A batch held for a month: its messages stay accepted, so tests set their statuses."""
    await browser.get("/messages/new")
    form = {"recipients": numbers, "text": "bonjour", "subject": subject}
    sent = await browser.post("/messages", {**form, "date": FUTURE, "time": "08:00"})
    assert sent.code == 303, sent.text
    return sent


# --- the live counter is the server's rule ------------------------------------------------

SAMPLES = [
    "",
    "a",
    "Bonjour à tous, réunion demain à 9h.",
    "x" * 160,
    "x" * 161,
    "x" * 306,
    "x" * 307,
    "{" * 80,
    "{" * 81,
    "a" + "€" * 80,
    "x" * 152 + "€" + "x" * 10,
    "line one\nline two\n",
    "Привет",
    "é" * 70,
    "ç" * 70,
    "ç" * 71,
    "😀" * 35,
    "😀" * 36,
    "a" + "😀" * 34,
    "Привет 😀 " * 14,
    "Ünïcödé ĉ" * 20,
    GSM_BASIC.replace("\x1b", ""),
    "".join(GSM_EXTENSION),
    "tab\there",
]


def test_the_javascript_counter_agrees_with_segments() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript counter cannot be run")
    script = (
        f"const m = require({json.dumps(str(COMPOSE_JS))});"
        "const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(texts.map(m.segments)));"
    )
    done = subprocess.run(
        [node, "-e", script], input=json.dumps(SAMPLES), capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    for text, got in zip(SAMPLES, json.loads(done.stdout), strict=True):
        expected = segments(text)
        assert got == {
            "encoding": expected.encoding,
            "characters": expected.characters,
            "parts": expected.parts,
        }, text


# --- compose, confirm, send ---------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_compose_offers_contacts_groups_senders_and_the_counter(any_rig: ConsoleRig) -> None:
    rig = any_rig
    browser = await rig.customer("acme", "alice")
    rig.gateway.db.run_sync("book", _address_book, "acme", "Team", [("Awa", "22376600001")])
    page = await browser.get("/messages/new")
    assert page.code == 200
    assert 'name="contacts" value="22376600001"' in page.text and "Awa Test" in page.text
    assert 'name="groups" value="Team"' in page.text
    assert '<option value="ACME"' in page.text
    assert 'src="/static/compose.js"' in page.text and 'type="date" name="date"' in page.text
    assert "0 caractères · GSM-7 · 0 SMS" in page.text
    script = await browser.get("/static/compose.js")
    assert script.code == 200 and b"function segments" in script.body


@pytest_twisted.ensureDeferred
async def test_confirmation_then_send_to_a_group_contacts_and_individuals(
    any_rig: ConsoleRig,
) -> None:
    rig = any_rig
    browser = await rig.customer("acme", "alice")
    people = [("Awa", "22376600001"), ("Binta", "22376600002")]
    rig.gateway.db.run_sync("book", _address_book, "acme", "Team", people)
    await browser.get("/messages/new")
    form = [
        ("subject", "Réunion"),
        ("recipients", "22376600003; 22376600003,\r\n076600000\n22376600001"),
        ("contacts", "22376600002"),
        ("groups", "Team"),
        ("text", "x" * 161),
        ("sender", "ACME"),
    ]
    confirm = await browser.post("/messages/confirm", form)
    assert confirm.code == 200, confirm.text
    assert "3 destinataires (doublons retirés)" in confirm.text
    assert "<code>076600000</code> : l'indicatif pays est obligatoire" in confirm.shown
    assert '<dd id="parts">2</dd>' in confirm.text and '<dd id="total-parts">6</dd>' in confirm.text
    assert "aucun tarif" in confirm.text
    assert rig.gateway.db.run_sync("batches", _batches, "acme") == []  # nothing sent yet
    send = _hidden(confirm, "/messages")
    assert ("skip", "076600000") in send and ("groups", "Team") in send
    sent = await browser.post("/messages", send)
    assert sent.code == 303 and sent.location == "/messages?flash=sent"
    [(_, scheduled, numbers)] = rig.gateway.db.run_sync("batches", _batches, "acme")
    assert scheduled is None
    assert sorted(numbers) == ["22376600001", "22376600002", "22376600003"]
    listed = await browser.get(sent.location)
    assert "Réunion" in listed.text and "Votre message a été accepté" in listed.text


@pytest_twisted.ensureDeferred
async def test_edit_goes_back_to_the_form_with_everything_kept(any_rig: ConsoleRig) -> None:
    rig = any_rig
    browser = await rig.customer("acme", "alice")
    rig.gateway.db.run_sync("book", _address_book, "acme", "Team", [("Awa", "22376600001")])
    await browser.get("/messages/new")
    form = [
        ("subject", "Objet <b>"),
        ("recipients", "22376600003\nbad"),
        ("contacts", "22376600001"),
        ("groups", "Team"),
        ("text", "Salut"),
        ("date", FUTURE),
        ("time", "09:30"),
    ]
    confirm = await browser.post("/messages/confirm", form)
    assert f"programmé le {FUTURE} 09:30 (UTC)" in confirm.text
    edit = _hidden(confirm, "/messages/edit")
    assert not any(name == "skip" for name, _ in edit)
    back = await browser.post("/messages/edit", edit)
    assert back.code == 200
    assert 'value="Objet &lt;b&gt;"' in back.text and ">22376600003\nbad</textarea>" in back.text
    assert 'value="22376600001" checked' in back.text and 'value="Team" checked' in back.text
    assert f'value="{FUTURE}"' in back.text and 'value="09:30"' in back.text
    assert ">Salut</textarea>" in back.text


@pytest_twisted.ensureDeferred
async def test_bad_input_gives_the_form_back_with_a_clear_message(any_rig: ConsoleRig) -> None:
    rig = any_rig
    browser = await rig.customer("acme", "alice")
    rig.gateway.db.run_sync("book", _address_book, "acme", "Team", [])
    await rig.gateway.directory.reload()  # the granted sender, as the CLI's grant does
    await browser.get("/messages/new")
    base = {"recipients": "22376600003", "text": "Salut", "sender": "ACME"}
    past = await browser.post("/messages/confirm", {**base, "date": "2001-01-01", "time": "10:00"})
    assert past.code == 400 and "doit être dans le futur" in past.text
    half = await browser.post("/messages/confirm", {**base, "date": FUTURE})
    assert half.code == 400 and "une date et une heure" in half.text
    sender = await browser.post("/messages/confirm", {**base, "sender": "OTHER"})
    assert sender.code == 400 and "OTHER" in sender.text
    nobody = await browser.post("/messages/confirm", {**base, "recipients": "nope"})
    assert nobody.code == 200 and "aucun destinataire valide" in nobody.text
    assert 'action="/messages"' not in nobody.text  # no Send button
    missing = await browser.post("/messages/confirm", {**base, "groups": "Nope"})
    assert missing.code == 404
    assert rig.gateway.db.run_sync("batches", _batches, "acme") == []


@pytest_twisted.ensureDeferred
async def test_a_scheduled_message_is_held_until_its_time(any_rig: ConsoleRig) -> None:
    rig = any_rig
    browser = await rig.customer("acme", "alice")
    rig.gateway.db.run_sync("tz", _set_account, "acme", timezone="Europe/Paris")
    await _scheduled_batch(browser, "22376600003")
    [(_, scheduled, _numbers)] = rig.gateway.db.run_sync("batches", _batches, "acme")
    local = datetime.strptime(f"{FUTURE} 08:00", "%Y-%m-%d %H:%M")
    assert scheduled == local.replace(tzinfo=ZoneInfo("Europe/Paris")).timestamp()
    page = await browser.get("/messages/new")
    assert "votre fuseau horaire : Europe/Paris" in page.text
    listed = await browser.get("/messages")
    assert f"programmé le {datetime.strptime(FUTURE, '%Y-%m-%d'):%d/%m/%Y} 08:00:00" in listed.text
    assert "(Europe/Paris)" in listed.text
    assert 'http-equiv="refresh"' not in listed.text  # held for later: nothing to watch


def _set_account(s: Session, name: str, **values: Any) -> None:
    s.execute(update(Account).where(Account.name == name).values(**values))


@pytest_twisted.ensureDeferred
async def test_confirmation_shows_the_cost_and_the_fair_use_warning(any_rig: ConsoleRig) -> None:
    rig = any_rig
    browser = await rig.customer("acme", "alice")
    rules = {"price_international": "0.05", "price_national": "0.05", "monthly_quota": 3}
    rig.gateway.db.run_sync("plan", _set_account, "acme", fair_use=json.dumps(rules))
    await browser.get("/messages/new")
    form = {"recipients": "22376600001;22376600002", "text": "x" * 200}
    confirm = await browser.post("/messages/confirm", form)
    assert '<dd id="cost">0.10</dd>' in confirm.text  # the second one is over the quota
    assert 'id="fair-use-warning"' in confirm.text and "1 destinataire(s) : " in confirm.text
    assert "Quota mensuel : 0 SMS utilisés sur 3." in confirm.text
    rules["monthly_quota"] = 4
    rig.gateway.db.run_sync("plan", _set_account, "acme", fair_use=json.dumps(rules))
    ok = await browser.post("/messages/confirm", form)
    assert '<dd id="cost">0.20</dd>' in ok.text and 'id="fair-use-warning"' not in ok.text


# --- the sent list, statuses, resend ------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_sent_list_paginates_and_archives_several(any_rig: ConsoleRig) -> None:
    rig = any_rig
    browser = await rig.customer("acme", "alice")
    empty = await browser.get("/messages")
    assert "Aucun message envoyé" in empty.text
    for i in range(22):
        await _scheduled_batch(browser, "22376600003", f"lot {i:02d}")
    first = await browser.get("/messages")
    assert first.text.count("<tr data-batch=") == 20 and "Page 1 sur 2" in first.text
    second = await browser.get("/messages?page=2")
    assert second.text.count("<tr data-batch=") == 2 and "lot 00" in second.text
    ids = [str(b[0]) for b in rig.gateway.db.run_sync("batches", _batches, "acme")][:3]
    archived = await browser.post("/messages/archive", [("ids", i) for i in ids])
    assert archived.location == "/messages?flash=archived"
    assert "ont été archivés" in (await browser.get(archived.location)).text
    left = await browser.get("/messages?page=2")
    assert "Page" not in left.text or "lot 00" not in left.text
    archives = await browser.get("/archives")
    assert archives.text.count("<tr data-batch=") == 3 and "lot 02" in archives.text
    none = await browser.post("/messages/archive", [])
    assert none.location == "/messages?flash=none_selected"
    back = await browser.post("/archives/unarchive", [("ids", ids[0])])
    assert back.location == "/archives?flash=unarchived"
    assert (await browser.get("/archives")).text.count("<tr data-batch=") == 2


@pytest_twisted.ensureDeferred
async def test_batch_statuses_filter_paginate_export_and_resend(any_rig: ConsoleRig) -> None:
    rig = any_rig
    browser = await rig.customer("acme", "alice")
    numbers = [f"223766{i:05d}" for i in range(60)]
    await _scheduled_batch(browser, "\n".join(numbers), "campagne")
    [(batch_id, _, _)] = rig.gateway.db.run_sync("batches", _batches, "acme")
    rig.gateway.db.run_sync("st", _set_status, batch_id, numbers[0], "delivered", None)
    rig.gateway.db.run_sync("st", _set_status, batch_id, numbers[1], "undeliverable", "011")
    page = await browser.get(f"/batches/{batch_id}")
    assert page.text.count('class="recipient"') == 50 and "Page 1 sur 2" in page.text
    assert "(60)</a>" in page.text and "Échecs (1)" in page.text and "En cours (58)" in page.text
    failed = await browser.get(f"/batches/{batch_id}?status=failed")
    assert failed.text.count('class="recipient"') == 1 and "011" in failed.text
    assert 'data-status="undeliverable"' in failed.text
    assert (await browser.get(f"/batches/{batch_id}?status=bogus")).code == 400
    export = await browser.get(f"/batches/{batch_id}/statuses.csv?status=delivered")
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["recipient", "status", "error"]
    assert [r[:2] for r in rows[1:]] == [[numbers[0], "delivered"]]
    everything = await browser.get(f"/batches/{batch_id}/statuses.csv")
    assert everything.body.count(b"\r\n") == 61
    resend = await browser.get(f"/messages/new?resend={batch_id}")
    assert ">" + "\n".join(numbers) + "</textarea>" in resend.text
    assert ">bonjour</textarea>" in resend.text and 'value="campagne"' in resend.text
    only = await browser.get(f"/messages/new?resend={batch_id}&failed=1")
    assert f">{numbers[1]}</textarea>" in only.text
    assert "Renvoyer aux échecs (1)" in page.text


@pytest_twisted.ensureDeferred
async def test_delete_asks_for_confirmation_and_waits_for_final_statuses(
    any_rig: ConsoleRig,
) -> None:
    rig = any_rig
    browser = await rig.customer("acme", "alice")
    await _scheduled_batch(browser, "22376600001\n22376600002", "vieux")
    [(batch_id, _, _)] = rig.gateway.db.run_sync("batches", _batches, "acme")
    await browser.get("/messages")
    await browser.post("/messages/archive", [("ids", str(batch_id))])
    await browser.get("/archives")
    asked = await browser.post("/archives/delete", [("ids", str(batch_id))])
    assert asked.code == 200 and "irréversible" in asked.text and "vieux" in asked.text
    assert rig.gateway.db.run_sync("batches", _batches, "acme") != []
    fields = _hidden(asked, "/archives/delete")
    refused = await browser.post("/archives/delete", fields)
    assert refused.code == 409 and "encore en cours" in refused.text
    for number in ("22376600001", "22376600002"):
        rig.gateway.db.run_sync("st", _set_status, batch_id, number, "delivered", None)
    deleted = await browser.post("/archives/delete", fields)
    assert deleted.location == "/archives?flash=deleted"
    assert rig.gateway.db.run_sync("batches", _batches, "acme") == []
    assert rig.gateway.db.run_sync("events", _events_left) == 0
    assert (await browser.get(f"/batches/{batch_id}")).code == 404


def _events_left(s: Session) -> int:
    return len(s.scalars(select(MessageEvent.id)).all())


@pytest_twisted.ensureDeferred
async def test_another_accounts_batch_and_group_are_not_found(any_rig: ConsoleRig) -> None:
    rig = any_rig
    owner = await rig.customer("acme", "alice")
    await _scheduled_batch(owner, "22376600001")
    [(batch_id, _, _)] = rig.gateway.db.run_sync("batches", _batches, "acme")
    rig.gateway.db.run_sync("book", _address_book, "acme", "Team", [("Awa", "22376600001")])
    other = await rig.customer("globex", "mallory")
    await other.get("/messages/new")
    for path in (
        f"/batches/{batch_id}",
        f"/batches/{batch_id}/statuses.csv",
        f"/messages/new?resend={batch_id}",
    ):
        assert (await other.get(path)).code == 404, path
    ids = [("ids", str(batch_id))]
    for path in ("/messages/archive", "/archives/unarchive", "/archives/delete"):
        assert (await other.post(path, ids)).code == 404, path
    group = await other.post("/messages/confirm", {"text": "x", "groups": "Team"})
    assert group.code == 404
    assert "Awa" not in (await other.get("/messages/new")).text
    assert (await other.get("/archives")).text.count("<tr data-batch=") == 0
    operator = await rig.operator("olga")
    assert (await operator.get(f"/batches/{batch_id}")).code == 404
    assert (await owner.post("/messages/archive", ids, csrf=False)).code == 403
