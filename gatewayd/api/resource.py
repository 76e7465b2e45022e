"""The API assembled: every area's routes on one Klein app, plus the OpenAPI document."""

from __future__ import annotations

from twisted.web.iweb import IRequest
from twisted.web.resource import IResource

from gatewayd.api.base import app
from gatewayd.api.openapi import document
from gatewayd.api.routes_contacts import ContactsApi
from gatewayd.api.routes_fleet import FleetApi
from gatewayd.api.routes_messages import MessagesApi


class Api(MessagesApi, ContactsApi, FleetApi):
    """Mounted by the console at /api/v1 (``gatewayd/admin/pages_api.py``)."""

    _document: bytes | None = None

    def resource(self) -> IResource:
        return self.app.resource()

    @app.route("/openapi.json", methods=["GET"])
    def openapi(self, request: IRequest) -> bytes:
        """Public: the document describes the API, it grants nothing."""
        return self._json(request, document())
