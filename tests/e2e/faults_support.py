"""The pieces of the fault tests (issue 4), all on 127.0.0.1 over real TCP:

- :class:`CountingSimulator`: gatewayd's own SMSC simulator, run in the test process on the
  pytest-twisted reactor so that the test reads its counters (``accepted``, ``duplicates``)
  and also counts its connections and ESME_RTHROTTLED answers;
- :class:`Load`: a customer's ESME on the same reactor, keeping ``window`` submit_sm
  outstanding and remembering which message got which answer, across reconnections;
- :class:`Gateway`: a real ``gatewayd run`` subprocess on its own config and database, with
  its log in a file, that can be killed and started again;
- :class:`Store`: read-only queries of that database (SQLite or PostgreSQL).
"""

from __future__ import annotations

import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest_twisted  # type: ignore[import-untyped]
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import (
    IAddress,
    IListeningPort,
    IReactorTCP,
    IReactorTime,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import HEADER, Fields, Pdu, PduReader, decode, encode
from gatewayd.smpp.simulator import (
    DEDUP_TAG,
    SUBMISSIONS,
    Behaviour,
    SimulatorFactory,
    SimulatorSession,
)
from gatewayd.smpp.tlv import MESSAGE_PAYLOAD, RECEIPTED_MESSAGE_ID
from gatewayd.status import FINAL

GATEWAYD = [sys.executable, "-m", "gatewayd"]
#: The customer account's SMPP system_id, and the one gatewayd binds to the simulator with.
CUSTOMER = "faults"
UPSTREAM = "gatewayd"
#: How often an outcome is looked for while waiting on it (never a timer for the outcome).
POLL = 0.2
#: 400 GSM-7 characters: three parts upstream (udh8), sent by the customer in message_payload.
LONG_TEXT = ("Fault test long message, split in three parts upstream by gatewayd. " * 6)[:400]
FINAL_SQL = ", ".join(f"'{status.value}'" for status in sorted(FINAL))


F = TypeVar("F", bound=Callable[..., Any])


def on_reactor(test: F) -> F:
    """``pytest_twisted.ensureDeferred``, typed: the test runs on the reactor."""
    return cast(F, pytest_twisted.ensureDeferred(test))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until(
    reactor: IReactorTime,
    what: str,
    check: Callable[[], bool | Deferred[bool]],
    deadline: float,
) -> float:
    """Wait for ``check()`` to hold, looking every POLL seconds, at most ``deadline`` seconds;
    returns the seconds it took. This waits on an outcome; it is not a timer for one."""
    start = time.monotonic()
    while True:
        outcome = check()
        if outcome if isinstance(outcome, bool) else await outcome:
            return time.monotonic() - start
        if time.monotonic() - start > deadline:
            raise AssertionError(f"{what}: not within {deadline:.0f} s")
        await deferLater(reactor, POLL, lambda: None)


# --- the SMSC ---------------------------------------------------------------------------------


class CountingSession(SimulatorSession):
    def handle_request(self, pdu: Pdu) -> Deferred[Pdu] | Pdu:
        before = self.answered
        answer = super().handle_request(pdu)
        if pdu.command_id in SUBMISSIONS and self.principal is not None:
            if self.answered == before:  # dropped with the connection, never answered
                self.counter.unanswered += 1
            elif isinstance(answer, Pdu) and answer.status == p.ESME_RTHROTTLED:
                self.counter.throttles += 1
        return answer

    @property
    def counter(self) -> CountingSimulator:
        assert isinstance(self.simulator, CountingSimulator)
        return self.simulator


class CountingSimulator(SimulatorFactory):
    """The simulator, plus the connections it was offered, the submits it throttled and those
    it left unanswered when it dropped a connection."""

    connections = 0
    throttles = 0  # not "throttled": SmppServerFactory.throttled is a method
    unanswered = 0
    port: IListeningPort | None = None

    def buildProtocol(self, addr: IAddress | None) -> SimulatorSession:
        self.connections += 1
        return CountingSession(self)

    def listen(self, reactor: IReactorTCP) -> int:
        self.port = reactor.listenTCP(0, self, interface="127.0.0.1")
        return cast(IPv4Address, self.port.getHost()).port

    @property
    def bound_sessions(self) -> int:
        return len(self.sessions(UPSTREAM))

    def unbound(self) -> bool:
        """Whether gatewayd has no bind left here (the simulator saw them close)."""
        return not self.bound_sessions

    def shutdown(self) -> Deferred[None]:
        """Cancel the receipts not yet due, cut the connections left, stop listening."""
        self.stop()
        for session in list(self._connections):
            cast(ITCPTransport, session.transport).abortConnection()
        stopped = None if self.port is None else self.port.stopListening()
        return stopped if isinstance(stopped, Deferred) else succeed(None)


# --- the customer ---------------------------------------------------------------------------


def destination(index: int) -> bytes:
    """Each message of a load has its own destination, so the database tells them apart."""
    return b"4915100%05d" % index  # possible German mobile numbers


@dataclass
class Load:
    """``count`` messages sent by a customer's ESME, ``window`` outstanding at a time; every
    ``long_every``-th is a 400-character text (three parts upstream). What was answered is
    kept across connections: a message whose answer was lost with its connection is sent
    again on the next one, as a real customer would (at least once)."""

    reactor: Any
    count: int
    window: int
    long_every: int = 0
    #: The index of its first message: two loads with different ones have no destination in
    #: common.
    first: int = 0
    pending: deque[int] = field(default_factory=deque)
    #: message index -> the message_ids gatewayd answered it with (two if sent twice).
    acked: dict[int, list[str]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    throttled: int = 0  # ESME_RTHROTTLED from gatewayd: sent again
    unanswered: int = 0  # outstanding when a connection was lost: sent again
    receipts: int = 0  # deliver_sm receipts, repeats included
    receipted: set[str] = field(default_factory=set)  # their receipted_message_id
    first_sent: float = 0.0
    last_acked: float = 0.0
    esme: Esme | None = None
    _goals: list[tuple[int, Deferred[None]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pending.extend(range(self.first, self.first + self.count))

    @property
    def answered(self) -> int:
        return len(self.acked)

    def reached(self, answered: int) -> Deferred[None]:
        """Fires once ``answered`` messages have their submit_sm_resp (ESME_ROK)."""
        goal: Deferred[None] = Deferred()
        self._goals.append((answered, goal))
        self._check_goals()
        return goal

    def done(self) -> Deferred[None]:
        return self.reached(self.count)

    def _check_goals(self) -> None:
        for entry in list(self._goals):
            if self.answered >= entry[0]:
                self._goals.remove(entry)
                entry[1].callback(None)

    def submit_sm(self, index: int, sequence: int) -> bytes:
        fields: Fields = {
            "source_addr_ton": 5,
            "source_addr": b"FAULTS",
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": destination(index),
            "registered_delivery": 1,
        }
        tlvs: tuple[tuple[int, bytes], ...] = ()
        if self.long_every and index % self.long_every == 0:
            tlvs = ((MESSAGE_PAYLOAD, LONG_TEXT.encode("ascii")),)
        else:
            fields["short_message"] = b"Fault test message %d" % index
        return encode(Pdu(p.SUBMIT_SM, p.ESME_ROK, sequence, fields, tlvs))

    async def connect(self, port: int, password: str, deadline: float = 30.0) -> Esme:
        """Connect and bind a transceiver (trying again while the port refuses), then send."""
        start = time.monotonic()
        endpoint = TCP4ClientEndpoint(self.reactor, "127.0.0.1", port)
        while True:
            esme = Esme(self, password)
            try:
                await connectProtocol(endpoint, esme)
                break
            except ConnectionRefusedError:
                if time.monotonic() - start > deadline:
                    raise
                await deferLater(self.reactor, POLL, lambda: None)
        await esme.bound
        self.esme = esme
        esme.fill()
        return esme


class Esme(Protocol):
    """One transceiver bind of a :class:`Load`."""

    def __init__(self, load: Load, password: str) -> None:
        self.load = load
        self.password = password
        self.reader = PduReader(1 << 16)
        self.sequence = 1
        self.outstanding: dict[int, int] = {}  # sequence -> message index
        self.bound: Deferred[None] = Deferred()
        self.closed: Deferred[None] = Deferred()
        self.sending = False

    def connectionMade(self) -> None:
        transport = cast(ITCPTransport, self.transport)
        transport.setTcpNoDelay(True)
        fields: Fields = {
            "system_id": CUSTOMER.encode(),
            "password": self.password.encode(),
            "interface_version": 0x34,
        }
        transport.write(encode(Pdu(p.BIND_TRANSCEIVER, p.ESME_ROK, 1, fields)))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.sending = False
        load = self.load
        # Their answers are lost: the customer does not know, and sends them again.
        load.unanswered += len(self.outstanding)
        load.pending.extendleft(reversed(list(self.outstanding.values())))
        self.outstanding.clear()
        if not self.bound.called:
            self.bound.errback(reason)
        self.closed.callback(None)

    def fill(self) -> None:
        self.sending = True
        load, frames = self.load, []
        while load.pending and len(self.outstanding) < load.window:
            index = load.pending.popleft()
            self.sequence += 1
            self.outstanding[self.sequence] = index
            frames.append(load.submit_sm(index, self.sequence))
        if frames:
            if not load.first_sent:
                load.first_sent = time.monotonic()
            assert self.transport is not None
            self.transport.write(b"".join(frames))

    def dataReceived(self, data: bytes) -> None:
        replies = []
        for frame in self.reader.feed(data):
            _, command_id, status, sequence = HEADER.unpack_from(frame)
            if command_id in (p.SUBMIT_SM_RESP, p.GENERIC_NACK) and sequence in self.outstanding:
                self._answered(frame, status, sequence)
            elif command_id == p.DELIVER_SM:
                pdu = decode(frame)
                self._delivered(pdu)
                replies.append(encode(p.response_to(pdu)))
            elif command_id == p.BIND_TRANSCEIVER_RESP:
                if status:
                    self.bound.errback(ConnectionError(f"bind refused: {p.status_name(status)}"))
                else:
                    self.bound.callback(None)
            elif command_id in (p.ENQUIRE_LINK, p.UNBIND):
                replies.append(encode(p.response_to(decode(frame))))
        if replies:
            assert self.transport is not None
            self.transport.write(b"".join(replies))
        if self.sending:
            self.fill()
        self.load._check_goals()

    def _delivered(self, pdu: Pdu) -> None:
        receipted = pdu.tlv(RECEIPTED_MESSAGE_ID)
        if pdu.int_field("esm_class") & 0x04 and receipted is not None:
            self.load.receipts += 1
            self.load.receipted.add(receipted.rstrip(b"\0").decode("ascii"))

    def _answered(self, frame: bytes, status: int, sequence: int) -> None:
        load = self.load
        index = self.outstanding.pop(sequence)
        if status == p.ESME_RTHROTTLED:
            load.throttled += 1
            load.pending.appendleft(index)
        elif status:
            load.errors[p.status_name(status)] += 1
        else:
            message_id = frame[16 : frame.index(b"\0", 16)].decode("ascii")
            load.acked.setdefault(index, []).append(message_id)
            load.last_acked = time.monotonic()

    def unbind(self) -> Deferred[None]:
        """Unbind and close; fires once closed."""
        self.sending = False
        if not self.closed.called:
            assert self.transport is not None
            self.sequence += 1
            self.transport.write(encode(Pdu(p.UNBIND, p.ESME_ROK, self.sequence)))
            self.transport.loseConnection()
        return self.closed


# --- the daemon -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Upstream:
    """The single connector's settings that the tests vary or compute bounds from."""

    port: int
    binds: int = 2
    window: int = 10
    tps: float = 0.0


class Gateway:
    """``gatewayd run`` on its own directory, config and database; its output goes to a log
    file per start (``gatewayd-N.log``)."""

    def __init__(self, workdir: Path, database_url: str, upstream: Upstream, esme_window: int):
        self.workdir = workdir
        self.database_url = database_url
        self.upstream = upstream
        self.smpp_port = free_port()
        self.password = secrets.token_hex(4)  # SMPP passwords are 8 characters at most
        self.config = workdir / "gatewayd.toml"
        self.config.write_text(self._config_text(esme_window), encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        self.env = {**os.environ, "GATEWAYD__DATABASE__URL": database_url}

    def _config_text(self, esme_window: int) -> str:
        up = self.upstream
        return f"""
[logging]
level = "info"
[smpp_server]
listen = ["tcp:{self.smpp_port}:interface=127.0.0.1"]
# The customer keeps this many submit_sm outstanding; more would be answered ESME_RTHROTTLED.
receive_window = {esme_window}
[admin]
listen = ["tcp:{free_port()}:interface=127.0.0.1"]
[control]
socket = "{self.workdir}/gatewayd.ctl"
[simulator]
enabled = false
[connectors.smsc]
host = "127.0.0.1"
port = {up.port}
system_id = "{UPSTREAM}"
binds = {up.binds}
window = {up.window}
tps = {up.tps}
queue_limit = 100000
dedup_tlv = {DEDUP_TAG:#x}
reconnect_initial_delay = 0.1
reconnect_max_delay = 1.0
response_timeout = 10.0
# Throttled submits are sent again soon, up to 20 times; a lost link resends at once.
[connectors.smsc.retry.ESME_RTHROTTLED]
kind = "temporary"
attempts = 20
delay = 0.05
max_delay = 1.0
[connectors.smsc.retry.disconnect]
kind = "temporary"
attempts = 10
delay = 0.0
max_delay = 0.0
[routing]
default_connector = "smsc"
[fair_use]
default_plan = "unlimited"
[pipeline]
sweep_interval = 1.0
max_unrecorded = 200
"""

    def cli(self, *args: str, env: dict[str, str] | None = None) -> None:
        done = subprocess.run(
            [*GATEWAYD, *args, "-c", str(self.config)],
            cwd=self.workdir,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"gatewayd {' '.join(args)}: {done.stdout}{done.stderr}"

    def prepare(self) -> None:
        """Migrate the database and create the customer's account."""
        self.cli("db", "upgrade")
        self.cli(
            "account", "create", "--name", "Faults", "--smpp-system-id", CUSTOMER,
            "--smpp-max-binds", "4", "--smpp-tps", "0",
            env={"GATEWAYD_PASSWORD": self.password},
        )  # fmt: skip

    def start(self) -> None:
        log = self.workdir / f"gatewayd-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [*GATEWAYD, "run", "-c", str(self.config)],
                cwd=self.workdir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last commit, nothing flushed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 60.0) -> Deferred[int]:
        """SIGTERM, and the exit code once it has stopped (waited for in a thread); after
        ``timeout`` seconds, SIGKILL (the exit code is then -9)."""
        assert self.process is not None
        process = self.process

        def stopped() -> int:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                return process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                return process.wait()

        return deferToThread(stopped)

    def log_lines(self) -> list[str]:
        lines = []
        for log in self.logs:
            lines += log.read_text(encoding="utf-8", errors="replace").splitlines()
        return lines

    def problems(self) -> list[str]:
        """Log lines at warn level or above, and tracebacks."""
        notable = re.compile(r"^\S+ (warn|error|critical) \[|Traceback")
        return [line for line in self.log_lines() if notable.search(line)]

    def matches(self, pattern: str) -> list[str]:
        """The text matching ``pattern`` in each log line that has it."""
        regex = re.compile(pattern)
        return [m.group(0) for m in map(regex.search, self.log_lines()) if m]

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_lines()[-lines:])


# --- the database ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    public_id: str
    destination: str
    status: str
    error_code: str | None
    part_count: int


class Store:
    """Read-only queries of the daemon's database, in a thread (never on the reactor)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, poolclass=NullPool)

    def _scalar(self, sql: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())

    def parts_sent(self) -> int:
        return self._scalar("SELECT count(*) FROM message_parts")

    def unfinished(self) -> int:
        return self._scalar(f"SELECT count(*) FROM messages WHERE status NOT IN ({FINAL_SQL})")

    def unfinished_detail(self) -> str:
        """What is not final yet, for a failure message: counts by status and parts held."""
        with self.engine.connect() as conn:
            by_status = conn.execute(
                text(
                    "SELECT status, count(*), sum(part_count) FROM messages"
                    f" WHERE status NOT IN ({FINAL_SQL}) GROUP BY status"
                )
            ).all()
            held = conn.execute(text("SELECT count(*) FROM unmatched_receipts")).scalar_one()
            parts = conn.execute(
                text(
                    "SELECT p.status, count(*) FROM message_parts p JOIN messages m"
                    f" ON m.id = p.message_id WHERE m.status NOT IN ({FINAL_SQL})"
                    " GROUP BY p.status"
                )
            ).all()
        return f"messages {by_status}, their parts {parts}, held receipts {held}"

    def messages(self) -> list[Row]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT public_id, destination, status, error_code, part_count"
                    " FROM messages ORDER BY id"
                )
            )
            return [Row(*r) for r in rows]

    def in_thread(self, fn: Callable[[], Any]) -> Deferred[Any]:
        return deferToThread(fn)

    def dispose(self) -> None:
        self.engine.dispose()


def by_destination(rows: Iterable[Row]) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = {}
    for row in rows:
        found.setdefault(row.destination, []).append(row)
    return found


# --- one run --------------------------------------------------------------------------------


@dataclass
class Run:
    """A simulator, a gateway in front of it and a customer's load, wired together."""

    reactor: Any
    simulator: CountingSimulator
    gateway: Gateway
    load: Load
    store: Store
    final_s: float = 0.0  # first submit to every message final in the database

    @classmethod
    def create(
        cls,
        reactor: Any,
        workdir: Path,
        database_url: str,
        behaviour: Behaviour,
        *,
        count: int,
        esme_window: int,
        long_every: int,
        binds: int = 2,
        window: int = 10,
        tps: float = 0.0,
    ) -> Run:
        simulator = CountingSimulator(reactor, 0.05, behaviour=behaviour, rng=random.Random(4))
        upstream = Upstream(simulator.listen(reactor), binds, window, tps)
        gateway = Gateway(workdir, database_url, upstream, esme_window)
        gateway.prepare()
        load = Load(reactor, count, esme_window, long_every)
        return cls(reactor, simulator, gateway, load, Store(database_url))

    async def start_gateway(self, deadline: float = 30.0) -> None:
        """Start gatewayd and wait until its connector has bound every bind."""
        self.gateway.start()
        binds = self.gateway.upstream.binds

        def up() -> bool:
            if not self.gateway.alive():
                raise AssertionError("gatewayd exited:\n" + "\n".join(self.gateway.log_lines()))
            return self.simulator.bound_sessions >= binds

        await wait_until(self.reactor, "gatewayd binding to the simulator", up, deadline)

    async def connect(self) -> Esme:
        return await self.load.connect(self.gateway.smpp_port, self.gateway.password)

    async def all_final(self, deadline: float) -> None:
        """Wait until every message in the database has a final status."""

        def settled() -> Deferred[bool]:
            d = self.store.in_thread(self.store.unfinished)
            return d.addCallback(lambda n: n == 0)

        try:
            await wait_until(self.reactor, "every message final in the database", settled, deadline)
        except AssertionError as e:
            detail = await self.store.in_thread(self.store.unfinished_detail)
            raise AssertionError(f"{e}: {detail}") from None
        self.final_s = time.monotonic() - self.load.first_sent

    async def receipts_delivered(self, deadline: float) -> None:
        """Wait until the ESME has a receipt for every message it was answered for."""
        load = self.load

        def all_in() -> bool:
            return all(mid in load.receipted for ids in load.acked.values() for mid in ids)

        await wait_until(self.reactor, "a receipt for every message at the ESME", all_in, deadline)

    async def close(self) -> int | None:
        """Unbind the ESME, stop gatewayd with SIGTERM, stop the simulator; gatewayd's exit
        code (None if it was not running)."""
        code = None
        try:
            if self.load.esme is not None:
                await self.load.esme.unbind().addTimeout(10, self.reactor)
        finally:
            if self.gateway.alive():
                code = await self.gateway.stop()
            await self.simulator.shutdown()
            self.store.dispose()
        return code
