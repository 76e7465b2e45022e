"""The address book's CSV file, ``Prénom;Nom;Numéro``: read an upload, write an export. Pure.

Reading (decisions; docs/console.md, "Address book"):

* Encoding: a UTF-8 mark (BOM) means UTF-8; otherwise UTF-8 if the bytes are valid UTF-8,
  else Windows-1252 (Excel's "CSV" on a French Windows). Neither is a fatal error.
* Separator: ``;`` if the first line has one, else ``,`` if it has one (Excel writes ``;``
  where the decimal comma is used, ``,`` elsewhere). Quoted fields follow RFC 4180.
* The first line is a header, and skipped, when its third field holds no digit.
* Blank lines are skipped, and so are empty cells after the third (Excel writes them).
* Fatal, the file imports nothing: empty, larger than :data:`MAX_BYTES`, more than
  :data:`MAX_ROWS` rows, not text (a workbook, UTF-16), undecodable, badly quoted, or any row
  without exactly three fields: the file is not what we think it is.
* Per row, reported and skipped: a missing or too long name, a number we cannot send to, a
  number already on an earlier row.

Writing: UTF-8 with a BOM (so that Excel reads the accents), ``;``, CRLF, the same three
columns with a header, so an export imports back unchanged. A cell that Excel would run as a
formula (it starts with ``= + - @``, a tab or a carriage return) gets a leading ``'``, which
the import takes off again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from gatewayd.contacts.fields import Entry, Normalise, Problem, check_contact
from gatewayd.csvwriter import BOM, FORMULA, csv_file

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 200_000
#: Fatal errors listed at most (a file of the wrong shape would list every row).
MAX_FATAL = 100
HEADER = ("Prénom", "Nom", "Numéro")
BAD_QUOTES = (
    'badly quoted field: a field that starts with " must end with " and then the separator'
    " (or be too long)"
)


@dataclass
class ParsedFile:
    """What a file holds: the contacts to import, the rows skipped and the fatal errors."""

    entries: list[Entry] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    fatal: list[Problem] = field(default_factory=list)
    rows: int = 0  # data rows read (header and blank lines not counted)
    encoding: str = ""
    separator: str = ""
    header: bool = False


def parse_contacts(data: bytes, normalise: Normalise) -> ParsedFile:
    """Read an uploaded file; ``fatal`` non-empty means nothing may be imported."""
    parsed = ParsedFile()
    text = _decode(data, parsed)
    if text is None:
        return parsed
    first_line = text.split("\n", 1)[0]
    parsed.separator = ";" if ";" in first_line else "," if "," in first_line else ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=parsed.separator, strict=True)
    seen: dict[str, int] = {}
    try:
        for cells in reader:
            if _read_row(parsed, reader.line_num, cells, normalise, seen):
                break
    except csv.Error:  # its reason is in the csv module's words, not the reader's
        parsed.fatal.append(Problem(BAD_QUOTES, row=reader.line_num))
    if not parsed.fatal and not parsed.rows:
        message = (
            "the file has a header line but no contact" if parsed.header else "the file is empty"
        )
        parsed.fatal.append(Problem(message))
    return parsed


def _decode(data: bytes, parsed: ParsedFile) -> str | None:
    """The file's text, or None with the fatal error recorded."""
    problem = _not_text(data)
    if problem is None and data.startswith(BOM):
        try:
            parsed.encoding = "UTF-8"
            return data[len(BOM) :].decode("utf-8")
        except UnicodeDecodeError:
            problem = Problem("the file starts with a UTF-8 mark but is not valid UTF-8")
    if problem is None:
        for codec, name in (("utf-8", "UTF-8"), ("cp1252", "Windows-1252")):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                continue
            parsed.encoding = name
            return text
        problem = Problem("the file is neither UTF-8 nor Windows-1252 text")
    parsed.fatal.append(problem)
    return None


def _not_text(data: bytes) -> Problem | None:
    if not data.strip():
        return Problem("the file is empty")
    if len(data) > MAX_BYTES:
        return Problem("the file is larger than %(size)s MB", {"size": MAX_BYTES // (1024 * 1024)})
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        return Problem("this is an Excel workbook, not a CSV file: in Excel, save it as CSV")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        return Problem("this is not CSV text (UTF-16 or binary): save it as CSV, UTF-8")
    return None


def _read_row(
    parsed: ParsedFile, row: int, cells: list[str], normalise: Normalise, seen: dict[str, int]
) -> bool:
    """Take one line; True when reading must stop (too many rows, too many fatal errors)."""
    if not any(c.strip() for c in cells):
        return False
    while len(cells) > 3 and not cells[-1].strip():
        cells.pop()
    if not parsed.rows and not parsed.header and not parsed.fatal and _is_header(cells):
        parsed.header = True
        return False
    parsed.rows += 1
    if parsed.rows > MAX_ROWS:
        parsed.fatal.append(Problem("more than %(max)s rows", {"max": MAX_ROWS}, row))
        return True
    if len(cells) != 3:
        parsed.fatal.append(
            Problem(
                "%(count)s fields, 3 expected (first name, last name, number)",
                {"count": len(cells)},
                row,
            )
        )
        return len(parsed.fatal) >= MAX_FATAL
    if parsed.fatal:  # the import is off: only the shape of the other rows matters now
        return False
    first, last, number = (_unescape(c) for c in cells)
    checked = check_contact(first, last, number, normalise)
    if isinstance(checked, dict):
        problem = next(iter(checked.values()))
        parsed.skipped.append(Problem(problem.message, problem.values, row))
        return False
    earlier = seen.setdefault(checked.msisdn, row)
    if earlier != row:
        parsed.skipped.append(Problem("the same number as row %(row)s", {"row": earlier}, row))
        return False
    parsed.entries.append(checked)
    return False


def _is_header(cells: list[str]) -> bool:
    return len(cells) >= 3 and not any(c.isdigit() for c in cells[2])


def _unescape(cell: str) -> str:
    value = cell.strip()
    if value.startswith("'") and value[1:2] in FORMULA:
        return value[1:]
    return value


def export_contacts(contacts: Iterable[tuple[str, str, str]]) -> bytes:
    """(first name, last name, number) rows as a CSV file Excel opens and we import back."""
    return csv_file(HEADER, contacts)
