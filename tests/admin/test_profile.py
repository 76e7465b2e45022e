"""The profile: details and their edit, language, password (strength, old one checked, other
sessions ended), API keys (shown once, hashed, revoked; another account's key is a 404) and
the SMPP password reset; roles, CSRF and the audit log."""

from __future__ import annotations

import re

import pytest_twisted
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gatewayd.security import token_digest
from gatewayd.storage.api_keys import authenticate
from gatewayd.storage.models import Account, ApiKey, AuditEntry, Credential, User
from tests.admin.conftest import PASSWORD, Browser, ConsoleRig

NEW_PASSWORD = "tamarind-kite-41-ladder"


def _audit(s: Session, action: str) -> list[tuple[str, str]]:
    rows = s.execute(select(AuditEntry.actor, AuditEntry.detail).where(AuditEntry.action == action))
    return [(a, d) for a, d in rows]


def _account(s: Session, name: str) -> Account:
    return s.scalars(select(Account).where(Account.name == name)).one()


def _fields(s: Session, name: str) -> tuple[str, ...]:
    a = _account(s, name)
    return (a.company_name, a.mobile, a.address, a.po_box, a.email)


def _smpp(s: Session, name: str, system_id: str) -> None:
    s.execute(update(Account).where(Account.name == name).values(smpp_system_id=system_id))


FIELDS = {
    "company_name": "Acme <Mali>",
    "mobile": "+223 76 60 00 00",
    "address": "Rue 12, Bamako",
    "po_box": "BP 1234",
    "email": "contact@acme.ml",
}


@pytest_twisted.ensureDeferred
async def test_view_and_edit_the_accounts_details(any_rig: ConsoleRig) -> None:
    browser = await any_rig.customer("acme", "alice")
    page = await browser.get("/profile")
    assert page.code == 200 and "Identifiant" in page.text and "Date d'abonnement" in page.shown
    assert "alice" in page.text and "acme" in page.text
    form = await browser.get("/profile/edit")
    assert 'name="company_name"' in form.text and 'name="login"' not in form.text
    saved = await browser.post("/profile", {**FIELDS, "login": "mallory"})
    assert saved.code == 303 and saved.location == "/profile?flash=profile_saved"
    db = any_rig.gateway.db
    assert db.run_sync("f", _fields, "acme") == (
        "Acme <Mali>",
        "22376600000",
        "Rue 12, Bamako",
        "BP 1234",
        "contact@acme.ml",
    )
    shown = await browser.get(saved.location)
    assert "Acme &lt;Mali&gt;" in shown.text and "Votre profil a été enregistré." in shown.text
    assert "<dd>alice <small>(acme)</small></dd>" in shown.text  # the login did not change
    [(actor, detail)] = db.run_sync("a", _audit, "edit profile")
    assert actor == "console:alice" and "mobile:" in detail and "22376600000" in detail
    again = await browser.post("/profile", FIELDS)
    assert again.location == "/profile?flash=profile_unchanged"
    assert len(db.run_sync("a", _audit, "edit profile")) == 1


@pytest_twisted.ensureDeferred
async def test_bad_details_are_refused_and_nothing_is_written(rig: ConsoleRig) -> None:
    browser = await rig.customer("acme", "bob")
    await browser.get("/profile/edit")
    for field, value, text in (
        ("mobile", "76 60 00 00", "indicatif du pays"),
        ("mobile", "abc", "numéro de cellulaire n&#39;est pas valide"),
        ("email", "not-an-address", "L&#39;adresse e-mail n&#39;est pas valide."),
        ("po_box", "x" * 65, "Ce champ est trop long : BP."),
    ):
        answer = await browser.post("/profile", {**FIELDS, field: value})
        assert answer.code == 400 and text in answer.text, (field, value)
        assert f'value="{FIELDS["company_name"]}"' not in answer.text  # escaped when shown
    assert rig.gateway.db.run_sync("f", _fields, "acme") == ("", "", "", "", "")


@pytest_twisted.ensureDeferred
async def test_a_user_may_view_but_not_change_the_account(rig: ConsoleRig) -> None:
    await rig.customer("acme", "boss")
    user = await rig.customer("acme", "ursula", role="user")
    page = await user.get("/profile")
    assert page.code == 200 and "/profile/edit" not in page.text
    assert 'action="/profile/api-keys"' not in page.text
    assert (await user.get("/profile/edit")).code == 403
    assert (await user.post("/profile", FIELDS)).code == 403
    assert (await user.post("/profile/api-keys", {"name": "x"})).code == 403
    assert (await user.post("/profile/smpp/reset")).code == 403
    assert rig.gateway.db.run_sync("f", _fields, "acme")[0] == ""
    # ... but their own language is theirs to choose.
    chosen = await user.post("/profile/language", {"language": "en"})
    assert chosen.code == 303
    assert "Your language has been saved." in (await user.get(chosen.location)).text
    assert (await user.post("/profile/language", {"language": "xx"})).code == 400
    operator = await rig.operator("olga")
    assert (await operator.get("/profile")).code == 404


@pytest_twisted.ensureDeferred
async def test_posts_without_the_csrf_token_are_refused(rig: ConsoleRig) -> None:
    browser = await rig.customer("acme", "carl")
    await browser.get("/profile")
    for path, data in (
        ("/profile", FIELDS),
        ("/profile/language", {"language": "en"}),
        ("/profile/password", {"old": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        ("/profile/api-keys", {"name": "ci"}),
        ("/profile/smpp/reset", {}),
        ("/profile/api-keys/1/revoke", {}),
    ):
        assert (await browser.post(path, data, csrf=False)).code == 403, path


@pytest_twisted.ensureDeferred
async def test_password_change_checks_and_ends_the_other_sessions(any_rig: ConsoleRig) -> None:
    browser = await any_rig.customer("acme", "dora")
    other = Browser(any_rig.base)
    await other.login("dora")
    await browser.get("/profile/password")
    for old, new, confirm, text in (
        (PASSWORD, "short", "short", "au moins 12 caractères"),
        (PASSWORD, "dora-is-my-name", "dora-is-my-name", "ne doit pas contenir votre login"),
        (PASSWORD, "azerty123456", "azerty123456", "plus courants"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "sa confirmation diffèrent"),
        ("wrong password!", NEW_PASSWORD, NEW_PASSWORD, "ancien mot de passe est incorrect"),
    ):
        answer = await browser.post(
            "/profile/password", {"old": old, "new": new, "confirm": confirm}
        )
        assert answer.code == 400 and text in answer.text, text
    assert (await other.get("/profile")).code == 200  # nothing changed yet
    done = await browser.post(
        "/profile/password", {"old": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.code == 303 and done.location == "/profile?flash=password_changed"
    assert (await browser.get("/profile")).code == 200  # this session goes on
    assert (await other.get("/profile")).code == 303  # the other one was ended
    await Browser(any_rig.base).login("dora", NEW_PASSWORD)
    stored = any_rig.gateway.db.run_sync("h", _hash, "dora")
    assert stored.startswith("$argon2id$")
    [(actor, _detail)] = any_rig.gateway.db.run_sync("a", _audit, "change password")
    assert actor == "console:dora"


def _hash(s: Session, login: str) -> str:
    user_id = s.scalars(select(User.id).where(User.login == login)).one()
    return s.scalars(
        select(Credential.secret_hash).where(
            Credential.owner == "user", Credential.owner_id == user_id
        )
    ).one()


_TOKEN = re.compile(r'<output id="secret" class="secret">([^<]+)</output>')


async def _new_key(browser: Browser, name: str) -> tuple[int, str]:
    await browser.get("/profile")
    created = await browser.post("/profile/api-keys", {"name": name})
    assert created.code == 200, created.text
    found = _TOKEN.search(created.text)
    assert found and "affichée qu'une fois" in created.shown
    page = await browser.get("/profile")
    key_id = int(re.findall(r'data-key="(\d+)"', page.text)[0])
    return key_id, found.group(1)


@pytest_twisted.ensureDeferred
async def test_api_keys_are_shown_once_hashed_and_revoked(any_rig: ConsoleRig) -> None:
    browser = await any_rig.customer("acme", "erin")
    key, token = await _new_key(browser, "crm <prod>")
    db = any_rig.gateway.db
    assert token.startswith("gw_")
    page = await browser.get("/profile")
    assert token not in page.text and "crm &lt;prod&gt;" in page.text and "jamais" in page.text
    stored = db.run_sync("k", lambda s: s.scalars(select(ApiKey.secret_hash)).all())
    assert token not in str(stored) and token_digest(token.split("_", 2)[2]) in stored
    now = 2e9
    assert db.run_sync("auth", authenticate, token, now) is not None
    confirm = await browser.get(f"/profile/api-keys/{key}/revoke")
    assert confirm.code == 200 and "Révoquer la clé d&#39;API crm &lt;prod&gt; ?" in confirm.text
    revoked = await browser.post(f"/profile/api-keys/{key}/revoke")
    assert revoked.code == 303 and revoked.location == "/profile?flash=key_revoked"
    assert db.run_sync("auth", authenticate, token, now) is None
    assert [a for a, _d in db.run_sync("a", _audit, "create api key")] == ["console:erin"]
    assert len(db.run_sync("a", _audit, "revoke api key")) == 1
    assert (await browser.get(f"/profile/api-keys/{key}/revoke")).code == 404  # already revoked
    await browser.get("/profile")
    empty = await browser.post("/profile/api-keys", {"name": "  "})
    assert empty.code == 400 and "Donnez un nom à la clé" in empty.text


@pytest_twisted.ensureDeferred
async def test_another_accounts_api_key_is_a_404(any_rig: ConsoleRig) -> None:
    acme = await any_rig.customer("acme", "fred")
    key, token = await _new_key(acme, "acme key")
    globex = await any_rig.customer("globex", "gina")
    page = await globex.get("/profile")
    assert "acme key" not in page.text
    assert (await globex.get(f"/profile/api-keys/{key}/revoke")).code == 404
    assert (await globex.post(f"/profile/api-keys/{key}/revoke")).code == 404
    assert any_rig.gateway.db.run_sync("auth", authenticate, token, 2e9) is not None


@pytest_twisted.ensureDeferred
async def test_smpp_password_reset_shows_a_new_one_once(any_rig: ConsoleRig) -> None:
    browser = await any_rig.customer("acme", "hana")
    page = await browser.get("/profile")
    assert "Votre compte n'a pas d'accès SMPP" in page.shown
    assert (await browser.get("/profile/smpp/reset")).code == 409
    db = any_rig.gateway.db
    db.run_sync("smpp", _smpp, "acme", "acme01")
    page = await browser.get("/profile")
    assert '<code id="smpp-system-id">acme01</code>' in page.text
    confirm = await browser.get("/profile/smpp/reset")
    assert confirm.code == 200 and "Réinitialiser le mot de passe SMPP de acme01 ?" in confirm.text
    reset = await browser.post("/profile/smpp/reset")
    assert reset.code == 200
    found = _TOKEN.search(reset.text)
    assert found and len(found.group(1)) == 8
    account = await any_rig.gateway.accounts.authenticate_smpp("acme01", found.group(1))
    assert account.name == "acme"
    assert found.group(1) not in (await browser.get("/profile")).text
    [(_actor, detail)] = db.run_sync("a", _audit, "reset smpp password")
    assert detail == "system_id: acme01" and found.group(1) not in detail


@pytest_twisted.ensureDeferred
async def test_guessing_the_current_password_locks_out_like_the_login(rig: ConsoleRig) -> None:
    """A stolen session must not be a way to guess the password behind it: wrong current
    passwords count as failed logins (threshold 5 by default), then both are refused."""
    browser = await rig.customer("acme", "gus")
    await browser.get("/profile/password")
    change = {"old": "not my password", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    codes = [(await browser.post("/profile/password", change)).code for _ in range(6)]
    assert codes == [400] * 5 + [429]
    right = await browser.post("/profile/password", {**change, "old": PASSWORD})
    assert right.code == 429 and "essais infructueux" in right.text
    login = Browser(rig.base)
    await login.get("/login")
    refused = await login.post("/login", {"login": "gus", "password": PASSWORD})
    assert refused.code == 429
