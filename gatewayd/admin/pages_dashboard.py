"""The operator's dashboard: throughput now, queue depth per connector, the delivery rate over
the last hour and the errors, refreshed every few seconds by static/dashboard.js from
/admin/dashboard.json (the page itself is complete without JavaScript).

Throughput "now" is the connectors' own meters (submits per second to the SMSCs over the last
seconds, in memory, this node); the accepted rate, the delivery rate and the error codes are
counted in the database, so they cover every node.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from twisted.web.iweb import IRequest

from gatewayd.admin.base import app
from gatewayd.admin.ops_pages import OpsBase
from gatewayd.admin.rendering import security_headers
from gatewayd.storage.operations import Traffic, traffic

#: Seconds between two refreshes of the page by static/dashboard.js.
REFRESH_SECONDS = 5


@dataclass(frozen=True)
class ConnectorLine:
    name: str
    state: str
    queue: int
    tps: float
    last_error: str | None


@dataclass(frozen=True)
class Dashboard:
    sending: float  # submits per second to the SMSCs now (this node)
    traffic: Traffic
    connectors: tuple[ConnectorLine, ...]

    @property
    def accepted_per_second(self) -> float:
        return self.traffic.accepted_last_minute / 60

    def to_json(self) -> dict[str, Any]:
        rate = self.traffic.delivery_rate
        return {
            "sending_per_second": round(self.sending, 1),
            "accepted_per_second": round(self.accepted_per_second, 2),
            "accepted_last_minute": self.traffic.accepted_last_minute,
            "accepted_last_hour": self.traffic.accepted_last_hour,
            "delivery_rate": None if rate is None else round(100 * rate, 1),
            "statuses_last_hour": dict(self.traffic.last_hour),
            "errors": [{"code": code, "messages": n} for code, n in self.traffic.errors],
            "connectors": [
                {
                    "name": c.name,
                    "state": c.state,
                    "queue": c.queue,
                    "tps": round(c.tps, 1),
                    "last_error": c.last_error,
                }
                for c in self.connectors
            ],
        }


class DashboardPages(OpsBase):
    async def _dashboard(self) -> Dashboard:
        ops = self._ops_live()
        views = ops.connectors()
        counted = await self._db.run("traffic", traffic, self._clock.seconds())
        lines = tuple(
            ConnectorLine(v.name, v.state, v.queue_depth, v.tps, v.last_error) for v in views
        )
        return Dashboard(ops.throughput(), counted, lines)

    @app.route("/admin", methods=["GET"])
    async def dashboard(self, request: IRequest) -> str:
        session = await self._operator(request)
        board = await self._dashboard()
        return self._page(
            request,
            "dashboard.html",
            session,
            board=board,
            data=board.to_json(),
            refresh_seconds=REFRESH_SECONDS,
        )

    @app.route("/admin/dashboard.json", methods=["GET"])
    async def dashboard_json(self, request: IRequest) -> bytes:
        await self._operator(request)
        board = await self._dashboard()
        request.setHeader(b"Content-Type", b"application/json")
        security_headers(request)
        return json.dumps(board.to_json()).encode()
