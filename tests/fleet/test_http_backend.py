"""The example http backend against a fake provisioning API that the test starts on
127.0.0.1 (a twisted.web Site on port 0): what it sends, and how answers map to results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Site

from gatewayd.config.model import FleetConfig
from gatewayd.errors import ConfigError
from gatewayd.fleet.orders import Order, OrderLine, OrderState
from gatewayd.plugins.fleet_http import HttpBackendError, http_backend


class FakeApi(Resource):
    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict[str, Any]] = []
        self.answer: tuple[int, bytes] = (200, b'{"status": "done"}')

    def render_POST(self, request: Any) -> bytes:
        self.seen.append(
            {
                "path": request.path,
                "auth": request.getHeader("authorization"),
                "key": request.getHeader("idempotency-key"),
                "body": json.loads(request.content.read()),
            }
        )
        code, body = self.answer
        request.setResponseCode(code)
        request.setHeader("content-type", "application/json")
        return body


def _order(action: str = "suspend", **params: Any) -> Order:
    line = OrderLine(1, "33600000001", "89330000000000000001", "Awa", "C-100")
    return Order(
        7, "CMD-2026-000007", 1, None, action, params, OrderState.IN_PROGRESS, (line,), 0.0
    )


@pytest.fixture
def api(tmp_path: Path) -> Any:
    fake = FakeApi()
    port = reactor.listenTCP(0, Site(fake), interface="127.0.0.1")
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    config = FleetConfig(
        backend="http",
        http_base_url=f"http://127.0.0.1:{port.getHost().port}/v1/",
        http_token_file=str(token),
    )
    yield fake, http_backend(reactor, config, "test.toml")
    port.stopListening()


@pytest_twisted.ensureDeferred
async def test_an_order_is_posted_with_the_token_and_its_number(api: Any) -> None:
    fake, backend = api
    result = await backend.execute(_order())
    assert result.ok
    (seen,) = fake.seen
    assert seen["path"] == b"/v1/orders"
    assert seen["auth"] == "Bearer s3cret" and seen["key"] == "CMD-2026-000007"
    assert seen["body"]["action"] == "suspend"
    assert seen["body"]["lines"] == [
        {"msisdn": "33600000001", "iccid": "89330000000000000001", "contract": "C-100"}
    ]


@pytest_twisted.ensureDeferred
async def test_answers_map_to_done_failed_or_an_error(api: Any) -> None:
    fake, backend = api
    fake.answer = (200, b'{"status": "done", "iccid": "89330000000000000999", "puk": "42"}')
    result = await backend.execute(_order("sim_swap", sim="esim"))
    assert result.ok and dict(result.data) == {"iccid": "89330000000000000999", "puk": "42"}
    fake.answer = (200, b'{"status": "failed", "reason": "Line barred"}')
    assert (await backend.execute(_order())).reason == "Line barred"
    fake.answer = (404, b'{"reason": "Unknown line"}')
    assert (await backend.execute(_order())).reason == "Unknown line"
    fake.answer = (503, b"busy")
    with pytest.raises(HttpBackendError, match="503"):
        await backend.execute(_order())


def test_the_url_and_token_file_are_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="http_base_url"):
        http_backend(reactor, FleetConfig(backend="http"), "x.toml")
    with pytest.raises(ConfigError, match="http_token_file"):
        http_backend(reactor, FleetConfig(backend="http", http_base_url="http://h"), "x.toml")
    with pytest.raises(ConfigError, match="http_token_file"):
        http_backend(
            reactor,
            FleetConfig(http_base_url="http://h", http_token_file=str(tmp_path / "none")),
            "x.toml",
        )
