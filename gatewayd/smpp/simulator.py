"""A built-in SMSC simulator for demos and tests.

It accepts any bind and answers every submission (submit_sm, data_sm, submit_multi) with a
fresh message id, or, as configured, with a submit error or a dropped connection. When asked
for one it sends a delivery receipt after ``delivery_delay``, whose final state is drawn from
weights. Each part of a long message, and each destination of a submit_multi, is a submission
of its own with its own id and receipt, as on a real SMSC. All chance comes from one injected
``random.Random``, so tests are deterministic.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.config.model import SimulatorConfig, SmppServerConfig
from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import Pdu, Tlvs
from gatewayd.smpp.receipts import (
    ESM_CLASS_RECEIPT,
    TAG_MESSAGE_PAYLOAD,
    build_receipt_text,
    receipt_tlvs,
)
from gatewayd.smpp.server import SmppServerFactory, SmscSession
from gatewayd.smpp.session import RX_STATES, DelayedCall, call_later, seconds

log = Logger()

#: deliver_sm mandatory fields and TLVs.
Receipt = tuple[dict[str, int | bytes], Tlvs]

#: The final states a receipt can report, in config order.
FINAL_STATES = ("DELIVRD", "UNDELIV", "EXPIRED", "REJECTD")
#: Appendix B ``err`` of each final state; the values are the simulator's own, for show.
_ERR = {"DELIVRD": "000", "UNDELIV": "001", "EXPIRED": "000", "REJECTD": "002"}
_ESM_UDHI = 0x40
#: The requests the simulator answers with a message id.
SUBMISSIONS = frozenset({p.SUBMIT_SM, p.DATA_SM, p.SUBMIT_MULTI})


def _always_delivered() -> Mapping[str, float]:
    return MappingProxyType({"DELIVRD": 1.0})


@dataclass(frozen=True)
class Behaviour:
    """What the simulator does with each submission, drawn independently per submission.

    In order: with ``drop_rate`` (or once ``drop_after`` submissions were answered on the
    connection, if not 0) the connection is closed and the submission never answered; then
    ``throttled_rate`` answers ESME_RTHROTTLED and ``system_error_rate`` ESME_RSYSERR; anything
    else is accepted and its final state drawn from ``receipt_weights``. A ``slow_rate`` share
    of the submissions not dropped is handled only after ``slow_delay`` seconds (a slow SMSC):
    its answer, and its receipt's delay, start then.
    """

    receipt_weights: Mapping[str, float] = field(default_factory=_always_delivered)
    throttled_rate: float = 0.0
    system_error_rate: float = 0.0
    drop_rate: float = 0.0
    drop_after: int = 0
    slow_rate: float = 0.0
    slow_delay: float = 0.0

    def __post_init__(self) -> None:
        unknown = set(self.receipt_weights) - set(FINAL_STATES)
        if unknown:
            raise ValueError(f"unknown final states {sorted(unknown)}")
        weights = self.receipt_weights.values()
        if any(weight < 0 for weight in weights) or sum(weights) <= 0:
            raise ValueError("receipt weights must be 0 or more, and not all 0")
        rates = (self.throttled_rate, self.system_error_rate, self.drop_rate, self.slow_rate)
        for rate in rates:
            if not 0 <= rate <= 1:
                raise ValueError(f"rate {rate} is not between 0 and 1")
        if self.drop_after < 0:
            raise ValueError("drop_after must be 0 or more")
        if self.slow_delay < 0:
            raise ValueError("slow_delay must be 0 or more")

    @classmethod
    def always(cls, stat: str) -> Behaviour:
        """Every submission accepted, every receipt with final state ``stat``."""
        return cls(receipt_weights=MappingProxyType({stat: 1.0}))

    @classmethod
    def from_config(cls, config: SimulatorConfig) -> Behaviour:
        weights = (
            config.delivered_weight,
            config.undeliverable_weight,
            config.expired_weight,
            config.rejected_weight,
        )
        chosen = {stat: w for stat, w in zip(FINAL_STATES, weights, strict=True) if w}
        return cls(
            receipt_weights=MappingProxyType(chosen),
            throttled_rate=config.throttled_rate,
            system_error_rate=config.system_error_rate,
            drop_rate=config.drop_rate,
            drop_after=config.drop_after,
            slow_rate=config.slow_rate,
            slow_delay=config.slow_delay,
        )


@dataclass(frozen=True)
class Refuse:
    status: int


@dataclass(frozen=True)
class Drop:
    pass


def fate(behaviour: Behaviour, rng: random.Random, answered: int) -> Refuse | Drop | None:
    """Whether a request is dropped or refused (None: it is accepted); ``answered`` counts the
    requests already answered on its connection."""
    if behaviour.drop_after and answered >= behaviour.drop_after:
        return Drop()
    if rng.random() < behaviour.drop_rate:
        return Drop()
    if rng.random() < behaviour.throttled_rate:
        return Refuse(p.ESME_RTHROTTLED)
    if rng.random() < behaviour.system_error_rate:
        return Refuse(p.ESME_RSYSERR)
    return None


def is_slow(behaviour: Behaviour, rng: random.Random) -> bool:
    """Whether a submission not dropped is answered after ``slow_delay``. No draw is made
    when ``slow_rate`` is 0, so the other draws of a seeded run stay as they were."""
    return bool(behaviour.slow_rate) and rng.random() < behaviour.slow_rate


def final_state(behaviour: Behaviour, rng: random.Random) -> str:
    """The final state of an accepted message, drawn from the weights."""
    states = list(behaviour.receipt_weights)
    return rng.choices(states, list(behaviour.receipt_weights.values()))[0]


def message_text(submission: Pdu) -> bytes:
    """The user data of a submission: short_message or message_payload, without its UDH."""
    data = submission.bytes_field("short_message") or submission.tlv(TAG_MESSAGE_PAYLOAD) or b""
    if submission.int_field("esm_class") & _ESM_UDHI and data:
        return data[1 + data[0] :]
    return data


def build_receipt(message_id: str, submission: Pdu, stat: str, now: datetime) -> Receipt:
    """deliver_sm fields and TLVs of the receipt for ``submission``, addressed back to its
    sender; the text carries the first 20 octets of the message when they are printable."""
    original = message_text(submission)
    text = build_receipt_text(
        message_id,
        stat,
        submit_date=now,
        done_date=now,
        err=_ERR.get(stat, "000"),
        text=original if all(32 <= octet < 127 for octet in original[:20]) else b"",
    )
    fields: dict[str, int | bytes] = {
        "source_addr_ton": submission.int_field("dest_addr_ton"),
        "source_addr_npi": submission.int_field("dest_addr_npi"),
        "source_addr": submission.bytes_field("destination_addr")[:20],
        "dest_addr_ton": submission.int_field("source_addr_ton"),
        "dest_addr_npi": submission.int_field("source_addr_npi"),
        "destination_addr": submission.bytes_field("source_addr")[:20],
        "esm_class": ESM_CLASS_RECEIPT,
        "short_message": text,
    }
    return fields, receipt_tlvs(message_id, stat)


def wants_receipt(submission: Pdu, stat: str) -> bool:
    """registered_delivery bits 0-1: 1 = receipt on any final state, 2 = on failure only."""
    wanted = submission.int_field("registered_delivery") & 0x03
    return wanted == 1 or (wanted == 2 and stat != "DELIVRD")


#: The vendor TLV the simulator reads a dedup key from (set a connector's dedup_tlv to it).
DEDUP_TAG = 0x1401


class SimulatorSession(SmscSession[str]):
    """Decides each request's fate before the server handles it: dropping the connection needs
    the session at hand. Accepted ones go through the server as usual (a submit_multi becomes
    one submission per destination) and reach :meth:`SimulatorFactory.submit`."""

    def __init__(self, factory: SimulatorFactory) -> None:
        super().__init__(factory)
        self.simulator = factory
        self.answered = 0

    def handle_request(self, pdu: Pdu) -> Deferred[Pdu] | Pdu:
        if pdu.command_id not in SUBMISSIONS or self.principal is None:
            return super().handle_request(pdu)
        decision = fate(self.simulator.behaviour, self.simulator.rng, self.answered)
        if isinstance(decision, Drop):
            log.info("dropping the connection of {system_id}", system_id=self.system_id)
            self.simulator.drops += 1
            self._transport.loseConnection()
            return Deferred()  # never answered: the connection is gone
        self.answered += 1
        simulator = self.simulator
        if is_slow(simulator.behaviour, simulator.rng):
            simulator.slow += 1
            later: Deferred[Pdu] = Deferred()
            timer = call_later(
                simulator.clock, simulator.behaviour.slow_delay, self._late, pdu, decision, later
            )
            simulator.track(timer)
            return later
        return self._answer(pdu, decision)

    def _answer(self, pdu: Pdu, decision: Refuse | None) -> Deferred[Pdu] | Pdu:
        if isinstance(decision, Refuse):
            self.simulator.refused[decision.status] += 1
            return p.response_to(pdu, decision.status)
        return super().handle_request(pdu)

    def _late(self, pdu: Pdu, decision: Refuse | None, later: Deferred[Pdu]) -> None:
        answer = self._answer(pdu, decision)
        if isinstance(answer, Deferred):
            answer.chainDeferred(later)
        else:
            later.callback(answer)


class SimulatorFactory(SmppServerFactory[str]):
    """Principals are system_ids, so receipts find any session bound with the same system_id.

    ``receipt_status`` is the short form of ``behaviour=Behaviour.always(receipt_status)``;
    give one or the other."""

    def __init__(
        self,
        clock: IReactorTime,
        delivery_delay: float,
        receipt_status: str = "DELIVRD",
        *,
        behaviour: Behaviour | None = None,
        rng: random.Random | None = None,
        config: SmppServerConfig | None = None,
    ) -> None:
        super().__init__(
            config or SmppServerConfig(system_id="simulator"), clock, self._accept, self.submit
        )
        if behaviour is not None and receipt_status != "DELIVRD":
            raise ValueError("give receipt_status or behaviour, not both")
        self.delivery_delay = delivery_delay
        self.behaviour = behaviour or Behaviour.always(receipt_status)
        self.rng = rng or random.Random()  # a simulation, not a secret
        self._timers: set[DelayedCall] = set()
        self._waiting: dict[str, list[Receipt]] = {}
        # Dedup keys seen (gatewayd's dedup_tlv = DEDUP_TAG): a resent part gets its first
        # answer again and no second receipt, and is counted.
        self._seen: dict[bytes, str] = {}
        self.duplicates = 0
        self.accepted = 0
        self.slow = 0  # submissions answered after slow_delay
        self.drops = 0  # connections dropped on a submission
        self.refused: Counter[int] = Counter()  # command_status -> submissions refused

    @classmethod
    def from_config(
        cls, clock: IReactorTime, config: SimulatorConfig, rng: random.Random | None = None
    ) -> SimulatorFactory:
        return cls(clock, config.delivery_delay, behaviour=Behaviour.from_config(config), rng=rng)

    def buildProtocol(self, addr: IAddress | None) -> SimulatorSession:
        return SimulatorSession(self)

    def stop(self) -> None:
        """Cancel receipts and slow answers not yet due."""
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        self._timers.clear()

    def track(self, timer: DelayedCall) -> None:
        """A timer :meth:`stop` cancels (receipts and slow answers not yet due)."""
        self._timers.add(timer)  # pruned of the fired ones as receipts fall due

    def waiting(self, system_id: str) -> int:
        """How many receipts wait for ``system_id`` to bind a receiver."""
        return len(self._waiting.get(system_id, ()))

    def _accept(self, system_id: str, password: str, bind_type: str) -> Deferred[str]:
        return succeed(system_id)

    def submit(self, system_id: str, pdu: Pdu) -> Deferred[str]:
        """Accept one submission (submit_sm, data_sm, or one destination of a submit_multi):
        a fresh id, and a receipt when one is wanted."""
        key = pdu.tlv(DEDUP_TAG)
        if key is not None and key in self._seen:
            self.duplicates += 1
            return succeed(self._seen[key])
        message_id = self._new_id()
        self.accepted += 1
        if key is not None:
            self._seen[key] = message_id
        stat = final_state(self.behaviour, self.rng)
        if wants_receipt(pdu, stat):
            receipt = build_receipt(message_id, pdu, stat, self._now())
            timer = call_later(self.clock, self.delivery_delay, self._due, system_id, receipt)
            self._timers.add(timer)
        return succeed(message_id)

    def _new_id(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def _now(self) -> datetime:
        return datetime.fromtimestamp(seconds(self.clock), tz=UTC)

    def _due(self, system_id: str, receipt: Receipt) -> None:
        self._timers = {timer for timer in self._timers if timer.active()}
        self._send(system_id, receipt)

    def _send(self, system_id: str, receipt: Receipt) -> None:
        def settled(result: bool | Failure) -> None:
            if result is True:
                return
            if isinstance(result, Failure):
                log.info("receipt to {system_id} failed: {e}", system_id=system_id, e=result.value)
            self._waiting.setdefault(system_id, []).append(receipt)

        self.deliver(system_id, *receipt).addBoth(settled)

    def bound(self, session: SmscSession[str]) -> None:
        super().bound(session)
        if session.state in RX_STATES and session.principal is not None:
            for receipt in self._waiting.pop(session.principal, []):
                self._send(session.principal, receipt)
