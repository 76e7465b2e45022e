"""The HTTP API (/api/v1): its own Klein app (gatewayd/api/), mounted here. It answers JSON
only, with bearer API keys: no cookie, so no CSRF, and no CORS (see docs/api.md)."""

from __future__ import annotations

from twisted.web.iweb import IRequest
from twisted.web.resource import IResource

from gatewayd.admin.base import ConsoleBase, app
from gatewayd.api.resource import Api


class ApiPages(ConsoleBase):
    _api: IResource | None = None

    @app.route("/api/v1", branch=True)
    def api(self, request: IRequest) -> IResource:
        if self._api is None:
            services = self._services
            api = Api(services.db, services.messages, services.submissions, services.clock)
            self._api = api.resource()
        return self._api
