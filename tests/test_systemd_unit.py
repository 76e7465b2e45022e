from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "gatewayd.service"
INSTALLED_BINARY = "/usr/local/bin/gatewayd"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed, cannot verify the unit"
)


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections to (key, value) pairs in order; unlike configparser, keys may repeat."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"directive outside a section: {line!r}"
        assert not line.endswith("\\"), "continuation lines are not expected in this unit"
        key, sep, value = line.partition("=")
        assert sep, f"not a directive: {line!r}"
        current.append((key.strip(), value.strip()))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in section if k == key]


def gatewayd_executable() -> str:
    # The console script when the package is installed, else any executable file will do:
    # verify only checks that the command exists.
    beside = Path(sys.executable).with_name("gatewayd")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("gatewayd") or sys.executable


def verifiable_copy(directory: Path, text: str | None = None) -> Path:
    """The unit with our binary and root as the user, so verify does not need an install."""
    text = UNIT.read_text() if text is None else text
    text = text.replace(INSTALLED_BINARY, gatewayd_executable())
    text = text.replace("\nUser=gatewayd\n", "\nUser=root\n")
    text = text.replace("\nGroup=gatewayd\n", "\nGroup=root\n")
    path = directory / "gatewayd.service"
    path.write_text(text)
    return path


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    env = dict(os.environ)
    # Warnings are logged at "warning"; pin the level so a caller's SYSTEMD_LOG_LEVEL=debug
    # cannot flood stderr, and keep the output plain.
    env.update(
        SYSTEMD_LOG_LEVEL="info",
        SYSTEMD_LOG_COLOR="0",
        SYSTEMD_LOG_TARGET="console",
        SYSTEMD_PAGER="",
        LC_ALL="C",
    )
    return subprocess.run(
        # --man=no: man pages for Documentation= need not exist here. --recursive-errors=no:
        # only our unit counts, not the host's targets or a missing postgresql.service.
        [ANALYZE, "verify", "--man=no", "--recursive-errors=no", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def about_our_unit(output: str) -> list[str]:
    return [line for line in output.splitlines() if "gatewayd.service" in line]


@needs_analyze
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    result = verify(verifiable_copy(tmp_path))
    assert result.returncode == 0, result.stderr
    assert about_our_unit(result.stderr) == [], result.stderr
    assert about_our_unit(result.stdout) == [], result.stdout


@needs_analyze
@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("\nType=notify\n", "\nType=bogus\n", "service type"),
        ("\nUMask=0027\n", "\nUMaks=0027\n", "Unknown key"),
        ("\n[Service]\n", "\n[Servise]\n", "Unknown section"),
        ("\nExecStart=" + INSTALLED_BINARY, "\nExecStart=/nonexistent/gatewayd", "not executable"),
    ],
    ids=["bad-type", "unknown-key", "unknown-section", "missing-binary"],
)
def test_systemd_analyze_verify_rejects_a_broken_unit(
    tmp_path: Path, old: str, new: str, complaint: str
) -> None:
    text = UNIT.read_text()
    assert old in text
    result = verify(verifiable_copy(tmp_path, text.replace(old, new)))
    assert result.returncode != 0
    found = about_our_unit(result.stderr + result.stdout)
    assert any(complaint in line for line in found), result.stderr


def test_unit_directives() -> None:
    unit = parse_unit(UNIT.read_text())
    assert set(unit) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "ExecStartPre": f"{INSTALLED_BINARY} check-config -c /etc/gatewayd/gatewayd.toml",
        "ExecStart": f"{INSTALLED_BINARY} run -c /etc/gatewayd/gatewayd.toml",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "Restart": "on-failure",
        "RestartSec": "2",
        "TimeoutStopSec": "30",
        "WatchdogSec": "30",
        "User": "gatewayd",
        "Group": "gatewayd",
        "StateDirectory": "gatewayd",
        "StateDirectoryMode": "0750",
        "RuntimeDirectoryMode": "0750",
        "WorkingDirectory": "/var/lib/gatewayd",
        "ConfigurationDirectory": "gatewayd",
        "RuntimeDirectory": "gatewayd",
        "UMask": "0027",
        "LimitNOFILE": "65536",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "ProtectClock": "yes",
        "ProtectHostname": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "RestrictNamespaces": "yes",
        "RestrictRealtime": "yes",
        "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "no",
        "SystemCallArchitectures": "native",
        "CapabilityBoundingSet": "",
    }
    for key, value in expected.items():
        assert values(service, key) == [value], key
    assert values(service, "SystemCallFilter")[0] == "@system-service"
    assert values(unit["Install"], "WantedBy") == ["multi-user.target"]


def test_no_secrets_or_schema_upgrade_in_commands() -> None:
    service = parse_unit(UNIT.read_text())["Service"]
    commands = [v for k, v in service if k.startswith("Exec")]
    assert not any("db upgrade" in c for c in commands)
    assert not any("password" in c.lower() for c in commands)
    assert values(service, "Environment") == []
    assert values(service, "DynamicUser") == []


def test_watchdog_restarts_and_the_daemon_pings_at_half_of_it() -> None:
    from gatewayd.sdnotify import watchdog_interval

    service = parse_unit(UNIT.read_text())["Service"]
    (seconds,) = values(service, "WatchdogSec")
    # systemd passes WatchdogSec= to the service as WATCHDOG_USEC (with WATCHDOG_PID).
    usec = str(int(seconds) * 1_000_000)
    assert watchdog_interval({"WATCHDOG_USEC": usec}) == int(seconds) / 2
    # A watchdog timeout is a failure for Restart=; "no" or "on-success" would leave it dead.
    assert values(service, "Restart")[0] in {"on-failure", "on-abnormal", "on-watchdog", "always"}
    # Notifications (WATCHDOG=1 too) are accepted from the main process only, which sends them.
    assert values(service, "NotifyAccess") == ["main"]


SOCKET = UNIT.with_name("gatewayd.socket")


def test_socket_unit_hands_the_smpp_port_to_the_service() -> None:
    unit = parse_unit(SOCKET.read_text())
    assert set(unit) == {"Unit", "Socket", "Install"}
    socket_section = unit["Socket"]
    assert values(socket_section, "ListenStream") == ["0.0.0.0:2775"]  # the SMPP port
    assert values(socket_section, "Service") == ["gatewayd.service"]
    assert values(socket_section, "FileDescriptorName") == ["smpp"]
    assert values(unit["Install"], "WantedBy") == ["sockets.target"]
    # The listen string the daemon needs is in the unit's own instructions.
    assert 'listen = ["systemd:domain=INET:index=0"]' in SOCKET.read_text()


@needs_analyze
def test_systemd_analyze_verify_accepts_the_socket_unit(tmp_path: Path) -> None:
    verifiable_copy(tmp_path)  # Service= must name a unit that exists beside it
    path = tmp_path / "gatewayd.socket"
    path.write_text(SOCKET.read_text())
    result = verify(path)
    assert result.returncode == 0, result.stderr
    ours = [line for line in (result.stderr + result.stdout).splitlines() if "gatewayd." in line]
    assert ours == [], result.stderr
    broken = SOCKET.read_text().replace("ListenStream=", "ListenStrem=")
    path.write_text(broken)
    result = verify(path)
    assert any("Unknown key" in line for line in (result.stderr + result.stdout).splitlines())
