"""[cluster] keys: defaults off, and enabled on SQLite is refused naming the key."""

from __future__ import annotations

import pytest

from gatewayd.config import parse_config
from gatewayd.errors import ConfigError


def test_cluster_is_off_by_default() -> None:
    config = parse_config({}, "test.toml")
    assert not config.cluster.enabled
    assert config.cluster.node == ""
    assert config.cluster.lease_seconds == 15.0


def test_cluster_needs_postgresql() -> None:
    with pytest.raises(ConfigError, match=r"cluster\.enabled"):
        parse_config({"cluster": {"enabled": True}}, "test.toml")
    config = parse_config(
        {
            "cluster": {"enabled": True, "node": "a", "lease_seconds": 6},
            "database": {"url": "postgresql+psycopg://u@h/db"},
        },
        "test.toml",
    )
    assert config.cluster.node == "a"
    assert config.cluster.lease_seconds == 6


def test_the_daemon_refuses_a_cluster_until_it_is_built(tmp_path: object) -> None:
    from gatewayd.daemon import require_single_node

    config = parse_config(
        {"cluster": {"enabled": True}, "database": {"url": "postgresql+psycopg://u@h/db"}},
        "gatewayd.toml",
    )
    with pytest.raises(ConfigError, match=r"gatewayd\.toml: cluster\.enabled: several nodes"):
        require_single_node(config, "gatewayd.toml")
    require_single_node(parse_config({}, "gatewayd.toml"), "gatewayd.toml")
