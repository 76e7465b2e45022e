"""The ``gatewayd`` command line. Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from sqlalchemy.exc import SQLAlchemyError

from gatewayd.cli_billing import register_billing
from gatewayd.cli_fleet import register_fleet
from gatewayd.cli_ops import register
from gatewayd.cli_retention import register_retention
from gatewayd.config import Config, load_config
from gatewayd.errors import ConfigError, GatewayError, ValidationError
from gatewayd.secrets_input import read_secret
from gatewayd.security import check_password_policy, check_smpp_password, hash_secret, new_token
from gatewayd.storage import accounts as acc
from gatewayd.storage.database import Database, create_db_engine, redact
from gatewayd.storage.migrate import current_revision, head_revision, require_current, upgrade

EXIT_ERROR, EXIT_USAGE = 1, 2


class Cli:
    """Holds the process's streams and environment, so tests run commands in-process."""

    def __init__(
        self,
        environ: Mapping[str, str],
        stdin: TextIO,
        stdout: TextIO,
        stderr: TextIO,
        reactor: Callable[[], Any],
    ) -> None:
        self.environ, self.stdin, self.stdout, self.stderr = environ, stdin, stdout, stderr
        self._reactor = reactor

    def out(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)

    def config(self, args: argparse.Namespace) -> Config:
        return load_config(args.config, self.environ)

    def database(self, args: argparse.Namespace, *, migrated: bool = True) -> Database:
        config = self.config(args)
        engine = create_db_engine(config.database)
        if migrated:
            require_current(engine)
        return Database(engine, self._reactor(), 1)

    # -- commands ---------------------------------------------------------------------------
    def cmd_run(self, args: argparse.Namespace) -> int:
        from gatewayd.daemon import main_run

        return main_run(args.config, self._reactor(), self.environ)

    def cmd_check_config(self, args: argparse.Namespace) -> int:
        from gatewayd.app import connector_password

        config = self.config(args)
        for name, conn in config.connectors.items():
            connector_password(name, conn, args.config)
        self.out(f"{args.config}: ok")
        return 0

    def cmd_db_upgrade(self, args: argparse.Namespace) -> int:
        config = self.config(args)
        engine = create_db_engine(config.database)
        upgrade(engine)
        self.out(f"{redact(config.database.url)}: schema at revision {head_revision()}")
        return 0

    def cmd_db_current(self, args: argparse.Namespace) -> int:
        engine = create_db_engine(self.config(args).database)
        current, head = current_revision(engine), head_revision()
        self.out(f"current {current or 'none'}, head {head}")
        return 0 if current == head else EXIT_ERROR

    def cmd_account_create(self, args: argparse.Namespace) -> int:
        db = self.database(args)
        secret = None
        if args.smpp_system_id:
            password = read_secret("SMPP password", self.environ, self.stdin)
            check_smpp_password(password)
            secret = hash_secret(password)
        limits = acc.SmppLimits(args.smpp_max_binds, args.smpp_tps, tuple(args.smpp_allow))
        info = db.run_sync(
            "create_account",
            acc.create_account,
            args.name,
            args.kind,
            time.time(),
            args.smpp_system_id,
            secret,
            limits,
        )
        self.out(f"account {info.name!r} created (id {info.id}, {info.kind})")
        return 0

    def cmd_account_callback(self, args: argparse.Namespace) -> int:
        from gatewayd.pipeline.callbacks import validate_callback_url
        from gatewayd.pipeline.destinations import parse_networks

        allowed = parse_networks(self.config(args).callbacks.allowed_networks)
        if args.url is not None and (reason := validate_callback_url(args.url, allowed)):
            raise ValidationError(f"--url: {reason}")
        secret = None if args.remove else new_token()
        db = self.database(args)
        db.run_sync("set_callback", acc.set_callback, args.name, args.url, secret)
        if secret is None:
            self.out(f"callbacks of {args.name!r} stopped")
        else:
            self.out(f"callbacks of {args.name!r} go to {args.url}")
            self.out(f"signing secret (shown once): {secret}")
        return 0

    def cmd_user_create(self, args: argparse.Namespace) -> int:
        db = self.database(args)
        password = read_secret("password", self.environ, self.stdin)
        check_password_policy(password)
        user = db.run_sync(
            "create_user",
            acc.create_user,
            args.account,
            args.login,
            args.role,
            hash_secret(password),
            time.time(),
            args.email,
        )
        self.out(f"user {user.login!r} created in {user.account.name!r} with role {user.role}")
        return 0

    def cmd_smsc_sim(self, args: argparse.Namespace) -> int:
        from gatewayd.simrun import run_simulator

        return run_simulator(args, self._reactor(), self.stderr)

    def cmd_send(self, args: argparse.Namespace) -> int:
        from gatewayd.control_client import send

        return send(self.config(args), args, self.out)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gatewayd", description="SMPP gateway daemon.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, handler: Any, parent: Any = sub) -> argparse.ArgumentParser:
        c: argparse.ArgumentParser = parent.add_parser(name, help=help, description=help)
        c.set_defaults(handler=handler)
        return c

    def with_config(c: argparse.ArgumentParser) -> argparse.ArgumentParser:
        c.add_argument("-c", "--config", required=True, metavar="FILE", help="the TOML config")
        return c

    with_config(command("run", "run the daemon in the foreground", "cmd_run"))
    with_config(command("check-config", "validate a config file", "cmd_check_config"))
    db = sub.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True, metavar="DB_COMMAND"
    )
    with_config(command("upgrade", "migrate the schema to this release", "cmd_db_upgrade", db))
    with_config(command("current", "show the schema revision", "cmd_db_current", db))
    register_retention(db, command, with_config)
    account = sub.add_parser("account", help="accounts").add_subparsers(
        dest="account_command", required=True, metavar="ACCOUNT_COMMAND"
    )
    c = with_config(
        command(
            "create",
            "create an account; an SMPP password is read from stdin or $GATEWAYD_PASSWORD",
            "cmd_account_create",
            account,
        )
    )
    c.add_argument("--name", required=True)
    c.add_argument("--kind", choices=["customer", "operator"], default="customer")
    c.add_argument("--smpp-system-id", metavar="ID")
    c.add_argument(
        "--smpp-max-binds",
        type=int,
        metavar="N",
        help="simultaneous SMPP binds (default: [smpp_server] max_binds_per_account)",
    )
    c.add_argument(
        "--smpp-tps",
        type=float,
        metavar="N",
        help="messages per second over all binds, 0 for unlimited",
    )
    c.add_argument(
        "--smpp-allow",
        action="append",
        default=[],
        metavar="CIDR",
        help="a network the account may bind from; repeat it; none means anywhere",
    )
    c = with_config(
        command(
            "callback",
            "set (or with --remove, drop) the account's HTTP callback for receipts and MO;"
            " a new signing secret is printed once",
            "cmd_account_callback",
            account,
        )
    )
    c.add_argument("--name", required=True, metavar="ACCOUNT")
    target = c.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="http:// or https:// URL that receives the POSTs")
    target.add_argument("--remove", action="store_true", help="stop the callbacks")
    user = sub.add_parser("user", help="console users").add_subparsers(
        dest="user_command", required=True, metavar="USER_COMMAND"
    )
    c = with_config(
        command(
            "create",
            "create a console user; the password is read from stdin or $GATEWAYD_PASSWORD",
            "cmd_user_create",
            user,
        )
    )
    c.add_argument("--account", required=True, metavar="NAME")
    c.add_argument("--login", required=True)
    c.add_argument("--role", required=True, choices=sorted(acc.ROLES))
    c.add_argument("--email", metavar="ADDRESS", help="where a manager gets fair-use alerts")
    c = command("smsc-sim", "run the built-in SMSC simulator", "cmd_smsc_sim")
    c.add_argument(
        "--listen",
        required=True,
        metavar="ENDPOINT",
        help="Twisted endpoint, e.g. tcp:2776:interface=127.0.0.1",
    )
    c.add_argument(
        "--delivery-delay",
        type=float,
        metavar="SECONDS",
        help="seconds before a receipt is sent (default 1)",
    )
    for state in ("delivered", "undeliverable", "expired", "rejected"):
        c.add_argument(
            f"--{state}-weight",
            type=float,
            metavar="W",
            help=f"relative share of {state} receipts (default: 1 for delivered, 0 for the others)",
        )
    c.add_argument(
        "--throttled-rate",
        type=float,
        metavar="R",
        help="share of submits answered ESME_RTHROTTLED, 0 to 1",
    )
    c.add_argument(
        "--system-error-rate",
        type=float,
        metavar="R",
        help="share of submits answered ESME_RSYSERR, 0 to 1",
    )
    c.add_argument(
        "--drop-rate",
        type=float,
        metavar="R",
        help="share of requests on which the connection is dropped, 0 to 1",
    )
    c.add_argument(
        "--drop-after",
        type=int,
        metavar="N",
        help="drop each connection after N answered requests (0: never)",
    )
    c.add_argument(
        "--slow-rate",
        type=float,
        metavar="R",
        help="share of submits answered only after --slow-delay, 0 to 1",
    )
    c.add_argument(
        "--slow-delay",
        type=float,
        metavar="SECONDS",
        help="how late the --slow-rate share of submits is answered (default 0)",
    )
    c = with_config(command("send", "send one SMS through the running daemon", "cmd_send"))
    c.add_argument("--to", required=True, metavar="NUMBER", help="with its country code")
    c.add_argument("--text", required=True)
    c.add_argument("--account", metavar="NAME", help="default: the demo customer account")
    c.add_argument("--sender", default="")
    c.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for a final status (0: do not wait)",
    )
    register(sub, command, with_config, account)
    register_billing(sub, command, with_config)
    register_fleet(sub, command, with_config)
    return p


def main(
    argv: Sequence[str],
    reactor: Callable[[], Any],
    environ: Mapping[str, str],
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
) -> int:
    args = _parser().parse_args(argv)
    cli = Cli(environ, stdin, stdout, stderr, reactor)
    try:
        handler = args.handler
        result: int = handler(cli, args) if callable(handler) else getattr(cli, handler)(args)
        return result
    except ConfigError as e:
        print(f"gatewayd: error: {e.message}", file=stderr)
        return EXIT_USAGE
    except GatewayError as e:
        print(f"gatewayd: error: {e.message}", file=stderr)
        return EXIT_ERROR
    except SQLAlchemyError as e:
        reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        print(f"gatewayd: error: database: {reason}", file=stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
