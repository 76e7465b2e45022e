"""The fleet in a real browser: the list with its counters and meters, the selection of several
lines (only the same plan and state: the others are disabled by fleet.js), and a suspension
ordered from a line's page, confirmed with its order number. Screenshots go to
docs/screenshots/ with GATEWAYD_SCREENSHOTS=1 (to the test's directory otherwise)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gatewayd.storage import fleet_orders as ops
from tests.e2e.conftest import Daemon, browser_page, login, page_errors, screenshots_dir

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
ACCOUNT = "Demo SARL"


def _seed(daemon: Daemon) -> None:
    """A catalogue and a few lines for the demo customer, written in the daemon's database."""
    now = time.time()
    engine = create_engine(f"sqlite:///{daemon.workdir}/gatewayd.db")
    with Session(engine) as s, s.begin():
        ops.add_plan(s, "u10", "Forfait illimité 10 Go", "unlimited", False, 10240, now)
        ops.add_plan(s, "u50", "Forfait illimité 50 Go", "unlimited", True, 51200, now)
        ops.add_option(s, "eu", "Roaming Europe", "roaming", now)
        ops.add_option(s, "volte", "VoLTE", "other", now)
        for i, (plan, user) in enumerate(
            [("u10", "Awa Diallo"), ("u10", "Jean Martin"), ("u50", "Zoé"), ("u10", "Router")]
        ):
            ops.add_line(
                s, ACCOUNT, f"3375000000{i}", f"8933000000000000000{i}", plan, now,
                user_name=user, site="Bamako", contract=f"C-{i}", puk="12345678",
                delivered_on="2026-06-14",
            )  # fmt: skip
        ops.add_usage(s, "33750000000", "data", 6 * 1024 * 1024, now)
        ops.add_usage(s, "33750000000", "sms", 2, now, detail="22376600000")
    engine.dispose()


def test_fleet_list_selection_and_a_suspension(daemon: Daemon, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    _seed(daemon)
    out = screenshots_dir(tmp_path)
    with browser_page({"width": 1280, "height": 900}) as page:
        errors = page_errors(page)
        login(page, daemon.console_url, "demo", daemon.passwords["demo"])
        page.click("header nav >> text=Flotte")
        assert urlsplit(page.url).path == "/fleet"
        expect(page.locator(".fleet-counters")).to_contain_text("4")
        expect(page.locator("table.fleet-lines tbody tr")).to_have_count(4)
        expect(page.locator("tr[data-line] meter").first).to_have_attribute("value", "60")
        # Ticking a 10 GB active line disables the 50 GB one (another plan).
        first = page.locator("tr[data-line]", has_text="33750000000").locator("input.pick-line")
        other_plan = page.locator("tr[data-line]", has_text="33750000002")
        first.check()
        expect(other_plan.locator("input.pick-line")).to_be_disabled()
        expect(page.locator("#selection-count")).to_have_text("1 lignes sélectionnées")
        page.locator("tr[data-line]", has_text="33750000001").locator("input.pick-line").check()
        page.screenshot(path=str(out / "fleet.png"), full_page=True)
        page.click("#change-options")
        expect(page.locator("h1")).to_contain_text("2 lignes")
        page.click("button.kind-filter[data-kind=roaming]")
        expect(page.locator("tr.option", has_text="VoLTE")).to_be_hidden()
        expect(page.locator("tr.option", has_text="Roaming Europe")).to_be_visible()

        page.click(".breadcrumb >> text=Flotte")
        page.click("text=33750000000")
        expect(page.locator("h1")).to_contain_text("Ligne 33750000000")
        expect(page.locator(".line-actions")).to_contain_text("ne suspend pas sa facturation")
        expect(page.locator("button:has-text('Commander le changement de SIM')")).to_be_disabled()
        page.screenshot(path=str(out / "fleet-line.png"), full_page=True)
        page.click("button:has-text('Suspendre la ligne')")
        expect(page.locator(".confirmation")).to_contain_text("Numéro de commande : CMD-")
        assert re.search(r"/fleet/orders/\d+", page.url)
        assert errors == []
