"""Reading a connector's ``password_file``: a small regular UTF-8 file.

It blocks (a file system read): call it off the reactor, except at start. A device, a FIFO or
a directory is refused before it is opened (``/dev/zero`` would fill the memory, a FIFO would
wait for a writer), and again on the opened file, in case it was swapped in between.
"""

from __future__ import annotations

import os
import stat

from gatewayd.errors import ConfigError

#: The largest password file read, in bytes: it holds a bind password, nothing more.
PASSWORD_FILE_LIMIT = 4096
_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_NOFOLLOW | os.O_CLOEXEC


def read_password_file(given: str, source: str, key: str, within: str | None = None) -> str:
    """The stripped text of the file ``given``; a :class:`ConfigError` on ``key`` otherwise.

    ``within`` is None for the config file's connectors (any path: the sysadmin wrote it).
    For a console connector it is ``[admin] connector_secrets_dir``: the file, symbolic links
    resolved, must be in it; "" allows no file at all.
    """
    real = os.path.realpath(given)
    if within is not None:
        if not within:
            reason = "a connector added from the console takes its password inline: no "
            raise ConfigError(
                source, key, reason + "password file without [admin] connector_secrets_dir"
            )
        base = os.path.realpath(within)
        if real == base or os.path.commonpath([base, real]) != base:
            raise ConfigError(source, key, f"must be a file in {within}")
    try:
        if not stat.S_ISREG(os.stat(real).st_mode):
            raise ConfigError(source, key, f"{given} is not a regular file")
        fd = os.open(real, _FLAGS)
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise ConfigError(source, key, f"{given} is not a regular file")
            data = file.read(PASSWORD_FILE_LIMIT + 1)
    except OSError as e:
        raise ConfigError(source, key, f"cannot read {given}: {e.strerror}") from None
    if len(data) > PASSWORD_FILE_LIMIT:
        raise ConfigError(source, key, f"{given} is larger than {PASSWORD_FILE_LIMIT} bytes")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError(source, key, f"{given} is not UTF-8 text") from None
