"""Kannel's bearerbox and smsbox (Debian package kannel) as subprocesses, configured so that
bearerbox binds to our SMPP server as an ESME and smsbox takes sendsms requests on 127.0.0.1.
Waits are on sockets and processes, each with a deadline."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.interop.helpers import DEADLINE, free_port

BEARERBOX = shutil.which("bearerbox") or "/usr/sbin/bearerbox"
SMSBOX = shutil.which("smsbox") or "/usr/sbin/smsbox"
SMSC_USER, SMSC_PASSWORD = "kannel", "secret"
SENDSMS_USER, SENDSMS_PASSWORD = "tester", "testpw"


def require_kannel() -> None:
    """Skip when Kannel is missing, but fail under CI: there it is a missing install step."""
    missing = [path for path in (BEARERBOX, SMSBOX) if not os.access(path, os.X_OK)]
    if not missing:
        return
    reason = f"Kannel is not installed ({', '.join(missing)} missing; apt-get install kannel)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must install it (make system-deps)")
    pytest.skip(reason)


class Kannel:
    def __init__(self, workdir: Path, smsc_port: int) -> None:
        self.workdir = workdir
        self.admin_port, self.box_port, self.sendsms_port = free_port(), free_port(), free_port()
        self.config = workdir / "kannel.conf"
        self.config.write_text(self._config_text(smsc_port), encoding="ascii")
        self._processes: list[subprocess.Popen[bytes]] = []

    def _config_text(self, smsc_port: int) -> str:
        logs = self.workdir
        return f"""
group = core
admin-port = {self.admin_port}
admin-interface = 127.0.0.1
admin-password = adminpw
admin-allow-ip = "127.0.0.1"
smsbox-port = {self.box_port}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{logs}/bearerbox.log"
log-level = 1
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = gatewayd
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = {SMSC_USER}
smsc-password = {SMSC_PASSWORD}
system-type = "VMA"
enquire-link-interval = 30
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.box_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{logs}/smsbox.log"
log-level = 1

group = sendsms-user
username = {SENDSMS_USER}
password = {SENDSMS_PASSWORD}
user-allow-ip = "127.0.0.1"

group = sms-service
keyword = default
text = "No service specified"
"""

    def _start(self, program: str) -> None:
        name = Path(program).name
        output = (self.workdir / f"{name}.out").open("wb")
        process = subprocess.Popen(
            [program, str(self.config)], stdout=output, stderr=subprocess.STDOUT
        )
        self._processes.append(process)

    def start_bearerbox(self) -> None:
        self._start(BEARERBOX)

    def start_smsbox(self) -> None:
        """Start smsbox once bearerbox accepts box connections (smsbox gives up otherwise)."""
        self._wait_for_port(self.box_port)
        self._start(SMSBOX)

    def _wait_for_port(self, port: int) -> None:
        deadline = time.monotonic() + DEADLINE
        while True:
            self._check_alive()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                    return
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _check_alive(self) -> None:
        for process in self._processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")

    def sendsms(self, **params: str) -> tuple[int, bytes]:
        """GET /cgi-bin/sendsms on smsbox, once it listens; (HTTP status, body)."""
        query = urllib.parse.urlencode(
            {"username": SENDSMS_USER, "password": SENDSMS_PASSWORD, **params}
        )
        url = f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms?{query}"
        self._wait_for_port(self.sendsms_port)
        try:
            with urllib.request.urlopen(url, timeout=DEADLINE) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def stop(self) -> None:
        """Stop smsbox, then bearerbox; each gets 5 s to finish before it is killed."""
        running = [process for process in self._processes if process.poll() is None]
        for process in reversed(running):
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def logs(self) -> str:
        """The tail of every Kannel log, for a failing test's report."""
        out = []
        for path in sorted(self.workdir.glob("*.log")) + sorted(self.workdir.glob("*.out")):
            lines = path.read_text(errors="replace").splitlines()[-20:]
            out.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(out)
