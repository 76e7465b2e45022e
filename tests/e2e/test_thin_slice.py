"""The thin slice, end to end: browser and CLI to the simulator and back, on a real daemon."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from gatewayd.smpp.text import segments
from tests.e2e.conftest import Daemon, browser_page, fill_login

pytestmark = pytest.mark.e2e


def test_cli_send_reaches_delivered(daemon: Daemon) -> None:
    result = daemon.cli("send", "-c", str(daemon.config), "--to", "22376600000", "--text", "hi")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    message_id = lines[0].split()[0]
    assert lines[0] == f"{message_id} accepted"
    assert lines[-1] == f"{message_id} delivered"
    daemon.wait_for(rf"receipt DELIVRD for {message_id}")


def test_cli_send_refuses_a_number_without_country_code(daemon: Daemon) -> None:
    result = daemon.cli("send", "-c", str(daemon.config), "--to", "076600000", "--text", "hi")
    assert result.returncode == 1
    assert "country code is mandatory" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.browser
def test_browser_login_send_and_watch_delivered(daemon: Daemon) -> None:
    from playwright.sync_api import expect

    with browser_page() as page:
        page.goto(daemon.console_url + "/")
        assert page.url.endswith("/login")
        fill_login(page, "demo", "wrong-password")
        expect(page.locator(".error")).to_contain_text("incorrect")
        fill_login(page, "demo", daemon.passwords["demo"])
        page.click("text=Nouveau message")
        page.fill("input[name=subject]", "Essai navigateur")
        page.fill("textarea[name=recipients]", "22376600000")
        page.fill("textarea[name=text]", "Bonjour depuis le navigateur")
        page.click("button:has-text('Vérifier avant')")
        assert urlsplit(page.url).path == "/messages/confirm"
        page.click("#send")
        assert urlsplit(page.url).path == "/messages"
        expect(page.locator(".flash")).to_have_count(1)
        row = page.locator("tr[data-batch]", has_text="Essai navigateur")
        expect(row).to_have_count(1)
        row.locator("a", has_text="Statuts").click()
        expect(page.locator("tr.recipient[data-status=delivered]")).to_have_count(1, timeout=15_000)
        expect(page.locator("tr.recipient td.status")).to_have_text("délivré")
        page.screenshot(path=str(daemon.workdir / "statuses.png"))


def test_a_long_ucs2_message_is_sent_in_parts_and_delivered(daemon: Daemon) -> None:
    text = "Привет 😀 " * 14  # UCS-2 with surrogate pairs: 140 units, 3 parts of 67 at most
    assert segments(text).parts == 3
    result = daemon.cli("send", "-c", str(daemon.config), "--to", "22376600000", "--text", text)
    assert result.returncode == 0, result.stdout + result.stderr
    message_id = result.stdout.split()[0]
    assert result.stdout.splitlines()[-1] == f"{message_id} delivered"
    sent = daemon.wait_for(rf"sent {message_id} on simulator as (\S+)")
    assert len(sent.group(1).split(",")) == 3
