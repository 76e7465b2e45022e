"""CSV files as spreadsheets open them: every export (the address book, the audit log, a
batch's statuses, the statistics) is written here.

``;`` (Excel's separator where the decimal comma is used), CRLF, a header line first. A text
cell that a spreadsheet would run as a formula (it starts with ``= + - @``, a tab or a carriage
return) gets a leading ``'`` (CSV injection); the address book's import takes it off again.
Pure.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

#: The UTF-8 mark, so that Excel reads the accents.
BOM = b"\xef\xbb\xbf"
#: What a cell must not start with to be taken as text.
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def escape(cell: object) -> object:
    """A text cell with a leading ``'`` if it would be a formula; anything else as it is."""
    return "'" + cell if isinstance(cell, str) and cell.startswith(FORMULA) else cell


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The header (ours, written as it is), then the rows with their text cells escaped."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([escape(cell) for cell in row] for row in rows)
    return out.getvalue()


def csv_file(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """:func:`csv_text` in UTF-8 with a BOM."""
    return BOM + csv_text(header, rows).encode("utf-8")
