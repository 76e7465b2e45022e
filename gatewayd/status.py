"""The one status model of a message, for every channel (SMPP, HTTP API, console, CLI)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    ACCEPTED = "accepted"  # persisted, answered with our message_id
    QUEUED = "queued"  # waiting for its connector
    SENT = "sent"  # the SMSC acknowledged submit_sm
    DELIVERED = "delivered"
    UNDELIVERABLE = "undeliverable"
    EXPIRED = "expired"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


FINAL = frozenset(
    {Status.DELIVERED, Status.UNDELIVERABLE, Status.EXPIRED, Status.REJECTED, Status.UNKNOWN}
)
PENDING = frozenset({Status.ACCEPTED, Status.QUEUED, Status.SENT})
FAILED = frozenset({Status.UNDELIVERABLE, Status.EXPIRED, Status.REJECTED})

# SMPP 3.4 Appendix B "stat" values of a delivery receipt.
_RECEIPT_STATES = {
    "DELIVRD": Status.DELIVERED,
    "UNDELIV": Status.UNDELIVERABLE,
    "EXPIRED": Status.EXPIRED,
    "REJECTD": Status.REJECTED,
    "DELETED": Status.UNDELIVERABLE,
    "UNKNOWN": Status.UNKNOWN,
    "ACCEPTD": Status.SENT,
    "ENROUTE": Status.SENT,
}


def from_receipt_state(stat: str) -> Status:
    """Map a receipt's ``stat`` (any case, possibly truncated to 7 letters) to our status."""
    return _RECEIPT_STATES.get(stat.strip().upper()[:7], Status.UNKNOWN)
