"""The invoice's CSV and PDF, and the receipt: the PDF is rendered to PNG with pdftoppm and its
text read back with pdftotext (poppler-utils, real tools, not our own parser)."""

from __future__ import annotations

import csv
import io
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from gatewayd.billing.documents import invoice_csv, invoice_pdf, receipt_pdf
from gatewayd.billing.views import InvoiceDetail
from gatewayd.storage.billing import generate_invoices, get_invoice, list_invoices, mark_paid
from gatewayd.storage.database import Database
from tests.billing.conftest import SETTINGS, Month, Sessions, at

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("pdftotext")),
    reason="poppler-utils is not installed (make system-deps)",
)


def _alpha(database: Database, month: Month, sessions: Sessions) -> InvoiceDetail:
    database.run_sync("generate", generate_invoices, SETTINGS, "2026-11", at(2026, 12, 2))
    s = sessions()
    row = list_invoices(s, account_id=month.alpha, client_id=None).items[0]
    return get_invoice(s, row.id, account_id=month.alpha, client_id=None)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _a4(path: Path) -> bool:
    """A4 (210 x 297 mm) at 50 dpi, give or take a pixel of rounding."""
    width, height = _png_size(path)
    return abs(width - 413) <= 1 and abs(height - 585) <= 1


def _render(pdf: bytes, tmp_path: Path, name: str) -> tuple[str, list[Path]]:
    source = tmp_path / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(source), str(tmp_path / name)], check=True)
    pages = sorted(tmp_path.glob(f"{name}*.png"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True, text=True
    ).stdout
    return text, pages


@needs_poppler
def test_the_invoice_pdf_renders_with_its_lines_and_totals(
    database: Database, month: Month, sessions: Sessions, tmp_path: Path
) -> None:
    detail = _alpha(database, month, sessions)
    pdf = invoice_pdf(detail, "fr", issuer="Opérateur SA, Bamako")
    assert pdf.startswith(b"%PDF-")
    text, pages = _render(pdf, tmp_path, "invoice")
    assert len(pages) == 1
    assert _a4(pages[0])
    assert pages[0].stat().st_size > 5000  # drawn, not blank
    for expected in (
        "Opérateur SA, Bamako",
        f"Facture F202611-A{month.alpha}",
        "Client: Alpha SARL",
        "Identifiant de compte: alpha",
        "75001 Paris",
        "Période: 2026-11",
        "État: impayée",
        "Plan pro, monthly fee (prorated, 10 of 30 days)",
        "10.00 EUR",
        "SMS parts, zone france, out of bundle",
        "0.32 EUR",
        "Total HT",
        "10.90 EUR",
        "TVA (0.2)",
        "2.18 EUR",
        "Total TTC",
        "13.08 EUR",
        "Détail des consommations",
        "2026-11-23",
        "hors forfait",
    ):
        assert expected in text, expected
    english = _render(invoice_pdf(detail, "en"), tmp_path, "en")[0]
    assert "Invoice F202611-A" in english and "Consumption detail" in english


@needs_poppler
def test_the_receipt_is_a_printable_page(
    database: Database, month: Month, sessions: Sessions, tmp_path: Path
) -> None:
    detail = _alpha(database, month, sessions)
    invoice_id = detail.row.id
    paid = database.run_sync("pay", mark_paid, invoice_id, "R-2026-0042", "card", at(2026, 12, 5))
    text, pages = _render(receipt_pdf(detail, paid, "fr"), tmp_path, "receipt")
    assert len(pages) == 1 and _a4(pages[0])
    assert "Reçu de paiement R-2026-0042" in text
    assert "Montant: 13.08 EUR" in text and "Payée le: 2026-12-05" in text
    assert "Moyen de paiement: card" in text


def test_the_csv_has_the_lines_the_totals_and_the_detail(
    database: Database, month: Month, sessions: Sessions
) -> None:
    detail = _alpha(database, month, sessions)
    data = invoice_csv(detail, "en")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8")), delimiter=";"))
    assert rows[0] == ["Line", "Description", "Zone", "Quantity", "Unit price", "Amount"]
    assert rows[1][0] == "plan" and rows[1][-1] == "10.00"
    assert [
        "out_of_bundle",
        "SMS parts, zone national, parts 1 to 10, out of bundle",
        "national",
        "10",
        "0.05",
        "0.50",
    ] in rows
    assert ["total", "Total (EUR)", "", "", "", "13.08"] in rows
    assert ["2026-11-23", "france", "out of bundle", "2", "4", ""] in rows
