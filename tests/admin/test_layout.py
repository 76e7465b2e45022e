"""The console's shared layout: login, languages, menu, badge, roles, flash messages."""

from __future__ import annotations

import pytest_twisted

from tests.admin.conftest import Browser, ConsoleRig


@pytest_twisted.ensureDeferred
async def test_login_page_is_french_by_default_and_english_on_request(rig: ConsoleRig) -> None:
    browser = Browser(rig.base)
    page = await browser.get("/login")
    assert page.code == 200
    assert "Mot de passe" in page.text and '<html lang="fr">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    switched = await browser.get("/language/en", follow=True)
    assert "Password" in switched.text and '<html lang="en">' in switched.text


@pytest_twisted.ensureDeferred
async def test_customer_menu_badge_and_flash(rig: ConsoleRig) -> None:
    browser = await rig.customer("acme", "alice")
    page = await browser.get("/messages/new")
    for item in (
        "Nouveau message",
        "Messages envoyés",
        "Carnet d'adresses",
        "Archives",
        "Statistiques",
        "Profil",
        "Déconnexion",
    ):
        assert item in page.shown
    assert "Volume illimité" in page.text
    sent = await browser.post("/messages", {"recipients": "22376600000", "text": "bonjour"})
    assert sent.code == 303 and sent.location == "/messages?flash=sent"
    listed = await browser.get(sent.location)
    assert "Votre message a été accepté" in listed.text
    bogus = await browser.get("/messages?flash=%3Cscript%3E")
    assert "<script>" not in bogus.text and 'class="flash"' not in bogus.text


@pytest_twisted.ensureDeferred
async def test_english_user_gets_english_pages(rig: ConsoleRig) -> None:
    browser = await rig.customer("acme", "bob", language="en")
    page = await browser.get("/messages/new")
    assert "Sent messages" in page.text and "Unlimited volume" in page.text


@pytest_twisted.ensureDeferred
async def test_roles_see_only_their_side(rig: ConsoleRig) -> None:
    customer = await rig.customer("acme", "carol")
    assert (await customer.get("/admin/accounts")).code == 404
    viewer = await rig.operator("vera", role="viewer")
    assert (await viewer.get("/admin/accounts")).code == 200
    assert (await viewer.get("/messages/new")).code == 404
    refused = await viewer.post("/admin/accounts/acme/lift")
    assert refused.code == 403
    # The home page of each side: the sent list, the operator's dashboard.
    assert (await customer.get("/")).location == "/messages"
    assert (await viewer.get("/")).location == "/admin"


@pytest_twisted.ensureDeferred
async def test_form_without_csrf_token_is_refused(rig: ConsoleRig) -> None:
    browser = await rig.customer("acme", "dave")
    await browser.get("/messages/new")
    answer = await browser.post("/messages", {"recipients": "22376600000", "text": "x"}, csrf=False)
    assert answer.code == 403


@pytest_twisted.ensureDeferred
async def test_login_lockout_after_repeated_failures(rig: ConsoleRig) -> None:
    await rig.customer("acme", "erin")
    browser = Browser(rig.base)
    for _ in range(5):
        await browser.get("/login")
        failed = await browser.post("/login", {"login": "erin", "password": "wrong password!"})
        assert failed.code == 401
    await browser.get("/login")
    locked = await browser.post("/login", {"login": "erin", "password": "correct horse battery"})
    assert locked.code == 429 and "Trop d'essais" in locked.shown


@pytest_twisted.ensureDeferred
async def test_session_rotates_at_login(rig: ConsoleRig) -> None:
    browser = await rig.customer("acme", "fay")
    first = {c.name: c.value for c in browser.jar}["gw_session"]
    await browser.login("fay")
    second = {c.name: c.value for c in browser.jar}["gw_session"]
    assert first != second
    stale = Browser(rig.base)
    stale.jar.set_cookie(next(c for c in browser.jar if c.name == "gw_session"))
    assert (await stale.get("/messages")).code == 200
    import copy

    old = copy.copy(next(c for c in browser.jar if c.name == "gw_session"))
    old.value = first
    replay = Browser(rig.base)
    replay.jar.set_cookie(old)
    assert (await replay.get("/messages")).code == 303


@pytest_twisted.ensureDeferred
async def test_unknown_pages_and_methods_get_our_error_page_not_a_500(rig: ConsoleRig) -> None:
    anonymous = Browser(rig.base)
    missing = await anonymous.get("/no/such/page")
    assert missing.code == 404
    assert "page introuvable" in missing.text
    assert missing.headers["content-security-policy"].startswith("default-src 'self'")
    refused = await anonymous.post("/static/gatewayd.css", {}, csrf=False)
    assert refused.code == 405
    assert "méthode non autorisée" in refused.text
