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
    CANCELLED = "cancelled"  # by the customer while queued (SMPP cancel_sm, batch cancel)


FINAL = frozenset(
    {
        Status.DELIVERED,
        Status.UNDELIVERABLE,
        Status.EXPIRED,
        Status.REJECTED,
        Status.UNKNOWN,
        Status.CANCELLED,
    }
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


# SMPP 3.4 §5.2.28 message_state, for query_sm answers and receipts to customers.
_MESSAGE_STATES = {
    Status.ACCEPTED: 1,  # ENROUTE: in our hands, on its way
    Status.QUEUED: 1,
    Status.SENT: 1,
    Status.DELIVERED: 2,
    Status.EXPIRED: 3,
    Status.CANCELLED: 4,  # DELETED
    Status.UNDELIVERABLE: 5,
    Status.UNKNOWN: 7,
    Status.REJECTED: 8,
}


def message_state(status: str) -> int:
    return _MESSAGE_STATES.get(Status(status), 7)
