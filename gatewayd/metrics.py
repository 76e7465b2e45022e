"""Prometheus metrics: one :class:`CollectorRegistry`, built by the composition root.

Live state (binds, queues, windows, throughput, plugin failures) is read from the running
gateway at scrape time by :class:`LiveCollector`, so nothing is kept up to date on the hot
path. The few events that are counted as they happen (HTTP requests, database group commits)
go through a pre-built child: an ``observe`` of about a microsecond, no label formatting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gatewayd.admin.operations import Operations
from gatewayd.routing.fairuse import Accept, Outcome
from gatewayd.smpp import constants as p
from gatewayd.smpp.constants import status_name
from gatewayd.status import Status

_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: The SMPP operations counted by command: the submits, named as in the exposition.
_SUBMITS = {p.SUBMIT_SM: "submit_sm", p.SUBMIT_MULTI: "submit_multi", p.DATA_SM: "data_sm"}
_COMMIT_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def fair_use_label(outcome: Outcome) -> tuple[str, str] | None:
    """(rule, outcome) of a decision where a rule acted; None for a plain acceptance."""
    decision = outcome.decision
    if not isinstance(decision, Accept):
        return decision.rule, "refused"
    if decision.review:
        return "distinct_recipients", "review"
    if decision.out_of_bundle:
        beyond = next((c.rule for c in outcome.checks if not c.ok), "monthly_quota")
        return beyond, "out_of_bundle"
    return None


class LiveCollector(Collector):
    """Connectors' and plugins' state, read when Prometheus scrapes."""

    def __init__(
        self, operations: Operations, plugin_failures: Callable[[], Mapping[tuple[str, str], int]]
    ) -> None:
        self._operations = operations
        self._plugin_failures = plugin_failures

    def collect(self) -> Iterator[Metric]:
        binds = GaugeMetricFamily(
            "gatewayd_connector_binds",
            "Upstream binds per connector and state (bound_trx, connecting, disconnected...)",
            labels=["connector", "state"],
        )
        up = GaugeMetricFamily(
            "gatewayd_connector_up", "1 when the connector has a bound bind", labels=["connector"]
        )
        queue = GaugeMetricFamily(
            "gatewayd_connector_queue_depth",
            "Messages waiting for the connector (dispatcher queue and its own FIFO)",
            labels=["connector"],
        )
        window = GaugeMetricFamily(
            "gatewayd_connector_window_used",
            "submit_sm in flight without an answer",
            labels=["connector"],
        )
        window_size = GaugeMetricFamily(
            "gatewayd_connector_window_size", "The connector's window", labels=["connector"]
        )
        tps = GaugeMetricFamily(
            "gatewayd_connector_tps", "Submits per second to the SMSC now", labels=["connector"]
        )
        for view in self._operations.connectors():
            counts: dict[str, int] = {}
            for bind in view.binds:
                counts[bind.state] = counts.get(bind.state, 0) + 1
            for state, count in sorted(counts.items()):
                binds.add_metric([view.name, state], count)
            up.add_metric([view.name], 1.0 if view.bound else 0.0)
            queue.add_metric([view.name], view.queue_depth)
            window.add_metric([view.name], view.window_used)
            window_size.add_metric([view.name], view.window_size)
            tps.add_metric([view.name], view.tps)
        failures = CounterMetricFamily(
            "gatewayd_plugin_failures",
            "Failed plugin hook calls since start, per plugin and hook",
            labels=["plugin", "hook"],
        )
        for (plugin, hook), count in sorted(self._plugin_failures().items()):
            failures.add_metric([plugin, hook], count)
        yield from (binds, up, queue, window, window_size, tps, failures)


class Metrics:
    """The registry and the instruments the gateway's parts are handed."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_seconds = Histogram(
            "gatewayd_http_request_seconds",
            "Console and HTTP API request latency",
            ["method", "code"],
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "gatewayd_db_commit_seconds",
            "Database group commit latency",
            buckets=_COMMIT_BUCKETS,
            registry=self.registry,
        )
        self.commit_items = Histogram(
            "gatewayd_db_commit_items",
            "Writes per database group commit",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
            registry=self.registry,
        )

        self.smpp_answers = Counter(
            "gatewayd_smpp_submit_responses",
            "Submits answered to customers' SMPP binds, by command and command_status",
            ["command", "status"],
            registry=self.registry,
        )
        self.throttled = Counter(
            "gatewayd_throttled",
            "Customers' requests refused as too fast (ESME_RTHROTTLED, HTTP 429)",
            ["interface"],
            registry=self.registry,
        )
        self.receipts = Counter(
            "gatewayd_receipts",
            "Delivery receipts from the SMSCs, by the status they map to",
            ["status"],
            registry=self.registry,
        )
        self.fair_use_decisions = Counter(
            "gatewayd_fair_use_decisions",
            "Committed fair-use decisions where a rule acted, by rule and outcome"
            " (refused, out_of_bundle, review); plain acceptances are not counted",
            ["rule", "outcome"],
            registry=self.registry,
        )
        # Children made once per label value: an event costs a dict lookup on an int or an
        # enum and an inc(), no label formatting.
        self._answers: dict[tuple[int, int], Any] = {}
        self._receipts: dict[Status, Any] = {}
        self._throttled_smpp = self.throttled.labels("smpp")
        self._throttled_http = self.throttled.labels("http")

    def watch(
        self, operations: Operations, plugin_failures: Callable[[], Mapping[tuple[str, str], int]]
    ) -> None:
        self.registry.register(LiveCollector(operations, plugin_failures))

    def http_request(self, method: str, code: int, seconds: float) -> None:
        """A console or API request answered (``method`` outside the usual ones: "other")."""
        shown = method if method in _HTTP_METHODS else "other"
        self.http_seconds.labels(shown, str(code)).observe(seconds)
        if code == 429:
            self._throttled_http.inc()

    def smpp_answered(self, command_id: int, status: int) -> None:
        """:class:`~gatewayd.smpp.server.SmppServerFactory`'s ``on_answered`` hook."""
        if status == p.ESME_RTHROTTLED:
            self._throttled_smpp.inc()
        key = (command_id, status)
        child = self._answers.get(key)
        if child is None:
            command = _SUBMITS.get(command_id)
            if command is None:
                return
            child = self._answers[key] = self.smpp_answers.labels(command, status_name(status))
        child.inc()

    def receipt(self, status: Status) -> None:
        """:class:`~gatewayd.pipeline.receipts.ReceiptHandler`'s ``on_status`` hook."""
        child = self._receipts.get(status)
        if child is None:
            child = self._receipts[status] = self.receipts.labels(status.value)
        child.inc()

    def fair_use(self, outcomes: Sequence[Outcome]) -> None:
        """:class:`~gatewayd.pipeline.submission.Submissions`' ``on_fair_use`` hook: called
        once a submission's commit succeeded, with fair use's decision per recipient."""
        for outcome in outcomes:
            label = fair_use_label(outcome)
            if label is not None:
                self.fair_use_decisions.labels(*label).inc()

    def group_commit(self, items: int, elapsed_ms: float) -> None:
        """:class:`~gatewayd.storage.committer.GroupCommitter`'s ``observe`` hook."""
        self.commit_seconds.observe(elapsed_ms / 1000.0)
        self.commit_items.observe(items)
