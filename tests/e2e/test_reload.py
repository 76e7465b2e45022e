"""SIGHUP reload keeps the customer bind and the upstream bind up (real daemon, real TCP)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import smpplib.client
import smpplib.consts

from tests.e2e.conftest import write_config

pytestmark = pytest.mark.e2e


def _submit(client: smpplib.client.Client) -> None:
    client.send_message(
        source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
        source_addr="Demo",
        dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
        destination_addr="22376600000",
        short_message=b"hello",
    )
    client.read_once()


def test_sighup_keeps_the_binds_up(tmp_path: Path) -> None:
    d = write_config(tmp_path)
    assert d.cli("db", "upgrade", "-c", str(d.config)).returncode == 0
    d.start()
    m = d.wait_for(r"SMPP bind .* system_id '([^']+)'\s+password (\S+)")
    d.wait_for(r"gatewayd ready")
    d.wait_for(r"connector simulator: bound")
    answers: list[bytes] = []
    client = smpplib.client.Client("127.0.0.1", d.smpp_port, timeout=20)
    client.set_message_sent_handler(lambda pdu: answers.append(pdu.message_id))
    client.connect()
    try:
        client.bind_transceiver(system_id=m.group(1), password=m.group(2))
        _submit(client)
        d.config.write_text(d.config.read_text().replace('level = "info"', 'level = "debug"'))
        before = len(d.output)
        assert d.process is not None
        d.process.send_signal(signal.SIGHUP)
        d.wait_for(r"reload: logging.level: applied")
        _submit(client)  # the same session, still bound
        assert len(answers) == 2 and all(answers), answers
        after = "".join(d.output[before:])
        assert "connector simulator: bound" not in after  # the upstream bind never dropped
        assert "unbinding" not in after
        client.unbind()
    finally:
        client.disconnect()
    assert d.stop() == 0, "".join(d.output)
    drained = d.wait_for(r"drained in ([0-9.]+)s")  # within [daemon] drain_seconds
    print(f"drain took {drained.group(1)} s")
    assert float(drained.group(1)) < 10.0
