"""The gateway side of the SMPP server: submit, query, cancel and replace on real storage."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
import pytest_twisted

from gatewayd.pipeline.smpp_ingress import SmppMessages
from gatewayd.smpp import pdu as p
from gatewayd.smpp.operations import (
    Address,
    CancelRequest,
    CannotCancel,
    CannotReplace,
    ReplaceRequest,
    UnknownMessage,
)
from gatewayd.storage.accounts import AccountInfo
from gatewayd.storage.database import Database
from tests.pipeline.rig import Rig, ScriptedConnector

NOBODY = Address(0, 0, "")


def submit_sm(to: str, text: bytes, sender: str = "ACME") -> p.Pdu:
    return p.Pdu(
        p.SUBMIT_SM,
        fields={
            "source_addr": sender.encode(),
            "destination_addr": to.encode(),
            "short_message": text,
            "data_coding": 0,
            "registered_delivery": 1,
        },
    )


async def setup(database: Database) -> tuple[SmppMessages, Rig, AccountInfo, AccountInfo]:
    rig = Rig(database, ScriptedConnector())
    rig.connector.bound = False  # messages stay queued
    await rig.start()
    acme = await rig.account("Acme")
    other = await rig.account("Other")
    service = SmppMessages(rig.accounts, rig.store, rig.submissions, rig.clock, rig.dispatcher)
    return service, rig, acme, other


@pytest_twisted.ensureDeferred
async def test_submit_then_query_cancel_and_replace(database: Database) -> None:
    service, rig, acme, other = await setup(database)
    message_id = await service.submit(acme, submit_sm("22376600000", b"hello"))
    result = await service.query(acme, message_id, Address(5, 0, "ACME"))
    assert result.message_state == 1 and result.final_date is None
    with pytest.raises(UnknownMessage):
        await service.query(other, message_id, NOBODY)
    with pytest.raises(UnknownMessage):
        await service.query(acme, message_id, Address(5, 0, "OTHER"))

    await service.replace(acme, ReplaceRequest(message_id, NOBODY, "", "", 0, 0, b"bye"))
    [queued] = await rig.queued()
    assert queued.body == "bye" and queued.registered_delivery is False
    [in_memory] = list(rig.dispatcher._queues["up"])
    assert in_memory.body == "bye" and in_memory.registered_delivery is False

    await service.cancel(acme, CancelRequest(message_id, "", NOBODY, NOBODY))
    result = await service.query(acme, message_id, NOBODY)
    assert result.message_state == 4 and result.final_date is not None
    with pytest.raises(CannotCancel):
        await service.cancel(acme, CancelRequest(message_id, "", NOBODY, NOBODY))
    with pytest.raises(CannotReplace):
        await service.replace(acme, ReplaceRequest(message_id, NOBODY, "", "", 1, 0, b"x"))
    assert await rig.queued() == []
    assert rig.dispatcher.depth() == {"up": 0}


@pytest_twisted.ensureDeferred
async def test_cancel_by_source_and_destination(database: Database) -> None:
    service, rig, acme, other = await setup(database)
    await service.submit(acme, submit_sm("22376600000", b"a"))
    await service.submit(acme, submit_sm("22376600000", b"b"))
    kept = await service.submit(acme, submit_sm("22376600001", b"c"))
    with pytest.raises(CannotCancel):
        await service.cancel(
            other, CancelRequest("", "", Address(5, 0, "ACME"), Address(1, 1, "22376600000"))
        )
    await service.cancel(
        acme, CancelRequest("", "", Address(5, 0, "ACME"), Address(1, 1, "22376600000"))
    )
    assert [m.public_id for m in await rig.queued()] == [kept]
    assert [m.public_id for m in rig.dispatcher._queues["up"]] == [kept]


@pytest_twisted.ensureDeferred
async def test_unknown_ids_and_bind_limits(database: Database) -> None:
    service, _rig, acme, _other = await setup(database)
    with pytest.raises(UnknownMessage):
        await service.cancel(acme, CancelRequest("nope", "", NOBODY, NOBODY))
    with pytest.raises(UnknownMessage):
        await service.replace(acme, ReplaceRequest("nope", NOBODY, "", "", 0, 0, b"x"))
    limited = AccountInfo(9, "L", "customer", "l", False, 2, 5.0, ("10.0.0.0/8", "::1"))
    limits = service.limits(limited)
    # The account's rate is applied by Submissions for every channel, not by the SMPP server.
    assert limits.max_binds == 2 and limits.tps == 0.0
    assert limits.networks == (ip_network("10.0.0.0/8"), ip_network("::1/128"))
    assert service.limits(acme).max_binds is None
