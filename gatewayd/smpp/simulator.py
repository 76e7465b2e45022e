"""A built-in SMSC simulator for demos and tests: accepts any bind, answers every submit_sm with
a fresh message id and, when asked for one, sends a delivery receipt after ``delivery_delay``."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.config.model import SmppServerConfig
from gatewayd.smpp.pdu import Fields, Pdu, Tlvs
from gatewayd.smpp.receipts import ESM_CLASS_RECEIPT, build_receipt_text, receipt_tlvs
from gatewayd.smpp.server import SmppServerFactory, SmscSession
from gatewayd.smpp.session import RX_STATES, DelayedCall, call_later, seconds

log = Logger()

_Receipt = tuple[Fields, Tlvs]


class SimulatorFactory(SmppServerFactory[str]):
    """Principals are system_ids, so receipts find any session bound with the same system_id."""

    def __init__(
        self,
        clock: IReactorTime,
        delivery_delay: float,
        receipt_status: str,
        *,
        config: SmppServerConfig | None = None,
    ) -> None:
        super().__init__(
            config or SmppServerConfig(system_id="simulator"), clock, self._accept, self._submit
        )
        self.delivery_delay = delivery_delay
        self.receipt_status = receipt_status
        self._timers: set[DelayedCall] = set()
        self._waiting: dict[str, list[_Receipt]] = {}

    def stop(self) -> None:
        """Cancel receipts not yet due."""
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        self._timers.clear()

    def waiting(self, system_id: str) -> int:
        """How many receipts wait for ``system_id`` to bind a receiver."""
        return len(self._waiting.get(system_id, ()))

    def _accept(self, system_id: str, password: str, bind_type: str) -> Deferred[str]:
        return succeed(system_id)

    def _submit(self, system_id: str, pdu: Pdu) -> Deferred[str]:
        message_id = secrets.token_hex(8)
        # registered_delivery bits 0-1: 1 = receipt on final state, 2 = on failure only.
        wanted = pdu.int_field("registered_delivery") & 0x03
        if wanted == 1 or (wanted == 2 and self.receipt_status != "DELIVRD"):
            receipt = self._receipt(message_id, pdu)
            timer = call_later(self.clock, self.delivery_delay, self._due, system_id, receipt)
            self._timers.add(timer)
        return succeed(message_id)

    def _receipt(self, message_id: str, submit: Pdu) -> _Receipt:
        now = datetime.fromtimestamp(seconds(self.clock), tz=UTC)
        original = submit.bytes_field("short_message")
        text = build_receipt_text(
            message_id,
            self.receipt_status,
            submit_date=now,
            done_date=now,
            text=original if all(32 <= octet < 127 for octet in original) else b"",
        )
        fields: Fields = {
            "source_addr_ton": submit.int_field("dest_addr_ton"),
            "source_addr_npi": submit.int_field("dest_addr_npi"),
            "source_addr": submit.bytes_field("destination_addr")[:20],
            "dest_addr_ton": submit.int_field("source_addr_ton"),
            "dest_addr_npi": submit.int_field("source_addr_npi"),
            "destination_addr": submit.bytes_field("source_addr")[:20],
            "esm_class": ESM_CLASS_RECEIPT,
            "short_message": text,
        }
        return fields, receipt_tlvs(message_id, self.receipt_status)

    def _due(self, system_id: str, receipt: _Receipt) -> None:
        self._timers = {timer for timer in self._timers if timer.active()}
        self._send(system_id, receipt)

    def _send(self, system_id: str, receipt: _Receipt) -> None:
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
