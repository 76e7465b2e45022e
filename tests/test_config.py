from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd.config import load_config, parse_config
from gatewayd.errors import ConfigError

MINIMAL = """
[connectors.sim]
host = "127.0.0.1"
system_id = "gw"

[routing]
default_connector = "sim"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gatewayd.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_use_the_documented_listeners(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), environ={})
    assert config.smpp_server.listen == ("tcp:2775:interface=127.0.0.1",)
    assert config.admin.listen == ("tcp:8080:interface=127.0.0.1",)
    assert config.database.url == "sqlite:///var/gatewayd.db"
    assert config.connectors == {}


def test_sections_are_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), environ={})
    with pytest.raises(AttributeError):
        config.database.url = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.connectors["other"] = config.connectors["sim"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "path", "reason"),
    [
        ("[database]\nurll = 'x'", "database.urll", "unknown key"),
        ("[nosuch]\na = 1", "nosuch", "unknown key"),
        ("[smpp_server]\nlisten = 'tcp:2775'", "smpp_server.listen", "expected a list"),
        ("[smpp_server]\nlisten = ['tcpx:1']", "smpp_server.listen", "not a valid Twisted"),
        ("[smpp_server]\nlisten = [2775]", "smpp_server.listen[0]", "expected a string"),
        ("[admin]\nsession_ttl = -1", "admin.session_ttl", "greater than 0"),
        ("[admin]\nsecure_cookies = 'yes'", "admin.secure_cookies", "true or false"),
        ("[logging]\nlevel = 'loud'", "logging.level", "must be one of"),
        ("[database]\nurl = 'mysql://x'", "database.url", "must start with"),
        ("[database]\nthreads = 1.5", "database.threads", "expected an integer"),
        ("[connectors.a]\nsystem_id = 'x'", "connectors.a.host", "missing required key"),
        (
            "[connectors.a]\nhost = 'h'\nsystem_id = 'x'\nport = 70000",
            "connectors.a.port",
            "TCP port",
        ),
        ("[connectors.a]\nhost='h'\nsystem_id='x'", "routing.default_connector", "required"),
        ("[routing]\ndefault_connector = 'nope'", "routing.default_connector", "no connector"),
    ],
)
def test_errors_name_the_file_the_key_and_the_reason(
    tmp_path: Path, text: str, path: str, reason: str
) -> None:
    file = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(file, environ={})
    assert info.value.source == str(file)
    assert info.value.path == path
    assert reason in info.value.reason
    assert str(file) in info.value.message and path in info.value.message


def test_bad_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[database\n"), environ={})
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml", environ={})


def test_environment_overrides_scalars_and_nested_tables(tmp_path: Path) -> None:
    env = {
        "GATEWAYD__DATABASE__URL": "postgresql+psycopg://gw@db/gw",
        "GATEWAYD__DATABASE__THREADS": "8",
        "GATEWAYD__ADMIN__SECURE_COOKIES": "true",
        "GATEWAYD__CONNECTORS__SIM__PASSWORD": "s3cret",
        "GATEWAYD__SMPP_SERVER__LISTEN": '["tcp:2900"]',
        "GATEWAYD_PASSWORD": "not an override",
    }
    config = load_config(write(tmp_path, MINIMAL), environ=env)
    assert config.database.url == "postgresql+psycopg://gw@db/gw"
    assert config.database.threads == 8
    assert config.admin.secure_cookies is True
    assert config.connectors["sim"].password == "s3cret"
    assert config.smpp_server.listen == ("tcp:2900",)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GATEWAYD__DATABASE__NOPE", "1", "no such configuration key"),
        ("GATEWAYD__DATABASE__THREADS", "many", "cannot read"),
        ("GATEWAYD__DATABASE__THREADS", "-1", "must be 0 or more"),
        ("GATEWAYD__DATABASE", "x", "no such configuration key"),
    ],
)
def test_bad_environment_overrides_name_the_variable(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_config(write(tmp_path, ""), environ={name: value})
    assert name in info.value.message or "database.threads" in info.value.message


def test_password_and_password_file_are_exclusive() -> None:
    data = {
        "connectors": {
            "a": {"host": "h", "system_id": "x", "password": "p", "password_file": "/f"}
        },
        "routing": {"default_connector": "a"},
    }
    with pytest.raises(ConfigError, match="not both"):
        parse_config(data, "inline")


def test_systemd_endpoints_are_accepted_without_inherited_sockets(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "[admin]\nlisten = ['systemd:domain=INET:index=0']"), environ={}
    )
    assert config.admin.listen == ("systemd:domain=INET:index=0",)
    with pytest.raises(ConfigError, match="domain"):
        load_config(write(tmp_path, "[admin]\nlisten = ['systemd:index=0']"), environ={})


@pytest.mark.parametrize(
    ("rules", "key", "reason"),
    [
        ('name = "a"\nconnector = "nope"', "routing.rules[0]", "no connector named 'nope'"),
        ('name = "a"\nprefixes = ["+33"]\nconnector = "sim"', "routing.rules[0].prefixes", ""),
        ('name = "a"\nregex = "("\nconnector = "sim"', "routing.rules[0].regex", ""),
        ('name = "a"\ncolour = "red"\nconnector = "sim"', "routing.rules[0].colour", "unknown"),
    ],
)
def test_routing_rules_are_checked_at_load_with_their_key(
    tmp_path: Path, rules: str, key: str, reason: str
) -> None:
    text = MINIMAL + f"\n[[routing.rules]]\n{rules}\n"
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    assert info.value.path == key, info.value.message
    assert reason in info.value.reason
    assert str(tmp_path) in info.value.message


def test_routing_and_mo_rules_load(tmp_path: Path) -> None:
    text = MINIMAL + (
        '\n[[routing.rules]]\nname = "ml"\nprefixes = ["223"]\nfailover = ["sim"]\n'
        '\n[mo]\nroutes = { "36002" = "Beta" }\n'
        '\n[[mo.rules]]\naddress = "36001"\nkeyword = "STOP"\naccount = "Acme"\n'
    )
    config = load_config(write(tmp_path, text), environ={})
    from gatewayd.config.policy import mo_table, routing_table

    table = routing_table(config, "x")
    assert [rule.name for rule in table.rules] == ["ml"]
    mo = mo_table(config, "x")
    assert (m := mo.route("36001", "stop please")) is not None and m.account == "Acme"
    assert (m := mo.route("36002", "hello")) is not None and m.account == "Beta"
    assert mo.route("36001", "hello") is None
