"""The operator's users page: list and filters, create with a one-time password, roles by
account kind, edit, disable (ends sessions), reset; admins cannot disable or demote
themselves; viewers read, customers get 404; client groups likewise."""

from __future__ import annotations

import re

import pytest_twisted
from sqlalchemy import select

from gatewayd.storage.models import AuditEntry, User
from tests.admin.conftest import Browser, ConsoleRig

_PASSWORD = re.compile(r'<code class="password">([^<]+)</code>')
_USER = re.compile(r'action="/admin/users/(\d+)"')


def _actions(rig: ConsoleRig) -> list[tuple[str, str, str]]:
    return rig.gateway.db.run_sync(
        "audit",
        lambda s: [
            (e.actor, e.action, e.detail)
            for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ],
    )


def _user(rig: ConsoleRig, login: str) -> User:
    def read(s: object) -> User:
        row = s.scalar(select(User).where(User.login == login))  # type: ignore[attr-defined]
        s.expunge(row)  # type: ignore[attr-defined]
        return row

    return rig.gateway.db.run_sync("user", read)


async def _create(admin: Browser, **fields: str) -> tuple[int, str]:
    await admin.get("/admin/users")
    answer = await admin.post("/admin/users", fields)
    assert answer.code == 200, answer.text
    password = _PASSWORD.search(answer.text)
    found = _USER.search(answer.text)
    assert password and found
    return int(found.group(1)), password.group(1)


@pytest_twisted.ensureDeferred
async def test_create_a_customer_user_with_a_one_time_password(any_rig: ConsoleRig) -> None:
    admin = await any_rig.operator("root")
    await any_rig.gateway.accounts.create_account("acme", "customer", 0.0)
    user_id, password = await _create(
        admin, login="alice", account="acme", role="manager", email="alice@acme.example"
    )
    assert len(password) == 16
    alice = Browser(any_rig.base)
    await alice.login("alice", password)
    assert (await alice.get("/messages")).code == 200
    page = await admin.get(f"/admin/users/{user_id}")
    assert password not in page.text and "alice@acme.example" in page.text
    assert ("console:root", "create user", "login: alice; account: acme; role: manager") in (
        _actions(any_rig)
    )
    listed = await admin.get("/admin/users?account=acme&role=manager")
    assert "alice" in listed.text and "root" not in listed.text.split("<tbody>")[1]
    empty = await admin.get("/admin/users?account=acme&role=user")
    assert "Aucun utilisateur ne correspond" in empty.text


@pytest_twisted.ensureDeferred
async def test_roles_must_fit_the_account_kind_and_logins_are_unique(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")
    await rig.gateway.accounts.create_account("acme", "customer", 0.0)
    await admin.get("/admin/users")
    wrong = await admin.post("/admin/users", {"login": "bob", "account": "acme", "role": "admin"})
    assert wrong.code == 400 and "gestionnaire ou utilisateur" in wrong.text
    wrong = await admin.post(
        "/admin/users", {"login": "bob", "account": "operator", "role": "user"}
    )
    assert wrong.code == 400 and "administrateur ou lecture seule" in wrong.text
    taken = await admin.post("/admin/users", {"login": "root", "account": "acme", "role": "user"})
    assert taken.code == 409
    bad = await admin.post(
        "/admin/users", {"login": "bob", "account": "acme", "role": "user", "email": "nope"}
    )
    assert bad.code == 400
    assert [a for _, a, _ in _actions(rig)] == []


@pytest_twisted.ensureDeferred
async def test_edit_disable_enable_and_reset_end_the_sessions(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")
    bob = await rig.customer("acme", "bob", role="user")
    user_id = _user(rig, "bob").id
    await admin.get(f"/admin/users/{user_id}")
    saved = await admin.post(
        f"/admin/users/{user_id}", {"role": "manager", "language": "en", "email": "b@acme.example"}
    )
    assert saved.code == 303
    row = _user(rig, "bob")
    assert (row.role, row.language, row.email) == ("manager", "en", "b@acme.example")
    edit = [d for _, a, d in _actions(rig) if a == "edit user"]
    assert edit == ["bob: role: user -> manager; language: fr -> en; email: — -> b@acme.example"]
    assert (await bob.get("/messages")).location == "/login"  # a new role: log in again
    bob = Browser(rig.base)
    await bob.login("bob")
    await admin.get(f"/admin/users/{user_id}")
    assert (await admin.post(f"/admin/users/{user_id}/disable")).code == 303
    assert (await bob.get("/messages")).location == "/login"
    again = Browser(rig.base)
    await again.get("/login")
    assert (
        await again.post("/login", {"login": "bob", "password": "correct horse battery"})
    ).code == 401
    await admin.get(f"/admin/users/{user_id}")
    assert (await admin.post(f"/admin/users/{user_id}/enable")).code == 303
    await admin.get(f"/admin/users/{user_id}")
    reset = await admin.post(f"/admin/users/{user_id}/password")
    new = _PASSWORD.search(reset.text).group(1)  # type: ignore[union-attr]
    await again.login("bob", new)
    actions = [a for _, a, _ in _actions(rig)]
    assert actions == ["edit user", "disable user", "enable user", "reset password"]
    assert all(new not in d for _, _, d in _actions(rig))


@pytest_twisted.ensureDeferred
async def test_an_admin_cannot_disable_or_demote_themselves(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")
    me = _user(rig, "root").id
    await admin.get(f"/admin/users/{me}")
    refused = await admin.post(f"/admin/users/{me}/disable")
    assert refused.code == 409 and "vous désactiver vous-même" in refused.text
    await admin.get(f"/admin/users/{me}")
    demoted = await admin.post(f"/admin/users/{me}", {"role": "viewer", "language": "fr"})
    assert demoted.code == 409 and _user(rig, "root").role == "admin"
    await admin.get(f"/admin/users/{me}")
    ok = await admin.post(f"/admin/users/{me}", {"role": "admin", "language": "en"})
    assert ok.code == 303 and not _user(rig, "root").disabled


@pytest_twisted.ensureDeferred
async def test_viewer_reads_users_and_customers_get_404(rig: ConsoleRig) -> None:
    await rig.operator("root")
    viewer = await rig.operator("vera", role="viewer")
    carol = await rig.customer("acme", "carol")
    carol_id = _user(rig, "carol").id
    assert (await viewer.get("/admin/users")).code == 200
    page = await viewer.get(f"/admin/users/{carol_id}")
    assert page.code == 200 and "Désactiver" not in page.text
    for path in ("", "/disable", "/enable", "/password"):
        assert (await viewer.post(f"/admin/users/{carol_id}{path}", {"role": "user"})).code == 403
    assert (await viewer.post("/admin/users", {"login": "x"})).code == 403
    assert (await carol.get("/admin/users")).code == 404
    assert (await carol.get(f"/admin/users/{carol_id}")).code == 404
    assert (await carol.post(f"/admin/users/{carol_id}/disable")).code == 404
    assert (await viewer.get("/admin/users/999999")).code == 404


@pytest_twisted.ensureDeferred
async def test_client_groups_cover_several_accounts(any_rig: ConsoleRig) -> None:
    admin = await any_rig.operator("root")
    for name in ("acme-sales", "acme-support", "other"):
        await any_rig.gateway.accounts.create_account(name, "customer", 0.0)
    await admin.get("/admin/clients")
    created = await admin.post("/admin/clients", {"identifier": "C-10042", "name": "ACME SA"})
    assert created.code == 303
    client_path = created.location.split("?")[0]
    client_id = int(client_path.rsplit("/", 1)[1])
    await admin.get(client_path)
    for name in ("acme-sales", "acme-support"):
        assert (await admin.post(f"{client_path}/accounts", {"account": name})).code == 303
    twice = await admin.post(f"{client_path}/accounts", {"account": "acme-sales"})
    assert twice.code == 409
    unknown = await admin.post(f"{client_path}/accounts", {"account": "ghost"})
    assert unknown.code == 400
    dup = await admin.post("/admin/clients", {"identifier": "C-10042", "name": "Again"})
    assert dup.code == 409
    page = await admin.get(client_path)
    assert "acme-sales" in page.text and "acme-support" in page.text and "other" not in page.text
    listed = await admin.get("/admin/clients")
    assert "C-10042" in listed.text and "<td>2</td>" in listed.text
    assert (await admin.post(client_path, {"name": "ACME Group"})).code == 303
    sales = await any_rig.gateway.accounts.account_by_name("acme-sales")
    account_page = await admin.get(f"/admin/accounts/{sales.id}")
    assert "C-10042" in account_page.text and "ACME Group" in account_page.text
    searched = await admin.get("/admin/accounts?q=c-100")
    assert "acme-support" in searched.text and ">other<" not in searched.text
    await admin.get(client_path)
    assert (await admin.post(f"{client_path}/accounts/{sales.id}/remove")).code == 303
    assert "acme-sales" not in (await admin.get(client_path)).text
    actions = [(a, d) for _, a, d in _actions(any_rig) if "client" in a or "account" in a]
    assert actions == [
        ("create client", "C-10042: ACME SA"),
        ("attach account", "client: — -> C-10042"),
        ("attach account", "client: — -> C-10042"),
        ("rename client", "C-10042: name: ACME SA -> ACME Group"),
        ("detach account", "client: C-10042 -> —"),
    ]
    viewer = await any_rig.operator("vera", role="viewer")
    assert (await viewer.get(client_path)).code == 200
    assert (await viewer.post(client_path, {"name": "x"})).code == 403
    assert (await viewer.post("/admin/clients", {"identifier": "X", "name": "x"})).code == 403
    customer = await any_rig.customer("other", "carol")
    assert (await customer.get(client_path)).code == 404
    assert (await admin.get(f"/admin/clients/{client_id + 1000}")).code == 404
