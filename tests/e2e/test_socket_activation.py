"""The SMPP listener taken from systemd (``systemd:domain=INET:index=0``), run under
systemd-socket-activate; a restart while the socket stays open refuses no connection."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import smpplib.client
import smpplib.consts

from tests.e2e.conftest import GATEWAYD, Daemon, write_config

pytestmark = pytest.mark.e2e
ACTIVATE = shutil.which("systemd-socket-activate")
needs_activate = pytest.mark.skipif(ACTIVATE is None, reason="systemd-socket-activate is absent")


def _activated(tmp_path: Path) -> Daemon:
    d = write_config(tmp_path)
    text = d.config.read_text()
    tcp = f'listen = ["tcp:{d.smpp_port}:interface=127.0.0.1"]'
    d.config.write_text(text.replace(tcp, 'listen = ["systemd:domain=INET:index=0"]'))
    assert d.cli("db", "upgrade", "-c", str(d.config)).returncode == 0
    return d


def _bind_and_submit(port: int, system_id: str, password: str) -> bytes:
    client = smpplib.client.Client("127.0.0.1", port, timeout=20)
    answers: list[bytes] = []
    client.set_message_sent_handler(lambda pdu: answers.append(pdu.message_id))
    client.connect()
    try:
        client.bind_transceiver(system_id=system_id, password=password)
        client.send_message(
            source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
            source_addr="Demo",
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
            destination_addr="22376600000",
            short_message=b"hello",
        )
        client.read_once()  # the submit_sm_resp
        client.unbind()
    finally:
        client.disconnect()
    assert answers and answers[0], "no message_id in the submit_sm_resp"
    return answers[0]


def _start(d: Daemon, command: list[str], pass_fds: tuple[int, ...] = ()) -> None:
    """Daemon.start with another command line (and inherited descriptors)."""
    d.process = subprocess.Popen(
        command,
        cwd=d.workdir,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        pass_fds=pass_fds,
    )
    d._eof = False
    d._reader = threading.Thread(target=d._pump, daemon=True)
    d._reader.start()


def _credentials(d: Daemon) -> tuple[str, str]:
    m = d.wait_for(r"SMPP bind .* system_id '([^']+)'\s+password (\S+)")
    return m.group(1), m.group(2)


@needs_activate
def test_bind_and_submit_on_a_socket_from_systemd_socket_activate(tmp_path: Path) -> None:
    d = _activated(tmp_path)
    port = d.smpp_port
    # --accept=no (the default): the tool listens and execs the daemon with LISTEN_FDS=1 at
    # the first connection, which waits in the backlog until the daemon accepts it.
    # Twisted takes the sockets only with LISTEN_FDNAMES, which systemd always sets and the tool
    # only with --fdname.
    tool = [str(ACTIVATE), "--fdname=smpp", "-l", f"127.0.0.1:{port}"]
    _start(d, [*tool, *GATEWAYD, "run", "-c", str(d.config)])
    d.wait_for(r"Listening on 127.0.0.1")
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    system_id, password = _credentials(d)
    d.wait_for(r"SMPP server listening on")
    d.wait_for(r"gatewayd ready")
    assert _bind_and_submit(port, system_id, password)
    assert d.stop() == 0, "".join(d.output)


@needs_activate
def test_a_restart_refuses_no_connection_while_the_socket_is_held(tmp_path: Path) -> None:
    """The test holds the listening socket, as systemd does for a gatewayd.socket unit, and
    passes it through systemd-socket-activate to each daemon it starts."""
    d = _activated(tmp_path)
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", 0))
    held.listen(64)
    port = held.getsockname()[1]
    # A small exec wrapper puts it at fd 3 and sets LISTEN_PID to its own pid, kept by exec.
    wrapper = (
        "import os, sys; os.dup2(int(sys.argv[1]), 3); os.environ.update("
        "LISTEN_PID=str(os.getpid()), LISTEN_FDS='1', LISTEN_FDNAMES='smpp'); "
        "os.execv(sys.argv[2], sys.argv[2:])"
    )
    command = [sys.executable, "-c", wrapper, str(held.fileno()), str(ACTIVATE), "--fdname=smpp"]
    command += [*GATEWAYD, "run", "-c", str(d.config)]
    try:
        _start(d, command, (held.fileno(),))
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        system_id, password = _credentials(d)
        d.wait_for(r"gatewayd ready")
        assert _bind_and_submit(port, system_id, password)
        assert d.stop() == 0, "".join(d.output)

        # No daemon now: the kernel still completes the handshake on the held socket.
        waiting = socket.create_connection(("127.0.0.1", port), timeout=5)
        waiting.close()
        d.output.clear()
        _start(d, command, (held.fileno(),))
        system_id, password = _credentials(d)  # the demo prints fresh ones at each start
        d.wait_for(r"gatewayd ready")
        # Served by the new daemon, on the same socket, without any refusal in between.
        assert _bind_and_submit(port, system_id, password)
        assert d.stop() == 0, "".join(d.output)
    finally:
        held.close()
