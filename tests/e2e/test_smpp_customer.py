"""A customer's application binds to the daemon with the PyPI smpplib client over TCP."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from gatewayd.control_client import call
from tests.e2e.conftest import Daemon

pytestmark = pytest.mark.e2e


def client(daemon: Daemon) -> smpplib.client.Client:
    c = smpplib.client.Client(
        "127.0.0.1", daemon.smpp_port, timeout=10, allow_unknown_opt_params=True
    )
    c.connect()
    return c


def send_bonjour(c: smpplib.client.Client, to: str) -> None:
    c.send_message(
        source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
        source_addr="ACME",
        dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
        destination_addr=to,
        short_message=b"Bonjour",
        registered_delivery=True,
    )


def test_smpplib_submit_is_persisted_and_delivered(daemon: Daemon) -> None:
    c = client(daemon)
    try:
        c.bind_transmitter(system_id="demo", password=daemon.passwords["smpp"])
        send_bonjour(c, "22376600000")
        resp = c.read_pdu()
        assert (resp.command, resp.status) == ("submit_sm_resp", 0)
        message_id = resp.message_id.decode()
        c.unbind()
    finally:
        c.disconnect()
    daemon.wait_for(rf"receipt DELIVRD for {message_id}")
    socket_path = str(daemon.workdir / "gatewayd.ctl")
    view = call(socket_path, "GET", f"/v1/messages/{message_id}")
    assert view["status"] == "delivered", json.dumps(view)
    assert [e["status"] for e in view["events"]] == ["accepted", "queued", "sent", "delivered"]
    batch = call(socket_path, "GET", f"/v1/batches/{view['batch_id']}")
    assert batch["counts"] == {"delivered": 1}
    assert [m["public_id"] for m in batch["messages"]] == [message_id]


def test_smpplib_bad_password_and_bad_destination(daemon: Daemon) -> None:
    c = client(daemon)
    try:
        with pytest.raises(smpplib.exceptions.PDUError) as info:
            c.bind_transmitter(system_id="demo", password="wrong")
        # The same status for an unknown system_id: a bind does not reveal which was wrong.
        assert info.value.args[1] == smpplib.consts.SMPP_ESME_RINVPASWD
    finally:
        c.disconnect()
    c = client(daemon)
    try:
        c.bind_transmitter(system_id="demo", password=daemon.passwords["smpp"])
        c.send_message(source_addr="ACME", destination_addr="076600000", short_message=b"x")
        resp = c.read_pdu()
        assert (resp.command, resp.status) == (
            "submit_sm_resp",
            smpplib.consts.SMPP_ESME_RINVDSTADR,
        )
        c.unbind()
    finally:
        c.disconnect()


def test_a_receipt_waits_for_the_customer_and_comes_on_its_next_bind(daemon: Daemon) -> None:
    c = client(daemon)
    try:
        c.bind_transmitter(system_id="demo", password=daemon.passwords["smpp"])
        send_bonjour(c, "22376600001")
        message_id = c.read_pdu().message_id.decode()
        c.unbind()
    finally:
        c.disconnect()
    # Delivered while nobody is bound to receive: the receipt waits in the outbox.
    daemon.wait_for(rf"receipt DELIVRD for {message_id}")
    c = client(daemon)
    try:
        c.bind_receiver(system_id="demo", password=daemon.passwords["smpp"])
        # What waited comes in order: receipts of earlier tests of this module first.
        while True:
            pdu = c.read_pdu()
            assert pdu.command == "deliver_sm" and pdu.esm_class & 0x04
            resp = smpplib.smpp.make_pdu("deliver_sm_resp", client=c)
            resp.sequence = pdu.sequence  # make_pdu would number it as a new request
            c.send_pdu(resp)
            if pdu.receipted_message_id.decode() == message_id:
                break
        assert f"id:{message_id}".encode() in pdu.short_message
        assert b"stat:DELIVRD" in pdu.short_message
        assert pdu.source_addr.decode() == "22376600001"
        c.unbind()
    finally:
        c.disconnect()
    # Acknowledged, so deleted.
    deadline = time.monotonic() + 10
    while outbox_rows(daemon, message_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert outbox_rows(daemon, message_id) == 0


def outbox_rows(daemon: Daemon, message_id: str) -> int:
    with sqlite3.connect(daemon.workdir / "gatewayd.db") as db:
        query = "SELECT COUNT(*) FROM outbox WHERE payload LIKE ?"
        return int(db.execute(query, (f"%{message_id}%",)).fetchone()[0])


def test_a_scheduled_batch_can_be_cancelled_from_the_cli(daemon: Daemon) -> None:
    socket_path = str(daemon.workdir / "gatewayd.ctl")
    numbers = ["22376600001", "22376600002", "+223 76 60 00 01"]
    created = call(
        socket_path,
        "POST",
        "/v1/batches",
        {
            "account": "Demo SARL",
            "to": numbers,
            "text": "Soldes demain",
            "subject": "soldes",
            "scheduled_at": time.time() + 3600,
        },
    )
    assert len(created["message_ids"]) == 2  # de-duplicated
    batch = call(socket_path, "GET", f"/v1/batches/{created['batch_id']}")
    assert batch["counts"] == {"accepted": 2}
    result = daemon.cli("batch", "cancel", "-c", str(daemon.config), str(created["batch_id"]))
    assert result.returncode == 0, result.stderr
    assert f"batch {created['batch_id']}: cancelled (2 message(s))" in result.stdout
    batch = call(socket_path, "GET", f"/v1/batches/{created['batch_id']}")
    assert batch["counts"] == {"cancelled": 2}
    again = daemon.cli("batch", "cancel", "-c", str(daemon.config), str(created["batch_id"]))
    assert again.returncode == 1
    assert "is cancelled" in again.stderr
