"""Twisted endpoint strings: validation without listening, and the listening itself."""

from __future__ import annotations

from twisted.internet.endpoints import serverFromString
from twisted.internet.testing import MemoryReactor


def endpoint_error(description: str) -> str | None:
    """Why ``description`` is not a valid server endpoint string, or None when it is."""
    if not isinstance(description, str) or not description:
        return "empty"
    if description.startswith("systemd:"):
        # Inherited sockets exist only under systemd, so check the syntax alone here.
        return _systemd_error(description)
    try:
        # A MemoryReactor only records listen calls, so parsing touches no socket.
        serverFromString(MemoryReactor(), description)
    except (ValueError, TypeError, KeyError) as e:
        return str(e) or type(e).__name__
    return None


def _systemd_error(description: str) -> str | None:
    options = dict(part.partition("=")[::2] for part in description.split(":")[1:])
    if options.get("domain") not in ("INET", "INET6", "UNIX"):
        return "systemd endpoints need domain=INET, INET6 or UNIX"
    if not (options.get("index", "").isdigit() or options.get("name")):
        return "systemd endpoints need index=N or name=NAME"
    return None
