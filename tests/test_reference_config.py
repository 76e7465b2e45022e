"""conf/gatewayd.toml documents every option, with its default, and nothing else."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from gatewayd.config import Config, all_key_paths, flatten, load_config

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "conf" / "gatewayd.toml"
# Keys whose reference value is an example rather than the default.
EXAMPLES = {"routing.default_connector"}


def documented_paths() -> list[str]:
    data = tomllib.loads(REFERENCE.read_text(encoding="utf-8"))
    paths = flatten_toml(data)
    return [re.sub(r"^connectors\.[^.]+\.", "connectors.*.", p) for p in paths]


def flatten_toml(data: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out += flatten_toml(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out


def test_every_option_is_documented_and_everything_documented_exists() -> None:
    assert sorted(set(documented_paths())) == sorted(all_key_paths())


def test_the_reference_loads_and_shows_the_defaults() -> None:
    config = load_config(REFERENCE, environ={})
    defaults = flatten(Config())
    for key, value in flatten(config).items():
        if key.startswith("connectors.") or key in EXAMPLES:
            continue
        assert value == defaults[key], key


def test_every_key_has_a_comment_above_it() -> None:
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[a-z_]+ = ", line):
            assert lines[i - 1].startswith("#"), f"line {i + 1}: {line!r} has no comment"


def test_the_demo_config_is_valid() -> None:
    config = load_config(ROOT / "conf" / "demo.toml", environ={})
    assert config.demo.enabled and config.simulator.enabled
    assert config.routing.default_connector in config.connectors
