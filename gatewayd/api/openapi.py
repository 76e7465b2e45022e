"""The OpenAPI 3 document of /api/v1, served at /api/v1/openapi.json and checked against the
implementation by schemathesis (tests/api/test_openapi.py). Error codes come from
:data:`gatewayd.api.errors.CODES` and the bodies' schemas from :mod:`gatewayd.api.schemas`,
so each is written once."""

from __future__ import annotations

from gatewayd.api.input import MAX_PAGE
from gatewayd.api.schemas import ID, NUMBER, SCHEMAS, STATUS, Schema, ref


def _error(description: str) -> Schema:
    return {
        "description": description,
        "content": {"application/json": {"schema": ref("Error")}},
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
            "content": {"application/json": {"schema": ref(schema)}},
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
            "content": {"application/json": {"schema": ref(body)}},
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
    from gatewayd.api.openapi_fleet import fleet_paths  # it uses this module's helpers

    batch_id = [_path("batch_id", ID)]
    contact_id = [_path("contact_id", ID)]
    group_id = [_path("group_id", ID)]
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
                params=[*batch_id, *_PAGE, _query("status", STATUS, "only this status")],
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
                params=[*group_id, _path("number", NUMBER)],
            ),
        },
        **fleet_paths(),
    }


def _fleet_schemas() -> dict[str, Schema]:
    from gatewayd.api.openapi_fleet import FLEET_SCHEMAS

    return FLEET_SCHEMAS


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
            "schemas": {**SCHEMAS, **_fleet_schemas()},
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
