"""Routing rules to and from plain mappings: the TOML config and the database's JSON ``spec``.

The shape, one table per rule, in order::

    [[routing.rules]]
    name = "fr-mobile"                       # required, unique, at most 64 characters
    prefixes = ["336", "337"]                # E.164 digits, no '+'
    operators = ["orange-fr"]                # names from the number classifier
    regex = "336[0-9]{8}"                    # Python re, full match on the E.164 digits
    accounts = ["Demo SARL"]
    groups = ["resellers"]
    senders = ["ACME"]
    message_class = "transactional"          # or "bulk"
    window = { days = ["mon", "fri"], from = "07:00", to = "22:00", tz = "Europe/Paris" }
    failover = ["orange-fr", "sfr"]          # exactly one action:
    # connector = "orange-fr"
    # balance = { orange-fr = 3, sfr = 1 }   # positive integer weights
    # reject = { status = "ESME_RINVDSTADR", reason = "no route to Mali" }
    resend = { via = "backup", states = ["undeliverable", "expired"] }

    [[mo.rules]]
    address = "36001"
    keyword = "STOP"                         # optional
    account = "Demo SARL"

Criteria are optional, but a given list must not be empty (an empty list would match nothing,
which is always a mistake). ``window.days`` defaults to every day and ``from``/``to`` (both or
neither) to the whole day; ``tz`` is required because the gateway has no local time of its own.
``from``/``to`` may be "HH:MM" strings or TOML local times. A reject ``status`` is an SMPP status
name (any case) or number (``11``, ``"0x0B"``), never 0. Resend states are failed final states
(undeliverable, expired, rejected, unknown); a Reject rule cannot resend, nor a Connector rule
through its own connector. :func:`rule_to_mapping` writes only JSON types, so the same mapping
goes into the database. Errors raise ``ValueError("<where>[<index>].<key>: <reason>")``;
whether connectors exist is the caller's check (:func:`gatewayd.routing.table.connectors_used`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import time
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gatewayd.routing.mo import MoRule, fold_keyword, normalise_address
from gatewayd.routing.table import (
    ALL_DAYS,
    DAY_NAMES,
    Action,
    Balance,
    Connector,
    Failover,
    Match,
    MessageClass,
    Reject,
    Resend,
    Rule,
    Window,
    day_names,
    hhmm,
)
from gatewayd.smpp.constants import STATUS_NAMES
from gatewayd.status import FAILED, Status

ACTION_KEYS = ("connector", "balance", "failover", "reject")
LIST_KEYS = ("prefixes", "operators", "accounts", "groups", "senders")
RULE_KEYS = frozenset(
    {"name", *LIST_KEYS, "regex", "message_class", "window", *ACTION_KEYS, "resend"}
)
RESEND_STATES = frozenset(str(state) for state in (*FAILED, Status.UNKNOWN))
#: The database column holding a rule's name is 64 characters wide.
MAX_NAME = 64
_HHMM = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_STATUS_BY_NAME = {name.lower(): value for value, name in STATUS_NAMES.items()}
_MATCH_ANY = " (leave the key out to match any)"
T = TypeVar("T")


class _Invalid(Exception):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(key, reason)
        self.key = key
        self.reason = reason


def parse_rules(raw: Sequence[Mapping[str, object]], where: str) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    first_of: dict[str, int] = {}
    for index, item in enumerate(raw):
        rule = _at(where, index, _parse_rule, item)
        if rule.name in first_of:
            taken = f"already the name of {where}[{first_of[rule.name]}]"
            raise ValueError(f"{where}[{index}].name: {rule.name!r} is {taken}")
        first_of[rule.name] = index
        rules.append(rule)
    return tuple(rules)


def parse_mo_rules(raw: Sequence[Mapping[str, object]], where: str) -> tuple[MoRule, ...]:
    rules: list[MoRule] = []
    first_of: dict[tuple[str, str | None], int] = {}
    for index, item in enumerate(raw):
        rule = _at(where, index, _parse_mo_rule, item)
        key = (normalise_address(rule.address), rule.keyword)
        if key in first_of:
            field = "address" if rule.keyword is None else "keyword"
            taken = f"{where}[{first_of[key]}] has the same address and keyword"
            raise ValueError(f"{where}[{index}].{field}: {taken}")
        first_of[key] = index
        rules.append(rule)
    return tuple(rules)


def _at(where: str, index: int, parse: Callable[[object], T], item: object) -> T:
    try:
        return parse(item)
    except _Invalid as error:
        key = f".{error.key}" if error.key else ""
        raise ValueError(f"{where}[{index}]{key}: {error.reason}") from None


def _parse_rule(item: object) -> Rule:
    table = _table(item, "", RULE_KEYS)
    name = _text(table.get("name"), "name")
    if len(name) > MAX_NAME:
        raise _Invalid("name", f"at most {MAX_NAME} characters")
    action = _parse_action(table)
    resend = None if "resend" not in table else _parse_resend(table["resend"], action)
    return Rule(name, _parse_match(table), action, resend)


def _parse_match(table: Mapping[str, object]) -> Match:
    lists = {key: _texts(table[key], key, _MATCH_ANY) for key in LIST_KEYS if key in table}
    prefixes = lists.get("prefixes", ())
    for prefix in prefixes:
        if not (prefix.isascii() and prefix.isdigit() and len(prefix) <= 15):
            raise _Invalid("prefixes", f"{prefix!r} is not 1 to 15 digits (E.164 without '+')")
    regex = None
    if "regex" in table:
        pattern = _text(table["regex"], "regex")
        try:
            regex = re.compile(pattern)
        except re.error as error:
            raise _Invalid("regex", f"not a valid regular expression: {error}") from None
    message_class: MessageClass | None = None
    if "message_class" in table:
        value = table["message_class"]
        if value != "transactional" and value != "bulk":
            raise _Invalid("message_class", 'must be "transactional" or "bulk"')
        message_class = value
    window = None if "window" not in table else _parse_window(table["window"])
    return Match(
        prefixes=tuple(dict.fromkeys(prefixes)),
        operators=frozenset(lists.get("operators", ())),
        regex=regex,
        accounts=frozenset(lists.get("accounts", ())),
        groups=frozenset(lists.get("groups", ())),
        senders=frozenset(lists.get("senders", ())),
        message_class=message_class,
        window=window,
    )


def _parse_window(value: object) -> Window:
    table = _table(value, "window", frozenset({"days", "from", "to", "tz"}))
    days = ALL_DAYS
    if "days" in table:
        names = _texts(table["days"], "window.days", " (leave it out for every day)")
        unknown = [name for name in names if name.lower() not in DAY_NAMES]
        if unknown:
            raise _Invalid("window.days", f"{unknown[0]!r} is not one of {', '.join(DAY_NAMES)}")
        days = frozenset(DAY_NAMES.index(name.lower()) for name in names)
    if ("from" in table) != ("to" in table):
        raise _Invalid("window", "give both from and to, or neither for the whole day")
    start = _minutes(table.get("from", "00:00"), "window.from")
    end = _minutes(table.get("to", "00:00"), "window.to")
    if "tz" not in table:
        raise _Invalid("window.tz", 'required, a time zone name such as "Africa/Bamako"')
    tz = _text(table["tz"], "window.tz")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Invalid("window.tz", f"unknown time zone {tz!r}") from None
    return Window(days, start, end, zone)


def _minutes(value: object, key: str) -> int:
    if isinstance(value, time):
        if value.second or value.microsecond or value.tzinfo is not None:
            raise _Invalid(key, "whole minutes of local time only")
        return value.hour * 60 + value.minute
    found = _HHMM.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise _Invalid(key, f'{value!r} is not a time of day "HH:MM" (00:00 to 23:59)')
    return int(found[1]) * 60 + int(found[2])


def _parse_action(table: Mapping[str, object]) -> Action:
    present = [key for key in ACTION_KEYS if key in table]
    if not present:
        raise _Invalid("", f"needs one action: {', '.join(ACTION_KEYS)}")
    if len(present) > 1:
        raise _Invalid(present[1], f"a rule has one action and this one also has {present[0]}")
    key = present[0]
    value = table[key]
    if key == "connector":
        return Connector(_text(value, key))
    if key == "failover":
        names = _texts(value, key)
        if len(set(names)) != len(names):
            raise _Invalid(key, "a connector is listed twice")
        return Failover(names)
    if key == "balance":
        return Balance(_weights(value))
    reject = _table(value, key, frozenset({"status", "reason"}))
    reason = _text(reject["reason"], "reject.reason", empty=True) if "reason" in reject else ""
    return Reject(_status(reject.get("status")), reason)


def _weights(value: object) -> tuple[tuple[str, int], ...]:
    table = _table(value, "balance", None)
    if not table:
        raise _Invalid("balance", "needs at least one connector = weight")
    members = []
    for name, weight in table.items():
        if not name:
            raise _Invalid("balance", "a connector name is empty")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0:
            raise _Invalid(f"balance.{name}", f"must be a positive integer weight, not {weight!r}")
        members.append((name, weight))
    return tuple(members)


def _status(value: object) -> int:
    key = "reject.status"
    if value is None:
        raise _Invalid(key, "required: an SMPP status name or number")
    if isinstance(value, str):
        status = _STATUS_BY_NAME.get(value.strip().lower())
        if status is None:
            try:
                status = int(value.strip(), 0)
            except ValueError:
                raise _Invalid(key, f"{value!r} is not an SMPP status name or number") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        status = value
    else:
        raise _Invalid(key, f"{value!r} is not an SMPP status name or number")
    if not 0 < status <= 0xFFFFFFFF:
        raise _Invalid(key, f"{value!r} is not a non-zero 32-bit command_status")
    return status


def _parse_resend(value: object, action: Action) -> Resend:
    table = _table(value, "resend", frozenset({"via", "states"}))
    via = _text(table.get("via"), "resend.via")
    states = _texts(table.get("states"), "resend.states")
    wrong = [state for state in states if state not in RESEND_STATES]
    if wrong:
        allowed = ", ".join(sorted(RESEND_STATES))
        raise _Invalid("resend.states", f"{wrong[0]!r} is not one of {allowed}")
    if isinstance(action, Reject):
        raise _Invalid("resend", "a rejected message is never sent, so it cannot be re-sent")
    if isinstance(action, Connector) and action.name == via:
        raise _Invalid("resend.via", "must be another connector than the rule's own")
    return Resend(via, frozenset(states))


def _parse_mo_rule(item: object) -> MoRule:
    table = _table(item, "", frozenset({"address", "keyword", "account"}))
    address = normalise_address(_text(table.get("address"), "address"))
    if not (address.isascii() and address.isalnum()):
        raise _Invalid("address", f"{address!r} is not a short code or number (letters, digits)")
    keyword = None
    if "keyword" in table:
        raw = _text(table["keyword"], "keyword")
        keyword = fold_keyword(raw)
        if not keyword or raw.split() != [raw]:
            raise _Invalid("keyword", f"{raw!r} is not one word with ASCII letters or digits")
    return MoRule(address, keyword, _text(table.get("account"), "account"))


def rule_to_mapping(rule: Rule) -> dict[str, object]:
    """The mapping :func:`parse_rules` reads back into ``rule``; JSON types only."""
    out: dict[str, object] = {"name": rule.name}
    match = rule.match
    if match.prefixes:
        out["prefixes"] = list(match.prefixes)
    if match.operators:
        out["operators"] = sorted(match.operators)
    if match.regex is not None:
        out["regex"] = match.regex.pattern
    for key, names in (
        ("accounts", match.accounts),
        ("groups", match.groups),
        ("senders", match.senders),
    ):
        if names:
            out[key] = sorted(names)
    if match.message_class is not None:
        out["message_class"] = match.message_class
    if match.window is not None:
        out["window"] = _window_mapping(match.window)
    out.update(_action_mapping(rule.action))
    if rule.resend is not None:
        out["resend"] = {"via": rule.resend.via, "states": sorted(rule.resend.states)}
    return out


def _window_mapping(window: Window) -> dict[str, object]:
    return {
        "days": day_names(window.days),
        "from": hhmm(window.start),
        "to": hhmm(window.end),
        "tz": window.zone.key,
    }


def _action_mapping(action: Action) -> dict[str, object]:
    if isinstance(action, Connector):
        return {"connector": action.name}
    if isinstance(action, Failover):
        return {"failover": list(action.connectors)}
    if isinstance(action, Balance):
        return {"balance": dict(action.members)}
    status = STATUS_NAMES.get(action.status, f"0x{action.status:08X}")
    return {"reject": {"status": status, "reason": action.reason}}


def mo_rule_to_mapping(rule: MoRule) -> dict[str, object]:
    out: dict[str, object] = {"address": rule.address}
    if rule.keyword is not None:
        out["keyword"] = rule.keyword
    out["account"] = rule.account
    return out


def _table(value: object, key: str, allowed: frozenset[str] | None) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _Invalid(key, "must be a table")
    for name in value:
        if not isinstance(name, str):
            raise _Invalid(key, f"{name!r} is not a key name")
        if allowed is not None and name not in allowed:
            raise _Invalid(f"{key}.{name}" if key else name, "unknown key")
    return value


def _text(value: object, key: str, empty: bool = False) -> str:
    if value is None:
        raise _Invalid(key, "required")
    if not isinstance(value, str):
        raise _Invalid(key, f"must be a string, not {value!r}")
    if not (empty or value.strip()):
        raise _Invalid(key, "must not be empty")
    return value


def _texts(value: object, key: str, hint: str = "") -> tuple[str, ...]:
    if value is None:
        raise _Invalid(key, "required, a list of strings")
    if not isinstance(value, list | tuple) or not value:
        raise _Invalid(key, f"must be a non-empty list of strings{hint}")
    return tuple(_text(item, key) for item in value)
