"""``gatewayd fleet ...``: the operator provisions the fleet catalogue (plans, options), the
customers' lines and SIM pools, the eSIM permission, and sample consumption (no CDR feed
exists yet: ``fleet usage add`` stands in for one). See docs/fleet.md."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gatewayd.cli import Cli


def _run(cli: Cli, args: argparse.Namespace, fn: Any, *values: Any, **kw: Any) -> Any:
    return cli.database(args).run_sync(fn.__name__, fn, *values, **kw)


def plan_add(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.storage.fleet_orders import add_plan

    _run(cli, args, add_plan, args.code, args.name, args.range, args.blocked, args.data_mb,
         time.time(), voice_minutes=args.voice_minutes, sms=args.sms,
         monthly_fee=args.monthly_fee)  # fmt: skip
    cli.out(f"plan {args.code!r} added")
    return 0


def option_add(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.storage.fleet_orders import add_option

    _run(cli, args, add_option, args.code, args.name, args.kind, time.time())
    cli.out(f"option {args.code!r} added")
    return 0


def line_add(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.storage.fleet_orders import add_line

    _run(cli, args, add_line, args.account, args.msisdn, args.iccid, args.plan, time.time(),
         puk=args.puk, sim_kind=args.sim_kind, user_name=args.user, site=args.site,
         contract=args.contract, state=args.state, delivered_on=args.delivered_on)  # fmt: skip
    cli.out(f"line {args.msisdn} added to {args.account!r}")
    return 0


def line_list(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.storage.fleet_orders import all_lines

    rows = _run(cli, args, all_lines, args.account)
    for row in rows:
        cli.out(
            f"{row.account}\t{row.msisdn}\t{row.iccid}\t{row.state}\t{row.plan}\t{row.user_name}"
        )
    if not rows:
        cli.out("no line")
    return 0


def line_state(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.storage.fleet_orders import set_line_state

    _run(cli, args, set_line_state, args.msisdn, args.state, time.time())
    cli.out(f"line {args.msisdn}: {args.state}")
    return 0


def sim_add(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.storage.fleet_orders import add_sim

    _run(cli, args, add_sim, args.account, args.iccid, args.puk, time.time())
    cli.out(f"SIM {args.iccid} added to the pool of {args.account!r}")
    return 0


def esim(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.storage.fleet_orders import set_esim

    allowed = args.esim_choice == "allow"
    _run(cli, args, set_esim, args.account, allowed, time.time())
    cli.out(f"{args.account!r}: eSIM swap {'allowed' if allowed else 'not allowed'}")
    return 0


def usage_add(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.cli_ops import _when
    from gatewayd.storage.fleet_orders import add_usage

    _run(cli, args, add_usage, args.msisdn, args.kind, args.quantity, _when(args.at),
         in_bundle=not args.out_of_bundle, detail=args.detail)  # fmt: skip
    cli.out(f"line {args.msisdn}: {args.quantity} {args.kind} recorded")
    return 0


def register_fleet(sub: Any, command: Any, with_config: Any) -> None:
    fleet = sub.add_parser("fleet", help="mobile fleet provisioning").add_subparsers(
        dest="fleet_command", required=True, metavar="COMMAND"
    )

    def group(name: str, help: str) -> Any:
        return fleet.add_parser(name, help=help).add_subparsers(
            dest=f"fleet_{name}_command", required=True, metavar="COMMAND"
        )

    plan = group("plan", "the plan catalogue")
    c = with_config(command("add", "add a plan", plan_add, plan))
    c.add_argument("--code", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--range", required=True, choices=["data_only", "unlimited"])
    c.add_argument("--blocked", action="store_true", help="service stops at the bundle")
    c.add_argument("--data-mb", type=int, default=0, help="the data bundle (0: none)")
    c.add_argument("--voice-minutes", type=int, default=None, help="default: unlimited")
    c.add_argument("--sms", type=int, default=None, help="default: unlimited")
    c.add_argument("--monthly-fee", type=int, default=0, help="in cents")
    option = group("option", "the option catalogue")
    c = with_config(command("add", "add an option", option_add, option))
    c.add_argument("--code", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--kind", required=True, choices=["roaming", "data", "sms", "other"])
    line = group("line", "customers' lines")
    c = with_config(command("add", "provision a line", line_add, line))
    c.add_argument("--account", required=True)
    c.add_argument("--msisdn", required=True, help="with the country code")
    c.add_argument("--iccid", required=True)
    c.add_argument("--plan", required=True, help="a plan code")
    c.add_argument("--puk", default="")
    c.add_argument("--sim-kind", default="physical", choices=["physical", "esim"])
    c.add_argument("--user", default="", help="the line's user name")
    c.add_argument("--site", default="")
    c.add_argument("--contract", default="")
    c.add_argument("--state", default="active",
                   choices=["active", "suspended", "in_progress", "cancelled"])  # fmt: skip
    c.add_argument("--delivered-on", default=None, metavar="YYYY-MM-DD")
    c = with_config(command("list", "list lines", line_list, line))
    c.add_argument("--account", default=None)
    c = with_config(command("state", "set a line's state (delivered, cancelled)", line_state, line))
    c.add_argument("--msisdn", required=True)
    c.add_argument("--state", required=True,
                   choices=["active", "suspended", "in_progress", "cancelled"])  # fmt: skip
    sim = group("sim", "customers' SIM pools")
    c = with_config(command("add", "put a SIM in a customer's pool", sim_add, sim))
    c.add_argument("--account", required=True)
    c.add_argument("--iccid", required=True)
    c.add_argument("--puk", default="")
    c = with_config(command("esim", "allow or refuse SIM swaps to eSIM", esim, fleet))
    c.add_argument("esim_choice", choices=["allow", "deny"])
    c.add_argument("--account", required=True)
    usage = group("usage", "consumption records (sample data: no CDR feed yet)")
    c = with_config(command("add", "record consumption on a line", usage_add, usage))
    c.add_argument("--msisdn", required=True)
    c.add_argument("--kind", required=True, choices=["voice", "sms", "mms", "data"])
    c.add_argument("--quantity", type=int, required=True,
                   help="voice: seconds; sms, mms: messages; data: kB")  # fmt: skip
    c.add_argument("--out-of-bundle", action="store_true")
    c.add_argument("--detail", default="", help="the other party or the zone")
    c.add_argument("--at", default=None, help="ISO date and time with offset (default: now)")
