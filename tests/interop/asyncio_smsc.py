"""A small SMSC written for the interop tests from the SMPP v3.4 specification alone, in plain
asyncio, sharing no code with gatewayd. It runs its own event loop in a thread on 127.0.0.1.

It does what a conforming SMSC must do for an ESME bound as a transceiver:
- bind_transceiver (§4.1.5): checks the password, answers with its system_id;
- submit_sm (§4.4.1): answers submit_sm_resp with a message_id; when registered_delivery asks
  for it, sends a deliver_sm receipt (esm_class 0x04, Appendix B text, receipted_message_id and
  message_state TLVs, §5.3.2.12 and §5.3.2.35) right after the response;
- enquire_link (§4.11): answers it, and sends one itself after a bind;
- unbind (§4.2): answers unbind_resp and closes.
Everything it sees or is answered is put on :attr:`AsyncioSmsc.events` for the test to read.
"""

from __future__ import annotations

import asyncio
import queue
import struct
import threading
from dataclasses import dataclass, field

# command_id values, §5.1.2.1.
BIND_TRANSCEIVER = 0x00000009
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
ENQUIRE_LINK = 0x00000015
UNBIND = 0x00000006
GENERIC_NACK = 0x80000000
RESP = 0x80000000
# command_status values, §5.1.3.
OK = 0x00000000
INVALID_PASSWORD = 0x0000000E
INVALID_BIND_STATUS = 0x00000004
INVALID_COMMAND_ID = 0x00000003

_HEADER = struct.Struct(">IIII")


@dataclass(frozen=True)
class Event:
    """One PDU the SMSC received: ``name`` is its command, ``fields`` what it parsed."""

    name: str
    status: int = OK
    fields: dict[str, object] = field(default_factory=dict)


def _cstring(body: bytes, offset: int) -> tuple[bytes, int]:
    end = body.index(b"\0", offset)
    return body[offset:end], end + 1


def parse_submit_sm(body: bytes) -> dict[str, object]:
    """The mandatory parameters of submit_sm, in the order of §4.4.1, and its TLVs."""
    out: dict[str, object] = {}
    out["service_type"], offset = _cstring(body, 0)
    out["source_addr_ton"], out["source_addr_npi"] = body[offset : offset + 2]
    out["source_addr"], offset = _cstring(body, offset + 2)
    out["dest_addr_ton"], out["dest_addr_npi"] = body[offset : offset + 2]
    out["destination_addr"], offset = _cstring(body, offset + 2)
    out["esm_class"], out["protocol_id"], out["priority_flag"] = body[offset : offset + 3]
    out["schedule_delivery_time"], offset = _cstring(body, offset + 3)
    out["validity_period"], offset = _cstring(body, offset)
    registered, replace, coding, default_id, sm_length = body[offset : offset + 5]
    out["registered_delivery"], out["replace_if_present_flag"] = registered, replace
    out["data_coding"], out["sm_default_msg_id"] = coding, default_id
    offset += 5
    out["short_message"] = body[offset : offset + sm_length]
    offset += sm_length
    tlvs: dict[int, bytes] = {}
    while offset + 4 <= len(body):
        tag, length = struct.unpack_from(">HH", body, offset)
        tlvs[tag] = body[offset + 4 : offset + 4 + length]
        offset += 4 + length
    out["tlvs"] = tlvs
    return out


def receipt_body(message_id: bytes, submit: dict[str, object]) -> bytes:
    """deliver_sm body of the receipt for ``submit``: addresses swapped, Appendix B text."""
    text = (
        b"id:" + message_id + b" sub:001 dlvrd:001 submit date:2401010000"
        b" done date:2401010000 stat:DELIVRD err:000 text:"
    )
    source = submit["destination_addr"]
    destination = submit["source_addr"]
    assert isinstance(source, bytes) and isinstance(destination, bytes)
    body = b"\0" + b"\1\1" + source + b"\0" + b"\1\1" + destination + b"\0"
    body += bytes((0x04, 0, 0)) + b"\0" + b"\0" + bytes((0, 0, 0, 0, len(text))) + text
    receipted = message_id + b"\0"
    body += struct.pack(">HH", 0x001E, len(receipted)) + receipted
    body += struct.pack(">HHB", 0x0427, 1, 2)  # message_state DELIVERED
    return body


class _Connection:
    def __init__(
        self, smsc: AsyncioSmsc, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ):
        self.smsc = smsc
        self.reader = reader
        self.writer = writer
        self.bound = False
        self.sequence = 0x10000

    def send(self, command_id: int, sequence: int, body: bytes = b"", status: int = OK) -> None:
        self.writer.write(_HEADER.pack(16 + len(body), command_id, status, sequence) + body)

    def request(self, command_id: int, body: bytes = b"") -> None:
        self.sequence += 1
        self.send(command_id, self.sequence, body)

    async def run(self) -> None:
        try:
            while True:
                header = await self.reader.readexactly(16)
                length, command_id, status, sequence = _HEADER.unpack(header)
                body = await self.reader.readexactly(length - 16)
                if not self.handle(command_id, status, sequence, body):
                    break
                await self.writer.drain()
        except asyncio.IncompleteReadError:
            self.smsc.events.put(Event("closed_by_peer"))
        finally:
            self.writer.close()

    def handle(self, command_id: int, status: int, sequence: int, body: bytes) -> bool:
        """Answer one PDU; False when the connection must close."""
        if command_id & RESP:
            self.smsc.events.put(Event(_NAMES.get(command_id, hex(command_id)), status))
            return True
        if command_id == BIND_TRANSCEIVER:
            return self.bind(sequence, body)
        if not self.bound:
            self.send(command_id | RESP, sequence, status=INVALID_BIND_STATUS)
            return True
        if command_id == ENQUIRE_LINK:
            self.smsc.events.put(Event("enquire_link"))
            self.send(ENQUIRE_LINK | RESP, sequence)
        elif command_id == SUBMIT_SM:
            self.submit(sequence, body)
        elif command_id == UNBIND:
            self.smsc.events.put(Event("unbind"))
            self.send(UNBIND | RESP, sequence)
            return False
        else:
            self.send(GENERIC_NACK, sequence, status=INVALID_COMMAND_ID)
        return True

    def bind(self, sequence: int, body: bytes) -> bool:
        system_id, offset = _cstring(body, 0)
        password, offset = _cstring(body, offset)
        self.smsc.events.put(Event("bind_transceiver", fields={"system_id": system_id}))
        if password != self.smsc.password:
            self.send(BIND_TRANSCEIVER | RESP, sequence, status=INVALID_PASSWORD)
            return True
        self.bound = True
        self.send(BIND_TRANSCEIVER | RESP, sequence, self.smsc.system_id + b"\0")
        self.request(ENQUIRE_LINK)  # the ESME must answer this in any bound state
        return True

    def submit(self, sequence: int, body: bytes) -> None:
        fields = parse_submit_sm(body)
        self.smsc.submitted += 1
        message_id = b"A%05d" % self.smsc.submitted
        fields["message_id"] = message_id
        self.smsc.events.put(Event("submit_sm", fields=fields))
        self.send(SUBMIT_SM | RESP, sequence, message_id + b"\0")
        registered_delivery = fields["registered_delivery"]
        assert isinstance(registered_delivery, int)
        if registered_delivery & 0x03 == 1:
            self.request(DELIVER_SM, receipt_body(message_id, fields))


_NAMES = {
    BIND_TRANSCEIVER | RESP: "bind_transceiver_resp",
    DELIVER_SM | RESP: "deliver_sm_resp",
    ENQUIRE_LINK | RESP: "enquire_link_resp",
    UNBIND | RESP: "unbind_resp",
    GENERIC_NACK: "generic_nack",
}


class AsyncioSmsc:
    """``start()`` returns the port; ``stop()`` closes everything and joins the thread."""

    def __init__(self, system_id: bytes = b"asyncsmsc", password: bytes = b"secret") -> None:
        self.system_id = system_id
        self.password = password
        self.events: queue.Queue[Event] = queue.Queue()
        self.submitted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> int:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self.port = future.result(timeout=5)
        return self.port

    async def _listen(self) -> int:
        self._server = await asyncio.start_server(self._connected, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _Connection(self, reader, writer).run()

    def next_event(self, timeout: float = 5.0) -> Event:
        """The next event, waiting on the queue at most ``timeout`` seconds."""
        return self.events.get(timeout=timeout)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
