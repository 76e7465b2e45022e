"""The routing table: ordered rules that choose the connector for a message (issue #5).

Pure domain code: no Twisted and no I/O. Time comes in as ``RouteQuery.now`` (epoch seconds) and
whether a connector is bound comes in as ``is_bound``. Rules come from the config or the database
through :mod:`gatewayd.routing.rules_parse`; MO routing is in :mod:`gatewayd.routing.mo`.

Decisions the issue left open:

- Rules are tried in order; the first rule whose criteria all hold decides and later rules are
  not tried. A rule without criteria matches every message. When no rule matches, the default
  connector takes the message; without one it is refused with ESME_RINVDSTADR.
- Messages are store-and-forward, so an unbound connector means "queue and wait", not "fail".
  ``Connector`` always routes to its connector. ``Failover`` takes the first bound connector in
  list order and, when none is bound, the first of the list. ``Balance`` picks among the bound
  members and, when none is bound, the member with the highest weight (the first on ties)
  without moving the round-robin. ``Routed.bound`` is False when the message will wait.
- Balance is smooth weighted round-robin (as in nginx): each pick adds every bound member's
  weight to its score, takes the highest score (the first on ties) and subtracts the bound
  members' total weight from it. While the bound set is stable, every run of ``sum(weights)``
  picks gives each member exactly ``weight`` picks, interleaved rather than in bursts. Scores
  live in the table object, per rule, from zero, so a new table always picks the same sequence;
  :meth:`RoutingTable.explain` shows the next pick without taking it.
- ``Routed.candidates`` are the connectors to try, in order, after a routing-error rejection:
  for Failover those listed after the chosen one (ones skipped as unbound are not tried again),
  for Balance the other members in configured order, none for Connector.
  :meth:`RoutingTable.next_after` takes the first bound candidate, or queues on the first one.
- A time window uses the wall clock of its time zone: ``from`` to ``to`` on each listed day, the
  day being the one the window starts on (fri 22:00-06:00 covers Saturday 03:00). A ``to``
  earlier than ``from`` crosses midnight; equal means 24 hours. Across a DST change the wall
  clock decides: a window starting in the skipped hour starts when the clock resumes.
- Criteria are checked in a fixed order (prefix, operator, regex, account, group, sender,
  message class, window); :meth:`RoutingTable.explain` names the first one that failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from gatewayd.smpp.constants import ESME_RINVDSTADR, status_name

MessageClass = Literal["transactional", "bulk"]
IsBound = Callable[[str], bool]
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAYS = frozenset(range(7))
#: What a message gets when no rule matches and there is no default connector.
NO_ROUTE_STATUS = ESME_RINVDSTADR


@dataclass(frozen=True, slots=True)
class Window:
    """Local times ``start`` to ``end`` (minutes after midnight) on ``days`` (0 = Monday)."""

    days: frozenset[int]
    start: int
    end: int
    zone: ZoneInfo

    def contains(self, now: float) -> bool:
        day, minute = _local_minute(self.zone, int(now // 60))
        if self.start < self.end:
            return day in self.days and self.start <= minute < self.end
        if minute >= self.start and day in self.days:
            return True
        # The part after midnight belongs to the day before.
        return minute < self.end and (day - 1) % 7 in self.days

    def describe(self) -> str:
        days = "every day" if self.days == ALL_DAYS else "/".join(day_names(self.days))
        return f"{days} {hhmm(self.start)}-{hhmm(self.end)} {self.zone.key}"

    def local_time(self, now: float) -> str:
        local = datetime.fromtimestamp(now, self.zone)
        return f"{DAY_NAMES[local.weekday()]} {local:%H:%M} {self.zone.key}"


@lru_cache(maxsize=256)
def _local_minute(zone: ZoneInfo, epoch_minute: int) -> tuple[int, int]:
    """(weekday, minute of the day) on the wall clock of ``zone``. Cached because every window
    rule tried for a message asks again for the same minute (a third of the cost of a miss);
    exact since every zone offset in use since 1972 is a whole number of minutes."""
    local = datetime.fromtimestamp(epoch_minute * 60, zone)
    return local.weekday(), local.hour * 60 + local.minute


def day_names(days: Iterable[int]) -> list[str]:
    return [DAY_NAMES[day] for day in sorted(days)]


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteQuery:
    """What routing knows about a message. ``destination`` is E.164 digits without '+'."""

    destination: str
    operator: str | None
    account: str
    groups: frozenset[str]
    sender: str
    message_class: MessageClass
    now: float


@dataclass(frozen=True, slots=True)
class Match:
    """Every criterion is optional (empty or None); all the given ones must hold."""

    prefixes: tuple[str, ...] = ()
    operators: frozenset[str] = frozenset()
    regex: re.Pattern[str] | None = None
    accounts: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    senders: frozenset[str] = frozenset()
    message_class: MessageClass | None = None
    window: Window | None = None

    def holds(self, q: RouteQuery) -> bool:
        # The hot path: route() calls this for every rule until one matches.
        return (
            (not self.prefixes or q.destination.startswith(self.prefixes))
            and (not self.operators or q.operator in self.operators)
            and (self.regex is None or self.regex.fullmatch(q.destination) is not None)
            and (not self.accounts or q.account in self.accounts)
            and (not self.groups or not self.groups.isdisjoint(q.groups))
            and (not self.senders or q.sender in self.senders)
            and (self.message_class is None or q.message_class == self.message_class)
            and (self.window is None or self.window.contains(q.now))
        )

    def mismatch(self, q: RouteQuery) -> str | None:
        """Why the first failing criterion failed, in the order of :meth:`holds`; None if all
        hold."""
        if self.prefixes and not q.destination.startswith(self.prefixes):
            return f"prefix {'/'.join(self.prefixes)} did not match {q.destination}"
        if self.operators and q.operator not in self.operators:
            return f"operator {_quoted_or(q.operator, 'unknown')} is not {_names(self.operators)}"
        if self.regex is not None and self.regex.fullmatch(q.destination) is None:
            return f"regex {self.regex.pattern} did not match {q.destination}"
        if self.accounts and q.account not in self.accounts:
            return f"account {q.account!r} is not {_names(self.accounts)}"
        if self.groups and self.groups.isdisjoint(q.groups):
            have = _names(q.groups) if q.groups else "no groups"
            return f"account groups ({have}) include none of {_names(self.groups)}"
        if self.senders and q.sender not in self.senders:
            return f"sender {q.sender!r} is not {_names(self.senders)}"
        if self.message_class is not None and q.message_class != self.message_class:
            return f"message class {q.message_class} is not {self.message_class}"
        if self.window is not None and not self.window.contains(q.now):
            where = self.window.local_time(q.now)
            return f"{where} is outside the window {self.window.describe()}"
        return None


def _names(names: Iterable[str]) -> str:
    return "/".join(repr(name) for name in sorted(names))


def _quoted_or(name: str | None, otherwise: str) -> str:
    return otherwise if name is None else repr(name)


@dataclass(frozen=True, slots=True)
class Connector:
    name: str


@dataclass(frozen=True, slots=True)
class Balance:
    """Weighted load balancing; ``members`` are (connector, weight > 0) in configured order."""

    members: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Failover:
    connectors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reject:
    status: int
    reason: str = ""


Action = Connector | Balance | Failover | Reject


@dataclass(frozen=True, slots=True)
class Resend:
    """Send an undelivered message once more through ``via`` when its receipt state is one of
    ``states`` (values of :class:`gatewayd.status.Status`)."""

    via: str
    states: frozenset[str]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    match: Match
    action: Action
    resend: Resend | None = None


@dataclass(frozen=True, slots=True)
class Routed:
    """Send (or, when not ``bound``, queue) through ``connector``. ``rule_name`` is None for the
    default connector. ``candidates``: see :meth:`RoutingTable.next_after`."""

    connector: str
    rule_name: str | None
    candidates: tuple[str, ...]
    resend: Resend | None
    bound: bool


@dataclass(frozen=True, slots=True)
class Unroutable:
    status: int
    reason: str
    rule_name: str | None


Decision = Routed | Unroutable


@dataclass(frozen=True, slots=True)
class Explanation:
    """One line per rule tried, then the decision: what ``gatewayd route explain`` prints."""

    lines: tuple[str, ...]
    decision: Decision


class RoutingTable:
    """The rules in order plus the default connector. Holds the round-robin scores of its
    Balance rules, so build a new table when the rules change."""

    def __init__(self, rules: Sequence[Rule], default_connector: str | None) -> None:
        self.rules = tuple(rules)
        self.default_connector = default_connector
        self._scores = {
            index: [0] * len(rule.action.members)
            for index, rule in enumerate(self.rules)
            if isinstance(rule.action, Balance)
        }

    def route(self, query: RouteQuery, is_bound: IsBound, *, commit: bool = True) -> Decision:
        """``commit=False``: decide without moving any round-robin (acceptance checks)."""
        for index, rule in enumerate(self.rules):
            if rule.match.holds(query):
                return self._decide(index, rule, is_bound, commit=commit)
        return self._default(is_bound)

    def explain(self, query: RouteQuery, is_bound: IsBound) -> Explanation:
        """What :meth:`route` would decide and why, without moving any round-robin."""
        lines: list[str] = []
        for index, rule in enumerate(self.rules):
            why_not = rule.match.mismatch(query)
            if why_not is not None:
                lines.append(f"rule {rule.name!r}: {why_not}")
                continue
            lines.append(f"rule {rule.name!r}: matched; {_action_text(rule.action)}")
            decision = self._decide(index, rule, is_bound, commit=False)
            return Explanation((*lines, *_decision_lines(decision)), decision)
        decision = self._default(is_bound)
        if self.default_connector is None:
            lines.append("no rule matched and there is no default connector")
        else:
            lines.append(f"no rule matched: default connector {self.default_connector!r}")
        return Explanation((*lines, *_decision_lines(decision)), decision)

    def next_after(self, routed: Routed, failed_connector: str, is_bound: IsBound) -> Routed | None:
        """Where to send after ``failed_connector`` rejected with a routing error: the first
        bound connector after it among ``routed.connector`` and ``routed.candidates``, else the
        next one (to queue on). None when there is none, or ``failed_connector`` is not there."""
        order = (routed.connector, *routed.candidates)
        if failed_connector not in order:
            return None
        remaining = order[order.index(failed_connector) + 1 :]
        if not remaining:
            return None
        name, rest, bound = _first_bound(remaining, is_bound)
        return replace(routed, connector=name, candidates=rest, bound=bound)

    def _decide(self, index: int, rule: Rule, is_bound: IsBound, commit: bool) -> Decision:
        action = rule.action
        if isinstance(action, Reject):
            return Unroutable(action.status, action.reason, rule.name)
        if isinstance(action, Connector):
            return Routed(action.name, rule.name, (), rule.resend, is_bound(action.name))
        if isinstance(action, Failover):
            name, rest, bound = _first_bound(action.connectors, is_bound)
            return Routed(name, rule.name, rest, rule.resend, bound)
        chosen, bound = self._balance(index, action, is_bound, commit)
        others = tuple(name for i, (name, _) in enumerate(action.members) if i != chosen)
        return Routed(action.members[chosen][0], rule.name, others, rule.resend, bound)

    def _balance(
        self, index: int, action: Balance, is_bound: IsBound, commit: bool
    ) -> tuple[int, bool]:
        """The member to pick (smooth weighted round-robin among the bound) and whether it is
        bound."""
        scores = self._scores[index] if commit else list(self._scores[index])
        best = -1
        total = 0
        for i, (name, weight) in enumerate(action.members):
            if is_bound(name):
                scores[i] += weight
                total += weight
                if best < 0 or scores[i] > scores[best]:
                    best = i
        if best < 0:
            heaviest = max(weight for _, weight in action.members)
            return next(i for i, (_, w) in enumerate(action.members) if w == heaviest), False
        scores[best] -= total
        return best, True

    def _default(self, is_bound: IsBound) -> Decision:
        if self.default_connector is None:
            return Unroutable(NO_ROUTE_STATUS, "no route", None)
        name = self.default_connector
        return Routed(name, None, (), None, is_bound(name))


def _first_bound(names: tuple[str, ...], is_bound: IsBound) -> tuple[str, tuple[str, ...], bool]:
    for i, name in enumerate(names):
        if is_bound(name):
            return name, names[i + 1 :], True
    return names[0], names[1:], False


def _action_text(action: Action) -> str:
    if isinstance(action, Connector):
        return f"connector {action.name!r}"
    if isinstance(action, Failover):
        return "failover " + " then ".join(repr(name) for name in action.connectors)
    if isinstance(action, Balance):
        return "balance " + ", ".join(f"{name!r}x{weight}" for name, weight in action.members)
    return "reject"


def _decision_lines(decision: Decision) -> list[str]:
    if isinstance(decision, Unroutable):
        status = f"{status_name(decision.status)} (0x{decision.status:08X})"
        reason = f": {decision.reason}" if decision.reason else ""
        return [f"decision: reject with {status}{reason}"]
    if decision.bound:
        lines = [f"decision: send through {decision.connector!r}"]
    else:
        lines = [f"decision: queue for {decision.connector!r}, which is not bound now"]
    if decision.candidates:
        then = " then ".join(repr(name) for name in decision.candidates)
        lines.append(f"after a routing error: try {then}")
    if decision.resend is not None:
        states = "/".join(sorted(decision.resend.states))
        lines.append(f"when {states}: resend once through {decision.resend.via!r}")
    return lines


def connectors_used(rules: Iterable[Rule]) -> set[str]:
    """Every connector the rules name (actions and resends), for the config's existence check."""
    used: set[str] = set()
    for rule in rules:
        action = rule.action
        if isinstance(action, Connector):
            used.add(action.name)
        elif isinstance(action, Failover):
            used.update(action.connectors)
        elif isinstance(action, Balance):
            used.update(name for name, _ in action.members)
        if rule.resend is not None:
            used.add(rule.resend.via)
    return used
