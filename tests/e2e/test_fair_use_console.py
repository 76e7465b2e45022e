"""Fair use through a running daemon: an account over its hourly cap is suspended on every
channel, the operator sees it in the console and lifts it there (audited), and sending works
again."""

from __future__ import annotations

import http.cookiejar
import re
import sqlite3
import urllib.parse
import urllib.request

import pytest

from tests.e2e.conftest import Daemon

pytestmark = pytest.mark.e2e
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """Just enough of a browser: cookies, forms with their CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            return str(response.read().decode())

    def post(self, path: str, form: dict[str, str]) -> str:
        data = urllib.parse.urlencode(form).encode()
        with self.opener.open(self.base + path, data=data, timeout=10) as response:
            return str(response.read().decode())

    def login(self, login: str, password: str) -> str:
        token = CSRF.search(self.get("/login"))
        assert token is not None
        form = {"login": login, "password": password, "csrf_token": token.group(1)}
        return self.post("/login", form)


def send(daemon: Daemon, to: str) -> tuple[int, str]:
    done = daemon.cli(
        "send", "-c", str(daemon.config), "--account", "Capped SARL", "--to", to,
        "--text", "hi", "--timeout", "0",
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_a_suspended_account_shows_in_the_console_and_the_operator_lifts_it(
    daemon: Daemon,
) -> None:
    config = str(daemon.config)
    assert daemon.cli("account", "create", "-c", config, "--name", "Capped SARL").returncode == 0
    capped = daemon.cli(
        "account", "set", "-c", config, "--name", "Capped SARL",
        "--fair-use", '{"hourly_messages": 2}',
    )  # fmt: skip
    assert capped.returncode == 0, capped.stderr
    # No restart: fair use reads the account's rules in each acceptance's transaction.
    assert send(daemon, "22376600001")[0] == 0
    assert send(daemon, "22376600002")[0] == 0
    code, out = send(daemon, "22376600003")
    assert code == 1 and "in the last hour" in out, out
    code, out = send(daemon, "22376600004")
    assert code == 1 and "suspended" in out, out

    admin = Browser(daemon.console_url)
    page = admin.login("admin", daemon.passwords["admin"])
    page = admin.get("/admin/accounts")
    row = page[page.index("Capped SARL") :]
    assert "envoi suspendu jusqu" in row[:2000]
    token = CSRF.search(page)
    assert token is not None
    name = urllib.parse.quote("Capped SARL")
    page = admin.post(f"/admin/accounts/{name}/lift", {"csrf_token": token.group(1)})
    row = page[page.index("Capped SARL") :]
    assert "envoi suspendu" not in row[: row.find("</tr>")]
    assert send(daemon, "22376600005")[0] == 0

    with sqlite3.connect(daemon.workdir / "gatewayd.db") as db:
        actions = db.execute(
            "SELECT actor, action FROM audit_entries e JOIN accounts a ON a.id = e.account_id"
            " WHERE a.name = 'Capped SARL' ORDER BY e.id"
        ).fetchall()
    assert actions[-2:] == [("system", "suspend"), ("console:admin", "lift")]
