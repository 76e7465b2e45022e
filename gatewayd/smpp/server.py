"""The customer-facing SMSC side: authenticates binds, hands requests to the gateway and
delivers messages and receipts back to bound receivers.

It knows nothing about storage. The composition root injects an :data:`Authenticator`, a
:class:`MessageService` and, optionally, a :class:`BindPolicy` giving each account's limits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Generic, Protocol, TypeVar, runtime_checkable

from twisted.internet.defer import Deferred, DeferredList, fail, maybeDeferred, succeed
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import ServerFactory
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.config.model import SmppServerConfig
from gatewayd.errors import AuthenticationFailed, GatewayError, PermissionDenied, ValidationError
from gatewayd.routing.throttle import Throttled, TokenBucket
from gatewayd.smpp import operations as ops
from gatewayd.smpp import pdu as p
from gatewayd.smpp.lockout import BindLockout, LockoutPolicy, address_key
from gatewayd.smpp.operations import MessageService, SubmitOnly, Submitter
from gatewayd.smpp.pdu import DistributionList, Pdu, UnsuccessSme
from gatewayd.smpp.session import (
    BIND_TYPES,
    RX_STATES,
    DelayedCall,
    Role,
    SmppSession,
    call_later,
    seconds,
)

P = TypeVar("P")
P_contra = TypeVar("P_contra", contravariant=True)
#: (system_id, password, bind_type) -> principal, or fail with AuthenticationFailed.
Authenticator = Callable[[str, str, str], Deferred[P]]
IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

#: Refusals that count towards the lockout: guesses, not outages or bugs.
_GUESSES = (AuthenticationFailed, PermissionDenied)

log = Logger()


@dataclass(frozen=True, slots=True)
class BindLimits:
    """One account's limits. None means the server's default from the config."""

    #: Simultaneous binds (max_binds_per_account).
    max_binds: int | None = None
    #: Where it may bind from; empty means anywhere.
    networks: tuple[IPNetwork, ...] = ()
    #: Messages per second over all its binds, 0 for unlimited (default_account_tps).
    tps: float | None = None


@runtime_checkable
class BindPolicy(Protocol[P_contra]):
    def limits(self, principal: P_contra) -> BindLimits:
        """The limits of an authenticated principal; called once per bind, must not block."""
        ...


class DefaultLimits:
    """Every account gets the config's defaults."""

    def limits(self, principal: object) -> BindLimits:
        return BindLimits()


def peer_address(transport: object) -> IPAddress | None:
    """The peer's IP address (an IPv4-mapped IPv6 one unwrapped); None off IP."""
    peer = getattr(transport, "getPeer", lambda: None)()
    try:
        address = ip_address(getattr(peer, "host", ""))
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class NotAllowedFrom(AuthenticationFailed):
    """The account may not bind from the peer's address. An AuthenticationFailed, so it
    answers and counts exactly like a wrong password."""


class TooManyBinds(GatewayError):
    smpp_status = p.ESME_RBINDFAIL


class LockedOut(GatewayError):
    smpp_status = p.ESME_RBINDFAIL


class AccountThrottled(GatewayError):
    """The account is over its messages per second."""

    smpp_status = p.ESME_RTHROTTLED


#: Requests answered by the MessageService, counted against the receive window.
OPERATIONS = frozenset(
    {p.SUBMIT_SM, p.DATA_SM, p.SUBMIT_MULTI, p.QUERY_SM, p.CANCEL_SM, p.REPLACE_SM}
)


class SmscSession(SmppSession, Generic[P]):
    """One customer connection. It must bind within bind_timeout or it is closed.

    At most ``receive_window`` operations are processed at once; one more is answered
    ESME_RTHROTTLED (rather than ESME_RMSGQFUL, which ESMEs read as "this destination's queue
    is full"): every common ESME stack backs off and retries on it. enquire_link and unbind
    are answered by the session itself and never wait behind the window.
    """

    def __init__(self, factory: SmppServerFactory[P]) -> None:
        config = factory.config
        super().__init__(
            factory.clock,
            role=Role.SMSC,
            enquire_link_interval=config.enquire_link_interval,
            response_timeout=config.response_timeout,
            max_command_length=config.max_command_length,
        )
        self.factory = factory
        self.server = factory  # typed: Protocol.factory is Any
        self.principal: P | None = None
        self.limits = BindLimits()
        self.system_id = ""
        self.address: IPAddress | None = None
        self.in_flight = 0
        self._binding = False
        self._bind_timer: DelayedCall | None = None

    def connectionMade(self) -> None:
        self.address = peer_address(self.transport)
        timeout = self.server.config.bind_timeout
        self._bind_timer = call_later(self.clock, timeout, self._bind_timed_out)
        self.server.connected(self)

    def _bind_timed_out(self) -> None:
        log.info("no bind within {timeout}s, closing", timeout=self.server.config.bind_timeout)
        self._transport.loseConnection()

    def handle_request(self, pdu: Pdu) -> Deferred[Pdu] | Pdu:
        if pdu.command_id in BIND_TYPES:
            return self._bind(pdu)
        if pdu.command_id not in OPERATIONS or self.principal is None:
            return super().handle_request(pdu)
        if self.in_flight >= self.server.config.receive_window:
            log.debug("{system_id}: receive window full", system_id=self.system_id)
            self._answered(pdu.command_id, p.ESME_RTHROTTLED)
            return p.response_to(pdu, p.ESME_RTHROTTLED)
        self.in_flight += 1
        answer: Deferred[Pdu] = maybeDeferred(self._operate, self.principal, pdu)
        return answer.addBoth(self._settled, pdu.command_id)

    def _settled(self, result: Pdu | Failure, command_id: int) -> Pdu | Failure:
        self.in_flight -= 1
        if self.server.on_answered is not None:
            if isinstance(result, Pdu):
                status = result.status
            elif isinstance(result.value, GatewayError):
                status = result.value.smpp_status
            else:
                status = p.ESME_RSYSERR
            self._answered(command_id, status)
        return result

    def _answered(self, command_id: int, status: int) -> None:
        if self.server.on_answered is not None:
            self.server.on_answered(command_id, status)

    # --- binding ----------------------------------------------------------------------------

    def _bind(self, pdu: Pdu) -> Deferred[Pdu] | Pdu:
        if self._binding:  # a second bind while the first is being authenticated
            return p.response_to(pdu, p.ESME_RALYBND)
        system_id = pdu.bytes_field("system_id").decode("latin-1")
        password = pdu.bytes_field("password").decode("latin-1")
        bind_type = BIND_TYPES[pdu.command_id]
        wait = self.server.lockout.retry_after(self._address_key, system_id, self._now)
        if wait > 0:
            # Refused before the authenticator runs: a guessing peer costs us no hashing.
            return self._bind_refused(Failure(LockedOut(f"locked out for {wait:.0f}s")), pdu)
        self._binding = True
        self.system_id = system_id
        authenticated = maybeDeferred(self.server.authenticator, system_id, password, bind_type)
        authenticated.addCallback(self._authorise)
        answer: Deferred[Pdu] = authenticated.addCallback(self._bind_accepted, pdu)
        return answer.addErrback(self._bind_refused, pdu)

    def _authorise(self, principal: P) -> P:
        """The server's own rules, checked after the password so that a refusal costs the
        same time as a wrong password."""
        limits = self.server.policy.limits(principal)
        networks = limits.networks
        if networks and not any(self.address in network for network in networks):
            raise NotAllowedFrom(f"{self.address} is not in the account's networks")
        default = self.server.config.max_binds_per_account
        max_binds = default if limits.max_binds is None else limits.max_binds
        bound = len(self.server.sessions(principal))
        if bound >= max_binds:
            raise TooManyBinds(f"already {bound} binds, the most allowed is {max_binds}")
        self.limits = limits
        return principal

    def _bind_accepted(self, principal: P, pdu: Pdu) -> Pdu:
        self.principal = principal
        self.server.lockout.succeeded(self.system_id)
        log.info(
            "{system_id} bound as {bind} from {address}",
            system_id=self.system_id,
            bind=BIND_TYPES[pdu.command_id],
            address=self.address,
        )
        own_id = self.server.config.system_id.encode("ascii")
        return p.response_to(pdu, p.ESME_ROK, {"system_id": own_id})

    def _bind_refused(self, failure: Failure, pdu: Pdu) -> Pdu:
        self._binding = False
        system_id = pdu.bytes_field("system_id").decode("latin-1")
        error = failure.value
        if not isinstance(error, GatewayError):
            log.failure("authenticator failed for {system_id}", failure, system_id=system_id)
            return p.response_to(pdu, p.ESME_RBINDFAIL)
        if isinstance(error, LockedOut):  # logged when the lock was imposed
            log.debug("bind for {system_id} refused: {error}", system_id=system_id, error=error)
            return p.response_to(pdu, error.smpp_status)
        lock = 0.0
        if isinstance(error, _GUESSES):
            lock = self.server.lockout.failed(self._address_key, system_id, self._now)
        log.info(
            "bind refused for {system_id} from {address}: {error}{locked}",
            system_id=system_id,
            address=self.address,
            error=error,
            locked=f" (now locked out for {lock:.0f}s)" if lock else "",
        )
        return p.response_to(pdu, error.smpp_status)

    @property
    def _address_key(self) -> str:
        return address_key(self.address)

    @property
    def _now(self) -> float:
        return seconds(self.clock)

    # --- operations -------------------------------------------------------------------------

    def _operate(self, principal: P, pdu: Pdu) -> Deferred[Pdu]:
        messages = self.server.messages
        command = pdu.command_id
        if command == p.SUBMIT_MULTI:
            return Deferred.fromCoroutine(self._submit_multi(principal, pdu))
        if command == p.QUERY_SM:
            message_id = pdu.bytes_field("message_id").decode("latin-1")
            queried = messages.query(principal, message_id, ops.source_of(pdu))
            return queried.addCallback(ops.query_response, pdu)
        if command == p.CANCEL_SM:
            cancelled = messages.cancel(principal, ops.cancel_request(pdu))
            return cancelled.addCallback(ops.done_response, pdu)
        if command == p.REPLACE_SM:
            replaced = messages.replace(principal, ops.replace_request(pdu))
            return replaced.addCallback(ops.done_response, pdu)
        return self._submit(principal, pdu).addCallback(ops.submit_response, pdu)

    def _submit(self, principal: P, pdu: Pdu) -> Deferred[str]:
        if self.server.throttled(principal):
            return fail(AccountThrottled(f"{self.system_id} is over its messages per second"))
        return self.server.messages.submit(principal, pdu)

    async def _submit_multi(self, principal: P, pdu: Pdu) -> Pdu:
        """Each SME destination is a submit_sm of its own, one after the other so that a
        large list cannot flood the gateway; failures are reported per destination."""
        destinations = pdu.dest_addresses()
        if not destinations:
            raise ValidationError("no destinations", smpp_status=p.ESME_RINVNUMDESTS)
        accepted: list[str] = []
        failed: list[UnsuccessSme] = []
        for destination in destinations:
            if isinstance(destination, DistributionList):
                failed.append(ops.unsuccessful(destination, p.ESME_RINVDLNAME))
                continue
            try:
                accepted.append(await self._submit(principal, ops.submission_for(pdu, destination)))
            except GatewayError as error:
                failed.append(ops.unsuccessful(destination, error.smpp_status))
            except Exception:
                # Others may already be accepted: answer for each rather than fail them all.
                log.failure("submitter failed for {system_id}", system_id=self.system_id)
                failed.append(ops.unsuccessful(destination, p.ESME_RSYSERR))
        # One message_id answers the request: that of the first accepted destination.
        return ops.multi_response(pdu, accepted[0] if accepted else "", failed)

    # --- lifecycle --------------------------------------------------------------------------

    def on_bound(self) -> None:
        if self._bind_timer is not None and self._bind_timer.active():
            self._bind_timer.cancel()
        self.server.bound(self)

    def on_closed(self, reason: Failure) -> None:
        if self._bind_timer is not None and self._bind_timer.active():
            self._bind_timer.cancel()
        self.server.closed(self)


class SmppServerFactory(ServerFactory, Generic[P]):
    """Builds :class:`SmscSession` and tracks bound sessions per principal (which must be
    hashable).

    ``messages`` is a :class:`MessageService`; a bare submitter callable is still accepted, in
    which case query_sm, cancel_sm and replace_sm are refused. ``policy`` gives each account's
    :class:`BindLimits`; by default every account gets the config's defaults.
    """

    noisy = False  # our listeners log their own start and stop

    def __init__(
        self,
        config: SmppServerConfig,
        clock: IReactorTime,
        authenticator: Authenticator[P],
        messages: MessageService[P] | Submitter[P],
        *,
        policy: BindPolicy[P] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.authenticator = authenticator
        self.messages: MessageService[P] = (
            messages if isinstance(messages, MessageService) else SubmitOnly(messages)
        )
        self.policy: BindPolicy[P] = policy if policy is not None else DefaultLimits()
        lockout = LockoutPolicy(config.lockout_threshold, config.lockout_base, config.lockout_max)
        self.lockout = BindLockout(lockout)
        #: Told each operation's answer: the request's command_id and the status (the metrics).
        self.on_answered: Callable[[int, int], None] | None = None
        self._connections: set[SmscSession[P]] = set()
        # Insertion-ordered so deliver() can rotate through a principal's receivers.
        self._bound: dict[P, dict[SmscSession[P], None]] = {}
        # One bucket per bound account, shared by its binds; dropped with its last bind.
        self._buckets: dict[P, TokenBucket] = {}
        #: Called when a session that can receive deliver_sm binds (to send what waits).
        self.on_receiver_bound: Callable[[P], None] | None = None

    def buildProtocol(self, addr: IAddress | None) -> SmscSession[P]:
        return SmscSession(self)

    def principals(self) -> list[P]:
        """The principals with at least one bound session."""
        return list(self._bound)

    def sessions(self, principal: P) -> list[SmscSession[P]]:
        """The bound sessions of ``principal``."""
        return list(self._bound.get(principal, {}))

    def deliver(
        self,
        principal: P,
        fields: Mapping[str, int | bytes],
        tlvs: Sequence[tuple[int, bytes]] = (),
    ) -> Deferred[bool]:
        """Send deliver_sm on one of the principal's receiving sessions. Fires False when none is
        bound; fails with the session's errors (CommandFailed, ResponseTimeout...)."""
        receivers = self._bound.get(principal, {})
        for session in receivers:
            if session.state in RX_STATES:
                del receivers[session]
                receivers[session] = None  # to the back of the rotation
                sent = session.send_request(p.DELIVER_SM, fields, tlvs)
                return sent.addCallback(lambda _: True)
        return succeed(False)

    def unbind_all(self) -> Deferred[None]:
        """Unbind every session (each bounded by response_timeout) for a graceful shutdown."""
        unbinding = [session.unbind() for session in list(self._connections)]
        done = DeferredList(unbinding, consumeErrors=True)
        return done.addCallback(lambda _: None)

    def throttled(self, principal: P) -> bool:
        """Whether one more message now would put ``principal`` over its rate (a token is
        taken when it would not)."""
        bucket = self._buckets.get(principal)
        return bucket is not None and isinstance(bucket.take(seconds(self.clock)), Throttled)

    # --- called by the sessions -------------------------------------------------------------

    def connected(self, session: SmscSession[P]) -> None:
        self._connections.add(session)

    def bound(self, session: SmscSession[P]) -> None:
        principal = session.principal
        if principal is None:
            return
        self._bound.setdefault(principal, {})[session] = None
        tps = session.limits.tps
        rate = self.config.default_account_tps if tps is None else tps
        # A second's worth of burst: ESMEs send a window's worth at once, and the account's
        # rate is fair use here; the upstream connectors enforce their SMSCs' limits exactly.
        now = seconds(self.clock)
        bucket = self._buckets.get(principal)
        if bucket is None:
            self._buckets[principal] = TokenBucket(rate, now, burst=rate)
        elif bucket.rate != rate:
            bucket.set_rate(rate, now, burst=rate)
        if session.state in RX_STATES and self.on_receiver_bound is not None:
            self.on_receiver_bound(principal)

    def closed(self, session: SmscSession[P]) -> None:
        self._connections.discard(session)
        if session.principal is None:
            return
        receivers = self._bound.get(session.principal, {})
        receivers.pop(session, None)
        if not receivers:
            self._bound.pop(session.principal, None)
            self._buckets.pop(session.principal, None)
