"""Incremental framing of an SMPP byte stream into whole PDU frames (:class:`PduReader`)."""

from __future__ import annotations

from gatewayd.smpp.constants import ESME_RINVCMDLEN, HEADER_LENGTH, PduError


class PduReader:
    """Incremental framing of a byte stream into whole PDU frames.

    command_length is checked against ``max_command_length`` as soon as its four octets
    arrive, so a hostile peer cannot make us buffer a large body. After an error the stream
    has lost its framing; the reader keeps raising the same error.
    """

    def __init__(self, max_command_length: int) -> None:
        self.max_command_length = max_command_length
        self._buffer = bytearray()
        self._error: PduError | None = None

    def feed(self, data: bytes) -> list[bytes]:
        if self._error is not None:
            raise self._error
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        while len(buffer) >= 4:
            length = int.from_bytes(buffer[:4], "big")
            if not HEADER_LENGTH <= length <= self.max_command_length:
                sequence = int.from_bytes(buffer[12:16], "big") if len(buffer) >= 16 else None
                self._error = PduError(ESME_RINVCMDLEN, f"command_length {length}", sequence)
                buffer.clear()
                raise self._error
            if len(buffer) < length:
                break
            frames.append(bytes(buffer[:length]))
            del buffer[:length]
        return frames

    @property
    def buffered(self) -> int:
        """Octets held waiting for the rest of a frame."""
        return len(self._buffer)
