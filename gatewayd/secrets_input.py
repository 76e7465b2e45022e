"""Reading a secret for the CLI: from GATEWAYD_PASSWORD or standard input, never from argv."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from typing import TextIO

from gatewayd.errors import ValidationError

PASSWORD_ENV = "GATEWAYD_PASSWORD"  # noqa: S105 - the variable's name, not a secret


def read_secret(what: str, environ: Mapping[str, str], stdin: TextIO) -> str:
    """``GATEWAYD_PASSWORD`` if set; else a prompt (twice) on a terminal; else one stdin line."""
    if environ.get(PASSWORD_ENV):
        return environ[PASSWORD_ENV]
    if stdin.isatty():
        first = getpass.getpass(f"{what}: ")
        if getpass.getpass(f"{what} (again): ") != first:
            raise ValidationError("the two passwords differ")
        secret = first
    else:
        secret = stdin.readline().rstrip("\r\n")
    if not secret:
        raise ValidationError(f"no {what} given on standard input or in ${PASSWORD_ENV}")
    return secret
