"""What to do when a submit_sm fails upstream: retry it later (temporary) or give the message up
as rejected (permanent). Pure: the connector asks, this module answers with a value.

A *cause* is a command_status (int), ``"timeout"`` (no response in time) or ``"disconnect"``
(the connection closed before the response). ``"*"`` in a table is the rule for any status the
table does not name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from gatewayd.smpp import pdu as p

if TYPE_CHECKING:
    from gatewayd.config.model import RetryRuleConfig

TIMEOUT: Literal["timeout"] = "timeout"
DISCONNECT: Literal["disconnect"] = "disconnect"
OTHERWISE: Literal["*"] = "*"
Cause = int | Literal["timeout", "disconnect"]
TableKey = Cause | Literal["*"]

#: The statuses that mean "you are sending too fast": the connector also slows down on them.
SLOW_DOWN = frozenset({p.ESME_RTHROTTLED, p.ESME_RMSGQFUL})


@dataclass(frozen=True, slots=True)
class RetryRule:
    """``attempts`` sends in all (the first included). Retry n waits ``delay * 2**(n-1)``,
    capped at ``max_delay``."""

    temporary: bool
    attempts: int = 1
    delay: float = 0.0
    max_delay: float = 0.0

    def delay_before_retry(self, retry: int) -> float:
        return min(self.max_delay, self.delay * 2.0 ** min(retry - 1, 60))


@dataclass(frozen=True, slots=True)
class Retry:
    delay: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    """A temporary failure that used all its attempts: the message goes back to the queue."""


@dataclass(frozen=True, slots=True)
class Reject:
    """A permanent failure: the message is rejected with the status."""


Verdict = Retry | GiveUp | Reject
PERMANENT = RetryRule(temporary=False)


def _temporary(attempts: int, delay: float, max_delay: float) -> RetryRule:
    return RetryRule(True, attempts, delay, max_delay)


#: Defaults after SMPP v3.4 §5.1.3: load and transient faults are worth retrying; a bad address,
#: length or parameter will fail the same way every time.
DEFAULT_RULES: Mapping[TableKey, RetryRule] = {
    p.ESME_RTHROTTLED: _temporary(10, 1.0, 30.0),
    p.ESME_RMSGQFUL: _temporary(10, 5.0, 60.0),
    p.ESME_RSYSERR: _temporary(3, 10.0, 60.0),
    p.ESME_RX_T_APPN: _temporary(3, 10.0, 60.0),
    # The SMSC lost track of our bind; another bind (or a rebind) may carry it.
    p.ESME_RINVBNDSTS: _temporary(3, 1.0, 10.0),
    TIMEOUT: _temporary(3, 10.0, 60.0),
    # Outstanding submits fail the moment the link drops; resend once a bind is back.
    DISCONNECT: _temporary(5, 0.0, 0.0),
    p.ESME_RINVDSTADR: PERMANENT,
    p.ESME_RINVSRCADR: PERMANENT,
    p.ESME_RINVMSGLEN: PERMANENT,
    p.ESME_RINVDSTTON: PERMANENT,
    p.ESME_RINVDSTNPI: PERMANENT,
    p.ESME_RINVSRCTON: PERMANENT,
    p.ESME_RINVSRCNPI: PERMANENT,
    p.ESME_RINVESMCLASS: PERMANENT,
    p.ESME_RX_P_APPN: PERMANENT,
    p.ESME_RX_R_APPN: PERMANENT,
    OTHERWISE: PERMANENT,
}

_BY_NAME: Mapping[str, int] = {name.lower(): value for value, name in p.STATUS_NAMES.items()}


def parse_cause(text: str) -> TableKey:
    """A table key from config: a status name (any case), a number ("0x58", "88"), "timeout",
    "disconnect" or "*". Raises ValueError."""
    key = text.strip().lower()
    if key in (TIMEOUT, DISCONNECT, OTHERWISE):
        return key
    if key in _BY_NAME:
        return _BY_NAME[key]
    try:
        status = int(key, 0)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a command_status name or number, timeout, disconnect or *"
        ) from None
    if not 0 < status <= 0xFFFFFFFF:
        raise ValueError(f"{text!r} is not a non-zero 32-bit command_status")
    return status


class RetryTable:
    def __init__(self, rules: Mapping[TableKey, RetryRule] = DEFAULT_RULES) -> None:
        self._rules = dict(rules)
        self._rules.setdefault(OTHERWISE, PERMANENT)

    @classmethod
    def from_config(cls, overrides: Mapping[str, RetryRuleConfig]) -> RetryTable:
        """The defaults, with each configured cause's rule replaced."""
        rules = dict(DEFAULT_RULES)
        for text, rule in overrides.items():
            temporary = rule.kind == "temporary"
            rules[parse_cause(text)] = RetryRule(
                temporary, rule.attempts, rule.delay, rule.max_delay
            )
        return cls(rules)

    def rule(self, cause: Cause) -> RetryRule:
        return self._rules.get(cause, self._rules[OTHERWISE])

    def decide(self, cause: Cause, attempts_made: int) -> Verdict:
        """After ``attempts_made`` sends, the last of which failed with ``cause``."""
        rule = self.rule(cause)
        if not rule.temporary:
            return Reject()
        if attempts_made >= rule.attempts:
            return GiveUp()
        return Retry(rule.delay_before_retry(attempts_made))


def jittered_backoff(
    initial: float, maximum: float, random: Callable[[], float]
) -> Callable[[int], float]:
    """A ClientService retry policy: exponential from ``initial``, capped at ``maximum``, with
    "equal jitter" (between half and all of the delay) so that many binds cut off together do
    not all reconnect in the same instant. ``random`` returns a float in [0, 1)."""

    def policy(failed_attempts: int) -> float:
        # The exponent is capped so that a long outage cannot overflow the float.
        ceiling = min(maximum, initial * 2.0 ** min(max(0, failed_attempts - 1), 60))
        return ceiling / 2 + ceiling / 2 * random()

    return policy
