"""The address book in a real browser: import a CSV file, see the contacts, and delete a group
only after the confirmation page. Screenshots go to docs/screenshots/ with
GATEWAYD_SCREENSHOTS=1 (to the test's directory otherwise)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Daemon, browser_page, login, screenshots_dir

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CSV = (
    "Prénom;Nom;N° mobile\r\n"
    "Djibril;CISSE;22376600000\r\n"
    "Amadou;DICKO;+223 76 08 08 05\r\n"
    "Aïssata;TRAORÉ;0033 6 12 34 56 78\r\n"
    "Oumar;;22376600010\r\n"
    "Fatoumata;KONÉ;2237\r\n"
)


def test_import_a_csv_then_delete_a_group_after_confirmation(
    daemon: Daemon, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    upload = tmp_path / "contacts.csv"
    upload.write_bytes(CSV.encode("cp1252"))
    out = screenshots_dir(tmp_path)
    with browser_page({"width": 1200, "height": 800}) as page:
        login(page, daemon.console_url, "demo", daemon.passwords["demo"])
        page.click("header nav >> text=Carnet d'adresses")
        assert urlsplit(page.url).path == "/contacts"
        page.click(".book-nav >> text=Importer un fichier Excel (CSV)")
        page.set_input_files("input[name=file]", str(upload))
        page.fill("input[name=new_group]", "Clients Bamako")
        page.click("button:has-text('Importer')")
        expect(page.locator("#created")).to_have_text("3")
        expect(page.locator("#skipped")).to_have_text("2")
        expect(page.locator("tr.problem")).to_have_count(2)
        expect(page.locator("tr.problem").first).to_contain_text("le nom est obligatoire")
        page.screenshot(path=str(out / "contacts-import.png"), full_page=True)

        page.click("text=Voir le carnet d'adresses")
        rows = page.locator("tr[data-contact]")
        expect(rows).to_have_count(3)
        expect(page.locator("table.contacts")).to_contain_text("TRAORÉ")
        expect(page.locator("table.contacts")).to_contain_text("33612345678")
        page.screenshot(path=str(out / "contacts.png"), full_page=True)

        page.click(".book-nav >> text=Groupes de contacts")
        group = page.locator("tr[data-group]", has_text="Clients Bamako")
        expect(group.locator(".members")).to_have_text("3 contacts, 0 numéros")
        group.locator("a.delete-group").click()
        expect(page.locator(".confirm-delete")).to_contain_text("Clients Bamako")
        page.click("text=Annuler")  # not deleted without the confirmation
        page.click(".book-nav >> text=Groupes de contacts")
        expect(page.locator("tr[data-group]", has_text="Clients Bamako")).to_have_count(1)
        page.locator("tr[data-group]", has_text="Clients Bamako").locator("a.delete-group").click()
        page.click(".confirm-delete button.danger")
        expect(page.locator(".flash")).to_contain_text("Le groupe a été supprimé")
        expect(page.locator("tr[data-group]")).to_have_count(0)
        page.click(".book-nav >> text=Contacts")
        expect(page.locator("tr[data-contact]")).to_have_count(3)
