"""Delivery receipts and MO from upstream connectors.

A deliver_sm (or data_sm) is answered only after what it carries is committed: the SMSC keeps
and retries what we did not acknowledge, so nothing is lost between the two.

- A receipt is matched to its part (see :mod:`gatewayd.pipeline.smsc_ids`); the message's
  status combines its parts', and a final status owed to the customer goes to the outbox.
- A receipt for an id no part has yet (it overtook its submit_sm_resp) is kept, in the database
  and here, and applied as soon as the dispatcher records that part; after
  ``[pipeline] receipt_wait`` it is dropped with a warning.
- Anything else is MO: stored, and routed by destination and keyword to an account
  (``[[mo.rules]]`` and ``[mo] routes``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from gatewayd.config import Config
from gatewayd.config.policy import mo_table
from gatewayd.logsetup import info_enabled
from gatewayd.pipeline.smsc_ids import ReceiptIds, candidates
from gatewayd.smpp.pdu import Pdu
from gatewayd.smpp.receipts import is_receipt, parse_receipt
from gatewayd.smpp.text import decode
from gatewayd.smpp.tlv import MESSAGE_PAYLOAD
from gatewayd.status import Status, from_receipt_state
from gatewayd.storage.committer import GroupCommitter
from gatewayd.storage.messages import Outbound
from gatewayd.storage.receipt_writes import RECEIPT, ReceiptIn, ReceiptOut, ResendVia
from gatewayd.storage.traffic import MO, HeldReceipt, MoIn, OutboxRow

log = Logger()

#: Where outbox rows go once committed (the customer-facing forwarder).
Forward = Callable[[Sequence[OutboxRow]], None]


@dataclass(frozen=True)
class _Held:
    row_id: int
    item: ReceiptIn


def error_code(err: str) -> str | None:
    return None if err.strip("0 ") == "" else f"err:{err}"


class ReceiptHandler:
    def __init__(
        self,
        committer: GroupCommitter,
        clock: IReactorTime,
        config: Config,
        connector_ids: Mapping[str, int],
        forward: Forward,
    ) -> None:
        self._committer = committer
        self._clock = clock
        self.config = config
        self._ids = connector_ids  # filled by the dispatcher when it starts
        self._forward = forward
        self.mo = mo_table(config, "config")  # replaced on reload
        #: The routes' "resend once" (decided in the receipt's transaction), and where a
        #: message to resend goes once that is committed: the dispatcher.
        self.resend_via: ResendVia | None = None
        self.on_resend: Callable[[Outbound, str], None] | None = None
        #: Told each receipt matched and each MO, once committed (the plugins' on_receipt and
        #: on_mo), set by the composition root.
        self.on_receipt: Callable[[str, ReceiptIn, str, str], None] | None = None
        self.on_mo: Callable[[str, MoIn, str], None] | None = None
        #: Told each receipt's status as it arrives, matched or not (the metrics).
        self.on_status: Callable[[Status], None] | None = None
        self._held: dict[tuple[int, str], _Held] = {}
        self.counts: dict[str, int] = {"receipts": 0, "unmatched": 0, "mo": 0}
        # Until the connector ids are known (the dispatcher's start), deliveries wait: an SMSC
        # with receipts queued for us sends them the moment a bind comes up.
        self._ready = False
        self._early: list[tuple[Deferred[None], Any, Pdu]] = []

    def mark_ready(self) -> None:
        self._ready = True
        early, self._early = self._early, []
        for waiter, connector, pdu in early:
            self.on_deliver(connector, pdu).chainDeferred(waiter)

    # --- from the connectors -----------------------------------------------------------------

    def on_deliver(self, connector: Any, pdu: Pdu) -> Deferred[None]:
        if not self._ready:
            waiter: Deferred[None] = Deferred()
            self._early.append((waiter, connector, pdu))
            return waiter
        name = str(connector.name)
        if is_receipt(pdu):
            return self._receipt(name, pdu)
        return self._mo(name, pdu)

    def _reading(self, connector: str) -> ReceiptIds:
        conf = self.config.connectors.get(connector)
        return conf.receipt_ids if conf is not None else "same"

    def _receipt(self, connector: str, pdu: Pdu) -> Deferred[None]:
        receipt = parse_receipt(pdu)  # a ReceiptError is answered ESME_RX_P_APPN
        self.counts["receipts"] += 1
        item = ReceiptIn(
            self._ids[connector],
            receipt.message_id,
            candidates(receipt.message_id, self._reading(connector)),
            receipt.stat,
            from_receipt_state(receipt.stat),
            error_code(receipt.err),
            self._clock.seconds(),
            self.config.pipeline.outbox_expiry,
            resend=self.resend_via,
        )
        if self.on_status is not None:
            self.on_status(item.status)
        d = self._committer.add(RECEIPT, item)
        return d.addCallback(self._applied, item, connector)

    def _applied(self, out: ReceiptOut, item: ReceiptIn, connector: str) -> None:
        if out.public_id is not None:
            self._release(item)
            if info_enabled():
                log.info(
                    "receipt {stat} for {message_id} on {connector}",
                    stat=item.stat,
                    message_id=out.public_id,
                    connector=connector,
                )
            if out.outbox:
                self._forward(out.outbox)
            if self.on_receipt is not None:
                status = out.status.value if out.status is not None else ""
                self.on_receipt(out.public_id, item, connector, status)
            if out.resend is not None and self.on_resend is not None:
                self.on_resend(*out.resend)
            return
        if out.unmatched_id is None:
            return
        if item.unmatched_id is None:
            self.counts["unmatched"] += 1
            log.info(
                "receipt on {connector} for {smsc_message_id} before its part: kept",
                connector=connector,
                smsc_message_id=item.smsc_id,
            )
            held = _Held(out.unmatched_id, replace(item, unmatched_id=out.unmatched_id))
            for key in item.keys:
                self._held[(item.connector_id, key)] = held
            # The part may have been recorded while this receipt was being committed: look
            # once more, after whatever the dispatcher queued meanwhile.
            self._retry(held)

    def _retry(self, held: _Held) -> None:
        d = self._committer.add(RECEIPT, held.item)
        d.addCallback(self._applied, held.item, str(held.item.connector_id))
        d.addErrback(lambda f: log.failure("applying a held receipt failed", f))

    def _release(self, item: ReceiptIn) -> None:
        for key in item.keys:
            held = self._held.get((item.connector_id, key))
            if held is not None and held.item.unmatched_id == item.unmatched_id:
                del self._held[(item.connector_id, key)]

    # --- from the dispatcher -----------------------------------------------------------------

    def part_recorded(self, connector_id: int, key: str) -> None:
        """A part was queued for commit as sent: apply the receipt that waited for it, after
        it (the committer keeps the order)."""
        if not self._held:
            return
        held = self._held.get((connector_id, key))
        if held is not None:
            self._release(held.item)
            self._retry(held)

    def load(self, rows: Sequence[HeldReceipt]) -> None:
        """The receipts still held when the daemon stopped."""
        names = {conn_id: name for name, conn_id in self._ids.items()}
        for row in rows:
            reading = self._reading(names.get(row.connector_id, ""))
            item = ReceiptIn(
                row.connector_id,
                row.smsc_id,
                candidates(row.smsc_id, reading),
                row.stat,
                from_receipt_state(row.stat),
                row.error_code,
                row.received_at,
                self.config.pipeline.outbox_expiry,
                row.id,
                self.resend_via,
            )
            held = _Held(row.id, item)
            for key in item.keys:
                self._held[(row.connector_id, key)] = held
            self._retry(held)

    def drop_older_than(self, before: float) -> int:
        """Forget held receipts received before ``before``; the caller deletes their rows."""
        stale = {h.row_id for h in self._held.values() if h.item.now < before}
        for key in [k for k, h in self._held.items() if h.row_id in stale]:
            del self._held[key]
        if stale:
            log.warn("{n} receipt(s) matched no message within receipt_wait: dropped", n=len(stale))
        return len(stale)

    @property
    def held(self) -> int:
        return len({h.row_id for h in self._held.values()})

    # --- MO ----------------------------------------------------------------------------------

    def _mo(self, connector: str, pdu: Pdu) -> Deferred[None]:
        destination = pdu.bytes_field("destination_addr").decode("ascii", "replace")
        octets = pdu.bytes_field("short_message") or (pdu.tlv(MESSAGE_PAYLOAD) or b"")
        esm_class = pdu.int_field("esm_class")
        data_coding = pdu.int_field("data_coding")
        body = octets[octets[0] + 1 :] if esm_class & 0x40 and octets else octets
        try:
            text = decode(data_coding, body)
        except Exception:  # undecodable text is still stored as octets
            text = ""
        match = self.mo.route(destination, text)
        account = None if match is None else match.account
        self.counts["mo"] += 1
        item = MoIn(
            self._ids[connector],
            account,
            pdu.bytes_field("source_addr").decode("ascii", "replace"),
            destination,
            esm_class,
            data_coding,
            octets,
            text,
            self._clock.seconds(),
            self.config.pipeline.outbox_expiry,
        )
        d = self._committer.add(MO, item)

        def stored(out: Any) -> None:
            if self.on_mo is not None:
                self.on_mo(out.public_id, item, connector)
            if account is None or not out.outbox:
                log.warn(
                    "MO {mo_id} to {destination} on {connector}: no account takes it, kept",
                    mo_id=out.public_id,
                    destination=destination,
                    connector=connector,
                )
            else:
                log.info("MO {mo_id} for {account}", mo_id=out.public_id, account=account)
                self._forward(out.outbox)

        return d.addCallback(stored)
