"""An example "http" fleet backend: each order is POSTed as JSON to a provisioning API.

``POST <http_base_url>/orders`` with ``Authorization: Bearer <token>`` (the token is read from
``http_token_file`` at start, never logged) and ``Idempotency-Key: <order number>`` (a retried
order is the same order to the API). The body::

    {"number": "CMD-2026-000123", "action": "suspend", "params": {...},
     "effective_on": null, "lines": [{"msisdn": "...", "iccid": "...", "contract": "..."}]}

Answers: 2xx with ``{"status": "done"}`` (an eSIM swap adds ``iccid`` and ``puk``) is done;
2xx with ``{"status": "failed", "reason": "..."}`` or a 4xx is failed with that reason; any other
answer (5xx, not JSON) or no answer raises, and the runner fails the order with a generic
reason.
"""

from __future__ import annotations

from typing import Any

import treq
from treq.client import HTTPClient
from twisted.web.client import Agent
from twisted.web.http_headers import Headers

from gatewayd.config.model import FleetConfig
from gatewayd.config.password_file import read_password_file
from gatewayd.errors import ConfigError
from gatewayd.fleet.orders import Order, OrderResult, done, failed

_GIVEN = ("iccid", "puk")


class HttpBackendError(Exception):
    """The provisioning API answered something this backend does not understand."""


def order_body(order: Order) -> dict[str, Any]:
    return {
        "number": order.number,
        "action": order.action,
        "params": dict(order.params),
        "effective_on": order.effective_on,
        "lines": [
            {"msisdn": line.msisdn, "iccid": line.iccid, "contract": line.contract}
            for line in order.lines
        ],
    }


class HttpBackend:
    name = "http"

    def __init__(self, reactor: Any, base_url: str, token: str, timeout: float = 30.0) -> None:
        self._client = HTTPClient(Agent(reactor))
        self._url = base_url.rstrip("/") + "/orders"
        self._token = token
        self._timeout = timeout

    async def execute(self, order: Order) -> OrderResult:
        response = await self._client.post(
            self._url,
            json=order_body(order),
            headers=Headers(
                {
                    "Authorization": [f"Bearer {self._token}"],
                    "Idempotency-Key": [order.number],
                    "Accept": ["application/json"],
                }
            ),
            timeout=self._timeout,
        )
        code = response.code
        try:
            answer = await treq.json_content(response)
        except ValueError:
            answer = None
        if 400 <= code < 500:
            reason = answer.get("reason") if isinstance(answer, dict) else None
            return failed(str(reason or f"The operator refused the order (HTTP {code})."))
        if not 200 <= code < 300 or not isinstance(answer, dict):
            raise HttpBackendError(f"provisioning API answered HTTP {code}")
        if answer.get("status") == "done":
            return done(**{k: str(answer[k]) for k in _GIVEN if answer.get(k)})
        if answer.get("status") == "failed":
            return failed(str(answer.get("reason") or "The operator refused the order."))
        raise HttpBackendError(f"provisioning API answered status {answer.get('status')!r}")


def http_backend(reactor: Any, config: FleetConfig, source: str) -> HttpBackend:
    """The backend of ``[fleet]``; a ConfigError when its URL or token file is missing."""
    if not config.http_base_url:
        raise ConfigError(source, "fleet.http_base_url", 'is required with backend = "http"')
    if not config.http_token_file:
        raise ConfigError(source, "fleet.http_token_file", 'is required with backend = "http"')
    token = read_password_file(config.http_token_file, source, "fleet.http_token_file")
    return HttpBackend(reactor, config.http_base_url, token)
