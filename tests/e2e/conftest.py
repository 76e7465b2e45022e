"""A real gatewayd process on free 127.0.0.1 ports, with the built-in SMSC simulator."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

GATEWAYD = [sys.executable, "-m", "gatewayd"]
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Daemon:
    workdir: Path
    config: Path
    console_url: str
    smpp_port: int
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _eof: bool = False
    _reader: threading.Thread | None = None

    def cli(
        self, *args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*GATEWAYD, *args],
            cwd=self.workdir,
            input=stdin,
            text=True,
            capture_output=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )

    def start(self, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [*GATEWAYD, "run", "-c", str(self.config)],
            cwd=self.workdir,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        self._eof = False
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        """Wait until an output line matches (waits on the daemon's output, not on a timer)."""
        regex = re.compile(pattern)
        seen = 0
        with self._changed:
            while True:
                for line in self.output[seen:]:
                    if m := regex.search(line):
                        return m
                seen = len(self.output)
                if self._eof or not self._changed.wait(timeout):
                    break
        raise AssertionError(f"no line matching {pattern!r}; output:\n{''.join(self.output)}")

    def _pump(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.output.append(line)
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    def read_banner(self) -> None:
        self.passwords["admin"] = self.wait_for(r"operator admin .* password (\S+)").group(1)
        self.passwords["demo"] = self.wait_for(r"customer .* password (\S+)").group(1)
        self.passwords["smpp"] = self.wait_for(r"SMPP bind .* password (\S+)").group(1)

    def exit_code(self, timeout: float = START_TIMEOUT) -> int:
        """Wait for the process to end by itself (a start-up failure)."""
        assert self.process is not None and self._reader is not None
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout)
        return code

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout)
        return code


def write_config(workdir: Path, **overrides: str) -> Daemon:
    admin, smpp, sim = free_port(), free_port(), free_port()
    text = f"""
[logging]
level = "{overrides.get("level", "info")}"
[database]
url = "sqlite:///{workdir}/gatewayd.db"
[smpp_server]
listen = ["tcp:{smpp}:interface=127.0.0.1"]
[admin]
listen = ["tcp:{admin}:interface=127.0.0.1"]
[control]
socket = "{workdir}/gatewayd.ctl"
[simulator]
enabled = true
listen = "tcp:{sim}:interface=127.0.0.1"
delivery_delay = 0.2
[connectors.simulator]
host = "127.0.0.1"
port = {sim}
system_id = "gatewayd"
[routing]
default_connector = "simulator"
[demo]
enabled = true
"""
    config = workdir / "gatewayd.toml"
    config.write_text(text, encoding="utf-8")
    return Daemon(workdir, config, f"http://127.0.0.1:{admin}", smpp)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = write_config(tmp_path_factory.mktemp("gatewayd"))
    upgraded = d.cli("db", "upgrade", "-c", str(d.config))
    assert upgraded.returncode == 0, upgraded.stderr
    d.start()
    d.read_banner()
    d.wait_for(r"gatewayd ready")
    d.wait_for(r"bound|Bound")
    yield d
    assert d.stop() == 0, "".join(d.output)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


#: Where the browser tests' screenshots go when GATEWAYD_SCREENSHOTS=1 (shown in the docs).
DOCS_SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
#: Debian's chromium in a container: no sandbox, GPU or background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def screenshots_dir(tmp_path: Path) -> Path:
    """docs/screenshots/ when GATEWAYD_SCREENSHOTS=1, else the test's own tmp dir."""
    if os.environ.get("GATEWAYD_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return DOCS_SCREENSHOTS
    return tmp_path


def need_chromium() -> str:
    """The system chromium, or skip (fail on CI, where it must be installed)."""
    chromium = chromium_path()
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: `make system-deps` installs it")
        pytest.skip("chromium is not installed")
    return chromium


@contextmanager
def browser_page(viewport: ViewportSize | None = None) -> Iterator[Page]:
    """A page in the system chromium (skipped without it), closed with its browser after.
    Without a viewport, Playwright's default size."""
    chromium = need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page() if viewport is None else browser.new_page(viewport=viewport)
        finally:
            browser.close()


def login(page: Page, console_url: str, user: str, password: str) -> None:
    """Open the console's login page and log in."""
    page.goto(console_url + "/login")
    fill_login(page, user, password)


def fill_login(page: Page, user: str, password: str) -> None:
    """Fill in and send the login form of the page shown."""
    page.fill("input[name=login]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def page_errors(page: Page) -> list[str]:
    """The page's Content Security Policy violations and script errors, as they come."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors
