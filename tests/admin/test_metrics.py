"""GET /metrics: one registry of the running gateway, live connector state, HTTP and commit
latency; only for [admin] metrics_networks; the Grafana dashboard queries only what is served."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import pytest_twisted
import treq
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.task import deferLater

from gatewayd.security import hash_secret
from gatewayd.smpp import pdu as p
from gatewayd.smpp.constants import status_name
from gatewayd.smpp.session import CommandFailed
from tests.admin.conftest import ConsoleRig, start_rig
from tests.api.conftest import api_account, until
from tests.smpp.fakes import ClientESME

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-gatewayd.json"
_NAME = re.compile(r"\bgatewayd_[a-z0-9_]+")


async def _exposition(rig: ConsoleRig) -> str:
    response = await treq.get(rig.base + "/metrics")
    assert response.code == 200
    assert response.headers.getRawHeaders(b"content-type")[0].startswith(b"text/plain")
    return (await response.content()).decode()


def _names(text: str) -> set[str]:
    """Every series name served, a family without samples (no plugin failed) included."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name + "_total" if family.type == "counter" else family.name)
        names.update(sample.name for sample in family.samples)
    return names


async def _scrape(rig: ConsoleRig) -> dict[str, float]:
    text = await _exposition(rig)
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


async def _scrape_until(rig: ConsoleRig, key: str, value: float) -> dict[str, float]:
    """Scrape until ``key`` reads ``value`` (the bind is an outcome, not a timer)."""
    started = time.monotonic()
    while True:
        found = await _scrape(rig)
        if found.get(key) == value:
            return found
        if time.monotonic() - started > 10:
            raise AssertionError(f"{key}: {sorted(found)}")
        await deferLater(reactor, 0.05, lambda: None)


def _sum(samples: dict[str, float], prefix: str) -> float:
    return sum(value for key, value in samples.items() if key.startswith(prefix))


@pytest_twisted.ensureDeferred
async def test_metrics_move_with_a_message_sent_through_the_api(rig: ConsoleRig) -> None:
    before = await _scrape_until(rig, "gatewayd_connector_up{connector=sim}", 1.0)
    assert before["gatewayd_connector_binds{connector=sim,state=bound_trx}"] == 1.0
    assert before["gatewayd_connector_window_size{connector=sim}"] > 0
    _id, api = await api_account(rig, "acme")
    sent = await api.post("/messages", {"to": "+223 76 60 00 00", "text": "bonjour"})
    assert sent.code == 201, sent.body
    await until(api, f"/messages/{sent.json['id']}", lambda m: m["status"] == "delivered")
    after = await _scrape(rig)
    posts = "gatewayd_http_request_seconds_count{code=201,method=POST}"
    assert after[posts] == before.get(posts, 0.0) + 1
    commits = "gatewayd_db_commit_seconds_count{}"
    assert after[commits] > before[commits]
    assert _sum(after, "gatewayd_db_commit_items_sum") > _sum(
        before, "gatewayd_db_commit_items_sum"
    )
    assert after["gatewayd_connector_queue_depth{connector=sim}"] == 0.0


@pytest_twisted.ensureDeferred
async def test_metrics_answer_only_the_configured_networks(tmp_path: Path) -> None:
    rig = await start_rig(
        f"sqlite:///{tmp_path}/gatewayd.db",
        {"admin": {"listen": ["tcp:0:interface=127.0.0.1"], "metrics_networks": ["10.0.0.0/8"]}},
    )
    try:
        response = await treq.get(rig.base + "/metrics")
        assert response.code == 404
        assert b"gatewayd_" not in await response.content()
    finally:
        await rig.gateway.stopService()


@pytest_twisted.ensureDeferred
async def test_grafana_dashboard_queries_only_served_metrics(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    sent = await api.post("/messages", {"to": "+223 76 60 00 00", "text": "bonjour"})
    await until(api, f"/messages/{sent.json['id']}", lambda m: m["status"] == "delivered")
    served = _names(await _exposition(rig))
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in _NAME.findall(target["expr"])
    }
    assert queried, "the dashboard queries nothing"
    assert sorted(queried - served) == []


def test_registry_is_the_gateways_own() -> None:
    """Two Metrics do not share the process-wide default registry."""
    from prometheus_client import REGISTRY

    from gatewayd.metrics import Metrics

    first, second = Metrics(), Metrics()
    assert first.registry is not second.registry is not REGISTRY


@pytest_twisted.ensureDeferred
async def test_smpp_submits_and_their_receipt_are_counted(rig: ConsoleRig) -> None:
    gateway = rig.gateway
    await gateway.accounts.create_account("acme", "customer", 1.0, "acme", hash_secret("s3cret"))
    port = gateway.listening_addresses()["SMPP server"][0].port
    await _scrape_until(rig, "gatewayd_connector_up{connector=sim}", 1.0)
    client = ClientESME(reactor, 5.0)
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), client)
    await client.ready.addTimeout(5.0, reactor)
    try:
        await client.send_request(p.BIND_TRANSCEIVER, {"system_id": b"acme", "password": b"s3cret"})
        fields = {
            "destination_addr": b"22376600000",
            "short_message": b"bonjour",
            "registered_delivery": 1,
        }
        accepted = await client.send_request(p.SUBMIT_SM, fields)
        assert accepted.status == p.ESME_ROK
        with pytest.raises(CommandFailed) as caught:
            await client.send_request(p.SUBMIT_SM, {"destination_addr": b"", "short_message": b"x"})
        refused = status_name(caught.value.smpp_status)
        found = await _scrape_until(rig, "gatewayd_receipts_total{status=delivered}", 1.0)
        await client.unbind()
    finally:
        client.transport.loseConnection()  # type: ignore[union-attr]
    assert found["gatewayd_smpp_submit_responses_total{command=submit_sm,status=ESME_ROK}"] == 1
    key = f"gatewayd_smpp_submit_responses_total{{command=submit_sm,status={refused}}}"
    assert found[key] == 1
    assert found["gatewayd_throttled_total{interface=smpp}"] == 0


def test_throttled_answers_are_counted_by_interface() -> None:
    from gatewayd.metrics import Metrics

    metrics = Metrics()
    metrics.smpp_answered(p.SUBMIT_SM, p.ESME_RTHROTTLED)
    metrics.smpp_answered(p.QUERY_SM, p.ESME_RTHROTTLED)  # counted as throttled, not a submit
    metrics.http_request("POST", 429, 0.001)
    metrics.http_request("BREW", 200, 0.001)
    value = metrics.registry.get_sample_value
    assert value("gatewayd_throttled_total", {"interface": "smpp"}) == 2
    assert value("gatewayd_throttled_total", {"interface": "http"}) == 1
    submits = {"command": "submit_sm", "status": "ESME_RTHROTTLED"}
    assert value("gatewayd_smpp_submit_responses_total", submits) == 1
    assert value("gatewayd_http_request_seconds_count", {"method": "other", "code": "200"}) == 1
