"""Customers' SMPP binds and submit_sm, translated into the one submission path."""

from __future__ import annotations

from twisted.internet.defer import Deferred

from gatewayd.errors import ValidationError
from gatewayd.pipeline.submission import Submissions, SubmitRequest
from gatewayd.smpp.pdu import Pdu
from gatewayd.smpp.text import decode
from gatewayd.storage.accounts import AccountInfo, AccountStore

MESSAGE_PAYLOAD = 0x0424
ESME_RINVDSTADR = 0x0000000B


def _text_of(pdu: Pdu) -> str:
    octets = pdu.fields.get("short_message", b"")
    assert isinstance(octets, bytes)
    if not octets:
        octets = next((v for tag, v in pdu.tlvs if tag == MESSAGE_PAYLOAD), b"")
    coding = pdu.fields.get("data_coding", 0)
    return decode(coding if isinstance(coding, int) else 0, octets)


def _ascii(pdu: Pdu, name: str) -> str:
    value = pdu.fields.get(name, b"")
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)


class SmppIngress:
    def __init__(self, accounts: AccountStore, submissions: Submissions) -> None:
        self._accounts = accounts
        self._submissions = submissions

    def authenticate(self, system_id: str, password: str, bind_type: str) -> Deferred[object]:
        d: Deferred[object] = self._accounts.authenticate_smpp(system_id, password)  # type: ignore[assignment]
        return d

    def submit(self, principal: object, pdu: Pdu) -> Deferred[str]:
        return Deferred.fromCoroutine(self._submit(principal, pdu))

    async def _submit(self, principal: object, pdu: Pdu) -> str:
        assert isinstance(principal, AccountInfo)
        destination = _ascii(pdu, "destination_addr")
        if not destination:
            raise ValidationError("destination_addr is empty", smpp_status=ESME_RINVDSTADR)
        registered = pdu.fields.get("registered_delivery", 0)
        ids = await self._submissions.submit(
            SubmitRequest(
                account=principal,
                user_id=None,
                channel="smpp",
                recipients=[destination],
                text=_text_of(pdu),
                sender=_ascii(pdu, "source_addr"),
                registered_delivery=bool(isinstance(registered, int) and registered & 0x03),
            )
        )
        return ids[0]
