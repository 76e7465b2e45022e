"""The operator's day-to-day CLI commands: batches (through the running daemon), and, as
they come, routing and fair-use explanations and account settings. Registered into the
``gatewayd`` parser by :func:`register`; each handler takes the :class:`~gatewayd.cli.Cli`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gatewayd.cli import Cli

Command = Callable[..., argparse.ArgumentParser]
WithConfig = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def batch_action(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.control_client import call

    path = cli.config(args).control.socket
    done = call(path, "POST", f"/v1/batches/{args.batch_id}/{args.batch_command}")
    cli.out(f"batch {done['batch_id']}: {done['state']} ({done['affected']} message(s))")
    return 0


def register(sub: Any, command: Command, with_config: WithConfig) -> None:
    batch = sub.add_parser("batch", help="batches (campaigns)").add_subparsers(
        dest="batch_command", required=True, metavar="BATCH_COMMAND"
    )
    for name, help in (
        ("pause", "hold a batch's queued messages"),
        ("resume", "send a paused batch's messages again"),
        ("cancel", "cancel every message of a batch that is not sent yet"),
    ):
        c = with_config(command(name, f"{help} (through the running daemon)", batch_action, batch))
        c.add_argument("batch_id", type=int, metavar="BATCH_ID")
