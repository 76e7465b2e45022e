"""Tell systemd about the daemon's state over ``$NOTIFY_SOCKET`` (``Type=notify``).

The protocol is one AF_UNIX datagram of newline-separated ``KEY=value`` lines, so a few lines of
our own replace libsystemd and python-systemd, which would be a C dependency for one ``sendto``.
See sd_notify(3).
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable, Mapping

from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

__all__ = ["Notifier", "Watchdog", "monotonic_usec", "watchdog_interval"]

_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, the clock systemd compares ``MONOTONIC_USEC`` against."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def _socket_address(value: str) -> str | None:
    # A leading '@' names a Linux abstract socket, whose real name starts with a NUL byte.
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    # Other forms (vsock:..., relative paths) are not something we are started with.
    return None


class Notifier:
    """Sends state changes to the service manager; does nothing outside systemd.

    Every method returns True when the datagram was sent. A failed send is logged once as a
    warning and otherwise ignored: losing a notification must never take the daemon down.
    """

    log = Logger()

    def __init__(
        self, notify_socket: str | None, *, clock: Callable[[], int] = monotonic_usec
    ) -> None:
        """``notify_socket`` is the raw ``$NOTIFY_SOCKET`` value; None or "" disables sending."""
        self._raw = notify_socket or ""
        self._address = _socket_address(self._raw) if self._raw else None
        self._clock = clock
        self._warned = False

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, clock: Callable[[], int] = monotonic_usec
    ) -> Notifier:
        return cls(environ.get("NOTIFY_SOCKET"), clock=clock)

    @property
    def enabled(self) -> bool:
        """Whether we were started by a service manager that listens for notifications."""
        return bool(self._raw)

    def ready(self, status: str | None = None) -> bool:
        if status is None:
            return self.notify(READY=1)
        return self.notify(READY=1, STATUS=status)

    def reloading(self) -> bool:
        # systemd >= 253 ignores RELOADING=1 without a fresh timestamp (Type=notify-reload);
        # older versions ignore the extra field.
        return self.notify(RELOADING=1, MONOTONIC_USEC=self._clock())

    def stopping(self) -> bool:
        return self.notify(STOPPING=1)

    def status(self, text: str) -> bool:
        return self.notify(STATUS=text)

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` lines in the order given, e.g. ``notify(READY=1, STATUS="up")``."""
        for key in fields:
            if not _KEY.match(key):
                raise ValueError(f"not a sd_notify field name: {key!r}")
        if not self._raw:
            return False
        # A newline inside a value would start a new field, so it becomes a space.
        payload = "\n".join(f"{k}={str(v).replace(chr(10), ' ')}" for k, v in fields.items())
        return self._send(payload.encode("utf-8"))

    def _send(self, data: bytes) -> bool:
        if self._address is None:
            self._warn_once("unsupported NOTIFY_SOCKET address {address!r}", None)
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                # Never block the reactor on the service manager: systemd sizes its receive
                # buffer generously, so EAGAIN here means something is badly wrong anyway.
                sock.setblocking(False)
                sock.sendto(data, self._address)
        except OSError as e:
            self._warn_once("cannot notify systemd at {address!r}: {error}", e)
            return False
        return True

    def _warn_once(self, fmt: str, error: OSError | None) -> None:
        # A broken socket stays broken; one warning says it, a warning per reload is noise.
        if self._warned:
            return
        self._warned = True
        self.log.warn(fmt, address=self._raw, error=str(error))


def watchdog_interval(environ: Mapping[str, str], pid: int | None = None) -> float | None:
    """Seconds between two ``WATCHDOG=1`` pings: half of ``$WATCHDOG_USEC``, as sd_notify(3)
    advises; None when systemd wants no watchdog from this process (no or a bad
    ``WATCHDOG_USEC``, or a ``WATCHDOG_PID`` that is another process's, e.g. a parent's)."""
    raw = environ.get("WATCHDOG_USEC", "").strip()
    if not raw.isdigit() or int(raw) == 0:
        return None
    owner = environ.get("WATCHDOG_PID", "").strip()
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    return int(raw) / 1_000_000 / 2


class Watchdog:
    """Sends ``WATCHDOG=1`` from the reactor every ``interval`` seconds.

    The ping is a timed call on the reactor itself, so a reactor that is wedged (a blocking
    call, a busy loop) stops pinging and systemd kills and restarts the service.
    """

    def __init__(self, notifier: Notifier, interval: float, reactor: IReactorTime) -> None:
        self.interval = interval
        self._loop = LoopingCall(notifier.notify, WATCHDOG=1)
        self._loop.clock = reactor

    @classmethod
    def from_environ(
        cls, notifier: Notifier, environ: Mapping[str, str], reactor: IReactorTime
    ) -> Watchdog | None:
        interval = watchdog_interval(environ)
        if interval is None or not notifier.enabled:
            return None
        return cls(notifier, interval, reactor)

    @property
    def running(self) -> bool:
        return self._loop.running

    def start(self) -> None:
        """The first ping now, then one every ``interval``."""
        if not self._loop.running:
            self._loop.start(self.interval, now=True)

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()
