# twisted.web.server.Request is untyped; this module is a thin subclass of it.
# mypy: disable-error-code="no-untyped-call"
"""The console's HTTP site: request bodies are capped before they are stored.

Twisted spools a request body to a temporary file of any size before a page sees it; a page's
own size check comes too late to spare the disk. Here a body over the cap is dropped as it
arrives (nothing is kept past the cap) and answered 413 without reaching any page."""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any

from twisted.web.server import Request, Site

TOO_LARGE_PAGE = b"request body too large"


#: Called once a request is answered: its method, status code and seconds taken.
RequestHook = Callable[[str, int, float], None]


class CappedRequest(Request):
    max_body = 16 * 1024 * 1024
    on_answered: RequestHook | None = None
    _started = 0.0

    def gotLength(self, length: int | None) -> None:
        self._received = 0
        self._too_large = length is not None and length > self.max_body
        super().gotLength(None if self._too_large else length)

    def handleContentChunk(self, data: bytes) -> None:
        self._received += len(data)
        if self._received > self.max_body:
            self._too_large = True
        if not self._too_large:
            super().handleContentChunk(data)

    def finish(self) -> None:
        hook = self.on_answered
        if hook is not None and not self.finished:
            method = self.method.decode("ascii", "replace")
            hook(method, self.code, perf_counter() - self._started)
        super().finish()

    def process(self) -> None:
        self._started = perf_counter()
        if not self._too_large:
            super().process()
            return
        self.setResponseCode(413)
        is_api = self.uri.startswith(b"/api/")
        if is_api:
            self.setHeader(b"Content-Type", b"application/json")
            body = b'{"error": {"code": "payload_too_large", "message": "request body too large"}}'
        else:
            self.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            body = TOO_LARGE_PAGE
        self.setHeader(b"Connection", b"close")
        self.write(body)
        self.finish()


def make_site(resource: Any, max_body: int, on_answered: RequestHook | None = None) -> Site:
    """A quiet site (no tracebacks to clients) whose requests cap their bodies at ``max_body``;
    ``on_answered`` times each request (for the metrics)."""
    attributes: dict[str, Any] = {"max_body": max_body}
    if on_answered is not None:
        attributes["on_answered"] = staticmethod(on_answered)
    request_factory = type("ConsoleRequest", (CappedRequest,), attributes)
    site = Site(resource, requestFactory=request_factory)
    site.displayTracebacks = False
    site.noisy = False
    return site
