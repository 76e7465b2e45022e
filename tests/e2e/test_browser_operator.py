"""The operator's administration in a real browser on a real daemon: an admin creates an
account (the SMPP password is shown once and works for a bind), edits it, suspends it after
a confirmation (the bound session's next submission and a new bind are refused), and finds
each action in the audit log with their login and address.

Screenshots go to docs/screenshots/ when GATEWAYD_SCREENSHOTS=1, else to the test's tmp dir.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import smpplib.client
import smpplib.consts
import smpplib.exceptions

from tests.e2e.conftest import Daemon, browser_page, login, page_errors, screenshots_dir

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _submit(c: smpplib.client.Client) -> int:
    c.send_message(
        source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
        source_addr="ACME",
        dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
        destination_addr="22376600000",
        short_message=b"Bonjour",
    )
    resp = c.read_pdu()
    assert resp.command == "submit_sm_resp"
    return int(resp.status)


def test_admin_creates_edits_and_suspends_an_account(daemon: Daemon, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    shots = screenshots_dir(tmp_path)
    with browser_page({"width": 1200, "height": 900}) as page:
        errors = page_errors(page)
        login(page, daemon.console_url, "admin", daemon.passwords["admin"])

        page.click("nav >> text=Comptes")
        assert urlsplit(page.url).path == "/admin/accounts"
        page.click("text=Nouveau compte")
        page.fill("input[name=name]", "acme")
        page.select_option("select[name=plan]", "unlimited")
        page.fill("input[name=monthly_quota]", "10000")
        page.fill("input[name=smpp_system_id]", "acme01")
        page.fill("input[name=smpp_tps]", "20")
        page.fill("input[name=timezone]", "Africa/Bamako")
        page.fill("input[name=default_country]", "ML")
        page.click("text=Créer le compte")
        expect(page.locator(".flash")).to_have_text("Le compte a été créé.")
        password = page.locator("code.password").inner_text()
        assert len(password) == 8

        # The new credentials bind at once.
        smpp = smpplib.client.Client(
            "127.0.0.1", daemon.smpp_port, timeout=10, allow_unknown_opt_params=True
        )
        smpp.connect()
        try:
            smpp.bind_transmitter(system_id="acme01", password=password)
            assert _submit(smpp) == 0

            page.fill("input[name=smpp_tps]", "5")
            page.fill("input[name=alert_msisdn]", "22376600001")
            page.click("form.operator-form >> text=Enregistrer")
            expect(page.locator(".flash")).to_have_text("Le compte a été enregistré.")
            expect(page.locator("input[name=smpp_tps]")).to_have_value("5")
            page.screenshot(path=str(shots / "admin-account.png"), full_page=True)

            # Suspending asks first: dismissed, nothing happens; accepted, it is done.
            page.once("dialog", lambda d: d.dismiss())
            page.click("button:has-text('Suspendre')")
            expect(page.locator("h1 .badge")).to_have_text("actif")
            page.once("dialog", lambda d: d.accept())
            page.click("button:has-text('Suspendre')")
            expect(page.locator(".flash")).to_contain_text("Le compte est suspendu")
            # The session bound before the suspension cannot submit any more.
            assert _submit(smpp) != 0
        finally:
            smpp.disconnect()
        again = smpplib.client.Client("127.0.0.1", daemon.smpp_port, timeout=10)
        again.connect()
        try:
            with pytest.raises(smpplib.exceptions.PDUError):
                again.bind_transmitter(system_id="acme01", password=password)
        finally:
            again.disconnect()

        page.click("nav >> text=Comptes")
        row = page.locator("table.list tr", has_text="acme01")
        expect(row).to_contain_text("suspendu")
        page.screenshot(path=str(shots / "admin-accounts.png"), full_page=True)

        page.click("nav >> text=Journal d'audit")
        table = page.locator("table.audit tbody")
        expect(table.locator("tr").nth(0)).to_contain_text("suspend account")
        edit = table.locator("tr", has_text="edit account")
        expect(edit).to_contain_text("console:admin")
        expect(edit).to_contain_text("smpp_tps: 20.0 -> 5.0")
        expect(edit).to_contain_text("127.0.0.1")
        expect(table.locator("tr", has_text="create account")).to_contain_text("name: acme")
        assert password not in page.content()
        page.screenshot(path=str(shots / "admin-audit.png"), full_page=True)
        assert errors == []
