"""Send ``twisted.logger`` events to a text stream, as plain text or one JSON object per line.

The daemon logs to stdout and lets journald (or whatever runs it) store the lines, so there is no
file handling, rotation or syslog here.

Secrets: call sites must never pass passwords, credentials or session tokens to a log call, not
even under a harmless-looking name. As a second line of defence, any event field whose name
contains "password", "secret" or "token" (any case, also inside dict values) is dropped from JSON
lines and shown as ``***`` if a message format refers to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import IO, Any, cast

from twisted.logger import (
    ILogObserver,
    LogBeginner,
    LogEvent,
    LogLevel,
    formatEvent,
    globalLogBeginner,
)
from zope.interface import implementer  # type: ignore[import-untyped,unused-ignore]

from gatewayd.config.model import LoggingConfig
from gatewayd.config.model import LogLevel as LevelName

__all__ = [
    "LevelledObserver",
    "format_json",
    "format_text",
    "is_secret_key",
    "make_observer",
    "start_logging",
]

_SECRET_WORDS = ("password", "secret", "token")
_REDACTED = "***"
# Fields the JSON line sets itself, and fields twisted.python.log adds to events for legacy
# observers; neither carries anything of the call site's own.
_RESERVED = frozenset({"time", "level", "namespace", "message", "traceback"})
_LEGACY = frozenset({"format", "isError", "system", "why", "failure"})


def is_secret_key(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _level_of(event: LogEvent) -> LogLevel:
    # LogLevel constants are not LogLevel instances, hence the lookup by name.
    level = event.get("log_level")
    name = getattr(level, "name", None)
    if isinstance(name, str) and level is getattr(LogLevel, name, None):
        return cast(LogLevel, level)
    return cast(LogLevel, LogLevel.info)


def _iso_time(event: LogEvent) -> str:
    when = event.get("log_time")
    if not isinstance(when, int | float):
        return "-"
    stamp = datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def _message(event: LogEvent) -> str:
    # Format from a copy with secret-named fields masked, so "{password}" in a format string
    # cannot leak the value either.
    if any(isinstance(k, str) and is_secret_key(k) for k in event):
        event = {
            k: _REDACTED if isinstance(k, str) and is_secret_key(k) else v for k, v in event.items()
        }
    return formatEvent(event)


def _traceback(event: LogEvent) -> str | None:
    failure = event.get("log_failure")
    if failure is None:
        return None
    try:
        return cast(str, failure.getTraceback()).rstrip("\n")
    except Exception:  # a log line must not fail because a traceback could not be rendered
        return f"(unable to render traceback for {failure!r})"


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _scrub(v) for k, v in value.items() if not is_secret_key(str(k))}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def format_text(event: LogEvent) -> str:
    """``TIME LEVEL [NAMESPACE] MESSAGE``; continuation lines (tracebacks) start with a tab."""
    text = f"{_iso_time(event)} {_level_of(event).name} [{event.get('log_namespace', '-')}] "
    text += _message(event)
    traceback = _traceback(event)
    if traceback:
        text += "\n" + traceback
    # journald stores each line as an entry; a tab marks the ones that belong to the previous.
    return text.replace("\n", "\n\t")


def format_json(event: LogEvent) -> str:
    """One JSON object, no newlines inside, with the event's own JSON-serialisable fields."""
    record: dict[str, Any] = {
        "time": _iso_time(event),
        "level": _level_of(event).name,
        "namespace": event.get("log_namespace", "-"),
        "message": _message(event),
    }
    for key, value in event.items():
        if not isinstance(key, str) or key.startswith("log_") or key in _RESERVED:
            continue
        if key in _LEGACY or is_secret_key(key):
            continue
        value = _scrub(value)
        if _jsonable(value):
            record[key] = value
    traceback = _traceback(event)
    if traceback is not None:
        record["traceback"] = traceback
    return json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


_FORMATTERS: dict[str, Callable[[LogEvent], str]] = {"text": format_text, "json": format_json}


class _Threshold:
    """The daemon's minimum level, for hot paths that skip building per-message events
    nobody will see (an event costs tens of microseconds even when filtered out)."""

    minimum: LogLevel | None = None  # None: no levelled observer (tests): log everything


def info_enabled() -> bool:
    return _Threshold.minimum is None or _Threshold.minimum <= LogLevel.info


@implementer(ILogObserver)
class LevelledObserver:
    """Writes events at or above a minimum level to ``stream``; the level can change live."""

    def __init__(
        self, stream: IO[str], formatter: Callable[[LogEvent], str], level: LevelName
    ) -> None:
        self._stream = stream
        self._format = formatter
        self._minimum = LogLevel.levelWithName(level)
        _Threshold.minimum = self._minimum

    @property
    def level(self) -> LevelName:
        return cast(LevelName, self._minimum.name)

    def set_level(self, level: LevelName) -> None:
        """Change the minimum level, e.g. on a SIGHUP reload of ``[logging] level``."""
        self._minimum = LogLevel.levelWithName(level)
        _Threshold.minimum = self._minimum

    def __call__(self, event: LogEvent) -> None:
        if _level_of(event) < self._minimum:
            return
        # One write per event keeps lines whole when thread-pool code logs concurrently, and
        # the flush matters because stdout to journald is a pipe, hence block-buffered.
        self._stream.write(self._format(event) + "\n")
        self._stream.flush()


def make_observer(config: LoggingConfig, stream: IO[str]) -> ILogObserver:
    """An observer for ``config.format`` and ``config.level``; see `LevelledObserver`."""
    return cast(ILogObserver, LevelledObserver(stream, _FORMATTERS[config.format], config.level))


def start_logging(
    config: LoggingConfig, stream: IO[str], publisher: LogBeginner = globalLogBeginner
) -> LevelledObserver:
    """Begin logging to ``stream``; keep the result to call ``set_level`` on reload.

    Events logged before this call are replayed (they are usually the start-up messages worth
    having) and pass the same level filter. stdout/stderr are not redirected into the log: the
    stream usually *is* stdout, and stray prints reach journald on their own anyway.
    """
    observer = LevelledObserver(stream, _FORMATTERS[config.format], config.level)
    publisher.beginLoggingTo(
        [cast(ILogObserver, observer)], discardBuffer=False, redirectStandardIO=False
    )
    return observer
