"""The operator's accounts: list, create, edit, sender IDs, SMPP password, suspend and
reactivate; roles (viewer reads, customer 404); every change audited; the running gateway
sees each change at once (the account directory reloads)."""

from __future__ import annotations

import re

import pytest
import pytest_twisted
from markupsafe import escape
from sqlalchemy import select

from gatewayd.errors import AuthenticationFailed, ValidationError
from gatewayd.pipeline.submission import SubmitRequest
from gatewayd.storage.models import Account, AuditEntry, Credential
from tests.admin.conftest import ConsoleRig

_ID = re.compile(r"/admin/accounts/(\d+)")


def _audit(rig: ConsoleRig, action: str) -> list[AuditEntry]:
    def read(s: object) -> list[AuditEntry]:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == action))  # type: ignore[attr-defined]
        return [
            AuditEntry(actor=r.actor, detail=r.detail, ip=r.ip, account_id=r.account_id)
            for r in rows
        ]

    return rig.gateway.db.run_sync("audit", read)


def _account(rig: ConsoleRig, name: str) -> Account:
    def read(s: object) -> Account:
        row = s.scalar(select(Account).where(Account.name == name))  # type: ignore[attr-defined]
        s.expunge(row)  # type: ignore[attr-defined]
        return row

    return rig.gateway.db.run_sync("account", read)


FORM = {
    "name": "acme",
    "plan": "unlimited",
    "monthly_quota": "5000",
    "fair_use": '{"hourly_messages": 900}',
    "smpp_system_id": "acme01",
    "smpp_tps": "20",
    "smpp_max_binds": "3",
    "smpp_allowed_networks": "10.0.0.0/8\n192.168.1.7",
    "timezone": "Africa/Bamako",
    "default_country": "ml",
    "alert_msisdn": "+22376600001",
    "share": "2",
    "groups": "vip, banks",
}


async def _create(rig: ConsoleRig, admin: object, **changes: str) -> tuple[int, str]:
    await admin.get("/admin/accounts/new")  # type: ignore[attr-defined]
    answer = await admin.post("/admin/accounts", {**FORM, **changes})  # type: ignore[attr-defined]
    assert answer.code == 200, answer.text
    found = re.search(r'<code class="password">([^<]+)</code>', answer.text)
    assert found
    account_id = int(_ID.search(answer.text).group(1))  # type: ignore[union-attr]
    return account_id, found.group(1)


@pytest_twisted.ensureDeferred
async def test_create_shows_the_smpp_password_once_and_stores_every_setting(
    any_rig: ConsoleRig,
) -> None:
    admin = await any_rig.operator("root")
    account_id, password = await _create(any_rig, admin)
    assert len(password) == 8
    row = _account(any_rig, "acme")
    assert row.id == account_id and row.kind == "customer"
    assert (row.plan, row.smpp_system_id, row.smpp_tps, row.smpp_max_binds) == (
        "unlimited",
        "acme01",
        20.0,
        3,
    )
    assert row.smpp_allowed_networks == "10.0.0.0/8,192.168.1.7/32"
    assert (row.timezone, row.default_country, row.alert_msisdn, row.share) == (
        "Africa/Bamako",
        "ML",
        "22376600001",
        2,
    )
    assert row.groups == "banks,vip"
    assert '"monthly_quota": 5000' in row.fair_use and '"hourly_messages": 900' in row.fair_use
    # The password works for a bind, is stored hashed, and is not on the page any more.
    bound = await any_rig.gateway.accounts.authenticate_smpp("acme01", password)
    assert bound.id == account_id
    stored = any_rig.gateway.db.run_sync(
        "cred",
        lambda s: s.scalar(
            select(Credential.secret_hash).where(
                Credential.owner_id == account_id, Credential.kind == "smpp"
            )
        ),
    )
    assert stored.startswith("$argon2id$") and password not in stored
    page = await admin.get(f"/admin/accounts/{account_id}")
    assert page.code == 200 and password not in page.text
    created = _audit(any_rig, "create account")
    assert created[0].actor == "console:root" and created[0].ip == "127.0.0.1"
    assert "smpp_tps: — -> 20.0" in created[0].detail and password not in created[0].detail


@pytest_twisted.ensureDeferred
async def test_edit_records_old_and_new_and_the_gateway_applies_it_at_once(
    rig: ConsoleRig,
) -> None:
    admin = await rig.operator("root")
    account_id, _ = await _create(rig, admin)
    assert rig.gateway.directory.get(account_id).tps == 20.0
    await admin.get(f"/admin/accounts/{account_id}")
    saved = await admin.post(
        f"/admin/accounts/{account_id}", {**FORM, "smpp_tps": "5", "timezone": "Europe/Paris"}
    )
    assert (
        saved.code == 303 and saved.location == f"/admin/accounts/{account_id}?flash=account_saved"
    )
    # No restart, no housekeeping sweep: the directory was reloaded by the save.
    policy = rig.gateway.directory.get(account_id)
    assert policy.tps == 5.0 and policy.timezone == "Europe/Paris"
    assert rig.gateway._account_rate(account_id) == 5.0
    edits = _audit(rig, "edit account")
    assert len(edits) == 1
    assert edits[0].detail == "smpp_tps: 20.0 -> 5.0; timezone: Africa/Bamako -> Europe/Paris"
    page = await admin.get(saved.location)
    assert "Le compte a été enregistré" in page.text and 'value="5"' in page.text
    # Saving the same values changes nothing and writes no entry.
    await admin.post(
        f"/admin/accounts/{account_id}", {**FORM, "smpp_tps": "5", "timezone": "Europe/Paris"}
    )
    assert len(_audit(rig, "edit account")) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("smpp_allowed_networks", "10.0.0.0/33", "n'est pas un réseau IP"),
        ("timezone", "Mars/Olympus", "n'est pas un fuseau horaire IANA"),
        ("fair_use", '{"hourly_messages": "lots"}', "fair_use.hourly_messages"),
        ("fair_use", "[1]", "doivent être un objet JSON"),
        ("monthly_quota", "-3", "quota mensuel"),
        ("smpp_tps", "fast", "TPS"),
        ("smpp_max_binds", "0", "connexions"),
        ("plan", "gold", "Forfait inconnu"),
        ("default_country", "MLI", "deux lettres"),
        ("share", "0", "1 à 1000"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_bad_input_is_a_400_in_french_and_changes_nothing(
    rig: ConsoleRig, field: str, value: str, message: str
) -> None:
    admin = await rig.operator("root")
    account_id, _ = await _create(rig, admin)
    await admin.get(f"/admin/accounts/{account_id}")
    refused = await admin.post(
        f"/admin/accounts/{account_id}", {**FORM, "smpp_tps": "7", field: value}
    )
    assert refused.code == 400 and str(escape(message)) in refused.text, refused.text
    assert 'value="7"' in refused.text or field == "smpp_tps"  # the typed values are kept
    assert _account(rig, "acme").smpp_tps == 20.0
    assert _audit(rig, "edit account") == []


@pytest_twisted.ensureDeferred
async def test_names_and_system_ids_are_unique(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")
    await _create(rig, admin)
    await admin.get("/admin/accounts/new")
    again = await admin.post("/admin/accounts", FORM)
    assert again.code == 409 and "existe déjà" in again.text
    taken = await admin.post("/admin/accounts", {**FORM, "name": "other"})
    assert taken.code == 409 and "acme01" in taken.text
    bad = await admin.post("/admin/accounts", {**FORM, "name": "a/b"})
    assert bad.code == 400


@pytest_twisted.ensureDeferred
async def test_suspension_refuses_binds_and_submissions_at_once(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")
    account_id, password = await _create(rig, admin, smpp_allowed_networks="", plan="")
    bound = await rig.gateway.accounts.authenticate_smpp("acme01", password)  # as at a bind
    customer = await rig.customer("acme", "alice")
    await admin.get(f"/admin/accounts/{account_id}")
    done = await admin.post(f"/admin/accounts/{account_id}/suspend")
    assert done.code == 303 and done.location.endswith("flash=account_suspended")
    # A new bind is refused; a session bound before cannot submit any more.
    with pytest.raises(AuthenticationFailed):
        await rig.gateway.accounts.authenticate_smpp("acme01", password)
    request = SubmitRequest(bound, None, "smpp", ["22376600000"], "hello")
    with pytest.raises(ValidationError, match="suspended"):
        await rig.gateway.submissions.submit(request)
    # Its users' console sessions ended.
    assert (await customer.get("/messages")).location == "/login"
    listed = await admin.get("/admin/accounts?state=suspended")
    assert "acme" in listed.text
    assert "acme" not in (await admin.get("/admin/accounts?state=active")).text
    await admin.get(f"/admin/accounts/{account_id}")
    back = await admin.post(f"/admin/accounts/{account_id}/reactivate")
    assert back.code == 303
    ids = await rig.gateway.submissions.submit(request)
    assert len(ids) == 1
    assert [e.actor for e in _audit(rig, "suspend account")] == ["console:root"]
    assert len(_audit(rig, "reactivate account")) == 1


@pytest_twisted.ensureDeferred
async def test_sender_ids_are_checked_granted_and_revoked(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")
    account_id, _ = await _create(rig, admin)
    await admin.get(f"/admin/accounts/{account_id}")
    bad = await admin.post(f"/admin/accounts/{account_id}/senders", {"sender": "Café Crème"})
    assert bad.code == 400 and "Café Crème" in bad.text
    ok = await admin.post(f"/admin/accounts/{account_id}/senders", {"sender": "ACME"})
    assert ok.code == 303
    assert rig.gateway.directory.get(account_id).senders == frozenset({"ACME"})
    page = await admin.get(f"/admin/accounts/{account_id}")
    assert "<code>ACME</code>" in page.text
    twice = await admin.post(f"/admin/accounts/{account_id}/senders", {"sender": "ACME"})
    assert twice.code == 409
    gone = await admin.post(f"/admin/accounts/{account_id}/senders/remove", {"sender": "ACME"})
    assert gone.code == 303 and rig.gateway.directory.get(account_id).senders == frozenset()
    assert [e.detail for e in _audit(rig, "grant sender")] == ["ACME"]


@pytest_twisted.ensureDeferred
async def test_smpp_password_reset_replaces_the_old_one(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")
    account_id, old = await _create(rig, admin)
    await admin.get(f"/admin/accounts/{account_id}")
    answer = await admin.post(f"/admin/accounts/{account_id}/smpp-password")
    assert answer.code == 200
    new = re.search(r'<code class="password">([^<]+)</code>', answer.text).group(1)  # type: ignore[union-attr]
    assert new != old
    await rig.gateway.accounts.authenticate_smpp("acme01", new)
    with pytest.raises(AuthenticationFailed):
        await rig.gateway.accounts.authenticate_smpp("acme01", old)
    entry = _audit(rig, "reset smpp password")[0]
    assert entry.detail == "system_id: acme01" and new not in entry.detail


@pytest_twisted.ensureDeferred
async def test_list_search_state_and_pages(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")
    now = 0.0
    for n in range(55):
        await rig.gateway.accounts.create_account(f"shop{n:02d}", "customer", now)
    first = await admin.get("/admin/accounts?q=shop")
    assert "shop00" in first.text and "shop49" in first.text and "shop50" not in first.text
    assert "Page 1 sur 2" in first.text
    second = await admin.get("/admin/accounts?q=shop&page=2")
    assert "shop54" in second.text and "shop00" not in second.text
    none = await admin.get("/admin/accounts?q=nothing-like-it")
    assert "Aucun compte ne correspond" in none.text


@pytest_twisted.ensureDeferred
async def test_viewer_reads_customer_gets_404_and_csrf_is_checked(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")
    account_id, _ = await _create(rig, admin)
    viewer = await rig.operator("vera", role="viewer")
    page = await viewer.get(f"/admin/accounts/{account_id}")
    assert page.code == 200 and "acme01" in page.text and ">Enregistrer<" not in page.text
    assert (await viewer.get("/admin/accounts/new")).code == 403
    for path in ("", "/suspend", "/reactivate", "/smpp-password", "/senders", "/senders/remove"):
        assert (await viewer.post(f"/admin/accounts/{account_id}{path}", FORM)).code == 403
    assert (await viewer.post("/admin/accounts", FORM)).code == 403
    customer = await rig.customer("other", "carol")
    assert (await customer.get(f"/admin/accounts/{account_id}")).code == 404
    assert (await customer.post(f"/admin/accounts/{account_id}/suspend")).code == 404
    assert (await admin.get("/admin/accounts/999999")).code == 404
    await admin.get(f"/admin/accounts/{account_id}")
    forged = await admin.post(f"/admin/accounts/{account_id}/suspend", csrf=False)
    assert forged.code == 403 and not _account(rig, "acme").suspended


@pytest_twisted.ensureDeferred
async def test_lift_a_fair_use_suspension_from_the_account_page(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")
    account_id, password = await _create(
        rig, admin, plan="", fair_use='{"hourly_messages": 1}', monthly_quota=""
    )
    bound = await rig.gateway.accounts.authenticate_smpp("acme01", password)
    request = SubmitRequest(bound, None, "smpp", ["22376600000"], "hello")
    await rig.gateway.submissions.submit(request)
    with pytest.raises(Exception, match="fair use"):
        await rig.gateway.submissions.submit(request)
    page = await admin.get(f"/admin/accounts/{account_id}")
    assert "envoi suspendu jusqu" in page.text
    listed = await admin.get("/admin/accounts?state=fair_use")
    assert ">acme<" in listed.text
    lifted = await admin.post(
        "/admin/accounts/acme/lift", {"back": f"/admin/accounts/{account_id}"}
    )
    assert lifted.location == f"/admin/accounts/{account_id}?flash=lifted"
    entry = _audit(rig, "lift")[0]
    assert (entry.actor, entry.ip) == ("console:root", "127.0.0.1")
    assert ">acme<" not in (await admin.get("/admin/accounts?state=fair_use")).text
    # Only a page of ours is a way back.
    with pytest.raises(Exception, match="fair use"):
        for _ in range(3):
            await rig.gateway.submissions.submit(request)
    await admin.get(f"/admin/accounts/{account_id}")
    again = await admin.post("/admin/accounts/acme/lift", {"back": "//evil.example/x"})
    assert again.location == "/admin/accounts?flash=lifted"


@pytest_twisted.ensureDeferred
async def test_a_plan_change_waits_for_next_month_and_can_be_cancelled(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")
    account_id, _ = await _create(rig, admin)  # a first plan applies at once
    assert _account(rig, "acme").plan == "unlimited"
    await admin.get(f"/admin/accounts/{account_id}")
    await admin.post(f"/admin/accounts/{account_id}", {**FORM, "plan": "standard"})
    row = _account(rig, "acme")
    assert (row.plan, row.pending_plan) == ("unlimited", "standard")
    detail = _audit(rig, "edit account")[0].detail
    assert detail == f"plan: unlimited -> standard from {row.plan_effective}"
    page = await admin.get(f"/admin/accounts/{account_id}")
    assert '<option value="standard" selected>' in page.text and "standard à partir de" in page.text
    # Saving the form as shown keeps the waiting change; asking for the plan in force drops it.
    await admin.post(f"/admin/accounts/{account_id}", {**FORM, "plan": "standard"})
    assert _account(rig, "acme").pending_plan == "standard"
    await admin.post(f"/admin/accounts/{account_id}", {**FORM, "plan": "unlimited"})
    row = _account(rig, "acme")
    assert (row.plan, row.pending_plan) == ("unlimited", None)
