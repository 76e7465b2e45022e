"""A connector's password file: a regular file, small, UTF-8, and for a connector added from
the console only under ``[admin] connector_secrets_dir``; the errors name the key."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from gatewayd.app import connector_password
from gatewayd.config import ConnectorConfig
from gatewayd.errors import ConfigError

KEY = "connectors.up.password_file"


def _conf(path: Path | str) -> ConnectorConfig:
    return ConnectorConfig(host="h", system_id="x", password_file=str(path))


def _refused(path: Path | str) -> str:
    with pytest.raises(ConfigError) as caught:
        connector_password("up", _conf(path), "gatewayd.toml")
    assert str(caught.value).startswith(f"gatewayd.toml: {KEY}: ")
    return str(caught.value)


def test_a_regular_file_is_read_through_a_symlink(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n", encoding="utf-8")
    link = tmp_path / "link"
    link.symlink_to(secret)
    assert connector_password("up", _conf(link), "gatewayd.toml") == "s3cret"


def test_a_device_or_a_link_to_one_is_refused(tmp_path: Path) -> None:
    assert "not a regular file" in _refused("/dev/zero")
    link = tmp_path / "zero"
    link.symlink_to("/dev/zero")
    assert "not a regular file" in _refused(link)
    assert "not a regular file" in _refused(tmp_path)  # a directory


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(_refused(fifo)), daemon=True)
    reader.start()
    reader.join(5.0)  # a guard only: without the fix the open() blocks forever
    if reader.is_alive():
        with open(fifo, "wb"):  # unblock the thread
            pass
        pytest.fail("reading the FIFO blocked")
    assert found and "not a regular file" in found[0]


def test_a_large_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"a" * 4097)
    assert "larger than 4096 bytes" in _refused(big)
    edge = tmp_path / "edge"
    edge.write_bytes(b"b" * 4096)
    assert connector_password("up", _conf(edge), "gatewayd.toml") == "b" * 4096


def test_a_binary_file_is_a_field_error(tmp_path: Path) -> None:
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe\x00secret")
    message = _refused(binary)
    assert "not UTF-8" in message and str(binary) in message


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    assert f"cannot read {tmp_path / 'nope'}" in _refused(tmp_path / "nope")


def test_the_console_s_files_stay_in_the_secrets_dir(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    inside = secrets / "up"
    inside.write_text("pw", encoding="utf-8")
    outside = tmp_path / "other"
    outside.write_text("theirs", encoding="utf-8")
    assert connector_password("up", _conf(inside), "console", str(secrets)) == "pw"
    escape = secrets / "escape"
    escape.symlink_to(outside)
    with pytest.raises(ConfigError, match="must be a file in"):
        connector_password("up", _conf(escape), "console", str(secrets))
    dotted = secrets / ".." / "other"
    with pytest.raises(ConfigError, match="must be a file in"):
        connector_password("up", _conf(dotted), "console", str(secrets))
    with pytest.raises(ConfigError, match="connector_secrets_dir"):
        connector_password("up", _conf(inside), "console", "")
    assert connector_password("up", _conf(outside), "gatewayd.toml") == "theirs"  # the file's
