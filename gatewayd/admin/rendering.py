"""Jinja2 set-up and the response helpers every web page shares."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from twisted.web.iweb import IRequest

from gatewayd.status import Status

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

STATUS_LABELS = {
    Status.ACCEPTED: "accepté",
    Status.QUEUED: "en attente",
    Status.SENT: "envoyé",
    Status.DELIVERED: "délivré",
    Status.UNDELIVERABLE: "non délivrable",
    Status.EXPIRED: "expiré",
    Status.REJECTED: "rejeté",
    Status.UNKNOWN: "inconnu",
}

_SECURITY_HEADERS = {
    b"Content-Security-Policy": b"default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    b"X-Content-Type-Options": b"nosniff",
    b"X-Frame-Options": b"DENY",
    b"Referrer-Policy": b"same-origin",
    b"Cache-Control": b"no-store",
}


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["status_label"] = lambda s: STATUS_LABELS.get(s, s)
    env.filters["datetime"] = _datetime
    return env


def _datetime(seconds: float) -> str:
    return time.strftime("%d/%m/%Y %H:%M:%S", time.localtime(seconds))


def security_headers(request: IRequest) -> None:
    for name, value in _SECURITY_HEADERS.items():
        request.setHeader(name, value)


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
