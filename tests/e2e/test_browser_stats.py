"""The statistics and profile pages in a real browser on a real daemon: after a message is
sent, the statistics chart is an <svg> with bars and the day's table counts it; the profile
shows the account and its SMPP system_id, and revoking an API key asks for confirmation.

Screenshots go to docs/screenshots/ when GATEWAYD_SCREENSHOTS=1, else to the test's tmp dir.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import smpplib.client
import smpplib.exceptions

from tests.e2e.conftest import Daemon, browser_page, login, screenshots_dir
from tests.e2e.test_smpp_customer import send_bonjour

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_statistics_chart_and_profile(daemon: Daemon, tmp_path: Path) -> None:
    for to in ("22376600000", "22376600001", "33612345678"):
        sent = daemon.cli("send", "-c", str(daemon.config), "--to", to, "--text", "stats")
        assert sent.returncode == 0, sent.stdout + sent.stderr
    shots = screenshots_dir(tmp_path)
    with browser_page({"width": 1200, "height": 900}) as page:
        login(page, daemon.console_url, "demo", daemon.passwords["demo"])
        from playwright.sync_api import expect

        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        page.click("nav >> text=Statistiques")
        chart = page.locator("figure.stats-chart svg[role=img]")
        expect(chart).to_have_count(1)
        expect(chart.locator("rect.bar")).not_to_have_count(0)
        expect(chart.locator("title").first).to_have_text("Messages envoyés par jour")
        expect(page.locator(".stats-table tfoot td").nth(2)).not_to_have_text("0")
        expect(page.locator("#delivery-rate")).to_be_visible()
        page.screenshot(path=str(shots / "statistics.png"), full_page=True)

        page.click("nav >> text=Profil")
        expect(page.locator("#profile-details")).to_contain_text("demo")
        expect(page.locator("#smpp-system-id")).to_have_text("demo")
        page.fill("input[name=name]", "CRM")
        page.click("button:has-text('Créer une clé')")
        expect(page.locator("#secret")).to_contain_text("gw_")
        page.click("text=Retour au profil")
        page.click("tr[data-key] >> text=Révoquer")
        expect(page.locator("h1")).to_have_text("Confirmation")  # asks before revoking
        page.click("text=Annuler")
        expect(page.locator("tr[data-key] >> text=Révoquer")).to_have_count(1)
        page.screenshot(path=str(shots / "profile.png"), full_page=True)
        assert not [e for e in errors if "Content Security Policy" in e], errors


def _bind(daemon: Daemon, password: str) -> smpplib.client.Client:
    c = smpplib.client.Client("127.0.0.1", daemon.smpp_port, timeout=10)
    c.connect()
    try:
        c.bind_transmitter(system_id="demo", password=password)
    except Exception:
        c.disconnect()
        raise
    return c


def test_smpp_reset_keeps_live_binds_and_takes_the_new_password_at_the_next(
    daemon: Daemon,
) -> None:
    old = daemon.passwords["smpp"]
    live = _bind(daemon, old)
    try:
        with browser_page({"width": 1200, "height": 900}) as page:
            login(page, daemon.console_url, "demo", daemon.passwords["demo"])
            from playwright.sync_api import expect

            page.click("nav >> text=Profil")
            page.click("text=Réinitialiser le mot de passe SMPP")
            expect(page.locator("h1")).to_have_text("Confirmation")
            page.click("button:has-text('Confirmer')")
            new = (page.locator("#secret").text_content() or "").strip()
        assert len(new) == 8 and new != old
        send_bonjour(live, "22376600000")  # the bind made before the reset goes on
        answer = live.read_pdu()
        assert (answer.command, answer.status) == ("submit_sm_resp", 0)
    finally:
        live.unbind()
        live.disconnect()
    with pytest.raises(smpplib.exceptions.PDUError):
        _bind(daemon, old)
    _bind(daemon, new).disconnect()
