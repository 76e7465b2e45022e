"""Load, override and cross-check the configuration."""

from __future__ import annotations

import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args, get_origin

from gatewayd.config._schema import key_paths, parse, scalar_type
from gatewayd.config.model import (
    AdminConfig,
    CallbacksConfig,
    Config,
    ConnectorConfig,
    DatabaseConfig,
    DemoConfig,
    LoggingConfig,
    MoConfig,
    PipelineConfig,
    RoutingConfig,
    SimulatorConfig,
    SmppServerConfig,
)
from gatewayd.errors import ConfigError

ENV_PREFIX = "GATEWAYD__"

__all__ = [
    "AdminConfig",
    "CallbacksConfig",
    "Config",
    "ConfigError",
    "ConnectorConfig",
    "DatabaseConfig",
    "DemoConfig",
    "LoggingConfig",
    "MoConfig",
    "PipelineConfig",
    "RoutingConfig",
    "SimulatorConfig",
    "SmppServerConfig",
    "all_key_paths",
    "diff_config",
    "flatten",
    "load_config",
    "parse_config",
]


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``path``, apply ``GATEWAYD__SECTION__KEY`` overrides from ``environ``, validate."""
    source = str(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(source, "", "no such file") from None
    except PermissionError:
        raise ConfigError(source, "", "permission denied") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, "", f"not valid TOML: {e}") from None
    apply_environment(data, os.environ if environ is None else environ)
    return parse_config(data, source)


def parse_config(data: Mapping[str, Any], source: str) -> Config:
    config = parse(Config, data, source)
    cross_check(config, source)
    return config


def apply_environment(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Override keys in ``data`` from ``GATEWAYD__SECTION__KEY`` variables, in place."""
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        source = f"environment variable {name}"
        tp = scalar_type(Config, parts) if all(parts) else None
        if tp is None or len(parts) < 2:
            raise ConfigError(source, ".".join(parts), "no such configuration key")
        table = data
        for part in parts[:-1]:
            nxt = table.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ConfigError(source, ".".join(parts), f"{part} is not a table")
            table = nxt
        table[parts[-1]] = _env_value(tp, environ[name], source, ".".join(parts))


def _env_value(tp: Any, raw: str, source: str, path: str) -> Any:
    if _is_text(tp):
        return raw
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        raise ConfigError(source, path, f"cannot read {raw!r} as a TOML value") from None


def _is_text(tp: Any) -> bool:
    if tp is str:
        return True
    if get_origin(tp) is Literal:
        return all(isinstance(a, str) for a in get_args(tp))
    if get_origin(tp) in (typing.Union,):
        return any(_is_text(a) for a in get_args(tp))
    return False


def cross_check(config: Config, source: str) -> None:
    """Checks that span sections; the daemon runs them before it starts anything."""
    default = config.routing.default_connector
    if default and default not in config.connectors:
        known = ", ".join(sorted(config.connectors)) or "none configured"
        raise ConfigError(
            source, "routing.default_connector", f"no connector named {default!r} ({known})"
        )
    if config.connectors and not default:
        raise ConfigError(source, "routing.default_connector", "required when connectors exist")
    for name, conn in config.connectors.items():
        if conn.password and conn.password_file:
            raise ConfigError(
                source,
                f"connectors.{name}.password_file",
                "set password or password_file, not both",
            )
    if config.cluster.enabled and not config.database.url.startswith("postgresql"):
        raise ConfigError(source, "cluster.enabled", "needs a postgresql database.url")
    check_simulator(config.simulator, source, "simulator.delivered_weight")
    from gatewayd.config.policy import fair_use_policy, mo_table, number_plan, routing_table

    routing_table(config, source)
    mo_table(config, source)
    number_plan(config, source)
    fair_use_policy(config, source)
    from gatewayd.billing.settings import billing_settings

    billing_settings(config.billing, source)
    if config.demo.enabled and not default:
        raise ConfigError(source, "demo.enabled", "the demo needs routing.default_connector")
    if config.plugins:  # imported and built with a checking context: their own config errors
        from gatewayd.plugins.host import check_plugins

        check_plugins(config.plugins, source)


def check_simulator(sim: SimulatorConfig, source: str, key: str) -> None:
    weights = (
        sim.delivered_weight,
        sim.undeliverable_weight,
        sim.expired_weight,
        sim.rejected_weight,
    )
    if not any(weights):
        raise ConfigError(source, key, "every receipt weight is 0: the simulator needs one")


def all_key_paths() -> list[str]:
    return list(key_paths(Config))


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A config (or section) as a flat mapping of dotted key paths to values."""
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in fields(value):
            out.update(flatten(getattr(value, f.name), f"{prefix}{f.name}."))
        return out
    if isinstance(value, (dict, MappingProxyType)):
        out = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


def diff_config(old: Config, new: Config) -> list[str]:
    a, b = flatten(old), flatten(new)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
