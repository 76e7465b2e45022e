"""The operator's pages in a real browser on a real daemon: the dashboard (refreshed by its
script under the strict CSP), the connectors list with the simulator bound, a routing rule
added then edited, and a number tested against the table.

Screenshots go to docs/screenshots/ when GATEWAYD_SCREENSHOTS=1, else to the test's tmp dir.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Daemon, browser_page, login, page_errors, screenshots_dir

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_dashboard_connectors_and_routes(daemon: Daemon, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    sent = daemon.cli("send", "-c", str(daemon.config), "--to", "22376600000", "--text", "ops")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    shots = screenshots_dir(tmp_path)
    with browser_page({"width": 1200, "height": 900}) as page:
        errors = page_errors(page)
        failed: list[str] = []
        page.on("response", lambda r: failed.append(r.url) if r.status >= 500 else None)
        login(page, daemon.console_url, "admin", daemon.passwords["admin"])

        page.goto(daemon.console_url + "/admin")
        expect(page.locator("h1")).to_have_text("Tableau de bord")
        row = page.locator("#queues tr[data-connector=simulator]")
        expect(row.locator("td.state")).to_have_text("lié")
        expect(page.locator("[data-field=delivery_rate]")).to_have_text("100.0", timeout=15_000)
        # The script refreshed the figures from the JSON (allowed by the CSP).
        expect(page.locator("#dashboard[data-refreshed]")).to_have_count(1, timeout=15_000)
        page.screenshot(path=str(shots / "admin-dashboard.png"), full_page=True)

        page.click("nav >> text=Connecteurs")
        assert urlsplit(page.url).path == "/admin/connectors"
        listed = page.locator("#connectors tr[data-connector=simulator]")
        expect(listed.locator(".state")).to_have_text("lié")
        expect(listed).to_contain_text("0 / 10")
        page.screenshot(path=str(shots / "admin-connectors.png"), full_page=True)

        page.click("nav >> text=Routes")
        page.click("text=Ajouter une règle")
        page.fill(
            "textarea[name=rule]", 'name = "mali"\nprefixes = ["22376"]\nconnector = "simulator"'
        )
        page.click("button:has-text('Enregistrer')")
        expect(page.locator(".flash")).to_have_count(1)
        rule = page.locator("#routes tr[data-rule=mali]")
        rule.locator("a", has_text="Modifier").click()
        page.fill(
            "textarea[name=rule]",
            'name = "mali"\nprefixes = ["22376"]\nreject = { status = "ESME_RINVDSTADR" }',
        )
        page.click("button:has-text('Enregistrer')")
        expect(page.locator("#routes tr[data-rule=mali]")).to_contain_text("ESME_RINVDSTADR")
        page.select_option("select[name=account]", "Demo SARL")
        page.fill("input[name=to]", "22376600000")
        page.click("button:has-text('Tester')")
        explain = page.locator("#explain")
        expect(explain).to_contain_text("rule 'mali': matched; reject")
        expect(explain).to_contain_text("decision: reject with ESME_RINVDSTADR")
        page.screenshot(path=str(shots / "admin-routes.png"), full_page=True)

        # Deleting asks first; cancelling keeps the rule.
        page.locator("#routes tr[data-rule=mali] a", has_text="Supprimer").click()
        expect(page.locator("h1")).to_have_text("Supprimer la règle mali ?")
        page.click("text=Annuler")
        expect(page.locator("#routes tr[data-rule=mali]")).to_have_count(1)
        assert errors == [] and failed == []
