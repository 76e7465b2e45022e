"""``GET /metrics``: the Prometheus exposition, for the addresses of ``[admin] metrics_networks``.

No login: Prometheus scrapes without a session. The figures say how busy each connector is, so
the page answers only the configured networks (default: this host); anyone else gets a 404,
as for a page that does not exist.
"""

from __future__ import annotations

import ipaddress

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from twisted.web.iweb import IRequest

from gatewayd.admin.base import ConsoleBase, app
from gatewayd.pipeline.destinations import parse_networks


class MetricsPages(ConsoleBase):
    @app.route("/metrics", methods=["GET"])
    def metrics(self, request: IRequest) -> bytes:
        metrics = self._services.metrics
        if metrics is None or not self._metrics_allowed(request):
            request.setResponseCode(404)
            request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            return b"not found"
        request.setHeader(b"Content-Type", CONTENT_TYPE_LATEST.encode())
        return generate_latest(metrics.registry)

    def _metrics_allowed(self, request: IRequest) -> bool:
        host = getattr(request.getClientAddress(), "host", None)
        if not isinstance(host, str):
            return False
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        networks = parse_networks(self._config.metrics_networks)
        return any(address.version == net.version and address in net for net in networks)
