"""The operator's routing table editor and its "test a number" preview; the running gateway
follows each edit at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_twisted

from gatewayd.pipeline.submission import InvalidRecipients, SubmitRequest
from tests.admin.conftest import Browser, ConsoleRig
from tests.admin.ops_support import custom_rig

REJECT = 'name = "no-mali"\nprefixes = ["22376"]\nreject = { status = "ESME_RINVDSTADR" }'
VIA_SIM = 'name = "to-sim"\nprefixes = ["22377"]\nconnector = "sim"'


async def _add(admin: Browser, rule: str, position: str = "") -> int:
    await admin.get("/admin/routes/new")
    return (await admin.post("/admin/routes", {"rule": rule, "position": position})).code


def _order(page: str) -> list[str]:
    import re

    return re.findall(r'data-rule="([^"]+)"', page)


@pytest_twisted.ensureDeferred
async def test_add_edit_move_and_delete_rules(any_rig: ConsoleRig) -> None:
    admin = await any_rig.operator("olga")
    assert "no-mali" not in (await admin.get("/admin/routes")).text
    assert await _add(admin, REJECT) == 303
    assert await _add(admin, VIA_SIM) == 303
    page = await admin.get("/admin/routes")
    assert _order(page.text) == ["no-mali", "to-sim"] and "sim" in page.text
    await admin.post("/admin/routes/to-sim/up")
    assert _order((await admin.get("/admin/routes")).text) == ["to-sim", "no-mali"]
    await admin.post("/admin/routes/to-sim/down")
    assert _order((await admin.get("/admin/routes")).text) == ["no-mali", "to-sim"]
    await admin.get("/admin/routes/no-mali/edit")
    bad = await admin.post("/admin/routes/no-mali", {"rule": REJECT.replace("22376", "+223")})
    assert bad.code == 400 and "rule[0].prefixes: &#39;+223&#39; is not 1 to 15 digits" in bad.text
    nowhere = await admin.post("/admin/routes/no-mali", {"rule": VIA_SIM.replace("sim", "ghost")})
    assert nowhere.code == 400 and "no connector named &#39;ghost&#39;" in nowhere.text
    broken = await admin.post("/admin/routes/no-mali", {"rule": "name = "})
    assert broken.code == 400 and "not valid TOML" in broken.text
    taken = await admin.post("/admin/routes/no-mali", {"rule": VIA_SIM})
    assert taken.code == 409
    ok = await admin.post("/admin/routes/no-mali", {"rule": REJECT.replace("22376", "22378")})
    assert ok.code == 303
    assert "22378" in (await admin.get("/admin/routes")).text
    confirm = await admin.get("/admin/routes/no-mali/delete")
    assert confirm.code == 200 and "Supprimer la règle no-mali" in confirm.text
    assert (await admin.post("/admin/routes/no-mali/delete")).code == 303
    assert _order((await admin.get("/admin/routes")).text) == ["to-sim"]
    assert (await admin.get("/admin/routes/nosuch/edit")).code == 404
    assert (await admin.post("/admin/routes/nosuch/up")).code == 404


@pytest_twisted.ensureDeferred
async def test_roles_on_the_routes(rig: ConsoleRig) -> None:
    admin = await rig.operator("olga")
    assert await _add(admin, VIA_SIM) == 303
    viewer = await rig.operator("vera", role="viewer")
    page = await viewer.get("/admin/routes")
    assert page.code == 200 and "to-sim" in page.text and "/admin/routes/new" not in page.text
    assert (await viewer.post("/admin/routes", {"rule": REJECT})).code == 403
    assert (await viewer.post("/admin/routes/to-sim/delete")).code == 403
    customer = await rig.customer("acme", "alice")
    assert (await customer.get("/admin/routes")).code == 404
    assert (await customer.get("/admin/routes/to-sim/edit")).code == 404


@pytest_twisted.ensureDeferred
async def test_the_next_message_follows_the_new_rule_without_a_restart(any_rig: ConsoleRig) -> None:
    await any_rig.customer("acme", "alice")
    account = await any_rig.gateway.accounts.account_by_name("acme")

    def message() -> SubmitRequest:
        return SubmitRequest(account, None, "cli", ["22376600000"], "hi")

    assert len(await any_rig.gateway.submissions.submit(message())) == 1
    admin = await any_rig.operator("olga")
    assert await _add(admin, REJECT) == 303
    with pytest.raises(InvalidRecipients):
        await any_rig.gateway.submissions.submit(message())
    await admin.get("/admin/routes/no-mali/delete")
    assert (await admin.post("/admin/routes/no-mali/delete")).code == 303
    assert len(await any_rig.gateway.submissions.submit(message())) == 1


@pytest_twisted.ensureDeferred
async def test_test_a_number_shows_the_route_and_why(rig: ConsoleRig) -> None:
    await rig.customer("acme", "alice")
    admin = await rig.operator("olga")
    assert await _add(admin, VIA_SIM) == 303
    assert await _add(admin, REJECT, position="1") == 303
    query = "/admin/routes?account=acme&class=bulk&to="
    mali = await admin.get(query + "22376600000")
    assert mali.code == 200
    assert "rule &#39;no-mali&#39;: matched; reject" in mali.text
    assert "decision: reject with ESME_RINVDSTADR" in mali.text
    other = await admin.get(query + "22377600000")
    assert "rule &#39;no-mali&#39;: prefix 22376 did not match 22377600000" in other.text
    assert "decision: send through &#39;sim&#39;" in other.text
    bad = await admin.get(query + "12")
    assert bad.code == 400 and 'role="alert"' in bad.text


@pytest_twisted.ensureDeferred
async def test_the_config_files_rules_come_after_read_only(tmp_path: Path) -> None:
    rules = [{"name": "file-rule", "prefixes": ["33"], "connector": "sim"}]
    rig = await custom_rig(f"sqlite:///{tmp_path}/gatewayd.db", {"routing": {"rules": rules}})
    try:
        admin = await rig.operator("olga")
        assert await _add(admin, VIA_SIM) == 303
        page = await admin.get("/admin/routes")
        assert _order(page.text) == ["to-sim", "file-rule"]
        assert 'data-rule="file-rule" class="readonly"' in page.text
        assert "/admin/routes/file-rule/edit" not in page.text
        assert (await admin.get("/admin/routes/file-rule/edit")).code == 404
        explained = await admin.get("/admin/routes?account=operator&to=33612345678")
        assert "rule &#39;file-rule&#39;: matched" in explained.text
    finally:
        await rig.gateway.stopService()


@pytest_twisted.ensureDeferred
async def test_a_taken_name_shows_the_form_again_and_each_change_has_the_address(
    any_rig: ConsoleRig,
) -> None:
    from sqlalchemy import select

    from gatewayd.storage.models import AuditEntry

    admin = await any_rig.operator("olga")
    assert await _add(admin, REJECT) == 303
    assert await _add(admin, VIA_SIM) == 303
    await admin.get("/admin/routes/new")
    again = await admin.post("/admin/routes", {"rule": VIA_SIM, "position": ""})
    assert again.code == 409
    assert "<textarea" in again.text and "22377" in again.text  # the form, with what was typed
    assert "to-sim" in again.text and "exists" in again.text
    await admin.get("/admin/routes/no-mali/edit")
    taken = await admin.post("/admin/routes/no-mali", {"rule": VIA_SIM})
    assert taken.code == 409 and "<textarea" in taken.text and "exists" in taken.text
    await admin.get("/admin/routes/to-sim/delete")
    assert (await admin.post("/admin/routes/to-sim/delete")).code == 303
    entries = any_rig.gateway.db.run_sync(
        "audit",
        lambda s: [(e.action, e.ip) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))],
    )
    routes = [(action, ip) for action, ip in entries if "route" in action]
    assert [a for a, _ in routes] == ["add route", "add route", "remove route"]
    assert all(ip == "127.0.0.1" for _, ip in routes), routes


@pytest_twisted.ensureDeferred
async def test_a_404_does_not_echo_the_name_from_the_address(rig: ConsoleRig) -> None:
    """The name in the URL is the request's: the 404 page need not repeat it."""
    admin = await rig.operator("olga")
    marker = "zz-marker-name"
    assert await _add(admin, VIA_SIM) == 303
    for path in (f"/admin/routes/{marker}/edit", f"/admin/routes/{marker}/delete"):
        page = await admin.get(path)
        assert page.code == 404 and marker not in page.text, path
    await admin.get("/admin/routes")
    for path in (f"/admin/routes/{marker}/up", f"/admin/routes/{marker}/delete"):
        page = await admin.post(path)
        assert page.code == 404 and marker not in page.text, path
    await admin.get("/admin/plans")
    reset = await admin.post(f"/admin/plans/{marker}/reset")
    assert reset.code == 404 and marker not in reset.text


@pytest_twisted.ensureDeferred
async def test_a_position_that_is_not_a_plain_number_adds_at_the_end(rig: ConsoleRig) -> None:
    admin = await rig.operator("olga")
    assert await _add(admin, VIA_SIM) == 303
    assert await _add(admin, REJECT, position="²") == 303  # int('²') raised: a 500
    assert _order((await admin.get("/admin/routes")).text) == ["to-sim", "no-mali"]
    third = REJECT.replace("no-mali", "no-mali-2")
    assert await _add(admin, third, position="9" * 5000) == 303
    assert _order((await admin.get("/admin/routes")).text)[-1] == "no-mali-2"
