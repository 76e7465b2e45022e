"""The CSV file of the address book, read and written without any I/O."""

from __future__ import annotations

from functools import partial

import pytest

from gatewayd.contacts.csvfile import (
    BAD_QUOTES,
    MAX_BYTES,
    MAX_ROWS,
    export_contacts,
    parse_contacts,
)
from gatewayd.contacts.fields import Entry, Problem, check_contact, number_reason
from gatewayd.routing.numbers import normalise_msisdn

ML = partial(normalise_msisdn, default_country="ML")


def messages(problems: list[Problem]) -> list[tuple[int, str]]:
    return [(p.row, p.text(lambda s: s)) for p in problems]


def test_semicolons_with_a_header_and_a_bom() -> None:
    data = (
        "\ufeffPrénom;Nom;N° mobile\r\n"
        "Djibril;CISSE;22376600000\r\nAmadou;DICKO;+223 76 08 08 05\r\n"
    )
    parsed = parse_contacts(data.encode("utf-8"), ML)
    assert not parsed.fatal and not parsed.skipped
    assert parsed.header and parsed.separator == ";" and parsed.encoding == "UTF-8"
    assert parsed.entries == [
        Entry("Djibril", "CISSE", "22376600000"),
        Entry("Amadou", "DICKO", "22376080805"),
    ]


def test_commas_windows_1252_no_header_and_national_numbers() -> None:
    data = 'Aïssata,Traoré,76 60 00 01\n"Dupont, fils",Jean,22376600002\n'.encode("cp1252")
    parsed = parse_contacts(data, ML)
    assert parsed.encoding == "Windows-1252" and parsed.separator == "," and not parsed.header
    assert parsed.entries == [
        Entry("Aïssata", "Traoré", "22376600001"),
        Entry("Dupont, fils", "Jean", "22376600002"),
    ]


def test_utf8_without_bom_and_old_mac_line_ends() -> None:
    parsed = parse_contacts("Zoé;Koné;22376600003\rÉric;Sy;22376600004".encode(), ML)
    assert parsed.encoding == "UTF-8"
    assert [e.first_name for e in parsed.entries] == ["Zoé", "Éric"]


def test_bad_rows_are_reported_and_skipped_with_their_line_numbers() -> None:
    data = (
        b"Prenom;Nom;Numero\nA;B;22376600000\n;B;22376600001\nC;D;123\n\nE;F;22376600000\nG;H;;;\n"
    )
    parsed = parse_contacts(data, ML)
    assert not parsed.fatal
    assert [e.first_name for e in parsed.entries] == ["A"]
    assert messages(parsed.skipped) == [
        (3, "the first name is mandatory"),
        (
            4,
            "as an international number: too short for country code +1;"
            " as a national one: too short for country code +223",
        ),
        (6, "the same number as row 2"),
        (7, "the mobile number is mandatory"),
    ]
    assert parsed.rows == 5


def test_wrong_column_counts_are_fatal() -> None:
    parsed = parse_contacts(b"A;B;22376600000\nC;22376600001\nD;E;F;22376600002\n", ML)
    assert messages(parsed.fatal) == [
        (2, "2 fields, 3 expected (first name, last name, number)"),
        (3, "4 fields, 3 expected (first name, last name, number)"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b" \r\n\r\n", "the file is empty"),
        (b"\n;;\n", "the file is empty"),
        (b"Prenom;Nom;Numero\r\n", "the file has a header line but no contact"),
        (
            b"PK\x03\x04rest-of-a-zip",
            "this is an Excel workbook, not a CSV file: in Excel, save it as CSV",
        ),
        (
            "A;B;1".encode("utf-16"),
            "this is not CSV text (UTF-16 or binary): save it as CSV, UTF-8",
        ),
        (b"A;B;\x81\x8d22376600000", "the file is neither UTF-8 nor Windows-1252 text"),
        (
            b"\xef\xbb\xbfA;\xe9;22376600000",
            "the file starts with a UTF-8 mark but is not valid UTF-8",
        ),
        (b'A;"B;22376600000\nC;D;1"x\n', None),
        (b"A;B;22376600000\n" + b"x" * MAX_BYTES, "the file is larger than 10 MB"),
    ],
)
def test_fatal_files(data: bytes, message: str | None) -> None:
    parsed = parse_contacts(data, ML)
    assert len(parsed.fatal) == 1 and not parsed.entries
    if message is None:
        assert parsed.fatal[0].message == BAD_QUOTES and parsed.fatal[0].row == 2
    else:
        assert parsed.fatal[0].text(lambda s: s) == message


def test_too_many_rows_is_fatal() -> None:
    data = "".join(f"A;B;2237{i:07d}\n" for i in range(MAX_ROWS + 1)).encode()
    parsed = parse_contacts(data, ML)
    assert messages(parsed.fatal) == [(MAX_ROWS + 1, f"more than {MAX_ROWS} rows")]


def test_export_is_excel_friendly_and_imports_back() -> None:
    rows = [
        ("Zoé", "Koné", "22376600003"),
        ("=cmd", "+x", "22376600004"),
        ('a "b"; c', "d", "33612345678"),
    ]
    data = export_contacts(rows)
    assert data.startswith(b"\xef\xbb\xbfPr\xc3\xa9nom;Nom;Num\xc3\xa9ro\r\n")
    assert b"'=cmd;'+x;" in data
    parsed = parse_contacts(data, normalise_msisdn)
    assert parsed.header and not parsed.fatal and not parsed.skipped
    assert [(e.first_name, e.last_name, e.msisdn) for e in parsed.entries] == rows


def test_contact_fields_and_translated_reasons() -> None:
    problems = check_contact("", "x" * 101, "0612", normalise_msisdn)
    assert isinstance(problems, dict)
    assert {k: p.text(lambda s: s) for k, p in problems.items()} == {
        "first_name": "the first name is mandatory",
        "last_name": "the last name has 100 characters at most",
        "msisdn": "the country code is mandatory (e.g. 22376600000 for Mali)",
    }
    either = number_reason(
        "as an international number: too short for country code +33; as a national one: x"
    )
    french = {
        "too short for country code %(code)s": "trop court pour l'indicatif %(code)s",
        "as an international number: %(a)s; as a national one: %(b)s": "%(a)s / %(b)s",
    }
    assert either.text(lambda s: french.get(s, s)) == "trop court pour l'indicatif +33 / x"
