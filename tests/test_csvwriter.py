"""The one CSV writer of every export."""

from __future__ import annotations

from gatewayd.csvwriter import csv_file, csv_text


def test_semicolons_crlf_the_header_as_is_and_formulas_defused() -> None:
    text = csv_text(
        ["-a", "b"],
        [["=1+1", 3], ["+33 6", "@x"], ["-2", "\tx"], ["\rx", "ok; quoted"], [None, 1.5]],
    )
    assert text == (
        "-a;b\r\n'=1+1;3\r\n'+33 6;'@x\r\n'-2;'\tx\r\n\"'\rx\";\"ok; quoted\"\r\n;1.5\r\n"
    )


def test_a_file_is_the_text_in_utf8_after_a_bom() -> None:
    assert csv_file(["Prénom"], [["Aïssata"]]) == b"\xef\xbb\xbf" + "Prénom\r\nAïssata\r\n".encode()
