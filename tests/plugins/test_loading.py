"""Loading plugins from [plugins.NAME]: a module or an installed gatewayd.plugins entry point
(a real distribution's metadata on sys.path, written from the example package's pyproject),
in the config's order, each checking its own table with gatewayd's strict config errors, which
``gatewayd check-config`` shows."""

from __future__ import annotations

import io
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.task import Clock

from gatewayd.cli import main
from gatewayd.config import parse_config
from gatewayd.errors import ConfigError
from gatewayd.plugins.host import load_plugins
from tests.plugins.recorder import Options, Recorder

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gatewayd-plugin-example"
MODULE = "tests.plugins.recorder"


def load(plugins: dict[str, Any]) -> list[Any]:
    return load_plugins(plugins, "gw.toml", Clock())


def error(plugins: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(plugins)
    return caught.value


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[None]:
    """The example package as pip would leave it: its module importable and a dist-info whose
    entry_points.txt comes from the package's own pyproject.toml."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dist = tmp_path / "gatewayd_plugin_example-0.1.0.dist-info"
    dist.mkdir()
    dist.joinpath("METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    points = project["entry-points"]["gatewayd.plugins"]
    lines = "".join(f"{name} = {value}\n" for name, value in points.items())
    dist.joinpath("entry_points.txt").write_text(f"[gatewayd.plugins]\n{lines}")
    sys.path[:0] = [str(tmp_path), str(EXAMPLE / "src")]
    try:
        yield
    finally:
        sys.path.remove(str(tmp_path))
        sys.path.remove(str(EXAMPLE / "src"))


def test_plugins_load_in_the_configs_order_with_their_own_options() -> None:
    found = load(
        {
            "zeta": {"module": MODULE, "upper": True},
            "alpha": {"module": MODULE, "reject": "x"},
            "off": {"module": MODULE, "enabled": False},
        }
    )
    assert [p.name for p in found] == ["zeta", "alpha"]  # config order, not by name
    assert isinstance(found[0].instance, Recorder)
    assert found[0].instance.options == Options(upper=True)
    assert found[0].instance.context.key == "plugins.zeta"
    assert found[0].instance.context.checking is False


def test_an_installed_plugin_runs_only_when_listed(installed: None) -> None:
    assert load({}) == []
    [plugin] = load({"example": {"blocked_words": ["casino"]}})
    assert plugin.origin == "entry point gatewayd_plugin_example:plugin"
    assert type(plugin.instance).__name__ == "ContentFilter"
    bad = error({"example": {"blocked_words": "casino"}})
    assert (bad.path, bad.reason) == (
        "plugins.example.blocked_words",
        "expected a list, got a string",
    )


def test_errors_name_the_file_and_the_key_path() -> None:
    assert str(error({"r": {"module": MODULE, "upper": "yes"}})) == (
        "gw.toml: plugins.r.upper: expected true or false, got a string"
    )
    assert error({"r": {"module": MODULE, "colour": 1}}).path == "plugins.r.colour"
    missing = error({"r": {"module": "no_such_module_here"}})
    assert (
        missing.path == "plugins.r.module" and "cannot import no_such_module_here" in missing.reason
    )
    assert "has no plugin(config, context)" in error({"r": {"module": "json"}}).reason
    assert "no installed gatewayd.plugins entry point 'nope'" in error({"nope": {}}).reason
    assert error({"r": {"module": MODULE, "enabled": "no"}}).path == "plugins.r.enabled"
    assert error({"Bad.Name": {"module": MODULE}}).path == "plugins.Bad.Name"
    assert "built-in notifier" in error({"smtp": {"module": MODULE}}).reason
    assert "implements no hook" in error({"r": {"module": "tests.plugins.hookless"}}).reason


def test_a_plugins_own_exception_becomes_a_config_error_of_its_table() -> None:
    found = error({"r": {"module": "tests.plugins.hookless", "explode": True}})
    assert (found.path, found.reason) == ("plugins.r", "ValueError: explode must be false")


def test_the_config_checks_the_plugins_and_check_config_shows_the_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"plugins": {"r": {"module": MODULE, "upper": 1}}}, "gw.toml")
    assert caught.value.path == "plugins.r.upper"
    config = tmp_path / "gatewayd.toml"
    config.write_text(f'[plugins.r]\nmodule = "{MODULE}"\nreject = 3\n', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["check-config", "-c", str(config)], lambda: None, {}, io.StringIO(), out, err)
    assert code == 2
    assert err.getvalue() == (
        f"gatewayd: error: {config}: plugins.r.reject: expected a string, got an integer\n"
    )
    config.write_text(f'[plugins.r]\nmodule = "{MODULE}"\nreject = "x"\n', encoding="utf-8")
    code = main(["check-config", "-c", str(config)], lambda: None, {}, io.StringIO(), out, err)
    assert code == 0 and out.getvalue() == f"{config}: ok\n"
