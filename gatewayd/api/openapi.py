"""The OpenAPI 3 document of /api/v1, served at /api/v1/openapi.json and checked against the
implementation by schemathesis (tests/api/test_openapi.py). Error codes come from
:data:`gatewayd.api.errors.CODES`, so the table is written once."""

from __future__ import annotations

from typing import Any

from gatewayd.api.errors import CODES
from gatewayd.api.input import MAX_PAGE
from gatewayd.pipeline.submission import MAX_TEXT
from gatewayd.status import Status

Schema = dict[str, Any]
MAX_ID = 2**63 - 1


def _ref(name: str) -> Schema:
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
_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_STATUS = {"type": "string", "enum": [s.value for s in Status]}
_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": r"\S"}
_NAME = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"\S"}
_SENDER = {"type": "string", "maxLength": 21, "description": "a sender ID granted to the account"}
_NUMBER = {"type": "string", "minLength": 1, "maxLength": 32, "example": "+22376600000"}

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
                    "contact_id": {**_ID, "description": "the contact that has the number"},
                },
            )
        },
    ),
    "SendMessage": _obj(
        ["to", "text"],
        {
            "to": _NUMBER,
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
            "to": {"type": "array", "items": _NUMBER, "maxItems": 100000},
            "groups": {"type": "array", "items": _ID, "maxItems": 1000},
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
        {"status": _STATUS, "error_code": _nullable({"type": "string"}), "at": _TIME},
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
            "batch_id": _ID,
            "to": {"type": "string"},
            "sender": {"type": "string"},
            "status": _STATUS,
            "error_code": _nullable({"type": "string"}),
            "created_at": _TIME,
            "updated_at": _TIME,
            "events": {"type": "array", "items": _ref("Event")},
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
            "id": _ID,
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
            "status": _STATUS,
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
            "id": _ID,
            "first_name": {"type": "string"},
            "last_name": {"type": "string"},
            "msisdn": {"type": "string", "description": "E.164 digits, no +"},
        },
    ),
    "NewContact": _obj(
        ["first_name", "last_name", "msisdn"],
        {"first_name": _NAME, "last_name": _NAME, "msisdn": _NUMBER},
    ),
    "ContactChange": _obj([], {"first_name": _NAME, "last_name": _NAME, "msisdn": _NUMBER}),
    "Group": _obj(
        ["id", "name", "contacts", "numbers"],
        {
            "id": _ID,
            "name": {"type": "string"},
            "contacts": {"type": "integer", "description": "contacts of the book in it"},
            "numbers": {"type": "integer", "description": "numbers added by hand"},
        },
    ),
    "Member": _obj(
        ["msisdn", "contact_id", "first_name", "last_name"],
        {
            "msisdn": {"type": "string"},
            "contact_id": _nullable({**_ID, "description": "null: a number added by hand"}),
            "first_name": {"type": "string"},
            "last_name": {"type": "string"},
        },
    ),
    "GroupName": _obj(["name"], {"name": _NAME}),
    "Members": _obj(
        [],
        {
            "contact_ids": {"type": "array", "items": _ID, "maxItems": 10000},
            "numbers": {"type": "array", "items": _NUMBER, "maxItems": 10000},
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
            "data": {"type": "array", "items": _ref(_name)},
            "page": {"type": "integer", "description": "this page (the last if past it)"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer", "description": "items in all pages"},
            "pages": {"type": "integer"},
        },
    )


def _error(description: str) -> Schema:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("Error")}},
    }


_ERRORS: dict[str, Schema] = {
    "400": _error("invalid request (the code and field say what)"),
    "401": _error("no API key, or an unknown or revoked one"),
    "402": _error("fair use: the prepaid credit does not cover it"),
    "403": _error("fair use: a monthly limit (quota, spending cap) is reached"),
    "404": _error("no such object in this account"),
    "405": _error("wrong method"),
    "409": _error("conflict with the object's state (e.g. a group of that name exists)"),
    "413": _error("body too large"),
    "429": {
        **_error("over the account's rate, or refused by fair use"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    },
}


def _ok(status: str, description: str, schema: str | None) -> dict[str, Schema]:
    if schema is None:
        return {status: {"description": description}}
    return {
        status: {
            "description": description,
            "content": {"application/json": {"schema": _ref(schema)}},
        }
    }


def _op(
    summary: str,
    ok: dict[str, Schema],
    errors: tuple[str, ...],
    body: str | None = None,
    params: list[Schema] | None = None,
) -> Schema:
    operation: Schema = {
        "summary": summary,
        "responses": {**ok, **{code: _ERRORS[code] for code in ("401", *errors)}},
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    if params:
        operation["parameters"] = params
    return operation


def _path(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_PAGE = [
    _query("page", {"type": "integer", "minimum": 1, "maximum": 10**9, "default": 1}, "from 1"),
    _query(
        "per_page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 100},
        "items per page",
    ),
]
_BODY_ERRORS = ("400", "413")


def _paths() -> dict[str, Schema]:
    batch_id = [_path("batch_id", _ID)]
    contact_id = [_path("contact_id", _ID)]
    group_id = [_path("group_id", _ID)]
    return {
        "/messages": {
            "post": _op(
                "Send one SMS",
                _ok("201", "accepted", "Message"),
                (*_BODY_ERRORS, "402", "403", "404", "429"),
                "SendMessage",
            ),
        },
        "/messages/{message_id}": {
            "get": _op(
                "A message's status and its transitions",
                _ok("200", "", "Message"),
                ("404",),
                params=[_path("message_id", {"type": "string"})],
            ),
        },
        "/batches": {
            "post": _op(
                "Send one text to many recipients and groups",
                _ok("201", "accepted", "Batch"),
                (*_BODY_ERRORS, "402", "403", "404", "429"),
                "SendBatch",
            ),
        },
        "/batches/{batch_id}": {
            "get": _op(
                "A batch and its counts by status",
                _ok("200", "", "Batch"),
                ("404",),
                params=batch_id,
            ),
        },
        "/batches/{batch_id}/messages": {
            "get": _op(
                "A batch's recipients and their statuses, a page at a time",
                _ok("200", "", "RecipientPage"),
                ("400", "404"),
                params=[*batch_id, *_PAGE, _query("status", _STATUS, "only this status")],
            ),
        },
        "/usage": {"get": _op("Quota, used, left and fair-use state", _ok("200", "", "Usage"), ())},
        "/callbacks": {
            "get": _op("Where receipts and MO are POSTed", _ok("200", "", "Callbacks"), ()),
            "put": _op(
                "Set or stop the callback URL (and its signing secret)",
                _ok("200", "", "Callbacks"),
                _BODY_ERRORS,
                "CallbacksChange",
            ),
        },
        "/contacts": {
            "get": _op(
                "Contacts, a page at a time",
                _ok("200", "", "ContactPage"),
                ("400", "404"),
                params=[
                    *_PAGE,
                    _query("q", {"type": "string", "maxLength": 100}, "words to find"),
                ],
            ),
            "post": _op(
                "Add a contact",
                _ok("201", "created", "Contact"),
                (*_BODY_ERRORS, "409"),
                "NewContact",
            ),
        },
        "/contacts/{contact_id}": {
            "get": _op("A contact", _ok("200", "", "Contact"), ("404",), params=contact_id),
            "patch": _op(
                "Change a contact",
                _ok("200", "", "Contact"),
                (*_BODY_ERRORS, "404", "409"),
                "ContactChange",
                contact_id,
            ),
            "delete": _op(
                "Delete a contact (and its memberships)",
                _ok("204", "deleted", None),
                ("404",),
                params=contact_id,
            ),
        },
        "/groups": {
            "get": _op(
                "Groups, a page at a time", _ok("200", "", "GroupPage"), ("400",), params=_PAGE
            ),
            "post": _op(
                "Create a group",
                _ok("201", "created", "Group"),
                (*_BODY_ERRORS, "409"),
                "GroupName",
            ),
        },
        "/groups/{group_id}": {
            "get": _op(
                "A group and its member counts", _ok("200", "", "Group"), ("404",), params=group_id
            ),
            "patch": _op(
                "Rename a group",
                _ok("200", "", "Group"),
                (*_BODY_ERRORS, "404", "409"),
                "GroupName",
                group_id,
            ),
            "delete": _op(
                "Delete a group (not its contacts)",
                _ok("204", "deleted", None),
                ("404",),
                params=group_id,
            ),
        },
        "/groups/{group_id}/members": {
            "get": _op(
                "A group's members: contacts, then numbers added by hand",
                _ok("200", "", "MemberPage"),
                ("400", "404"),
                params=[*group_id, *_PAGE],
            ),
            "post": _op(
                "Add contacts (copied) and numbers to a group",
                _ok("200", "", "Group"),
                (*_BODY_ERRORS, "404"),
                "Members",
                group_id,
            ),
        },
        "/groups/{group_id}/members/{contact_id}": {
            "delete": _op(
                "Take a contact out of a group",
                _ok("204", "removed", None),
                ("404",),
                params=[*group_id, *contact_id],
            ),
        },
        "/groups/{group_id}/numbers/{number}": {
            "delete": _op(
                "Take a number out of a group",
                _ok("204", "removed", None),
                ("400", "404"),
                params=[*group_id, _path("number", _NUMBER)],
            ),
        },
    }


def document() -> Schema:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gatewayd HTTP API",
            "version": "1",
            "description": "Send SMS, follow their statuses, manage contacts and callbacks. "
            "See docs/api.md.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "gw_<key_id>_<secret>",
                    "description": "an API key made on the console's Profile page",
                }
            },
        },
    }
