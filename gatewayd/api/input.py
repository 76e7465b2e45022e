"""Reading API requests: a JSON object body of bounded size, typed fields, query parameters.
Every error names the field (``FieldError``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from twisted.web.iweb import IRequest

from gatewayd.api.errors import BadJson, FieldError, PayloadTooLarge
from gatewayd.errors import NotFound

#: Bodies larger than this are refused (413): 100,000 recipients fit in about 2 MB.
MAX_BODY = 4 * 1024 * 1024
MAX_PAGE = 500
MAX_ID = 2**63 - 1
DEFAULT_PAGE = 100


def read_body(request: IRequest) -> dict[str, Any]:
    length = request.getHeader(b"content-length")
    if length is not None and _digits(length.decode("ascii", "replace")) and int(length) > MAX_BODY:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes")
    content = request.content
    raw = content.read(MAX_BODY + 1) if content is not None else b""
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes")
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadJson("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadJson("the body must be a JSON object")
    return body


def check_keys(body: dict[str, Any], allowed: frozenset[str]) -> None:
    for key in body:
        if key not in allowed:
            raise FieldError(key, "unknown field")


def text(
    body: dict[str, Any], key: str, required: bool = False, max_length: int = 200
) -> str | None:
    """A string field; None when absent (or null) and not required."""
    value = body.get(key)
    if value is None:
        if required:
            raise FieldError(key, "is required")
        return None
    if not isinstance(value, str):
        raise FieldError(key, "must be a string")
    if required and not value.strip():
        raise FieldError(key, "must not be empty")
    if len(value) > max_length:
        raise FieldError(key, f"must have at most {max_length} characters")
    return value


def required_text(body: dict[str, Any], key: str, max_length: int = 200) -> str:
    value = text(body, key, True, max_length)
    assert value is not None
    return value


def flag(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise FieldError(key, "must be true or false")
    return value


def strings(body: dict[str, Any], key: str, max_items: int, max_length: int = 32) -> list[str]:
    value = body.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError(key, "must be a list of strings")
    if len(value) > max_items:
        raise FieldError(key, f"must have at most {max_items} items")
    if any(len(v) > max_length for v in value):
        raise FieldError(key, f"items must have at most {max_length} characters")
    return value


def ids(body: dict[str, Any], key: str, max_items: int = 1000) -> list[int]:
    value = body.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(_is_id(v) for v in value):
        raise FieldError(key, "must be a list of ids (positive integers)")
    if len(value) > max_items:
        raise FieldError(key, f"must have at most {max_items} items")
    return [int(v) for v in value]


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def moment(body: dict[str, Any], key: str) -> float | None:
    """An RFC 3339 date-time with its offset (``2026-01-31T08:00:00Z``), as epoch seconds."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(key, "must be an RFC 3339 date-time string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FieldError(key, "must be an RFC 3339 date-time, e.g. 2026-01-31T08:00:00Z") from None
    if parsed.tzinfo is None:
        raise FieldError(key, "needs a time zone offset (Z or +01:00)")
    try:
        return parsed.timestamp()
    except (OverflowError, OSError, ValueError):
        raise FieldError(key, "is out of range") from None


#: The query parameters of a paginated list.
PAGED = frozenset({"page", "per_page"})


def check_query(request: IRequest, allowed: frozenset[str]) -> None:
    for raw in request.args or {}:
        name = bytes(raw).decode("utf-8", "replace")
        if name not in allowed:
            raise FieldError(name, "unknown query parameter")


def query(request: IRequest, key: str) -> str | None:
    values = (request.args or {}).get(key.encode())
    if not values:
        return None
    try:
        return bytes(values[0]).decode("utf-8")
    except UnicodeDecodeError:
        raise FieldError(key, "must be UTF-8") from None


def page(request: IRequest) -> tuple[int, int]:
    """``(page, per_page)`` of a list: pages count from 1."""
    return _number(request, "page", 1, 10**9), _number(request, "per_page", DEFAULT_PAGE, MAX_PAGE)


def _number(request: IRequest, key: str, default: int, highest: int) -> int:
    found = query(request, key)
    if found is None:
        return default
    if not _digits(found) or len(found) > 10 or not 1 <= int(found) <= highest:
        raise FieldError(key, f"must be a whole number from 1 to {highest}")
    return int(found)


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def object_id(value: int, what: str) -> int:
    """A path id the database can hold; any other is no object of the account's."""
    if not 0 < value <= MAX_ID:
        raise NotFound(f"no {what} {value}")
    return value
