"""gatewayd_fair_use_decisions_total: real submissions through the acceptance commit on real
storage, refused and flagged by fair use, are counted with their rule once committed."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from sqlalchemy import text

from gatewayd.errors import PolicyRefused
from gatewayd.metrics import Metrics
from gatewayd.storage.database import Database
from tests.pipeline.test_fair_use import started


def counted(metrics: Metrics, rule: str, outcome: str) -> Any:
    return metrics.registry.get_sample_value(
        "gatewayd_fair_use_decisions_total", {"rule": rule, "outcome": outcome}
    )


@pytest_twisted.ensureDeferred
async def test_refused_and_flagged_submissions_are_counted_with_their_rule(
    database: Database,
) -> None:
    metrics = Metrics()
    rig = await started(database, distinct_recipients=2, hourly_messages=None)
    rig.submissions.on_fair_use = metrics.fair_use
    acme = await rig.account()
    await rig.send(acme, to=["22376600000", "22376600001"])  # within the cap: not counted
    assert counted(metrics, "distinct_recipients", "refused") is None
    with pytest.raises(PolicyRefused):
        await rig.send(acme, to=["22376600009"])
    await rig.send(acme, "promo", to=["22376600000", "22376600007", "22376600008"])
    assert counted(metrics, "distinct_recipients", "refused") == 3


@pytest_twisted.ensureDeferred
async def test_review_and_out_of_bundle_are_counted(database: Database) -> None:
    metrics = Metrics()
    rig = await started(
        database, distinct_recipients=1, over_distinct="review", hourly_messages=None
    )
    rig.submissions.on_fair_use = metrics.fair_use
    acme = await rig.account()
    await rig.send(acme, to=["22376600000", "22376600001", "22376600002"])
    assert counted(metrics, "distinct_recipients", "review") == 2
    billed = await started(
        database, distinct_recipients=0, over_distinct="out_of_bundle", hourly_messages=None
    )
    billed.submissions.on_fair_use = metrics.fair_use
    other = await billed.account("other")
    await billed.send(other, to=["22376600005"])
    assert counted(metrics, "distinct_recipients", "out_of_bundle") == 1


@pytest_twisted.ensureDeferred
async def test_a_failed_commit_counts_nothing(database: Database) -> None:
    metrics = Metrics()
    rig = await started(database, distinct_recipients=1, hourly_messages=None)
    rig.submissions.on_fair_use = metrics.fair_use
    acme = await rig.account()
    with database.session() as s:  # the acceptance commit cannot write its messages
        s.execute(text("DROP TABLE message_events"))
        s.commit()
    with pytest.raises(Exception):  # noqa: B017 - whatever the database says
        await rig.send(acme, to=["22376600000", "22376600001"])
    assert counted(metrics, "distinct_recipients", "refused") is None
