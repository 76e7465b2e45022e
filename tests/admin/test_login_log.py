"""A failed console login logs what was typed as the login only truncated and escaped: a
password pasted there is not logged whole, a line break cannot forge a log line."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytest_twisted
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from zope.interface import provider

from tests.admin.conftest import Browser, ConsoleRig


@pytest.fixture
def logged() -> Iterator[list[str]]:
    lines: list[str] = []

    @provider(ILogObserver)
    def observe(event: LogEvent) -> None:
        lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


@pytest_twisted.ensureDeferred
async def test_a_failed_login_is_logged_truncated_and_escaped(
    rig: ConsoleRig, logged: list[str]
) -> None:
    await rig.customer("acme", "alice")
    browser = Browser(rig.base)
    await browser.get("/login")
    typed = "alice\n2026-12-02T10:00:00 console login ok for root\x1b[2J" + "S3cret!" * 20
    answer = await browser.post("/login", {"login": typed, "password": "wrong"})
    assert answer.code == 401
    [line] = [line for line in logged if "console login failed" in line]
    assert "\n" not in line and "\x1b" not in line
    assert "\\n2026-12-02" in line  # escaped, still readable
    assert "S3cret!" * 20 not in line and len(line) < 120
