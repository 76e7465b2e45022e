from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from typing import cast

import pytest
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, Logger, LogLevel

from gatewayd.sdnotify import Notifier, Watchdog, monotonic_usec, watchdog_interval


@pytest.fixture
def short_dir() -> Iterator[str]:
    # AF_UNIX paths are limited to 108 bytes; pytest's tmp_path can be longer than that.
    path = tempfile.mkdtemp(prefix="sdn-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def receiver(short_dir: str) -> Iterator[tuple[socket.socket, str]]:
    path = os.path.join(short_dir, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    yield sock, path
    sock.close()


@pytest.fixture
def abstract_receiver() -> Iterator[tuple[socket.socket, str]]:
    name = f"gatewayd-test-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    yield sock, "@" + name
    sock.close()


def capture(notifier: Notifier) -> list[LogEvent]:
    events: list[LogEvent] = []
    notifier.log = Logger(namespace="test", observer=cast(ILogObserver, events.append))
    return events


def test_ready_sends_exact_datagram(receiver: tuple[socket.socket, str]) -> None:
    sock, path = receiver
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready() is True
    assert sock.recv(4096) == b"READY=1"


def test_ready_with_status(receiver: tuple[socket.socket, str]) -> None:
    sock, path = receiver
    Notifier.from_environ({"NOTIFY_SOCKET": path}).ready("serving 2 listeners")
    assert sock.recv(4096) == b"READY=1\nSTATUS=serving 2 listeners"


def test_stopping_and_status(receiver: tuple[socket.socket, str]) -> None:
    sock, path = receiver
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": path})
    notifier.status("draining")
    notifier.stopping()
    assert sock.recv(4096) == b"STATUS=draining"
    assert sock.recv(4096) == b"STOPPING=1"


def test_reloading_carries_monotonic_timestamp(receiver: tuple[socket.socket, str]) -> None:
    sock, path = receiver
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": path}, clock=lambda: 123456789)
    notifier.reloading()
    assert sock.recv(4096) == b"RELOADING=1\nMONOTONIC_USEC=123456789"


def test_reloading_uses_clock_monotonic_by_default(receiver: tuple[socket.socket, str]) -> None:
    sock, path = receiver
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    Notifier.from_environ({"NOTIFY_SOCKET": path}).reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    first, second = sock.recv(4096).split(b"\n")
    assert first == b"RELOADING=1"
    key, value = second.split(b"=")
    assert key == b"MONOTONIC_USEC"
    assert before <= int(value) <= after
    assert before <= monotonic_usec()


def test_generic_notify_keeps_order_and_flattens_newlines(
    receiver: tuple[socket.socket, str],
) -> None:
    sock, path = receiver
    notifier = Notifier(path)
    notifier.notify(STATUS="two\nlines", MAINPID=42, ERRNO=0)
    assert sock.recv(4096) == b"STATUS=two lines\nMAINPID=42\nERRNO=0"


def test_non_ascii_status_is_utf8(receiver: tuple[socket.socket, str]) -> None:
    sock, path = receiver
    Notifier(path).status("réessai")
    assert sock.recv(4096) == "STATUS=réessai".encode()


def test_bad_field_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="sd_notify field name"):
        Notifier(None).notify(ready=1)


def test_abstract_socket(abstract_receiver: tuple[socket.socket, str]) -> None:
    sock, address = abstract_receiver
    assert address.startswith("@")
    assert Notifier.from_environ({"NOTIFY_SOCKET": address}).ready() is True
    assert sock.recv(4096) == b"READY=1"


@pytest.mark.parametrize("environ", [{}, {"NOTIFY_SOCKET": ""}])
def test_no_op_without_notify_socket(environ: dict[str, str]) -> None:
    notifier = Notifier.from_environ(environ)
    events = capture(notifier)
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.reloading() is False
    assert notifier.stopping() is False
    assert notifier.status("x") is False
    assert events == []


def test_send_failure_warns_once_and_never_raises(short_dir: str) -> None:
    missing = os.path.join(short_dir, "gone")
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": missing})
    events = capture(notifier)
    assert notifier.ready() is False
    assert notifier.reloading() is False
    assert notifier.stopping() is False
    assert len(events) == 1
    assert events[0]["log_level"] is LogLevel.warn
    assert events[0]["address"] == missing
    assert events[0]["error"]


def test_send_failure_after_receiver_goes_away(receiver: tuple[socket.socket, str]) -> None:
    sock, path = receiver
    notifier = Notifier(path)
    events = capture(notifier)
    assert notifier.ready() is True
    sock.close()
    os.unlink(path)
    assert notifier.stopping() is False
    assert len(events) == 1


def test_unsupported_address_warns_once() -> None:
    notifier = Notifier("vsock:2:1234")
    events = capture(notifier)
    assert notifier.enabled
    assert notifier.ready() is False
    assert notifier.ready() is False
    assert len(events) == 1
    assert events[0]["address"] == "vsock:2:1234"


def _pings(sock: socket.socket) -> list[bytes]:
    got: list[bytes] = []
    sock.setblocking(False)
    try:
        while True:
            got.append(sock.recv(4096))
    except BlockingIOError:
        return got


def test_watchdog_pings_at_half_the_interval(receiver: tuple[socket.socket, str]) -> None:
    sock, path = receiver
    clock = Clock()
    environ = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    watchdog = Watchdog.from_environ(Notifier.from_environ(environ), environ, clock)
    assert watchdog is not None and watchdog.interval == 15.0
    watchdog.start()
    assert _pings(sock) == [b"WATCHDOG=1"]  # one at once
    clock.advance(14.9)
    assert _pings(sock) == []
    clock.advance(0.1)
    assert _pings(sock) == [b"WATCHDOG=1"]
    clock.pump([15.0, 15.0])
    assert _pings(sock) == [b"WATCHDOG=1", b"WATCHDOG=1"]
    watchdog.stop()
    clock.advance(60)
    assert _pings(sock) == [] and not watchdog.running


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"WATCHDOG_USEC": ""},
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "abc"},
        {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"},
    ],
    ids=["no-usec", "empty", "zero", "garbage", "other-pid"],
)
def test_no_watchdog_pings(receiver: tuple[socket.socket, str], extra: dict[str, str]) -> None:
    sock, path = receiver
    environ = {"NOTIFY_SOCKET": path, **extra}
    assert Watchdog.from_environ(Notifier.from_environ(environ), environ, Clock()) is None
    assert _pings(sock) == []


def test_watchdog_interval_reads_the_environment() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, pid=42) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "43"}, pid=42) is None
    assert watchdog_interval({}) is None


def test_no_watchdog_outside_systemd() -> None:
    environ = {"WATCHDOG_USEC": "30000000"}  # no NOTIFY_SOCKET: nobody to ping
    assert Watchdog.from_environ(Notifier.from_environ(environ), environ, Clock()) is None
