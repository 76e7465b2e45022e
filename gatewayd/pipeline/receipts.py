"""Delivery receipts and MO from upstream connectors."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from gatewayd.errors import GatewayError
from gatewayd.smpp.pdu import ESME_RX_T_APPN, Pdu
from gatewayd.smpp.receipts import is_receipt, parse_receipt
from gatewayd.status import from_receipt_state
from gatewayd.storage.messages import MessageStore

log = Logger()


class MoNotRouted(GatewayError):
    """MO routing comes with the pipeline issue: until then the SMSC keeps MO and retries."""

    smpp_status = ESME_RX_T_APPN


class ReceiptHandler:
    def __init__(self, store: MessageStore, clock: IReactorTime) -> None:
        self._store = store
        self._clock = clock

    def on_deliver(self, connector: Any, pdu: Pdu) -> Deferred[None]:
        return Deferred.fromCoroutine(self._handle(str(connector.name), pdu))

    async def _handle(self, connector: str, pdu: Pdu) -> None:
        if not is_receipt(pdu):
            log.warn("MO on {connector} not accepted yet: the SMSC will retry", connector=connector)
            raise MoNotRouted("MO routing is not configured")
        receipt = parse_receipt(pdu)
        status = from_receipt_state(receipt.stat)
        public_id = await self._store.apply_receipt(
            connector,
            receipt.message_id,
            status,
            None if receipt.err in ("", "000") else f"err:{receipt.err}",
            self._clock.seconds(),
        )
        if public_id is None:
            log.warn(
                "receipt on {connector} for unknown {smsc_message_id} ({stat})",
                connector=connector,
                smsc_message_id=receipt.message_id,
                stat=receipt.stat,
            )
            return
        log.info(
            "receipt {stat} for {message_id} on {connector}",
            stat=receipt.stat,
            message_id=public_id,
            connector=connector,
        )
