"""What every API route shares: its own Klein app (mounted at /api/v1 by the console), the
bearer-key check, and the translation of errors into JSON at this one edge."""

from __future__ import annotations

from typing import Any

from klein import Klein
from twisted.logger import Logger
from twisted.web.iweb import IRequest
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as WerkzeugMethodNotAllowed

from gatewayd.api.errors import Unauthorized, from_werkzeug, translate, write_error, write_json
from gatewayd.api.input import check_query
from gatewayd.api.store import Principal, principal
from gatewayd.errors import GatewayError, Unavailable
from gatewayd.pipeline.destinations import Networks
from gatewayd.pipeline.submission import Submissions
from gatewayd.storage.database import Database
from gatewayd.storage.messages import MessageStore

log = Logger()
app = Klein()

BEARER = b"bearer "


class ApiBase:
    app = app

    def __init__(
        self,
        db: Database,
        messages: MessageStore,
        submissions: Submissions,
        clock: Any,
        *,
        callback_networks: Networks = (),
    ) -> None:
        self._callback_networks = callback_networks
        self._db = db
        self._messages = messages
        self._submissions = submissions
        self._clock = clock

    async def _principal(self, request: IRequest, query: frozenset[str] = frozenset()) -> Principal:
        """The key's account; no key, or a bad one: 401 (the same answer for every reason).
        ``query``: the parameters the route takes; any other is refused, as a typo would be."""
        header = request.getHeader(b"authorization") or b""
        if header[: len(BEARER)].lower() != BEARER:
            raise Unauthorized("an API key is required: Authorization: Bearer gw_...")
        token = header[len(BEARER) :].strip().decode("ascii", "replace")
        found = await self._db.run("api_principal", principal, token, self._clock.seconds())
        if found is None:
            raise Unauthorized("the API key is unknown or revoked")
        check_query(request, query)
        return found

    def _json(self, request: IRequest, body: Any, status: int = 200) -> bytes:
        return write_json(request, status, body)

    @app.handle_errors(HTTPException)
    def _routing_error(self, request: IRequest, failure: Any) -> bytes:
        error = failure.value
        if isinstance(error, WerkzeugMethodNotAllowed) and error.valid_methods:
            request.setHeader(b"Allow", ", ".join(sorted(error.valid_methods)).encode())
        return write_error(request, translate(from_werkzeug(error)))

    @app.handle_errors(GatewayError)
    def _gateway_error(self, request: IRequest, failure: Any) -> bytes:
        error: GatewayError = failure.value
        if isinstance(error, Unavailable):
            # Expected, and logged with its cause where it happened (the plugin host).
            log.warn("API request refused for now: {uri}: {error}", uri=request.uri, error=error)
        elif error.http_status >= 500:
            log.failure("API request failed: {uri}", failure, uri=request.uri)
        if error.http_status == 401:
            request.setHeader(b"WWW-Authenticate", b'Bearer realm="gatewayd"')
        return write_error(request, translate(error))

    @app.handle_errors(Exception)
    def _unexpected(self, request: IRequest, failure: Any) -> bytes:
        log.failure("API request failed: {uri}", failure, uri=request.uri)
        return write_error(request, translate(GatewayError("internal error")))
