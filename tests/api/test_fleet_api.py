"""The fleet through the API: lines (list, filters, detail), orders (create, read), the
rules' refusals as 4xx, and another account's line or order as 404."""

from __future__ import annotations

import time

import pytest_twisted

from gatewayd.storage import fleet_orders as ops
from tests.admin.conftest import ConsoleRig
from tests.api.conftest import api_account


def _seed(rig: ConsoleRig) -> dict[str, int]:
    run = rig.gateway.db.run_sync
    now = time.time()
    run("p", ops.add_plan, "u10", "Unlimited 10 GB", "unlimited", False, 10240, now)
    run("p", ops.add_plan, "d20", "Data only 20 GB", "data_only", True, 20480, now)
    return {
        "a1": run("l", ops.add_line, "acme", "33600000001", "89330000000000000001", "u10", now,
                  user_name="Awa", site="Paris", puk="11112222"),
        "a2": run("l", ops.add_line, "acme", "33600000002", "89330000000000000002", "u10", now,
                  user_name="Jean", site="Lyon"),
        "a3": run("l", ops.add_line, "acme", "33600000003", "89330000000000000003", "d20", now,
                  state="suspended"),
        "b1": run("l", ops.add_line, "other", "33600000101", "89330000000000000101", "u10", now),
    }  # fmt: skip


@pytest_twisted.ensureDeferred
async def test_lines_are_listed_filtered_and_shown_without_the_puk(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    await api_account(rig, "other")
    lines = _seed(rig)
    listed = await api.get("/fleet/lines")
    assert listed.code == 200
    assert [line["msisdn"] for line in listed.json["data"]] == [
        "33600000001", "33600000002", "33600000003",
    ]  # fmt: skip
    assert listed.json["total"] == 3
    suspended = (await api.get("/fleet/lines?state=suspended")).json
    assert [line["id"] for line in suspended["data"]] == [lines["a3"]]
    assert (await api.get("/fleet/lines?q=lyon")).json["total"] == 1
    assert (await api.get("/fleet/lines?state=asleep")).code == 400
    assert (await api.get("/fleet/lines?colour=red")).code == 400
    one = await api.get(f"/fleet/lines/{lines['a1']}")
    assert one.code == 200 and one.json["plan"]["code"] == "u10"
    assert one.json["state"] == "active" and "puk" not in one.json
    assert b"11112222" not in one.body
    assert (await api.get(f"/fleet/lines/{lines['b1']}")).code == 404


@pytest_twisted.ensureDeferred
async def test_orders_are_made_refused_and_scoped(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    _other_id, other = await api_account(rig, "other")
    lines = _seed(rig)
    made = await api.post("/fleet/orders", {"action": "suspend", "lines": [lines["a1"]]})
    assert made.code == 201, made.body
    order = made.json
    assert order["number"].startswith("CMD-") and order["state"] == "requested"
    assert order["lines"] == [{"id": lines["a1"], "msisdn": "33600000001"}]
    shown = await api.get(f"/fleet/orders/{order['id']}")
    assert shown.code == 200 and shown.json["number"] == order["number"]
    # A top-up twice within 30 minutes: the second is refused (409), never billed twice.
    topup = {"action": "topup", "lines": [lines["a2"]], "params": {"volume_mb": 1024}}
    assert (await api.post("/fleet/orders", topup)).code == 201
    again = await api.post("/fleet/orders", topup)
    assert again.code == 409 and "30 minutes" in again.error["message"]
    # Several lines only with the same plan and state.
    mixed = await api.post(
        "/fleet/orders", {"action": "reactivate", "lines": [lines["a2"], lines["a3"]]}
    )
    assert mixed.code == 409
    # Typed parameters: a string where a number goes, an unknown key, a bad SIM kind.
    for params in ({"volume_mb": "1024"}, {"colour": "red"}, {"sim": "paper"}):
        bad = await api.post(
            "/fleet/orders", {"action": "topup", "lines": [lines["a1"]], "params": params}
        )
        assert bad.code == 400, params
    assert (await api.post("/fleet/orders", {"action": "fly", "lines": [lines["a1"]]})).code == 400
    assert (await api.post("/fleet/orders", {"action": "suspend", "lines": []})).code == 400
    # Another account's line or order: 404, and nothing is ordered.
    theirs = await api.post("/fleet/orders", {"action": "suspend", "lines": [lines["b1"]]})
    assert theirs.code == 404
    assert (await other.get(f"/fleet/orders/{order['id']}")).code == 404
