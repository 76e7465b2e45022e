"""The console's languages: French by default, English on request, chosen per user.

Templates and Python code write their text in English (the msgids); each area of the console
keeps its French in its own catalogue, ``locale/fr/<area>.po``, so that areas are edited
independently. The catalogues are read and merged at start; there is no compile step. A text
with no translation shows in English rather than failing.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from markupsafe import Markup, escape

LOCALE = Path(__file__).with_name("locale")
DEFAULT_LANGUAGE = "fr"
#: The languages a user can choose, with their names in their own language.
LANGUAGES: Mapping[str, str] = {"fr": "Français", "en": "English"}


def load_catalogues(root: Path = LOCALE) -> dict[str, NullTranslations]:
    """One merged set of translations per language in :data:`LANGUAGES`."""
    found: dict[str, NullTranslations] = {}
    for language in LANGUAGES:
        merged: NullTranslations = NullTranslations()
        for path in sorted((root / language).glob("*.po")):
            with path.open("rb") as po:
                catalogue = read_po(po, locale=language, domain=path.stem)
            buffer = io.BytesIO()
            write_mo(buffer, catalogue)
            buffer.seek(0)
            translations = Translations(buffer, domain="messages")
            if isinstance(merged, Translations):
                merged.merge(translations)
            else:
                merged = translations
        found[language] = merged
    return found


def escaped_gettext(translations: NullTranslations) -> Callable[[str], Markup]:
    """``gettext`` for templates: the text comes back escaped.

    Jinja's new-style ``_()`` takes what gettext returns as markup (and escapes only the
    ``%(name)s`` values), which is right for a literal msgid but not for ``_(message)`` where
    the message holds request input ("unknown status filter '<meta …>'"). No msgid carries
    markup, so escaping every text costs nothing and closes that hole for good."""

    def gettext(text: str) -> Markup:
        return escape(translations.gettext(text))

    return gettext


def escaped_ngettext(translations: NullTranslations) -> Callable[[str, str, int], Markup]:
    def ngettext(singular: str, plural: str, n: int) -> Markup:
        return escape(translations.ngettext(singular, plural, n))

    return ngettext


def pick_language(preferred: str | None) -> str:
    """The user's language if we have it, else French."""
    return preferred if preferred is not None and preferred in LANGUAGES else DEFAULT_LANGUAGE
