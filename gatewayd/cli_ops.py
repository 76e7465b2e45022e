"""The operator's day-to-day CLI commands: batches (through the running daemon), routing rules
and their explanation, and the accounts' routing settings and sender IDs. Registered into the
``gatewayd`` parser by :func:`register`; each handler takes the :class:`~gatewayd.cli.Cli`.
Every change is recorded in the audit log with the Unix user who made it."""

from __future__ import annotations

import argparse
import getpass
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gatewayd.errors import ValidationError

if TYPE_CHECKING:
    from gatewayd.cli import Cli
    from gatewayd.routing.account import AccountPolicy
    from gatewayd.routing.numbers import Destination
    from gatewayd.storage.database import Database

Command = Callable[..., argparse.ArgumentParser]
WithConfig = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def batch_action(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.control_client import call

    path = cli.config(args).control.socket
    done = call(path, "POST", f"/v1/batches/{args.batch_id}/{args.batch_command}")
    cli.out(f"batch {done['batch_id']}: {done['state']} ({done['affected']} message(s))")
    return 0


def _when(text: str | None) -> float:
    if not text:
        return time.time()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--at: {text!r} is not an ISO date and time") from None
    if moment.tzinfo is None:
        raise ValidationError("--at needs a time zone offset, e.g. 2026-11-23T22:30+00:00")
    return moment.timestamp()


def route_explain(cli: Cli, args: argparse.Namespace) -> int:
    _explain_route(cli, args, cli.database(args))
    return 0


def _explain_route(
    cli: Cli, args: argparse.Namespace, db: Database
) -> tuple[AccountPolicy, Destination]:
    """Print the number's classification and the routing table's reasoning."""
    from gatewayd.config.policy import number_plan, routing_table
    from gatewayd.routing.acceptance import Acceptance
    from gatewayd.routing.numbers import InvalidNumber
    from gatewayd.routing.rules_parse import parse_rules
    from gatewayd.storage.route_rules import load_route_rules

    config = cli.config(args)
    _, specs = db.run_sync("route_rules", load_route_rules)
    stored = parse_rules(specs, "route_rules")
    account = _policy_of(db, args.account, "--account")
    down = set(args.down)
    acceptance = Acceptance(
        number_plan(config, args.config),
        routing_table(config, args.config, stored),
        lambda name: name not in down,
    )
    e164 = acceptance.plan.normalise(args.to, account.country)
    if isinstance(e164, InvalidNumber):
        raise ValidationError(f"--to: {e164.reason}")
    destination = acceptance.plan.classify(e164, account.country)
    cli.out(
        f"{args.to} -> +{e164}: {destination.scope} for {account.name!r}, region "
        f"{destination.region or '?'}, operator {destination.operator or 'unknown'}"
    )
    query = acceptance.query(account, destination, args.sender, args.message_class, _when(args.at))
    for line in acceptance.table.explain(query, acceptance.is_bound).lines:
        cli.out(line)
    if not down:
        cli.out("(every connector taken as bound; --down NAME to see failover)")
    return account, destination


def policy_explain(cli: Cli, args: argparse.Namespace) -> int:
    """The route (as ``route explain``), then the fair-use decision for one more message to
    this recipient now, with the rules and the counters behind it. Nothing is written."""
    from sqlalchemy import text

    from gatewayd.config.policy import fair_use_policy
    from gatewayd.routing.fairuse import Reject, Usage, evaluate
    from gatewayd.routing.fairuse_rules import local_period
    from gatewayd.smpp.text import segments
    from gatewayd.storage.fair_use import fair_use_view

    db = cli.database(args)
    account, destination = _explain_route(cli, args, db)
    config = cli.config(args)
    policy = fair_use_policy(config, args.config)
    now = _when(args.at)
    plan, rules, state, tz = db.run_sync("view", fair_use_view, policy, args.account, now)
    e164 = destination.e164
    with db.session() as session:
        known = session.execute(
            text(
                "SELECT 1 FROM fair_use_recipients r JOIN accounts a ON a.id = r.account_id"
                " WHERE a.name = :name AND r.period = :period AND r.msisdn = :to"
            ),
            {"name": account.name, "period": local_period(now, tz), "to": e164},
        ).first()
    parts = segments(args.text).parts
    usage = Usage(parts, destination.scope, known is None, e164)
    outcome = evaluate(rules, state, usage, now, tz)
    cli.out(f"fair use: plan {plan!r}, time zone {tz.key}, period {outcome.state.period}")
    for rule, value in rules.to_mapping().items():
        cli.out(f"  rule {rule} = {value}")
    cli.out(
        f"  counters: {state.messages} message(s), {state.parts} part(s), "
        f"{state.distinct} distinct recipient(s), spend {state.spend}, credit {state.credit}"
    )
    for check in outcome.checks:
        limit = "none" if check.limit is None else check.limit
        cli.out(
            f"  check {check.rule}: {check.value} against {limit}: {'ok' if check.ok else 'over'}"
        )
    decision = outcome.decision
    if isinstance(decision, Reject):
        cli.out(f"decision: refused by {decision.rule}: {decision.reason}")
    else:
        flags = [
            n
            for n, on in (("out of bundle", decision.out_of_bundle), ("review", decision.review))
            if on
        ]
        cli.out(
            f"decision: accepted, cost {decision.cost}"
            + (f" ({', '.join(flags)})" if flags else "")
        )
    return 0


def _policy_of(db: Database, name: str, option: str) -> AccountPolicy:
    """The named account's routing settings; the error names the command-line option."""
    from gatewayd.storage.account_policy import load_policies

    policies = db.run_sync("policies", load_policies).values()
    found = next((p for p in policies if p.name == name), None)
    if found is None:
        raise ValidationError(f"{option}: no account {name!r}")
    return found


def account_fair_use(cli: Cli, args: argparse.Namespace) -> int:
    from decimal import Decimal, InvalidOperation

    from gatewayd.storage.fair_use import account_action

    amount = None
    if args.fair_use_action == "top-up":
        try:
            amount = Decimal(args.amount)
        except InvalidOperation:
            raise ValidationError(f"--amount: {args.amount!r} is not an amount") from None
    db = cli.database(args)
    action, now = args.fair_use_action, time.time()
    state = db.run_sync("fair_use", account_action, args.name, action, amount, _actor(), now)
    cli.out(
        f"{args.name!r}: {args.fair_use_action} done; suspended until "
        f"{state.suspended_until or '-'}, review {'yes' if state.review else 'no'}, "
        f"credit {state.credit}"
    )
    return 0


def route_add(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.storage.route_rules import add_route_rule

    try:
        spec = json.loads(args.rule)
    except ValueError:
        raise ValidationError("--rule must be a JSON object in the config's shape") from None
    if not isinstance(spec, dict):
        raise ValidationError("--rule must be a JSON object in the config's shape")
    from gatewayd.config.policy import routing_rules
    from gatewayd.routing.rules_parse import parse_rules
    from gatewayd.routing.table import connectors_used

    config = cli.config(args)
    routing_rules(config, args.config)
    try:
        missing = connectors_used(parse_rules([spec], "rule")) - set(config.connectors)
    except ValueError as error:
        raise ValidationError(str(error)) from None
    if missing:
        raise ValidationError(f"--rule: no connector named {sorted(missing)[0]!r}")
    db = cli.database(args)
    db.run_sync("add_route", add_route_rule, spec, args.position, _actor(), time.time())
    cli.out(f"routing rule {spec.get('name')!r} added; running daemons apply it within seconds")
    return 0


def route_remove(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.storage.route_rules import remove_route_rule

    db = cli.database(args)
    db.run_sync("remove_route", remove_route_rule, args.name, _actor(), time.time())
    cli.out(f"routing rule {args.name!r} removed")
    return 0


def route_list(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.storage.route_rules import load_route_rules

    config = cli.config(args)
    _, specs = cli.database(args).run_sync("route_rules", load_route_rules)
    for spec in specs:
        cli.out(f"database  {json.dumps(spec, sort_keys=True)}")
    for spec in config.routing.rules:
        cli.out(f"config    {json.dumps(dict(spec), sort_keys=True, default=str)}")
    cli.out(f"default   {config.routing.default_connector or '(none)'}")
    return 0


def account_set(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.storage.account_policy import SETTINGS, update_settings

    changes = {key: getattr(args, key) for key in SETTINGS if getattr(args, key) is not None}
    if not changes:
        raise ValidationError("nothing to set: give at least one of --" + ", --".join(SETTINGS))
    db = cli.database(args)
    policy = db.run_sync("settings", update_settings, args.name, changes, _actor(), time.time())
    pending = f", {policy.pending_plan} from {policy.plan_effective}" if policy.pending_plan else ""
    cli.out(
        f"{policy.name!r}: country {policy.country or '-'}, time zone {policy.timezone}, "
        f"groups {','.join(sorted(policy.groups)) or '-'}, share {policy.share}, "
        f"plan {policy.plan or '(default)'}{pending}"
    )
    return 0


def account_sender(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.routing.senders import sender_error
    from gatewayd.storage.account_policy import add_sender, remove_sender

    db = cli.database(args)
    if args.sender_command == "add":
        if reason := sender_error(args.sender):
            raise ValidationError(f"sender {args.sender!r}: {reason}")
        db.run_sync("add_sender", add_sender, args.name, args.sender.strip(), _actor(), time.time())
    elif args.sender_command == "remove":
        db.run_sync("remove_sender", remove_sender, args.name, args.sender, _actor(), time.time())
    found = _policy_of(db, args.name, "--name")
    allowed = ", ".join(sorted(found.senders)) or "any well-formed sender ID (no list)"
    cli.out(f"{args.name!r} may send as: {allowed}")
    return 0


def register(sub: Any, command: Command, with_config: WithConfig, account: Any) -> None:
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
    _route_commands(sub, command, with_config)
    _policy_commands(sub, command, with_config)
    _account_commands(command, with_config, account)


def _policy_commands(sub: Any, command: Command, with_config: WithConfig) -> None:
    policy = sub.add_parser("policy", help="fair use").add_subparsers(
        dest="policy_command", required=True, metavar="POLICY_COMMAND"
    )
    c = with_config(
        command(
            "explain",
            "show the route and the fair-use decision for one more message, with the counters",
            policy_explain,
            policy,
        )
    )
    _message_arguments(c)
    c.add_argument("--text", default="x", help="the text, for its number of parts")


def _message_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("--account", required=True, metavar="NAME")
    c.add_argument("--to", required=True, metavar="NUMBER")
    c.add_argument("--sender", default="")
    c.add_argument(
        "--class", dest="message_class", choices=["transactional", "bulk"], default="transactional"
    )
    c.add_argument("--at", metavar="ISO_TIME", help="the time to decide at (default: now)")
    c.add_argument(
        "--down",
        action="append",
        default=[],
        metavar="CONNECTOR",
        help="take this connector as not bound; repeat it",
    )


def _route_commands(sub: Any, command: Command, with_config: WithConfig) -> None:
    route = sub.add_parser("route", help="routing rules").add_subparsers(
        dest="route_command", required=True, metavar="ROUTE_COMMAND"
    )
    c = with_config(
        command("explain", "show the route a message would take, and why", route_explain, route)
    )
    _message_arguments(c)
    c = with_config(
        command("add", "add a routing rule to the database (before the config's)", route_add, route)
    )
    c.add_argument(
        "--rule",
        required=True,
        metavar="JSON",
        help='e.g. {"name": "ml", "prefixes": ["223"], "connector": "orange"}',
    )
    c.add_argument("--position", type=int, metavar="N", help="0 = first (default: last)")
    c = with_config(
        command("remove", "remove a routing rule from the database", route_remove, route)
    )
    c.add_argument("name", metavar="NAME")
    with_config(
        command("list", "list the routing rules in the order they are tried", route_list, route)
    )


def _account_commands(command: Command, with_config: WithConfig, account: Any) -> None:
    c = with_config(
        command("set", "change an account's routing and fair-use settings", account_set, account)
    )
    c.add_argument("--name", required=True, metavar="ACCOUNT")
    c.add_argument("--country", metavar="CC", help="ISO country for national numbers ('' to clear)")
    c.add_argument(
        "--timezone", metavar="ZONE", help="IANA zone for the counters, e.g. Africa/Bamako"
    )
    c.add_argument("--groups", metavar="G1,G2", help="routing groups")
    c.add_argument("--share", metavar="N", help="weight of its turn on shared connectors (1-1000)")
    c.add_argument("--plan", metavar="PLAN", help="takes effect on the 1st of next month")
    c.add_argument(
        "--alert-msisdn", dest="alert_msisdn", metavar="NUMBER", help="quota alerts by SMS"
    )
    c.add_argument(
        "--fair-use", dest="fair_use", metavar="JSON", help="overrides of the plan's rules"
    )
    for action, help in (
        ("lift", "lift a fair-use suspension early"),
        ("clear-review", "clear the fair-use review flag"),
        ("top-up", "add prepaid credit"),
    ):
        c = with_config(command(action, f"{help} (audited)", account_fair_use, account))
        c.set_defaults(fair_use_action=action)
        c.add_argument("--name", required=True, metavar="ACCOUNT")
        if action == "top-up":
            c.add_argument("--amount", required=True, help="in the plan's currency, e.g. 25.00")
    for name, help in (
        ("add", "grant a sender ID"),
        ("remove", "revoke a sender ID"),
        ("list", "list the sender IDs"),
    ):
        c = with_config(command(f"sender-{name}", f"{help} of an account", account_sender, account))
        c.set_defaults(sender_command=name)
        c.add_argument("--name", required=True, metavar="ACCOUNT")
        if name != "list":
            c.add_argument("sender", metavar="SENDER")
