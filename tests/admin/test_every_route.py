"""Every console route, found from the Klein app itself, is guarded: no session gets the login
page (or a 401 from the API), a customer gets 404 on the operator's pages, the read-only operator
cannot change anything, and no state-changing form is accepted without its CSRF token.

Routes added later are covered without editing this file; the few public ones are listed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest_twisted

from gatewayd.admin.base import app
from gatewayd.admin.console import Console  # noqa: F401  (imports every area's routes)
from tests.admin.conftest import Browser, ConsoleRig

#: Reachable without logging in, on purpose.
PUBLIC = re.compile(r"^/(login|language/.*|static/.*|api/v1/openapi\.json|metrics|healthz|readyz)$")
#: The HTTP API authenticates with a bearer key and answers 401 in JSON, not a redirect.
API = re.compile(r"^/api/")


def _routes() -> Iterator[tuple[str, str]]:
    """(method, path) for every route, path arguments filled with ids nobody has."""
    for rule in app.url_map.iter_rules():
        path = re.sub(
            r"<(?:(\w+):)?(\w+)>", lambda m: "999999" if m[1] == "int" else "nosuch", rule.rule
        )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield method, path


async def _call(browser: Browser, method: str, path: str, csrf: bool = True) -> int:
    if method == "GET":
        return (await browser.get(path)).code
    return (await browser.post(path, {}, csrf=csrf)).code


def test_the_app_has_the_areas_routes() -> None:
    paths = {path for _, path in _routes()}
    assert {"/login", "/messages", "/admin/accounts"} <= paths


@pytest_twisted.ensureDeferred
async def test_no_session_reaches_nothing_but_the_public_pages(rig: ConsoleRig) -> None:
    anonymous = Browser(rig.base)
    wrong = []
    for method, path in _routes():
        if PUBLIC.match(path):
            continue
        code = await _call(anonymous, method, path, csrf=False)
        expected = 401 if API.match(path) else 303
        if code != expected:
            wrong.append((method, path, code))
    assert wrong == []


@pytest_twisted.ensureDeferred
async def test_a_customer_gets_404_on_every_operator_page(rig: ConsoleRig) -> None:
    customer = await rig.customer("acme", "alice")
    await customer.get("/messages")  # a CSRF token of this session
    wrong = []
    for method, path in _routes():
        if path.startswith("/admin"):
            code = await _call(customer, method, path)
            if code != 404:
                wrong.append((method, path, code))
    assert wrong == []


@pytest_twisted.ensureDeferred
async def test_the_read_only_operator_changes_nothing(rig: ConsoleRig) -> None:
    viewer = await rig.operator("victor", role="viewer")
    await viewer.get("/admin/accounts")
    wrong = []
    for method, path in _routes():
        if path.startswith("/admin") and method != "GET":
            code = await _call(viewer, method, path)
            if code not in (403, 404):
                wrong.append((method, path, code))
    assert wrong == []


@pytest_twisted.ensureDeferred
async def test_no_form_is_accepted_without_its_csrf_token(rig: ConsoleRig) -> None:
    customer = await rig.customer("acme", "alice")
    admin = await rig.operator("olga")
    wrong = []
    for method, path in _routes():
        if method == "GET" or PUBLIC.match(path) or API.match(path) or path == "/login":
            continue
        browser = admin if path.startswith("/admin") else customer
        code = await _call(browser, method, path, csrf=False)
        if code not in (403, 404):
            wrong.append((method, path, code))
    assert wrong == []
