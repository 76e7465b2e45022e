from __future__ import annotations

import io
import json
import types
from typing import Any, cast

from twisted.logger import ILogObserver, LogBeginner, LogEvent, Logger, LogLevel, LogPublisher
from twisted.python.failure import Failure

from gatewayd.config.model import LoggingConfig
from gatewayd.logsetup import LevelledObserver, make_observer, start_logging

T0 = 1700000000.5  # 2023-11-14T22:13:20.500Z
STAMP = "2023-11-14T22:13:20.500Z"


def event(fmt: str, level: LogLevel = LogLevel.info, **fields: Any) -> LogEvent:
    return {
        "log_format": fmt,
        "log_level": level,
        "log_namespace": "gatewayd.smpp.server",
        "log_time": T0,
        "log_source": None,
        **fields,
    }


def run(config: LoggingConfig, *events: LogEvent) -> str:
    stream = io.StringIO()
    observer = cast(LevelledObserver, make_observer(config, stream))
    for e in events:
        observer(e)
    return stream.getvalue()


def failure_event() -> LogEvent:
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        failure = Failure()  # type: ignore[no-untyped-call]
    return event("submit_sm failed", LogLevel.critical, log_failure=failure, message_id="m1")


def test_text_line() -> None:
    out = run(
        LoggingConfig(format="text"),
        event("accepted {message_id} from {account}", message_id="a1b2", account="acme"),
    )
    assert out == f"{STAMP} info [gatewayd.smpp.server] accepted a1b2 from acme\n"


def test_text_warn_level_name_and_multiline_message() -> None:
    out = run(LoggingConfig(format="text"), event("one\ntwo", LogLevel.warn))
    assert out == f"{STAMP} warn [gatewayd.smpp.server] one\n\ttwo\n"


def test_text_failure_adds_indented_traceback() -> None:
    out = run(LoggingConfig(format="text"), failure_event())
    first, *rest = out.rstrip("\n").split("\n")
    assert first == f"{STAMP} critical [gatewayd.smpp.server] submit_sm failed"
    assert rest[0].startswith("\tTraceback")
    assert all(line.startswith("\t") for line in rest)
    assert "ZeroDivisionError" in rest[-1]


def test_json_line_exact() -> None:
    out = run(
        LoggingConfig(format="json"),
        event(
            "accepted {message_id}",
            message_id="a1b2",
            account="acme",
            connector="orange",
            parts=2,
            tags=("x", "y"),
        ),
    )
    assert out == (
        '{"time":"2023-11-14T22:13:20.500Z","level":"info","namespace":"gatewayd.smpp.server",'
        '"message":"accepted a1b2","message_id":"a1b2","account":"acme","connector":"orange",'
        '"parts":2,"tags":["x","y"]}\n'
    )


def test_json_one_object_per_line_even_with_newlines() -> None:
    out = run(
        LoggingConfig(format="json"),
        event("a\nb {note}", note="c\nd"),
        event("second", LogLevel.error),
    )
    lines = out.splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["message"] == "a\nb c\nd"
    assert first["note"] == "c\nd"
    assert json.loads(lines[1])["level"] == "error"


def test_json_drops_unserialisable_and_legacy_fields() -> None:
    out = run(
        LoggingConfig(format="json"),
        event(
            "x",
            raw=b"\x00",
            obj=object(),
            nan=float("nan"),
            ok=None,
            isError=0,
            system="-",
            time=1.0,
            message=(),
        ),
    )
    assert json.loads(out) == {
        "time": STAMP,
        "level": "info",
        "namespace": "gatewayd.smpp.server",
        "message": "x",
        "ok": None,
    }


def test_json_drops_secret_fields_everywhere() -> None:
    out = run(
        LoggingConfig(format="json"),
        event(
            "bind as {system_id} with {password}",
            system_id="esme1",
            password="hunter2",
            csrf_token="t0k",
            Client_SECRET="s",
            connector={"name": "orange", "password": "hunter2", "nested": [{"api_token": "t"}]},
        ),
    )
    assert "hunter2" not in out and "t0k" not in out
    assert json.loads(out) == {
        "time": STAMP,
        "level": "info",
        "namespace": "gatewayd.smpp.server",
        "message": "bind as esme1 with ***",
        "system_id": "esme1",
        "connector": {"name": "orange", "nested": [{}]},
    }


def test_text_masks_secret_fields_in_the_message() -> None:
    out = run(
        LoggingConfig(format="text"), event("login {user} {password}", user="u", password="p")
    )
    assert out == f"{STAMP} info [gatewayd.smpp.server] login u ***\n"


def test_json_failure_adds_traceback() -> None:
    record = json.loads(run(LoggingConfig(format="json"), failure_event()))
    assert record["level"] == "critical"
    assert record["message"] == "submit_sm failed"
    assert record["message_id"] == "m1"
    assert record["traceback"].startswith("Traceback")
    assert record["traceback"].rstrip().endswith("division by zero")
    assert list(record) == ["time", "level", "namespace", "message", "message_id", "traceback"]


def test_level_filter() -> None:
    events = [event(level.name, level) for level in LogLevel.iterconstants()]
    assert run(LoggingConfig(level="warn"), *events) == (
        f"{STAMP} warn [gatewayd.smpp.server] warn\n"
        f"{STAMP} error [gatewayd.smpp.server] error\n"
        f"{STAMP} critical [gatewayd.smpp.server] critical\n"
    )
    assert run(LoggingConfig(level="debug"), *events).count("\n") == 5
    assert run(LoggingConfig(level="critical"), *events).count("\n") == 1


def test_set_level_changes_filter_live() -> None:
    stream = io.StringIO()
    _, beginner = fresh_beginner()
    observer = start_logging(LoggingConfig(level="info"), stream, publisher=beginner)
    assert isinstance(observer, LevelledObserver)
    assert current_level(observer) == "info"
    observer(event("hidden", LogLevel.debug))
    observer.set_level("debug")
    assert current_level(observer) == "debug"
    observer(event("shown", LogLevel.debug))
    observer.set_level("error")
    observer(event("hidden too", LogLevel.warn))
    assert stream.getvalue() == f"{STAMP} debug [gatewayd.smpp.server] shown\n"


def current_level(observer: LevelledObserver) -> str:
    return observer.level


def fresh_beginner(stdio: object | None = None) -> tuple[LogPublisher, LogBeginner]:
    # The global beginner can only begin once per process, so each test gets its own.
    publisher = LogPublisher()
    warnings = types.SimpleNamespace(showwarning=lambda *a, **k: None)
    stdio = stdio or types.SimpleNamespace()
    return publisher, LogBeginner(publisher, io.StringIO(), stdio, warnings)


def test_start_logging_replays_buffer_and_leaves_stdio_alone() -> None:
    stdio = types.SimpleNamespace(stdout="orig-out", stderr="orig-err")
    publisher, beginner = fresh_beginner(stdio)
    log = Logger(namespace="gatewayd.test", observer=cast(ILogObserver, publisher))
    log.info("early {n}", n=1)
    log.debug("early debug")
    stream = io.StringIO()
    start_logging(LoggingConfig(format="json"), stream, publisher=beginner)
    log.info("later {n}", n=2, password="p")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["message"], r["n"]) for r in records] == [("early 1", 1), ("later 2", 2)]
    assert all(r["namespace"] == "gatewayd.test" for r in records)
    assert all("password" not in r for r in records)
    assert (stdio.stdout, stdio.stderr) == ("orig-out", "orig-err")


def test_events_without_time_or_level_still_log() -> None:
    out = run(LoggingConfig(format="text"), {"log_format": "bare"})
    assert out == "- info [-] bare\n"


def test_make_observer_provides_ilogobserver() -> None:
    observer = make_observer(LoggingConfig(), io.StringIO())
    assert ILogObserver.providedBy(observer)
    assert isinstance(observer, LevelledObserver)
