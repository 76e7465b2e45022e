"""The JSON schemas of the API's bodies, for its OpenAPI document (``openapi.py``)."""

from __future__ import annotations

from typing import Any

from gatewayd.api.errors import CODES
from gatewayd.api.input import MAX_ID
from gatewayd.pipeline.submission import MAX_TEXT
from gatewayd.status import Status

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], props: dict[str, Schema], extra: bool = False) -> Schema:
    return {
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": extra,
    }


def _nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


_TIME = {"type": "string", "format": "date-time", "example": "2026-03-01T12:00:05.250Z"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
STATUS = {"type": "string", "enum": [s.value for s in Status]}
_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": r"\S"}
_NAME = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"\S"}
_SENDER = {"type": "string", "maxLength": 21, "description": "a sender ID granted to the account"}
NUMBER = {"type": "string", "minLength": 1, "maxLength": 32, "example": "+22376600000"}

SCHEMAS: dict[str, Schema] = {
    "Error": _obj(
        ["error"],
        {
            "error": _obj(
                ["code", "message"],
                {
                    "code": {"type": "string", "enum": sorted(CODES)},
                    "message": {"type": "string"},
                    "field": {"type": "string", "description": "the field at fault"},
                    "refused": {
                        "type": "array",
                        "items": _obj(
                            ["number", "reason"],
                            {"number": {"type": "string"}, "reason": {"type": "string"}},
                        ),
                    },
                    "rule": {"type": "string", "description": "the fair-use rule that refused"},
                    "contact_id": {**ID, "description": "the contact that has the number"},
                },
            )
        },
    ),
    "SendMessage": _obj(
        ["to", "text"],
        {
            "to": NUMBER,
            "text": _TEXT,
            "sender": _SENDER,
            "subject": {"type": "string", "maxLength": 200},
            "registered_delivery": {
                "type": "boolean",
                "default": True,
                "description": "ask for a delivery receipt (sent to the callback URL)",
            },
        },
    ),
    "SendBatch": _obj(
        ["text"],
        {
            "to": {"type": "array", "items": NUMBER, "maxItems": 100000},
            "groups": {"type": "array", "items": ID, "maxItems": 1000},
            "text": _TEXT,
            "sender": _SENDER,
            "subject": {"type": "string", "maxLength": 200},
            "scheduled_at": {**_TIME, "description": "send then (RFC 3339 with an offset)"},
            "priority": {"type": "string", "enum": ["bulk", "transactional"], "default": "bulk"},
            "registered_delivery": {"type": "boolean", "default": True},
        },
    ),
    "Event": _obj(
        ["status", "error_code", "at"],
        {"status": STATUS, "error_code": _nullable({"type": "string"}), "at": _TIME},
    ),
    "Message": _obj(
        [
            "id",
            "batch_id",
            "to",
            "sender",
            "status",
            "error_code",
            "created_at",
            "updated_at",
            "events",
        ],
        {
            "id": {"type": "string"},
            "batch_id": ID,
            "to": {"type": "string"},
            "sender": {"type": "string"},
            "status": STATUS,
            "error_code": _nullable({"type": "string"}),
            "created_at": _TIME,
            "updated_at": _TIME,
            "events": {"type": "array", "items": ref("Event")},
        },
    ),
    "Batch": _obj(
        [
            "id",
            "subject",
            "text",
            "sender",
            "channel",
            "state",
            "scheduled_at",
            "created_at",
            "recipients",
            "counts",
            "delivered",
            "failed",
            "pending",
        ],
        {
            "id": ID,
            "subject": {"type": "string"},
            "text": {"type": "string"},
            "sender": {"type": "string"},
            "channel": {"type": "string"},
            "state": {"type": "string", "enum": ["active", "paused", "cancelled"]},
            "scheduled_at": _nullable(_TIME),
            "created_at": _TIME,
            "recipients": {"type": "integer"},
            "counts": _obj(
                [s.value for s in Status], {s.value: {"type": "integer"} for s in Status}
            ),
            "delivered": {"type": "integer"},
            "failed": {"type": "integer"},
            "pending": {"type": "integer"},
        },
    ),
    "Recipient": _obj(
        ["id", "to", "status", "error_code", "parts", "updated_at"],
        {
            "id": {"type": "string"},
            "to": {"type": "string"},
            "status": STATUS,
            "error_code": _nullable({"type": "string"}),
            "parts": {"type": "integer"},
            "updated_at": _TIME,
        },
    ),
    "Usage": _obj(
        [
            "plan",
            "period",
            "quota",
            "used",
            "left",
            "messages",
            "distinct_recipients",
            "distinct_limit",
            "hourly_limit",
            "suspended_until",
            "review",
            "spend",
            "credit",
            "prepaid",
        ],
        {
            "plan": _nullable({"type": "string"}),
            "period": _nullable({"type": "string", "example": "2026-03"}),
            "quota": _nullable(
                {"type": "integer", "description": "SMS parts a month; null: unlimited"}
            ),
            "used": {"type": "integer", "description": "SMS parts this month"},
            "left": _nullable({"type": "integer"}),
            "messages": {"type": "integer"},
            "distinct_recipients": {"type": "integer"},
            "distinct_limit": _nullable({"type": "integer"}),
            "hourly_limit": _nullable({"type": "integer"}),
            "suspended_until": _nullable(_TIME),
            "review": {"type": "boolean"},
            "spend": {"type": "string", "description": "decimal, the plan's currency"},
            "credit": {"type": "string"},
            "prepaid": {"type": "boolean"},
        },
    ),
    "Contact": _obj(
        ["id", "first_name", "last_name", "msisdn"],
        {
            "id": ID,
            "first_name": {"type": "string"},
            "last_name": {"type": "string"},
            "msisdn": {"type": "string", "description": "E.164 digits, no +"},
        },
    ),
    "NewContact": _obj(
        ["first_name", "last_name", "msisdn"],
        {"first_name": _NAME, "last_name": _NAME, "msisdn": NUMBER},
    ),
    "ContactChange": _obj([], {"first_name": _NAME, "last_name": _NAME, "msisdn": NUMBER}),
    "Group": _obj(
        ["id", "name", "contacts", "numbers"],
        {
            "id": ID,
            "name": {"type": "string"},
            "contacts": {"type": "integer", "description": "contacts of the book in it"},
            "numbers": {"type": "integer", "description": "numbers added by hand"},
        },
    ),
    "Member": _obj(
        ["msisdn", "contact_id", "first_name", "last_name"],
        {
            "msisdn": {"type": "string"},
            "contact_id": _nullable({**ID, "description": "null: a number added by hand"}),
            "first_name": {"type": "string"},
            "last_name": {"type": "string"},
        },
    ),
    "GroupName": _obj(["name"], {"name": _NAME}),
    "Members": _obj(
        [],
        {
            "contact_ids": {"type": "array", "items": ID, "maxItems": 10000},
            "numbers": {"type": "array", "items": NUMBER, "maxItems": 10000},
        },
    ),
    "Callbacks": _obj(
        ["url", "secret_set"],
        {"url": _nullable({"type": "string"}), "secret_set": {"type": "boolean"}},
    ),
    "CallbacksChange": _obj(
        ["url"],
        {
            "url": _nullable({"type": "string", "maxLength": 2000, "format": "uri"}),
            "secret": {
                "type": "string",
                "minLength": 16,
                "maxLength": 128,
                "writeOnly": True,
                "description": "the HMAC key; required the first time, kept if left out",
            },
        },
    ),
}
for _name in ("Recipient", "Contact", "Group", "Member"):
    SCHEMAS[f"{_name}Page"] = _obj(
        ["data", "page", "per_page", "total", "pages"],
        {
            "data": {"type": "array", "items": ref(_name)},
            "page": {"type": "integer", "description": "this page (the last if past it)"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer", "description": "items in all pages"},
            "pages": {"type": "integer"},
        },
    )
