"""Jinja2 set-up and the response helpers every web page shares."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from babel.support import NullTranslations
from jinja2 import Environment, FileSystemLoader, select_autoescape
from twisted.web.iweb import IRequest

from gatewayd.admin.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    escaped_gettext,
    escaped_ngettext,
    load_catalogues,
)
from gatewayd.errors import FieldError
from gatewayd.status import Status

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

#: English msgids; French in locale/fr/common.po.
STATUS_LABELS = {
    Status.ACCEPTED: "accepted",
    Status.QUEUED: "queued",
    Status.SENT: "sent",
    Status.DELIVERED: "delivered",
    Status.UNDELIVERABLE: "undeliverable",
    Status.EXPIRED: "expired",
    Status.REJECTED: "rejected",
    Status.UNKNOWN: "unknown",
}

_SECURITY_HEADERS = {
    b"Content-Security-Policy": b"default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    b"X-Content-Type-Options": b"nosniff",
    b"X-Frame-Options": b"DENY",
    b"Referrer-Policy": b"same-origin",
    b"Cache-Control": b"no-store",
}


class Templates:
    """One Jinja2 environment per language, sharing the templates; built once at start."""

    def __init__(self) -> None:
        self._translations = load_catalogues()
        self._envs = {language: self._make(language) for language in LANGUAGES}

    def env(self, language: str) -> Environment:
        return self._envs.get(language) or self._envs[DEFAULT_LANGUAGE]

    def translations(self, language: str) -> NullTranslations:
        return self._translations.get(language) or self._translations[DEFAULT_LANGUAGE]

    def _make(self, language: str) -> Environment:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.i18n"],
        )
        translations = self._translations[language]
        env.install_gettext_callables(  # type: ignore[attr-defined]
            gettext=escaped_gettext(translations),
            ngettext=escaped_ngettext(translations),
            newstyle=True,
        )
        env.filters["status_label"] = lambda s: translations.gettext(STATUS_LABELS.get(s) or s)
        env.filters["datetime"] = _datetime
        return env


def _datetime(seconds: float) -> str:
    return time.strftime("%d/%m/%Y %H:%M:%S", time.localtime(seconds))


def security_headers(request: IRequest) -> None:
    for name, value in _SECURITY_HEADERS.items():
        request.setHeader(name, value)
    if request.isSecure():
        # Served over TLS: browsers keep to https for this host from now on.
        request.setHeader(b"Strict-Transport-Security", b"max-age=31536000")


def csv_download(request: IRequest, filename: str, body: bytes) -> bytes:
    """``body``, a CSV file, as an attachment named ``filename``."""
    security_headers(request)
    request.setHeader(b"Content-Type", b"text/csv; charset=utf-8")
    request.setHeader(b"Content-Disposition", f'attachment; filename="{filename}"'.encode())
    return body


def render(
    env: Environment, request: IRequest, template: str, code: int = 200, **context: Any
) -> str:
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
    security_headers(request)
    return env.get_template(template).render(**context)


def redirect(request: IRequest, location: str) -> bytes:
    """303 See Other: after a POST the browser GETs the next page."""
    request.setResponseCode(303)
    request.setHeader(b"Location", location.encode())
    security_headers(request)
    return b""


def form_value(request: IRequest, name: str, default: str = "") -> str:
    values = (request.args or {}).get(name.encode())
    if not values:
        return default
    try:
        return bytes(values[0]).decode("utf-8")
    except UnicodeDecodeError:
        return default


#: The highest ``page`` a list takes from a request (so that its offset stays small).
MAX_PAGE = 1_000_000


#: The largest value of an ``Integer`` column on PostgreSQL (int4).
INT4_MAX = 2**31 - 1
#: The largest id (``BigInteger`` on PostgreSQL, SQLite's 64-bit integers).
ID_MAX = 2**63 - 1


def parse_count(text: str, maximum: int = INT4_MAX) -> int | None:
    """A whole number typed in a form or query (spaces around allowed): 0 to ``maximum``;
    None for anything else. Only ASCII digits: ``str.isdigit`` takes '²', ``int()`` takes
    '٣' and '1_0', and both fail or overflow on thousands of digits."""
    value = text.strip()
    if not (value.isascii() and value.isdigit()):
        return None
    digits = value.lstrip("0") or "0"
    if len(digits) > len(str(maximum)):
        return None
    number = int(digits)
    return number if number <= maximum else None


#: The most items a selection form (checkboxes) may post at once: a bound on the queries'
#: IN lists (PostgreSQL takes 65535 bind parameters) and on the work of one request.
MAX_SELECTED = 1000


def selected_values(request: IRequest, name: str) -> list[bytes]:
    """The values a selection form posts as a repeated field ``name`` (checkboxes): more
    than MAX_SELECTED is a FieldError."""
    values = (request.args or {}).get(name.encode(), [])
    if len(values) > MAX_SELECTED:
        raise FieldError("Select 1000 items at most at a time.")  # MAX_SELECTED
    return [bytes(v) for v in values]


def selected_ids(request: IRequest, name: str) -> list[int]:
    """The ids a selection form posts as a repeated field ``name``, each once, in order;
    anything but a bounded ASCII number is ignored. More than MAX_SELECTED: a FieldError."""
    values = selected_values(request, name)
    found = (parse_count(bytes(v).decode("ascii", "replace"), ID_MAX) for v in values)
    return list(dict.fromkeys(n for n in found if n is not None))


def page_number(request: IRequest) -> int:
    """The list's ``page`` asked for: 1 to MAX_PAGE, 1 when missing or not a number."""
    value = form_value(request, "page")
    if not (value.isascii() and value.isdigit()):
        return 1
    number = parse_count(value, MAX_PAGE)
    return MAX_PAGE if number is None else max(1, number)
