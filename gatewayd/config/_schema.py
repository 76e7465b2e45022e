"""A small strict parser from TOML data to frozen, typed dataclasses.

Every section is a frozen dataclass. Field types drive the checks; an optional
``check`` in the field metadata adds a value check that returns a reason or None.
Unknown keys, wrong types and bad values raise :class:`ConfigError` with the file,
the dotted key path and the reason.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from gatewayd.errors import ConfigError

T = TypeVar("T")
Check = Callable[[Any], str | None]


def checked(default: Any = dataclasses.MISSING, *, check: Check | None = None) -> Any:
    """A dataclass field with a value check (the check returns a reason, or None)."""
    meta = {"check": check} if check else {}
    if isinstance(default, (list, dict, set)):
        raise TypeError("mutable defaults are not allowed in config sections")
    return dataclasses.field(default=default, metadata=meta)


def parse(cls: type[T], data: Mapping[str, Any], source: str, path: str = "") -> T:
    """Build ``cls`` from ``data``; every error names ``source`` and the key path."""
    if not isinstance(data, Mapping):
        raise ConfigError(source, path, f"expected a table, got {_kind(data)}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in data:
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise ConfigError(source, _join(path, key), f"unknown key (known keys: {known})")
    values: dict[str, Any] = {}
    for name, field in fields.items():
        key_path = _join(path, name)
        if name not in data:
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                raise ConfigError(source, key_path, "missing required key")
            continue
        value = _convert(hints[name], data[name], source, key_path)
        check = field.metadata.get("check")
        if check is not None:
            reason = check(value)
            if reason:
                raise ConfigError(source, key_path, reason)
        values[name] = value
    return cls(**values)


def _convert(tp: Any, value: Any, source: str, path: str) -> Any:
    if tp is Any:  # free-form (routing rules, plans): checked by their own parsers
        return value
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if value is None and len(options) < len(get_args(tp)):
            return None
        return _convert(options[0], value, source, path)
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise ConfigError(source, path, f"must be one of {choices}, got {value!r}")
        return value
    if origin is tuple:
        (item_tp, _ellipsis) = get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(source, path, f"expected a list, got {_kind(value)}")
        return tuple(_convert(item_tp, v, source, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict or origin is Mapping:
        _key_tp, item_tp = get_args(tp)
        if not isinstance(value, Mapping):
            raise ConfigError(source, path, f"expected a table, got {_kind(value)}")
        return types.MappingProxyType(
            {k: _convert(item_tp, v, source, _join(path, k)) for k, v in value.items()}
        )
    if dataclasses.is_dataclass(tp):
        return parse(typing.cast(type[Any], tp), value, source, path)
    return _scalar(tp, value, source, path)


def _scalar(tp: Any, value: Any, source: str, path: str) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(source, path, f"expected true or false, got {_kind(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(source, path, f"expected an integer, got {_kind(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(source, path, f"expected a number, got {_kind(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(source, path, f"expected a string, got {_kind(value)}")
        return value
    raise TypeError(f"unsupported config type {tp!r} at {path}")


def key_paths(cls: type[Any], prefix: str = "") -> Iterator[str]:
    """Every key path the schema accepts; a table of named entries appears as ``NAME.*``."""
    hints = get_type_hints(cls)
    for field in dataclasses.fields(cls):
        tp = hints[field.name]
        path = _join(prefix, field.name)
        origin = get_origin(tp)
        if dataclasses.is_dataclass(tp):
            yield from key_paths(typing.cast(type[Any], tp), path)
        elif (origin is dict or origin is Mapping) and dataclasses.is_dataclass(get_args(tp)[1]):
            yield from key_paths(get_args(tp)[1], f"{path}.*")
        else:
            yield path  # a scalar, or a table of scalars ([mo] routes) as one key


def scalar_type(cls: type[Any], parts: list[str]) -> Any:
    """The declared type at a key path, or None when the path does not exist."""
    tp: Any = cls
    for part in parts:
        origin = get_origin(tp)
        if origin is dict or origin is Mapping:
            tp = get_args(tp)[1]
            continue
        if not dataclasses.is_dataclass(tp):
            return None
        hints = get_type_hints(tp)
        if part not in hints:
            return None
        tp = hints[part]
    return tp


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)
