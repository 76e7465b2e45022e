"""A pipeline on real storage (SQLite file or PostgreSQL) with scripted connectors and a Clock:
submissions, group commit, dispatcher, receipt handler and the outbox rows they produce."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from gatewayd.config import Config, ConnectorConfig, MoConfig, PipelineConfig
from gatewayd.pipeline.batches import BatchControl
from gatewayd.pipeline.directory import AccountDirectory
from gatewayd.pipeline.dispatcher import Dispatcher
from gatewayd.pipeline.pacing import Pacing
from gatewayd.pipeline.receipts import ReceiptHandler
from gatewayd.pipeline.routes import MessageRouter
from gatewayd.pipeline.submission import Submissions, SubmitRequest
from gatewayd.routing.acceptance import Acceptance, Failed
from gatewayd.routing.numbers import NumberPlan
from gatewayd.routing.table import RoutingTable, Rule
from gatewayd.routing.throttle import RateLimits
from gatewayd.smpp import pdu as p
from gatewayd.smpp.receipts import ESM_CLASS_RECEIPT, receipt_tlvs
from gatewayd.storage.accounts import AccountInfo, AccountStore
from gatewayd.storage.batches import group_numbers
from gatewayd.storage.committer import GroupCommitter
from gatewayd.storage.database import Database
from gatewayd.storage.fair_use import FairUsePolicy
from gatewayd.storage.messages import MessageStore, MessageView, Outbound
from gatewayd.storage.traffic import OutboxRow, load_queued, load_unmatched

Answer = str | Exception | Deferred[str]


class ScriptedConnector:
    """Answers each submit from a script: an id, an exception, or a Deferred the test fires."""

    def __init__(self, answers: list[Answer] | None = None, **config: Any) -> None:
        self.name = "up"
        self.config = ConnectorConfig(host="h", system_id="gw", **config)
        self.answers: list[Answer] = answers if answers is not None else []
        self.submitted: list[tuple[dict[str, Any], tuple[tuple[int, bytes], ...]]] = []
        self.room = True
        self.bound = True
        self.counter = 0

    @property
    def is_bound(self) -> bool:
        return self.bound

    def has_room(self, submits: int) -> bool:
        return self.room

    def submit(
        self, fields: Mapping[str, Any], tlvs: Sequence[tuple[int, bytes]] = ()
    ) -> Deferred[str]:
        self.submitted.append((dict(fields), tuple(tlvs)))
        if not self.answers:
            self.counter += 1
            return succeed(f"{self.counter:X}")
        answer = self.answers.pop(0)
        if isinstance(answer, Deferred):
            return answer
        return fail(answer) if isinstance(answer, Exception) else succeed(answer)


def receipt_pdu(smsc_id: str, stat: str = "DELIVRD", err: str = "000") -> p.Pdu:
    text = f"id:{smsc_id} sub:001 dlvrd:001 submit date:2611231200 done date:2611231201"
    return p.Pdu(
        p.DELIVER_SM,
        fields={
            "esm_class": ESM_CLASS_RECEIPT,
            "short_message": f"{text} stat:{stat} err:{err} text:".encode(),
            "source_addr": b"22376600000",
            "destination_addr": b"ACME",
        },
    )


def receipt_tlv_only(smsc_id: str, stat: str) -> p.Pdu:
    return p.Pdu(
        p.DELIVER_SM, fields={"esm_class": ESM_CLASS_RECEIPT}, tlvs=receipt_tlvs(smsc_id, stat)
    )


@dataclass
class Rig:
    database: Database
    connector: ScriptedConnector
    pipeline: PipelineConfig = field(default_factory=lambda: PipelineConfig(commit_delay=0.0))
    mo_routes: Mapping[str, str] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    account_tps: float = 0.0
    fair_use: FairUsePolicy | None = None
    operator_tps: Mapping[str, float] = field(default_factory=dict)
    extra: Mapping[str, ScriptedConnector] = field(default_factory=dict)
    clock: Clock = field(default_factory=Clock)
    forwarded: list[OutboxRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.clock.seconds():
            self.clock.advance(1_000_000)
        self.committer = GroupCommitter(self.database, self.clock, 0.0)
        self.store = MessageStore(self.database)
        self.accounts = AccountStore(self.database)
        self.config = Config(
            connectors={n: c.config for n, c in {"up": self.connector, **self.extra}.items()},
            pipeline=self.pipeline,
            mo=MoConfig(routes=self.mo_routes),
        )
        self.ids: dict[str, int] = {}
        self.connectors: dict[str, ScriptedConnector] = {"up": self.connector, **self.extra}
        self.directory = AccountDirectory(self.database)
        self.acceptance = Acceptance(
            NumberPlan(), RoutingTable(self.rules, "up"), lambda n: self.connectors[n].is_bound
        )
        self.router = MessageRouter(self.acceptance, self.directory, self.clock)
        self.receipts = ReceiptHandler(
            self.committer, self.clock, self.config, self.ids, self.forwarded.extend
        )
        self.dispatcher = self.new_dispatcher()
        self.submissions = Submissions(
            self.committer,
            self.clock,
            self.dispatcher.enqueue,
            self.pipeline.max_age,
            self.acceptance,
            self.directory,
            RateLimits(lambda key: self.account_tps),
            lambda account, names: self.database.run("groups", group_numbers, account, names),
            self.fair_use,
        )
        self.dispatcher.fair_use = self.fair_use
        self.receipts.resend_via = self._resend_via
        self.receipts.on_resend = lambda msg, via: self.dispatcher.resend(msg, via)
        self.batches = BatchControl(
            self.database,
            self.clock,
            lambda msgs: self.dispatcher.enqueue(msgs),
            lambda ids: self.dispatcher.forget(ids),
        )

    def new_dispatcher(self) -> Dispatcher:
        """A dispatcher as a restarted daemon builds it (the old one is simply dropped)."""
        dispatcher = Dispatcher(
            self.database,
            self.committer,
            self.connectors,
            self.router,
            self.clock,
            self.pipeline,
            self.receipts.part_recorded,
            self.directory.share,
            Pacing(
                lambda account: self.account_tps,
                self.operator_tps,
                lambda e164: self.acceptance.plan.classify(e164).operator,
            ),
        )
        dispatcher.connector_ids = self.ids
        return dispatcher

    def _resend_via(self, failed: Failed) -> str | None:
        names = {number: name for name, number in self.ids.items()}
        account = self.directory.peek(failed.account_id)
        failed_on = names.get(failed.connector_id)
        return self.acceptance.resend_via(account, failed, failed_on, self.clock.seconds())

    async def start(self, dispatcher: Dispatcher | None = None) -> None:
        dispatcher = dispatcher or self.dispatcher
        await self.directory.reload()
        dispatcher.startService()
        await dispatcher.ready
        self.receipts.load(await self.database.run("unmatched", load_unmatched))
        self.receipts.mark_ready()
        await self.settle()

    async def account(self, name: str = "Acme") -> AccountInfo:
        info = await self.accounts.create_account(name, "customer", 1.0)
        await self.directory.reload()
        return info

    async def send(self, account: AccountInfo, text: str = "hi", **kw: Any) -> list[str]:
        request = SubmitRequest(
            account,
            None,
            kw.pop("channel", "smpp"),
            kw.pop("to", ["22376600000"]),
            text,
            kw.pop("sender", "ACME"),
            **kw,
        )
        ids = await self.submissions.submit(request)
        await self.settle()
        return ids

    async def deliver(self, pdu: p.Pdu) -> None:
        await self.receipts.on_deliver(self.connector, pdu)
        await self.settle()

    async def settle(self) -> None:
        """Let every queued write commit (writes may queue more writes)."""
        for _ in range(5):
            refilling = self.dispatcher.refilling()
            if refilling is not None:
                await refilling
            await self.committer.drain()

    async def view(self, public_id: str) -> MessageView:
        return await self.store.message(public_id, None)

    async def queued(self) -> list[Outbound]:
        return await self.database.run("queued", load_queued, 0, 1000)
