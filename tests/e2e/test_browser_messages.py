"""The messages pages in a real browser on a real daemon: compose to a group plus individuals
(the live counter follows the typing), confirm, send, and watch every status turn delivered.

Screenshots go to docs/screenshots/ when GATEWAYD_SCREENSHOTS=1, else to the test's tmp dir.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from gatewayd.storage.models import Contact, ContactGroup, GroupMember, User
from tests.e2e.conftest import Daemon, browser_page, login, screenshots_dir

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
GROUP = [("Awa", "Traoré", "22376600011"), ("Binta", "Diallo", "22376600012")]
PICKED = ("Chaka", "Keïta", "22376600013")


def _address_book(daemon: Daemon) -> None:
    """The demo customer's group of two contacts, and one contact outside it, written to the
    daemon's SQLite file as the address book would."""
    engine = create_engine(f"sqlite:///{daemon.workdir}/gatewayd.db")
    with Session(engine) as s, s.begin():
        account_id = s.scalars(select(User.account_id).where(User.login == "demo")).one()
        group = ContactGroup(account_id=account_id, name="Équipe", created_at=0.0)
        s.add(group)
        s.flush()
        for first, last, msisdn in [*GROUP, PICKED]:
            contact = Contact(
                account_id=account_id,
                first_name=first,
                last_name=last,
                msisdn=msisdn,
                created_at=0.0,
            )
            s.add(contact)
            s.flush()
            if (first, last, msisdn) in GROUP:
                s.add(GroupMember(group_id=group.id, contact_id=contact.id))
    engine.dispose()


def test_compose_to_a_group_and_individuals_confirm_send_and_see_delivered(
    daemon: Daemon, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    _address_book(daemon)
    shots = screenshots_dir(tmp_path)
    with browser_page({"width": 1200, "height": 900}) as page:
        login(page, daemon.console_url, "demo", daemon.passwords["demo"])
        page.click("text=Nouveau message")

        counter = page.locator("#counter")
        expect(counter).to_have_text("0 caractères · GSM-7 · 0 SMS")
        page.fill("input[name=subject]", "Réunion de l'équipe")
        page.fill("textarea[name=recipients]", "22376600014; 22376600011\n076600000")
        page.check("input[name=groups][value='Équipe']")
        page.fill("#contact-filter", "keï")
        expect(page.locator("#contact-picker .choice:visible")).to_have_count(1)
        page.check(f"input[name=contacts][value='{PICKED[2]}']")
        page.fill("#contact-filter", "")
        page.locator("#text").press_sequentially("Réunion {demain}")
        expect(counter).to_have_text("16 caractères · GSM-7 · 1 SMS")
        page.locator("#text").press_sequentially(" 😀")
        expect(counter).to_have_text("18 caractères · UCS-2 · 1 SMS")
        page.locator("#text").fill("Réunion demain à 9h, salle B. " * 6)
        expect(counter).to_have_text("180 caractères · GSM-7 · 2 SMS")
        page.screenshot(path=str(shots / "compose.png"), full_page=True)

        page.click("button:has-text('Vérifier avant')")
        assert urlsplit(page.url).path == "/messages/confirm"
        expect(page.locator("#recipient-count")).to_have_text("4 destinataires (doublons retirés)")
        expect(page.locator(".invalid-numbers")).to_contain_text("076600000")
        expect(page.locator("#total-parts")).to_have_text("8")
        page.screenshot(path=str(shots / "confirm.png"), full_page=True)

        page.click("#send")
        assert urlsplit(page.url).path == "/messages"
        expect(page.locator(".flash")).to_have_count(1)
        row = page.locator("tr[data-batch]", has_text="Réunion de l'équipe")
        expect(row).to_have_count(1)
        expect(row.locator("td.delivered")).to_have_text("4", timeout=15_000)
        page.screenshot(path=str(shots / "sent.png"), full_page=True)

        row.locator("a", has_text="Statuts").click()
        expect(page.locator("tr.recipient[data-status=delivered]")).to_have_count(4, timeout=15_000)
        expect(page.locator("tr.recipient td.status").first).to_have_text("délivré")
        page.screenshot(path=str(shots / "statuses.png"), full_page=True)
