"""Start-up failures, signals and systemd notifications of a real daemon process."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import pytest

from tests.e2e.conftest import Daemon, write_config

pytestmark = pytest.mark.e2e


def migrated(tmp_path: Path, **kw: str) -> Daemon:
    d = write_config(tmp_path, **kw)
    assert d.cli("db", "upgrade", "-c", str(d.config)).returncode == 0
    return d


def test_an_unmigrated_database_refuses_to_start(tmp_path: Path) -> None:
    d = write_config(tmp_path)
    d.start()
    assert d.exit_code() == 1
    assert "gatewayd: error: the database has no gatewayd schema" in "".join(d.output)
    assert "gatewayd db upgrade" in "".join(d.output)


def test_a_port_in_use_fails_fast_with_a_message(tmp_path: Path) -> None:
    d = migrated(tmp_path)
    port = int(d.console_url.rsplit(":", 1)[1])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        d.start()
        assert d.exit_code() == 1
    assert f"admin console: cannot listen on tcp:{port}" in "".join(d.output)


def test_an_unreachable_database_fails_fast(tmp_path: Path) -> None:
    d = write_config(tmp_path)
    d.start(env={"GATEWAYD__DATABASE__URL": "postgresql+psycopg://gw:secret@127.0.0.1:1/gw"})
    assert d.exit_code() == 1
    out = "".join(d.output)
    assert "database postgresql+psycopg://gw:***@127.0.0.1:1/gw is unreachable" in out
    assert "secret" not in out


def test_a_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    d = write_config(tmp_path)
    d.config.write_text(d.config.read_text() + "\n[admin2]\nx = 1\n")
    d.start()
    assert d.exit_code() == 2
    assert f"gatewayd: error: {d.config}: admin2: unknown key" in "".join(d.output)


def test_notify_reload_and_graceful_stop(tmp_path: Path) -> None:
    d = migrated(tmp_path)
    d.config.write_text(d.config.read_text().replace("[logging]\n", '[logging]\nformat = "json"\n'))
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(30)
    d.start(env={"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    assert notify.recv(4096).startswith(b"READY=1")
    d.read_banner()

    sent = d.cli("send", "-c", str(d.config), "--to", "22376600000", "--text", "hi")
    assert sent.returncode == 0, sent.stderr
    message_id = sent.stdout.split()[0]
    line = d.wait_for(
        rf'"message_id":"{message_id}".*"accepted|accepted.*"message_id":"{message_id}"'
    )
    event = json.loads(line.string)
    assert event["account"] == "Demo SARL" and event["destination"] == "22376600000"

    d.config.write_text(d.config.read_text().replace('level = "info"', 'level = "debug"'))
    assert d.process is not None
    d.process.send_signal(signal.SIGHUP)
    assert notify.recv(4096).startswith(b"RELOADING=1\nMONOTONIC_USEC=")
    assert notify.recv(4096).startswith(b"READY=1")
    d.wait_for(r"reload: logging.level: applied")

    assert d.stop(signal.SIGTERM) == 0
    assert notify.recv(4096) == b"STOPPING=1"
    out = "".join(d.output)
    assert "connector simulator: unbinding" in out
    assert d.passwords["demo"] not in out.replace(d.passwords["demo"] + "  (account", "")
    notify.close()


def _next(notify: socket.socket, prefix: bytes) -> bytes:
    while not (data := notify.recv(4096)).startswith(prefix):
        pass
    return data


def test_watchdog_pings_from_the_reactor_and_stop_when_it_is_wedged(tmp_path: Path) -> None:
    d = migrated(tmp_path)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(30)
    # systemd's WatchdogSec=1: a ping every half second.
    d.start(env={"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "1000000"})
    assert _next(notify, b"WATCHDOG=1") == b"WATCHDOG=1"
    _next(notify, b"READY=1")
    for _ in range(3):
        assert notify.recv(4096) == b"WATCHDOG=1"
    assert d.process is not None
    # A stopped process is the extreme wedged reactor: nothing more comes.
    d.process.send_signal(signal.SIGSTOP)
    notify.settimeout(0.2)
    try:  # the last ping may already be on its way
        while True:
            notify.recv(4096)
    except TimeoutError:
        pass
    notify.settimeout(2)
    with pytest.raises(TimeoutError):
        notify.recv(4096)
    d.process.send_signal(signal.SIGCONT)
    assert notify.recv(4096) == b"WATCHDOG=1"
    assert d.stop(signal.SIGTERM) == 0
    notify.close()
