"""What the operator's connectors, routes, plans, alerts and dashboard pages share: the live
gateway (``Services.operations``), the audit's actor and address, and paging a list."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from gatewayd.admin.operations import Operations
from gatewayd.admin.pages_audit import OperatorBase
from gatewayd.errors import NotFound, ValidationError
from gatewayd.storage.contacts import Page, page_within

T = TypeVar("T")
PAGE_SIZE = 25
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def page_of(items: Sequence[T], number: int, size: int = PAGE_SIZE) -> Page[T]:
    """A page of a list held in memory (the contacts' :class:`Page`, which the pager reads)."""
    number = page_within(number, len(items), size)
    return Page(list(items[(number - 1) * size : number * size]), number, len(items), size)


def toml_value(value: object) -> str:
    """A JSON value (as the database keeps a spec) written as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return '"unlimited"'
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def toml_table(spec: Mapping[str, object]) -> str:
    """A table's body (``key = value`` lines), for a form's TOML box."""
    return "\n".join(f"{_key(key)} = {toml_value(value)}" for key, value in spec.items())


def _key(key: str) -> str:
    return key if _BARE.fullmatch(key) else json.dumps(key)


def read_toml(text: str, where: str) -> dict[str, Any]:
    """A form's TOML box as a table; raises ValidationError naming ``where``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValidationError(f"{where}: not valid TOML: {error}") from None


class OpsBase(OperatorBase):
    def _ops_live(self) -> Operations:
        ops = self._services.operations
        if ops is None:  # a console without a gateway behind it (never in the daemon)
            raise NotFound("no such page")
        return ops
