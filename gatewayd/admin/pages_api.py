"""The HTTP API (/api/v1): its own Klein app (gatewayd/api/), mounted here. It answers JSON
only, with bearer API keys: no cookie, so no CSRF, and no CORS (see docs/api.md)."""

from __future__ import annotations

from typing import Any

from twisted.web.iweb import IRequest
from twisted.web.resource import IResource
from werkzeug.exceptions import HTTPException

from gatewayd.admin.base import ConsoleBase, app
from gatewayd.api.errors import from_werkzeug, translate, write_error
from gatewayd.api.resource import Api


class ApiPages(ConsoleBase):
    _api: IResource | None = None

    @app.route("/api/v1", branch=True)
    def api(self, request: IRequest) -> IResource:
        if self._api is None:
            services = self._services
            api = Api(
                services.db,
                services.messages,
                services.submissions,
                services.clock,
                callback_networks=services.callback_networks,
            )
            self._api = api.resource()
        return self._api

    @app.handle_errors(HTTPException)
    def _api_path_unmatched(self, request: IRequest, failure: Any) -> bytes:
        """A path under /api/ that even the branch does not match (a control character in
        it) is the API's 404 in JSON; any other path goes on to the console's handlers."""
        if not request.path.startswith(b"/api/"):
            failure.raiseException()
        return write_error(request, translate(from_werkzeug(failure.value)))
