"""The command line, run in-process with its streams captured."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from gatewayd.cli import _parser, main
from gatewayd.config import DatabaseConfig
from gatewayd.storage.accounts import authenticate_smpp, authenticate_user
from gatewayd.storage.database import Database, create_db_engine

PASSWORD = "a long enough password"


class Run:
    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "gw.db"
        self.config = tmp_path / "gatewayd.toml"
        self.config.write_text(f'[database]\nurl = "sqlite:///{self.db}"\n', encoding="utf-8")

    def __call__(
        self, *argv: str, stdin: str = "", env: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        args = [a.replace("CONF", str(self.config)) for a in argv]
        code = main(args, lambda: None, env or {}, io.StringIO(stdin), out, err)
        return code, out.getvalue(), err.getvalue()

    def database(self) -> Database:
        return Database(create_db_engine(DatabaseConfig(url=f"sqlite:///{self.db}")), None, 1)


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return Run(tmp_path)


def test_accounts_and_users_are_created_with_secrets_from_stdin_or_env(run: Run) -> None:
    assert run("db", "upgrade", "-c", "CONF")[0] == 0
    assert run("db", "current", "-c", "CONF")[0] == 0
    code, out, _ = run(
        "account",
        "create",
        "-c",
        "CONF",
        "--name",
        "Acme",
        "--smpp-system-id",
        "acme",
        stdin="smpp1234\n",
    )
    assert code == 0 and "'Acme' created" in out
    code, out, err = run(
        "user",
        "create",
        "-c",
        "CONF",
        "--account",
        "Acme",
        "--login",
        "alice",
        "--role",
        "manager",
        env={"GATEWAYD_PASSWORD": PASSWORD},
    )
    assert code == 0, err
    db = run.database()
    assert db.run_sync("auth", authenticate_user, "alice", PASSWORD).account.name == "Acme"
    assert db.run_sync("auth", authenticate_smpp, "acme", "smpp1234").name == "Acme"


def user_create(account: str, role: str) -> tuple[str, ...]:
    return ("user", "create", "-c", "CONF", "--account", account, "--login", "bob", "--role", role)


@pytest.mark.parametrize(
    ("argv", "stdin", "message", "code"),
    [
        (user_create("Acme", "user"), "short\n", "at least 12 characters", 1),
        (user_create("Nope", "user"), PASSWORD + "\n", "no account named 'Nope'", 1),
        (user_create("Acme", "admin"), PASSWORD + "\n", "belongs to operator accounts", 1),
        (user_create("Acme", "user"), "", "no password given", 1),
        (("account", "create", "-c", "CONF", "--name", "Acme"), "", "exists already", 1),
        (
            ("account", "create", "-c", "CONF", "--name", "B", "--smpp-system-id", "b"),
            "ninechars\n",
            "1 to 8 ASCII",
            1,
        ),
    ],
)
def test_errors_are_one_line_and_write_nothing(
    run: Run, argv: tuple[str, ...], stdin: str, message: str, code: int
) -> None:
    run("db", "upgrade", "-c", "CONF")
    run("account", "create", "-c", "CONF", "--name", "Acme")
    got, _out, err = run(*argv, stdin=stdin)
    assert got == code and message in err
    assert err.startswith("gatewayd: error: ") and err.count("\n") == 1
    users = run.database().run_sync(
        "count", lambda s: s.execute(text("SELECT count(*) FROM users")).scalar()
    )
    assert users == 0


def test_an_unmigrated_database_is_refused(run: Run) -> None:
    code, _, err = run("account", "create", "-c", "CONF", "--name", "Acme")
    assert code == 1 and "gatewayd db upgrade" in err


def test_check_config_names_the_file_and_key(run: Run, tmp_path: Path) -> None:
    assert run("check-config", "-c", "CONF") == (0, f"{run.config}: ok\n", "")
    bad = tmp_path / "bad.toml"
    bad.write_text('[smpp_server]\nlisten = ["tcpx:2775"]\n', encoding="utf-8")
    code, _, err = run("check-config", "-c", str(bad))
    assert code == 2
    assert err.startswith(f"gatewayd: error: {bad}: smpp_server.listen: ")
    missing = tmp_path / "secret"
    bad.write_text(
        '[connectors.a]\nhost = "h"\nsystem_id = "x"\n'
        f'password_file = "{missing}"\n[routing]\ndefault_connector = "a"\n',
        encoding="utf-8",
    )
    code, _, err = run("check-config", "-c", str(bad))
    assert code == 2 and "connectors.a.password_file: cannot read" in err


def test_the_password_is_never_an_argument() -> None:
    for action in _parser()._actions:
        assert "password" not in " ".join(getattr(action, "option_strings", []))
    result = subprocess.run(
        [sys.executable, "-m", "gatewayd", "user", "create", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "stdin" in result.stdout and "--password" not in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["run"],
        ["check-config"],
        ["db"],
        ["db", "upgrade"],
        ["db", "current"],
        ["account"],
        ["account", "create"],
        ["user"],
        ["user", "create"],
        ["smsc-sim"],
        ["send"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _parser().parse_args([*command, "--help"])
    assert info.value.code == 0


def test_smsc_sim_refuses_a_bad_endpoint(run: Run) -> None:
    code, _, err = run("smsc-sim", "--listen", "nope:1")
    assert code == 2 and "not a valid endpoint" in err


def test_account_smpp_limits_are_stored_and_checked(run: Run) -> None:
    run("db", "upgrade", "-c", "CONF")
    code, _, err = run(
        "account",
        "create",
        "-c",
        "CONF",
        "--name",
        "Acme",
        "--smpp-system-id",
        "acme",
        "--smpp-max-binds",
        "2",
        "--smpp-tps",
        "5",
        "--smpp-allow",
        "10.0.0.0/8",
        "--smpp-allow",
        "::1",
        stdin="pw\n",
    )
    assert code == 0, err
    info = run.database().run_sync("auth", authenticate_smpp, "acme", "pw")
    assert (info.smpp_max_binds, info.smpp_tps) == (2, 5.0)
    assert info.smpp_allowed_networks == ("10.0.0.0/8", "::1")
    code, _, err = run(
        "account", "create", "-c", "CONF", "--name", "Bad", "--smpp-allow", "10.0.0.300/8"
    )
    assert code == 1 and "is not an IP network" in err


def test_smsc_sim_checks_its_behaviour_flags(run: Run) -> None:
    code, _, err = run("smsc-sim", "--listen", "tcp:0", "--throttled-rate", "2")
    assert code == 2 and "command line: throttled_rate: " in err
    code, _, err = run("smsc-sim", "--listen", "tcp:0", "--delivered-weight", "0")
    assert code == 2 and "every receipt weight is 0" in err


def test_a_simulator_without_any_receipt_state_is_refused(tmp_path: Path) -> None:
    from gatewayd.config import load_config
    from gatewayd.errors import ConfigError

    path = tmp_path / "sim.toml"
    path.write_text("[simulator]\ndelivered_weight = 0.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"simulator\.delivered_weight: every receipt weight"):
        load_config(path, environ={})


def test_an_account_callback_is_set_with_a_fresh_secret_and_removed(run: Run) -> None:
    assert run("db", "upgrade", "-c", "CONF")[0] == 0
    assert run("account", "create", "-c", "CONF", "--name", "Acme")[0] == 0
    code, _out, err = run(
        "account", "callback", "-c", "CONF", "--name", "Acme", "--url", "ftp://x/cb"
    )
    assert code != 0 and "--url" in err and "http" in err
    code, out, _ = run(
        "account", "callback", "-c", "CONF", "--name", "Acme", "--url", "https://hooks.example/cb"
    )
    assert code == 0
    secret = out.split("signing secret (shown once): ")[1].strip()
    db = run.database()
    query = text("SELECT callback_url, callback_secret FROM accounts WHERE name = 'Acme'")
    with db.session() as s:
        assert tuple(s.execute(query).one()) == ("https://hooks.example/cb", secret)
    assert len(secret) >= 32
    assert run("account", "callback", "-c", "CONF", "--name", "Acme", "--remove")[0] == 0
    with db.session() as s:
        assert tuple(s.execute(query).one()) == (None, None)
    code, _out, err = run(
        "account", "callback", "-c", "CONF", "--name", "Nobody", "--url", "https://h/cb"
    )
    assert code != 0 and "Nobody" in err


def test_an_account_callback_to_a_private_address_needs_the_allow_list(run: Run) -> None:
    assert run("db", "upgrade", "-c", "CONF")[0] == 0
    assert run("account", "create", "-c", "CONF", "--name", "Acme")[0] == 0
    url = ("account", "callback", "-c", "CONF", "--name", "Acme", "--url", "http://10.0.0.5/cb")
    code, _out, err = run(*url)
    assert code != 0 and "--url: callback destination 10.0.0.5 is a private address" in err
    with run.config.open("a", encoding="utf-8") as f:
        f.write('[callbacks]\nallowed_networks = ["10.0.0.0/8"]\n')
    code, out, _ = run(*url)
    assert code == 0 and "go to http://10.0.0.5/cb" in out
