"""The French catalogues: one translation per text across the areas' files, and a French text
for every text the templates and the console's code show.

The areas' catalogues are merged at start (later files win), so the same English text given two
translations in two files would silently show one of them on the other's page."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_python
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from gatewayd.admin.i18n import LOCALE
from gatewayd.admin.rendering import TEMPLATES

ADMIN = Path(__file__).parents[2] / "gatewayd"
#: Where the console's Python code gives its texts: ``self._(session, "text")`` and the English
#: msgids of FieldError (forms' refusals).
PYTHON_SOURCES = [
    *ADMIN.glob("admin/*.py"),
    *ADMIN.glob("storage/*.py"),
    *ADMIN.glob("contacts/*.py"),
]
PYTHON_KEYWORDS = {"_": (2,), "FieldError": (1,)}


def _french() -> dict[str, list[tuple[str, str]]]:
    """Every msgid of the French catalogues: [(file, translation), ...]."""
    found: dict[str, list[tuple[str, str]]] = {}
    for path in sorted((LOCALE / "fr").glob("*.po")):
        with path.open("rb") as po:
            for message in read_po(po, locale="fr"):
                msgid = message.id if isinstance(message.id, str) else message.id[0]
                if msgid:
                    found.setdefault(msgid, []).append((path.name, str(message.string)))
    return found


def _first(message: object) -> str | None:
    if isinstance(message, str):
        return message
    if isinstance(message, tuple | list) and message and isinstance(message[0], str):
        return message[0]
    return None  # not a literal: nothing to check


def test_no_text_has_two_translations() -> None:
    clashes = {
        msgid: places
        for msgid, places in _french().items()
        if len({translation for _, translation in places}) > 1
    }
    assert clashes == {}, "give the text one translation, in common.po if areas share it"


def test_every_template_text_is_translated() -> None:
    french = _french()
    missing = []
    for template in sorted(Path(TEMPLATES).glob("*.html")):
        with template.open("rb") as source:
            for lineno, _func, message, _comments in babel_extract(
                source, ["_", "gettext"], [], {"extensions": "jinja2.ext.i18n"}
            ):
                msgid = _first(message)
                if msgid and msgid not in french:
                    missing.append(f"{template.name}:{lineno}: {msgid}")
    assert missing == []


def test_every_text_of_the_code_is_translated() -> None:
    french = _french()
    missing = []
    checked = 0
    for path in sorted(PYTHON_SOURCES):
        with path.open("rb") as source:
            for lineno, _func, message, _comments in extract_python(
                source, PYTHON_KEYWORDS, [], {}
            ):
                msgid = _first(message)
                checked += msgid is not None
                if msgid and msgid not in french:
                    missing.append(f"{path.name}:{lineno}: {msgid}")
    assert missing == []
    assert checked > 30  # the extraction found the code's texts (44 when written)
