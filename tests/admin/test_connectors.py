"""The operator's connectors: live status, add and edit checked by the config file's parser,
enable, disable and reconnect without a restart."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from sqlalchemy import select
from twisted.python.threadable import isInIOThread

from gatewayd.storage.models import AuditEntry, Connector
from tests.admin.conftest import ConsoleRig
from tests.admin.ops_support import custom_rig, until


def _bound(rig: ConsoleRig, name: str) -> bool:
    connector = rig.gateway.connectors.get(name)
    return connector is not None and connector.running and connector.is_bound


@pytest_twisted.ensureDeferred
async def test_the_list_shows_each_bind_live(rig: ConsoleRig) -> None:
    await until(lambda: _bound(rig, "sim"))
    viewer = await rig.operator("vera", role="viewer")
    page = await viewer.get("/admin/connectors")
    assert page.code == 200
    assert 'data-connector="sim"' in page.text and "lié" in page.text  # bound, in French
    assert "0 / 10" in page.text  # window in use / size
    detail = await viewer.get("/admin/connectors/sim")
    assert detail.code == 200 and "127.0.0.1" in detail.text and "Désactiver" not in detail.text
    assert (await viewer.get("/admin/connectors/nosuch")).code == 404
    customer = await rig.customer("acme", "alice")
    assert (await customer.get("/admin/connectors")).code == 404
    assert (await customer.get("/admin/connectors/sim")).code == 404


@pytest_twisted.ensureDeferred
async def test_a_connector_is_added_checked_as_the_config_file_is(any_rig: ConsoleRig) -> None:
    admin = await any_rig.operator("olga")
    port = any_rig.gateway.config.connectors["sim"].port
    form = {"name": "up2", "host": "127.0.0.1", "port": "70000", "system_id": "gatewayd"}
    form |= {"password": "secret", "bind": "transceiver", "enabled": "1"}
    await admin.get("/admin/connectors/new")
    bad = await admin.post("/admin/connectors", form)
    assert bad.code == 400
    assert "connectors.up2.port: must be a TCP port from 1 to 65535" in bad.text
    await admin.get("/admin/connectors/new")
    typo = await admin.post("/admin/connectors", {**form, "port": str(port), "more": "windw = 3"})
    assert typo.code == 400 and "connectors.up2.windw: unknown key" in typo.text
    await admin.get("/admin/connectors/new")
    word = await admin.post("/admin/connectors", {**form, "port": str(port), "window": "ten"})
    assert word.code == 400 and "connectors.up2.window: expected an integer" in word.text
    await admin.get("/admin/connectors/new")
    missing = {**form, "port": str(port), "password": "", "password_file": "/nonexistent/pw"}
    unreadable = await admin.post("/admin/connectors", missing)
    assert unreadable.code == 400 and "connectors.up2.password_file: " in unreadable.text
    await admin.get("/admin/connectors/new")
    taken = await admin.post("/admin/connectors", {**form, "name": "sim", "port": str(port)})
    assert taken.code == 400
    assert "up2" not in any_rig.gateway.connectors
    await admin.get("/admin/connectors/new")
    good = await admin.post("/admin/connectors", {**form, "port": str(port), "window": "4"})
    assert good.code == 303 and good.location.startswith("/admin/connectors/up2?")
    await until(lambda: _bound(any_rig, "up2"))
    assert any_rig.gateway.connectors["up2"].config.window == 4
    row = any_rig.gateway.db.run_sync(
        "row", lambda s: s.scalar(select(Connector).where(Connector.name == "up2"))
    )
    assert json.loads(row.spec)["window"] == 4
    listed = await admin.get("/admin/connectors")
    assert 'data-connector="up2"' in listed.text
    audited = any_rig.gateway.db.run_sync(
        "audit",
        lambda s: [e.detail for e in s.scalars(select(AuditEntry)) if e.action == "add connector"],
    )
    assert audited and "secret" not in audited[0] and "127.0.0.1" in audited[0]
    viewer = await any_rig.operator("vera", role="viewer")
    await viewer.get("/admin/connectors")
    assert (await viewer.post("/admin/connectors", {**form, "name": "up3"})).code == 403


@pytest_twisted.ensureDeferred
async def test_a_console_connector_is_edited_live_and_keeps_its_password(
    rig: ConsoleRig,
) -> None:
    admin = await rig.operator("olga")
    port = rig.gateway.config.connectors["sim"].port
    await admin.get("/admin/connectors/new")
    form = {"name": "up2", "host": "127.0.0.1", "port": str(port), "system_id": "gatewayd"}
    form |= {"password": "secret", "enabled": "1"}
    assert (await admin.post("/admin/connectors", form)).code == 303
    await until(lambda: _bound(rig, "up2"))
    first = rig.gateway.connectors["up2"]
    edit = await admin.get("/admin/connectors/up2/edit")
    assert edit.code == 200 and "secret" not in edit.text
    changed = await admin.post(
        "/admin/connectors/up2", {**form, "password": "", "window": "7", "more": "binds = 2"}
    )
    assert changed.code == 303
    await until(lambda: _bound(rig, "up2") and rig.gateway.connectors["up2"] is not first)
    live = rig.gateway.connectors["up2"]
    assert live.config.window == 7 and live.config.binds == 2 and live.password == "secret"
    assert not first.running
    assert (await admin.get("/admin/connectors/sim/edit")).code == 404  # the file's


@pytest_twisted.ensureDeferred
async def test_disable_enable_and_reconnect_without_a_restart(rig: ConsoleRig) -> None:
    await until(lambda: _bound(rig, "sim"))
    admin = await rig.operator("olga")
    await admin.get("/admin/connectors/sim")
    off = await admin.post("/admin/connectors/sim/disable")
    assert off.code == 303
    assert not rig.gateway.connectors["sim"].running and not _bound(rig, "sim")
    page = await admin.get("/admin/connectors/sim")
    assert "désactivé" in page.text and "Activer" in page.text
    on = await admin.post("/admin/connectors/sim/enable")
    assert on.code == 303
    await until(lambda: _bound(rig, "sim"))
    binds_before = [b.since for b in rig.gateway.connectors["sim"].binds]
    await admin.get("/admin/connectors/sim")
    again = await admin.post("/admin/connectors/sim/reconnect")
    assert again.code == 303
    await until(lambda: _bound(rig, "sim"))
    assert [b.since for b in rig.gateway.connectors["sim"].binds] != binds_before
    actions = rig.gateway.db.run_sync(
        "audit", lambda s: [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    )
    assert actions[-3:] == ["disable connector", "enable connector", "reconnect connector"]
    await admin.get("/admin/connectors/sim")
    assert (await admin.post("/admin/connectors/sim/explode")).code == 404
    assert (await admin.post("/admin/connectors/nosuch/disable")).code == 404


@pytest_twisted.ensureDeferred
async def test_console_connectors_come_back_at_the_next_start(rig: ConsoleRig) -> None:
    """Kept in the database: a second gateway on the same database starts them, as it would
    after a restart; a disabled one stays down until it is enabled."""
    from twisted.internet import reactor

    from gatewayd.app import Gateway
    from gatewayd.config import parse_config
    from tests.admin.conftest import console_config
    from tests.e2e.conftest import free_port

    admin = await rig.operator("olga")
    port = rig.gateway.config.connectors["sim"].port
    form = {"name": "up2", "host": "127.0.0.1", "port": str(port), "system_id": "gatewayd"}
    await admin.get("/admin/connectors/new")
    assert (await admin.post("/admin/connectors", {**form, "enabled": "1"})).code == 303
    await admin.get("/admin/connectors/new")
    assert (await admin.post("/admin/connectors", {**form, "name": "up3"})).code == 303
    assert "up3" in rig.gateway.connectors and not rig.gateway.connectors["up3"].running
    url = rig.gateway.config.database.url
    again = Gateway(parse_config(console_config(url, free_port()), "test"), reactor, "test")
    again.startService()
    try:
        await again.when_ready()
        await until(lambda: "up2" in again.connectors and again.connectors["up2"].is_bound)
        assert not again.connectors["up3"].running
    finally:
        await again.stopService()
    await admin.get("/admin/connectors/up3")
    assert (await admin.post("/admin/connectors/up3/enable")).code == 303
    await until(lambda: _bound(rig, "up3"))


@pytest_twisted.ensureDeferred
async def test_a_config_connector_off_in_the_file_can_be_started(tmp_path: Path) -> None:
    from tests.e2e.conftest import free_port

    port = free_port()
    spare = {"host": "127.0.0.1", "port": port, "system_id": "gatewayd", "enabled": False}
    rig = await custom_rig(
        f"sqlite:///{tmp_path}/gatewayd.db", {"connectors": {"spare": spare}}, port
    )
    try:
        admin = await rig.operator("olga")
        page = await admin.get("/admin/connectors")
        assert 'data-connector="spare"' in page.text and "désactivé" in page.text
        assert "spare" not in rig.gateway.connectors
        await admin.get("/admin/connectors/spare")
        assert (await admin.post("/admin/connectors/spare/enable")).code == 303
        await until(lambda: _bound(rig, "spare") and _bound(rig, "sim"))
    finally:
        await rig.gateway.stopService()


@pytest_twisted.ensureDeferred
async def test_a_console_connector_takes_no_password_file_by_default(
    rig: ConsoleRig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``[admin] connector_secrets_dir`` an admin cannot name a file: else the first
    bytes of any file the daemon reads would go, as the bind password, to a host of theirs.
    The password is read on a thread, never on the reactor."""
    import gatewayd.app

    on_reactor: list[bool] = []
    real = gatewayd.app.connector_password

    def spy(*args: Any) -> str:
        on_reactor.append(isInIOThread())
        return real(*args)

    monkeypatch.setattr(gatewayd.app, "connector_password", spy)
    secret = tmp_path / "secret"
    secret.write_text("theirs", encoding="utf-8")
    admin = await rig.operator("olga")
    port = rig.gateway.config.connectors["sim"].port
    form = {"name": "up2", "host": "127.0.0.1", "port": str(port), "system_id": "gatewayd"}
    await admin.get("/admin/connectors/new")
    refused = await admin.post("/admin/connectors", {**form, "password_file": str(secret)})
    assert refused.code == 400
    assert "connectors.up2.password_file: " in refused.text
    assert "connector_secrets_dir" in refused.text and "up2" not in rig.gateway.connectors
    await admin.get("/admin/connectors/new")
    inline = {**form, "password": "secret", "enabled": "1"}
    assert (await admin.post("/admin/connectors", inline)).code == 303
    await until(lambda: _bound(rig, "up2"))
    assert on_reactor and not any(on_reactor)  # the form's check and the connector's start


async def _secrets_rig(tmp_path: Path, secrets: Path) -> tuple[ConsoleRig, dict[str, str]]:
    """A rig with ``[admin] connector_secrets_dir = secrets``, and a connector form for its
    simulator."""
    from tests.e2e.conftest import free_port

    port = free_port()
    extra = {"admin": {"connector_secrets_dir": str(secrets)}}
    rig = await custom_rig(f"sqlite:///{tmp_path}/gatewayd.db", extra, port)
    form = {"name": "up2", "host": "127.0.0.1", "port": str(port), "system_id": "gatewayd"}
    return rig, form


@pytest_twisted.ensureDeferred
async def test_a_console_password_file_is_a_small_file_in_the_secrets_dir(
    tmp_path: Path,
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "up2").write_text("secret\n", encoding="utf-8")  # the simulator's
    (secrets / "zero").symlink_to("/dev/zero")
    (secrets / "bin").write_bytes(b"\xff\xfe")
    outside = tmp_path / "outside"
    outside.write_text("theirs", encoding="utf-8")
    (secrets / "escape").symlink_to(outside)
    os.mkfifo(secrets / "fifo")
    rig, form = await _secrets_rig(tmp_path, secrets)
    try:
        admin = await rig.operator("olga")
        expected = {
            str(outside): "must be a file in",
            str(secrets / "escape"): "must be a file in",
            str(secrets / "zero"): "must be a file in",  # /dev/zero, resolved
            str(secrets / "fifo"): "is not a regular file",
            str(secrets / "bin"): "is not UTF-8 text",
        }
        for path, reason in expected.items():
            await admin.get("/admin/connectors/new")
            bad = await admin.post("/admin/connectors", {**form, "password_file": path})
            assert bad.code == 400, path
            assert "connectors.up2.password_file: " in bad.text and reason in bad.text, path
        assert "up2" not in rig.gateway.connectors
        await admin.get("/admin/connectors/new")
        good = {**form, "password_file": str(secrets / "up2"), "enabled": "1"}
        assert (await admin.post("/admin/connectors", good)).code == 303
        await until(lambda: _bound(rig, "up2"))
        assert rig.gateway.connectors["up2"].password == "secret"
    finally:
        await rig.gateway.stopService()


@pytest_twisted.ensureDeferred
async def test_an_edit_switches_from_an_inline_password_to_a_file(tmp_path: Path) -> None:
    """An empty password field keeps the stored password only when no file is given."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "up2").write_text("secret\n", encoding="utf-8")
    rig, form = await _secrets_rig(tmp_path, secrets)
    try:
        admin = await rig.operator("olga")
        form |= {"enabled": "1"}
        await admin.get("/admin/connectors/new")
        assert (await admin.post("/admin/connectors", {**form, "password": "inline"})).code == 303
        await admin.get("/admin/connectors/up2/edit")
        to_file = {**form, "password": "", "password_file": str(secrets / "up2")}
        switched = await admin.post("/admin/connectors/up2", to_file)
        assert switched.code == 303, switched.text
        await until(lambda: _bound(rig, "up2"))
        assert rig.gateway.connectors["up2"].password == "secret"
        row = rig.gateway.db.run_sync(
            "row", lambda s: s.scalar(select(Connector).where(Connector.name == "up2"))
        )
        assert "password" not in json.loads(row.spec)
    finally:
        await rig.gateway.stopService()
