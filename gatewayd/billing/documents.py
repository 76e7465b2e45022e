"""An invoice's downloads: CSV (lines, then the consumption detail) and PDF, and the printable
receipt of its payment (PDF). Pure: bytes from the store's values (no I/O but reading a font).

The PDF is drawn with fpdf2. It uses DejaVu Sans when the system has it (any script prints);
without it, fpdf2's built-in Helvetica, which holds Latin-1 only: other characters print as
"?". Texts are French or English (``language``); the lines' descriptions are the invoice's own,
as stored when it was issued.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF

from gatewayd.billing.views import InvoiceDetail, PaymentView
from gatewayd.csvwriter import csv_file

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))

LABELS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "invoice": "Invoice",
        "group_invoice": "Group invoice",
        "receipt": "Payment receipt",
        "customer": "Customer",
        "account": "Account",
        "client": "Client ID",
        "period": "Period",
        "issued": "Issued on",
        "state": "State",
        "unpaid": "unpaid",
        "paid": "paid",
        "description": "Description",
        "quantity": "Quantity",
        "unit_price": "Unit price",
        "amount": "Amount",
        "subtotal": "Subtotal",
        "vat": "VAT",
        "total": "Total",
        "detail": "Consumption detail",
        "day": "Day",
        "zone": "Zone",
        "bundle": "Bundle",
        "in_bundle": "in bundle",
        "out_of_bundle": "out of bundle",
        "messages": "Messages",
        "parts": "SMS parts",
        "receipt_number": "Receipt number",
        "method": "Payment method",
        "paid_on": "Paid on",
        "billed_in": "Billed in group invoice",
        "kind": "Line",
    },
    "fr": {
        "invoice": "Facture",
        "group_invoice": "Facture de groupe",
        "receipt": "Reçu de paiement",
        "customer": "Client",
        "account": "Identifiant de compte",
        "client": "Identifiant client",
        "period": "Période",
        "issued": "Émise le",
        "state": "État",
        "unpaid": "impayée",
        "paid": "payée",
        "description": "Désignation",
        "quantity": "Quantité",
        "unit_price": "Prix unitaire",
        "amount": "Montant",
        "subtotal": "Total HT",
        "vat": "TVA",
        "total": "Total TTC",
        "detail": "Détail des consommations",
        "day": "Jour",
        "zone": "Zone",
        "bundle": "Forfait",
        "in_bundle": "dans le forfait",
        "out_of_bundle": "hors forfait",
        "messages": "Messages",
        "parts": "Parties SMS",
        "receipt_number": "Numéro de reçu",
        "method": "Moyen de paiement",
        "paid_on": "Payée le",
        "billed_in": "Facturée dans la facture de groupe",
        "kind": "Ligne",
    },
}


def _labels(language: str) -> Mapping[str, str]:
    return LABELS.get(language, LABELS["fr"])


def _day(at: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d")


def invoice_csv(invoice: InvoiceDetail, language: str = "fr") -> bytes:
    """The lines (kind, description, zone, quantity, unit price, amount), the totals, then the
    consumption detail, in one sheet (:mod:`gatewayd.csvwriter`: ``;``, BOM, no formulas)."""
    t = _labels(language)
    row = invoice.row
    header = [t["kind"], t["description"], t["zone"], t["quantity"], t["unit_price"], t["amount"]]
    rows: list[list[object]] = [
        [
            line.kind,
            line.description,
            line.zone,
            line.quantity,
            line.unit_price,
            str(line.amount.major),
        ]
        for line in invoice.lines
    ]
    currency = row.total.currency
    rows.append(["subtotal", t["subtotal"], "", "", "", str(invoice.subtotal.major)])
    rows.append(["vat", f"{t['vat']} {invoice.vat_rate}", "", "", "", str(invoice.vat.major)])
    rows.append(["total", f"{t['total']} ({currency})", "", "", "", str(row.total.major)])
    if invoice.usage:
        rows.append([])
        rows.append([t["day"], t["zone"], t["bundle"], t["messages"], t["parts"], ""])
        for u in invoice.usage:
            bundle = t["out_of_bundle"] if u.out_of_bundle else t["in_bundle"]
            rows.append([u.day, u.zone, bundle, u.messages, u.parts, ""])
    return csv_file(header, rows)


class _Pdf(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.set_auto_page_break(True, margin=15)
        self._unicode = False
        for folder in _FONT_DIRS:
            regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
            if regular.is_file() and bold.is_file():
                self.add_font("dejavu", "", str(regular))
                self.add_font("dejavu", "B", str(bold))
                self._unicode = True
                break
        self.family = "dejavu" if self._unicode else "helvetica"
        self.add_page()

    def text_of(self, text: str) -> str:
        return text if self._unicode else text.encode("latin-1", "replace").decode("latin-1")

    def write_line(self, text: str, size: float = 10, bold: bool = False, h: float = 6) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.multi_cell(0, h, self.text_of(text), new_x="LMARGIN", new_y="NEXT")

    def row(self, cells: list[str], widths: list[float], bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", 9)
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            align = "L" if i == 0 else "R"
            self.cell(width, 6, self.text_of(cell), border="B", align=align)
        self.ln(6)


def _head(pdf: _Pdf, title: str, issuer: str, invoice: InvoiceDetail, t: Mapping[str, str]) -> None:
    row = invoice.row
    if issuer:
        pdf.write_line(issuer, 9)
    pdf.write_line(title, 16, bold=True, h=10)
    ref = t["client"] if row.kind == "group" else t["account"]
    pdf.write_line(f"{t['customer']}: {row.customer_name}")
    pdf.write_line(f"{ref}: {row.customer_ref}")
    for part in invoice.customer_address.splitlines():
        pdf.write_line(part)


def invoice_pdf(
    invoice: InvoiceDetail,
    language: str = "fr",
    issuer: str = "",
    tz: ZoneInfo | None = None,
) -> bytes:
    """The invoice as a PDF: the header, the lines and totals, then the consumption detail."""
    t, tz = _labels(language), tz or ZoneInfo("UTC")
    row = invoice.row
    pdf = _Pdf()
    kind = t["group_invoice"] if row.kind == "group" else t["invoice"]
    _head(pdf, f"{kind} {row.number}", issuer, invoice, t)
    pdf.write_line(f"{t['period']}: {row.period}")
    pdf.write_line(f"{t['issued']}: {_day(row.issued_at, tz)}")
    pdf.write_line(f"{t['state']}: {t[row.state]}")
    if invoice.group_number:
        pdf.write_line(f"{t['billed_in']}: {invoice.group_number}")
    pdf.ln(4)
    widths = [100.0, 20.0, 30.0, 40.0]
    pdf.row([t["description"], t["quantity"], t["unit_price"], t["amount"]], widths, bold=True)
    for line in invoice.lines:
        pdf.row([line.description, str(line.quantity), line.unit_price, line.amount.text()], widths)
    pdf.ln(2)
    for label, money in (
        (t["subtotal"], invoice.subtotal.text()),
        (f"{t['vat']} ({invoice.vat_rate})", invoice.vat.text()),
        (t["total"], row.total.text()),
    ):
        pdf.row([label, "", "", money], widths, bold=label == t["total"])
    if invoice.usage:
        pdf.ln(6)
        pdf.write_line(t["detail"], 12, bold=True, h=8)
        cols = [40.0, 45.0, 45.0, 30.0, 30.0]
        pdf.row([t["day"], t["zone"], t["bundle"], t["messages"], t["parts"]], cols, bold=True)
        for u in invoice.usage:
            bundle = t["out_of_bundle"] if u.out_of_bundle else t["in_bundle"]
            pdf.row([u.day, u.zone, bundle, str(u.messages), str(u.parts)], cols)
    return bytes(pdf.output())


def receipt_pdf(
    invoice: InvoiceDetail,
    payment: PaymentView,
    language: str = "fr",
    issuer: str = "",
    tz: ZoneInfo | None = None,
) -> bytes:
    """The printable receipt of an invoice's payment (A4, one page)."""
    t, tz = _labels(language), tz or ZoneInfo("UTC")
    pdf = _Pdf()
    _head(pdf, f"{t['receipt']} {payment.receipt_number}", issuer, invoice, t)
    pdf.ln(4)
    kind = t["group_invoice"] if invoice.row.kind == "group" else t["invoice"]
    pdf.write_line(f"{kind}: {payment.invoice_number} ({t['period']} {invoice.row.period})")
    pdf.write_line(f"{t['amount']}: {payment.amount.text()}", 12, bold=True, h=8)
    pdf.write_line(f"{t['method']}: {payment.method}")
    pdf.write_line(f"{t['paid_on']}: {_day(payment.paid_at, tz)}")
    pdf.write_line(f"{t['receipt_number']}: {payment.receipt_number}")
    return bytes(pdf.output())
