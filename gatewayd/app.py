"""The composition root: builds every component from the config and wires the service tree.

Nothing else builds the world. Leaf components take their dependencies (store, clock,
config section) as constructor arguments; the reactor comes in from ``__main__``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from socket import gethostname
from typing import Any

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gatewayd.admin.console import Console, Services
from gatewayd.admin.control import ControlApi
from gatewayd.admin.rendering import Templates
from gatewayd.admin.site import make_site
from gatewayd.billing.job import InvoiceJob
from gatewayd.billing.payments import hook_payments
from gatewayd.billing.settings import billing_settings
from gatewayd.cluster.membership import Membership
from gatewayd.cluster.notify import PgNotifications
from gatewayd.config import Config, ConnectorConfig, diff_config
from gatewayd.config.password_file import read_password_file
from gatewayd.config.policy import fair_use_policy, mo_table, number_plan, routing_table
from gatewayd.drain import responses_settled, unbind_when_answered
from gatewayd.fleet.wiring import fleet_runner
from gatewayd.listeners import ListenerService
from gatewayd.metrics import Metrics
from gatewayd.ops_view import GatewayOperations
from gatewayd.pipeline.batches import BatchControl
from gatewayd.pipeline.callbacks import CallbackClient
from gatewayd.pipeline.destinations import parse_networks
from gatewayd.pipeline.directory import AccountDirectory
from gatewayd.pipeline.dispatcher import Dispatcher
from gatewayd.pipeline.mailer import SmtpMailer
from gatewayd.pipeline.notifier import Notifier
from gatewayd.pipeline.outbox import Outbox
from gatewayd.pipeline.pacing import Pacing
from gatewayd.pipeline.receipts import ReceiptHandler
from gatewayd.pipeline.routes import MessageRouter
from gatewayd.pipeline.smpp_ingress import SmppMessages
from gatewayd.pipeline.submission import Submissions
from gatewayd.plugins.hooks import PAYMENT
from gatewayd.plugins.host import PluginHost, load_plugins
from gatewayd.plugins.messages import wire as wire_message_hooks
from gatewayd.plugins.notify import builtin_notifiers, operator_account
from gatewayd.retention import RetentionJob
from gatewayd.routing.acceptance import Acceptance, Failed
from gatewayd.routing.rules_parse import parse_rules
from gatewayd.routing.table import Rule
from gatewayd.routing.throttle import RateLimits
from gatewayd.services import TypedMultiService, TypedService
from gatewayd.smpp.client import UpstreamConnector
from gatewayd.smpp.server import SmppServerFactory
from gatewayd.smpp.simulator import SimulatorFactory
from gatewayd.storage.accounts import AccountInfo, AccountStore
from gatewayd.storage.batches import group_numbers
from gatewayd.storage.committer import GroupCommitter
from gatewayd.storage.database import Database, create_db_engine, thread_count
from gatewayd.storage.fair_use import prune as prune_fair_use
from gatewayd.storage.messages import MessageStore
from gatewayd.storage.route_rules import load_route_rules, route_rules_version
from gatewayd.storage.traffic import OutboxRow, drop_unmatched, load_unmatched
from gatewayd.storage.websessions import WebSessionStore

log = Logger()
#: Seconds between two prunings of old fair-use recipients and notifications.
PRUNE_INTERVAL = 3600.0


def connector_password(
    name: str, conf: ConnectorConfig, source: str, within: str | None = None
) -> str:
    """The bind password: inline, or read from a file (systemd LoadCredential=); see
    :func:`read_password_file` for the checks and ``within``. Blocking when there is a file."""
    if not conf.password_file:
        return conf.password
    key = f"connectors.{name}.password_file"
    return read_password_file(conf.password_file, source, key, within)


class _OnStop(TypedService):
    """Runs a callable at stop time; placed first so that it runs after the listeners stop."""

    def __init__(self, name: str, on_stop: Callable[[], Deferred[Any] | None]) -> None:
        self.setName(name)
        self._on_stop = on_stop

    def stopService(self) -> Deferred[Any] | None:
        super().stopService()
        return self._on_stop()


class _Periodic(TypedService):
    """Runs an async job every ``interval`` seconds; a failure is logged, never fatal."""

    def __init__(
        self, name: str, clock: Any, interval: float, job: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        self.setName(name)
        self._job = job
        self._loop = LoopingCall(self._run)
        self._loop.clock = clock
        self._interval = interval

    def _run(self) -> Deferred[None]:
        d = Deferred.fromCoroutine(self._job())
        return d.addErrback(lambda f: log.failure("{job} failed", f, job=self.name))

    def startService(self) -> None:
        super().startService()
        self._loop.start(self._interval, now=False)

    def stopService(self) -> None:
        super().stopService()
        if self._loop.running:
            self._loop.stop()


class BoundCustomers:
    """The outbox's view of the SMPP server: which account is bound, and deliver_sm."""

    def __init__(self, factory: SmppServerFactory[AccountInfo]) -> None:
        self._factory = factory

    def principal_for(self, account_id: int) -> AccountInfo | None:
        return next((p for p in self._factory.principals() if p.id == account_id), None)

    def deliver(
        self,
        principal: AccountInfo,
        fields: Mapping[str, int | bytes],
        tlvs: Sequence[tuple[int, bytes]],
    ) -> Deferred[bool]:
        return self._factory.deliver(principal, fields, tlvs)


class Gateway(TypedMultiService):
    """The daemon's service tree. Children start in order and stop in reverse order."""

    def __init__(self, config: Config, reactor: Any, source: str) -> None:
        super().__init__()
        self.config = config
        self._reactor = reactor
        self._source = source
        self._listeners: list[ListenerService] = []
        self.metrics = Metrics()  # the one Prometheus registry, served at /metrics
        self.db = Database(
            create_db_engine(config.database), reactor, thread_count(config.database)
        )
        self.db.setServiceParent(self)
        # None, None for a single node; the lease service fills the membership in.
        self.cluster, self.notifications = self._build_cluster()
        pipeline = config.pipeline
        # Stops after the connectors and the dispatcher: what they record last still commits.
        # New messages commit beside the other writes when the database has several writers.
        self.committer = GroupCommitter(
            self.db,
            reactor,
            pipeline.commit_delay,
            pipeline.commit_max,
            lanes=thread_count(config.database) > 1
            and not config.database.url.startswith("sqlite"),
            observe=self.metrics.group_commit,
        )
        self.committer.setServiceParent(self)
        self.accounts = AccountStore(self.db)
        self.messages = MessageStore(self.db)
        self.sessions = WebSessionStore(self.db)
        self.directory = AccountDirectory(self.db)
        self._route_rules: tuple[tuple[int, float], tuple[Rule, ...]] = ((0, 0.0), ())
        self._pruned = float("-inf")
        self.acceptance = self._acceptance(config)
        self.router = MessageRouter(self.acceptance, self.directory, reactor)
        self._build_simulator()
        self._connector_ids: dict[str, int] = {}
        self.receipts = ReceiptHandler(
            self.committer, reactor, config, self._connector_ids, lambda rows: self._offer(rows)
        )
        self.receipts.on_status = self.metrics.receipt
        self.connectors = self._build_connectors()
        self.dispatcher = Dispatcher(
            self.db,
            self.committer,
            self.connectors,
            self.router,
            reactor,
            pipeline,
            self.receipts.part_recorded,
            self.directory.share,
            Pacing(
                self._account_rate,
                config.throttle.operators,
                lambda e164: self.acceptance.plan.classify(e164).operator,
            ),
        )
        self.dispatcher.connector_ids = self._connector_ids
        self.receipts.resend_via = self._resend_via
        self.receipts.on_resend = self.dispatcher.resend
        self.dispatcher.ready.addCallback(lambda _: self._recover_receipts())
        self.submissions = Submissions(
            self.committer,
            reactor,
            self.dispatcher.enqueue,
            pipeline.max_age,
            self.acceptance,
            self.directory,
            RateLimits(self._account_rate),
            lambda account_id, names: self.db.run("groups", group_numbers, account_id, names),
            fair_use_policy(config, source),
            self.db.offload,
        )
        self.dispatcher.fair_use = self.submissions.fair_use
        self.submissions.on_fair_use = self.metrics.fair_use
        self.notifier = Notifier(
            self.db, self.submissions, reactor, SmtpMailer(reactor, config.notifications)
        )
        self.plugins = self._build_plugins()
        self.batches = BatchControl(
            self.db, reactor, self.dispatcher.enqueue, self.dispatcher.forget
        )
        # Stops after the dispatcher, before the connectors: the SMSCs answer what was sent.
        _OnStop(
            "smsc-responses", lambda: responses_settled(self.connectors.values(), reactor)
        ).setServiceParent(self)
        self.dispatcher.setServiceParent(self)
        self._build_smpp_server()
        self._build_web()
        _Periodic(
            "housekeeping", reactor, pipeline.sweep_interval, self._housekeeping
        ).setServiceParent(self)
        # Last month's invoices once it is over (docs/billing.md); idempotent per month.
        self.billing_job = InvoiceJob(
            self.db, reactor, billing_settings(config.billing, self._source)
        )
        self.billing_job.setServiceParent(self)
        # Fleet orders (docs/fleet.md): carried out by the [fleet] backend, e-mailed on notify.
        self.fleet_runner = fleet_runner(reactor, self.db, config.fleet, source, self.plugins)
        self.fleet_runner.setServiceParent(self)
        # Purges what [retention] no longer keeps, in short transactions (docs/operations.md).
        self.retention = RetentionJob(self.db, reactor, config.retention)
        self.retention.setServiceParent(self)

    # -- builders ---------------------------------------------------------------------------
    def _build_cluster(self) -> tuple[Membership | None, PgNotifications | None]:
        """Several nodes on one PostgreSQL (docs/pipeline.md, "Cluster design")."""
        cluster = self.config.cluster
        if not cluster.enabled:
            return None, None
        notifications = PgNotifications(self.config.database.url, self._reactor)
        notifications.setServiceParent(self)
        return Membership(cluster.node or gethostname()), notifications

    def _acceptance(self, config: Config) -> Acceptance:
        """Numbers, sender IDs and routes as every channel checks them: the database's
        routing rules first, then the config's."""
        return Acceptance(
            number_plan(config, self._source),
            routing_table(config, self._source, self._route_rules[1]),
            self._is_bound,
        )

    def _resend_via(self, failed: Failed) -> str | None:
        """Runs in the database thread: reads only (settings, the routing table)."""
        names = {number: name for name, number in self._connector_ids.items()}
        account = self.directory.peek(failed.account_id)
        now = self._reactor.seconds()
        return self.acceptance.resend_via(account, failed, names.get(failed.connector_id), now)

    def _account_rate(self, account_id: int) -> float:
        tps = self.directory.get(account_id).tps
        return self.config.smpp_server.default_account_tps if tps is None else tps

    def _is_bound(self, name: str) -> bool:
        connector = self.connectors.get(name)
        return connector is not None and connector.is_bound

    def _use_acceptance(self, acceptance: Acceptance) -> None:
        self.acceptance = self.submissions.acceptance = self.router.acceptance = acceptance

    def _listen(self, label: str, description: str, factory: Any) -> None:
        listener = ListenerService(label, description, factory, self._reactor)
        listener.setServiceParent(self)
        self._listeners.append(listener)

    def _build_plugins(self) -> PluginHost:
        """The built-in notifiers, then the config's plugins in order (docs/plugins.md)."""
        builtins = builtin_notifiers(
            SmtpMailer(self._reactor, self.config.notifications),
            self.submissions,
            lambda: self.db.run("operator_account", operator_account),
        )
        loaded = load_plugins(self.config.plugins, self._source, self._reactor, services=self)
        host = PluginHost([*builtins, *loaded], self._reactor)
        wire_message_hooks(host, self.submissions, self.router, self.receipts)
        host.setServiceParent(self)
        return host

    def _build_simulator(self) -> None:
        sim = self.config.simulator
        if not sim.enabled:
            return
        factory = SimulatorFactory.from_config(self._reactor, sim)
        _OnStop("simulator-timers", lambda: factory.stop()).setServiceParent(self)
        self._listen("SMSC simulator", sim.listen, factory)

    def _build_connectors(self) -> dict[str, UpstreamConnector]:
        connectors = {}
        for name, conf in self.config.connectors.items():
            if not conf.enabled:
                continue
            password = connector_password(name, conf, self._source)
            connector = UpstreamConnector(
                name, conf, self._reactor, password, self.receipts.on_deliver
            )
            connector.setServiceParent(self)
            connectors[name] = connector
        return connectors

    def _build_smpp_server(self) -> None:
        messages = SmppMessages(
            self.accounts, self.messages, self.submissions, self._reactor, self.dispatcher
        )
        factory: SmppServerFactory[AccountInfo] = SmppServerFactory(
            self.config.smpp_server,
            self._reactor,
            messages.authenticate,
            messages,
            policy=messages,
        )
        self.outbox = Outbox(
            self.db,
            self.committer,
            self._reactor,
            self.config.pipeline,
            BoundCustomers(factory),
            CallbackClient(
                self._reactor,
                self.config.pipeline.callback_timeout,
                allowed=parse_networks(self.config.callbacks.allowed_networks),
            ),
        )
        self.outbox.setServiceParent(self)
        factory.on_receiver_bound = lambda account: self.outbox.account_bound(account.id)
        factory.on_answered = self.metrics.smpp_answered
        unbind = _OnStop("smpp-unbind", lambda: unbind_when_answered(factory, self._reactor))
        unbind.setServiceParent(self)
        for description in self.config.smpp_server.listen:
            self._listen("SMPP server", description, factory)

    def _build_web(self) -> None:
        operations = GatewayOperations(self)  # console connectors and plans, live status
        operations.setServiceParent(self)
        self.metrics.watch(operations, lambda: self.plugins.failures)
        services = Services(
            self.accounts,
            self.sessions,
            self.messages,
            self.submissions,
            self.db,
            self._reactor,
            self.config.admin,
            directory=self.directory,
            operations=operations,
            callback_networks=parse_networks(self.config.callbacks.allowed_networks),
            billing=billing_settings(self.config.billing, self._source),
            payments=hook_payments(
                (plugin.instance for plugin in self.plugins.plugins),
                lambda request: self.plugins.first(PAYMENT, request),
            ),
            metrics=self.metrics,
        )
        console = Console(services, Templates())
        site = make_site(
            console.resource(), self.config.admin.max_request_body, self.metrics.http_request
        )
        for description in self.config.admin.listen:
            self._listen("admin console", description, site)
        control = ControlApi(self.accounts, self.messages, self.submissions, self.batches)
        path = self.config.control.socket
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            control_site = make_site(control.resource(), self.config.admin.max_request_body)
            self._listen("control API", f"unix:{_escape(path)}:mode=600:lockfile=1", control_site)

    # -- the pipeline's glue ----------------------------------------------------------------
    def _offer(self, rows: Sequence[OutboxRow]) -> None:
        self.outbox.offer(rows)

    def _recover_receipts(self) -> Deferred[None]:
        d = self.db.run("load_unmatched", load_unmatched)
        d.addCallback(self.receipts.load)
        d.addErrback(lambda f: log.failure("could not reload held receipts", f))
        return d.addCallback(lambda _: self.receipts.mark_ready())

    async def _housekeeping(self) -> None:
        await self.directory.reload()
        await self._reload_route_rules()
        await self.batches.release_due()
        await self.notifier.run()
        now = self._reactor.seconds()
        if now - self._pruned >= PRUNE_INTERVAL:  # a scan of the recipients: not every sweep
            self._pruned = now
            await self.db.run("prune_fair_use", prune_fair_use, now)
        before = self._reactor.seconds() - self.config.pipeline.receipt_wait
        if self.receipts.drop_older_than(before):
            await self.db.run("drop_unmatched", drop_unmatched, before)

    # -- lifecycle --------------------------------------------------------------------------
    def when_ready(self) -> Deferred[Any]:
        """Fires when every listener is up; fails with the first listener that could not."""
        d: Deferred[Any] = gatherResults(
            [ls.listening for ls in self._listeners], consumeErrors=True
        )
        return d

    def listening_addresses(self) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        for listener in self._listeners:
            port = listener.listening.result if listener.listening.called else None
            if port is not None and hasattr(port, "getHost"):
                found.setdefault(listener.label, []).append(port.getHost())
        return found

    def reload(self, new: Config) -> list[str]:
        """Apply what can change live; returns the changed keys and what each needs."""
        changes = diff_config(self.config, new)
        if not changes:
            return []
        notes = []
        for key in changes:
            if key.startswith(("routing.", "numbers.")):
                notes.append(f"{key}: applied")
            elif key.startswith(("plans", "fair_use.")):
                policy = fair_use_policy(new, self._source)
                self.submissions.fair_use = self.dispatcher.fair_use = policy
                notes.append(f"{key}: applied")
            elif key.startswith("mo."):
                self.receipts.mo = mo_table(new, self._source)
                notes.append(f"{key}: applied")
            elif key in ("logging.level", "daemon.drain_seconds"):  # the stop reads config
                notes.append(f"{key}: applied")
            else:
                notes.append(f"{key}: needs a restart")
        if any(key.startswith(("routing.", "numbers.")) for key in changes):
            self._use_acceptance(self._acceptance(new))
        self.config = new
        return notes

    async def _reload_route_rules(self) -> None:
        """Pick up routing rules changed in the database (by the CLI or another node)."""
        version = await self.db.run("route_rules_version", route_rules_version)
        if version == self._route_rules[0]:
            return
        version, specs = await self.db.run("route_rules", load_route_rules)
        try:
            rules = parse_rules(specs, "route_rules")
        except ValueError as error:  # checked on the way in; a bad row must not stop routing
            log.error("routing rules in the database ignored: {error}", error=str(error))
            return
        self._route_rules = (version, rules)
        self._use_acceptance(self._acceptance(self.config))
        log.info("{n} routing rule(s) from the database", n=len(rules))

    def startService(self) -> None:
        super().startService()
        self.directory.reload()
        d = Deferred.fromCoroutine(self._reload_route_rules())
        d.addErrback(lambda f: log.failure("could not load the routing rules", f))

    def stopService(self) -> Deferred[Any]:
        log.info("stopping: closing listeners, finishing in-flight work, unbinding sessions")
        d: Deferred[Any] = Deferred.fromCoroutine(_stopped(super().stopService()))
        return d


async def _stopped(d: Deferred[Any] | None) -> None:
    if d is not None:
        await d


def _escape(path: str) -> str:
    return path.replace("\\", "\\\\").replace(":", "\\:")
