"""The billing pages in a real browser on a real daemon: the month's consumption after a message,
October's invoice issued by ``gatewayd billing invoice``, paid by card through a payment plugin
loaded from the config (the test card double), and its receipt printed (the print stylesheet
hides the console's header and menu). No CSP violation on the way.

Screenshots (billing.png, invoice.png) go to docs/screenshots/ when GATEWAYD_SCREENSHOTS=1,
else to the test's tmp dir.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    Daemon,
    browser_page,
    login,
    page_errors,
    screenshots_dir,
    write_config,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
#: The test card plugin lives under tests/: the daemon and the CLI import it from the checkout.
ENV = {"PYTHONPATH": str(Path(__file__).parents[2])}
BILLING = """
[billing]
currency = "EUR"
vat_rate = "0.2"
issuer = "Opérateur SA"
[billing.plans.standard]
fee = "30"
[plugins.card]
module = "tests.admin.payment_fake_card"
[plugins.payment_manual]
module = "gatewayd.plugins.payment_manual"
payee = "Opérateur SA"
bank_account = "MU17 BOMM 0101 1010 3030 0200 000M UR"
"""


@pytest.fixture(scope="module")
def billing_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = write_config(tmp_path_factory.mktemp("gatewayd"))
    d.config.write_text(d.config.read_text(encoding="utf-8") + BILLING, encoding="utf-8")
    upgraded = d.cli("db", "upgrade", "-c", str(d.config), env=ENV)
    assert upgraded.returncode == 0, upgraded.stderr
    d.start(env=ENV)
    d.read_banner()
    d.wait_for(r"gatewayd ready")
    d.wait_for(r"bound|Bound")
    yield d
    assert d.stop() == 0, "".join(d.output)


def _on_standard_since_january(daemon: Daemon) -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    with sqlite3.connect(daemon.workdir / "gatewayd.db") as db:
        db.execute(
            "UPDATE accounts SET plan = 'standard', created_at = ? WHERE name = 'Demo SARL'",
            (since,),
        )


def test_consumption_invoice_card_payment_and_printed_receipt(
    billing_daemon: Daemon, tmp_path: Path
) -> None:
    daemon = billing_daemon
    sent = daemon.cli(
        "send", "-c", str(daemon.config), "--to", "22376600000", "--text", "facture", env=ENV
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    _on_standard_since_january(daemon)
    issued = daemon.cli(
        "billing", "invoice", "-c", str(daemon.config), "--period", "2026-10", env=ENV
    )
    assert issued.returncode == 0 and "1 account invoice" in issued.stdout, issued.stderr
    shots = screenshots_dir(tmp_path)
    with browser_page({"width": 1200, "height": 900}) as page:
        errors = page_errors(page)
        from playwright.sync_api import expect

        login(page, daemon.console_url, "demo", daemon.passwords["demo"])
        page.click("nav >> text=Facturation")
        expect(page.locator("h1")).to_have_text("Facturation")
        expect(page.locator("#consumption")).to_contain_text("Consommation en cours")
        expect(page.locator("#invoice-list")).to_contain_text("36,00 EUR")
        expect(page.locator("#invoice-list")).to_contain_text("Impayée")
        page.screenshot(path=str(shots / "billing.png"), full_page=True)

        page.click("#invoice-list >> text=F202610-A")
        expect(page.locator("#invoice-total")).to_have_text("36,00 EUR")
        expect(page.locator("#transfer")).to_contain_text("MU17 BOMM")
        page.screenshot(path=str(shots / "invoice.png"), full_page=True)

        page.click("#pay-card")
        expect(page.locator(".flash")).to_contain_text("La facture est réglée")
        expect(page.locator("#receipt-number")).to_have_text("CARD-000001")
        expect(page.locator("header")).to_be_visible()
        page.emulate_media(media="print")
        expect(page.locator("header")).to_be_hidden()
        expect(page.locator("#receipt")).to_be_visible()
        page.emulate_media(media="screen")

        page.go_back()
        page.reload()
        expect(page.locator("#invoice-state")).to_have_text("Payée")
        expect(page.locator("#pay-card")).to_have_count(0)
        assert not errors, errors
