"""The implementation against its OpenAPI document: schemathesis generates requests for every
operation and checks, on a live in-process gateway, that no answer is a 5xx, that each status
is documented, and that bodies, content types and headers match the document."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest_twisted
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from twisted.internet.threads import deferToThread

from gatewayd.api.base import app
from gatewayd.api.openapi import document
from tests.admin.conftest import ConsoleRig
from tests.api.conftest import ApiClient, api_account

#: Examples per operation and mode: about 25 operations, well under 60 s in all.
EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _fuzz(doc: dict[str, Any], base: str, token: str) -> list[str]:
    """Runs in a thread: the requests are blocking, and the gateway answers on the reactor."""
    schema = schemathesis.openapi.from_dict(doc)
    headers = {"Authorization": f"Bearer {token}"}
    problems: list[str] = []
    modes = [
        (schemathesis.GenerationMode.POSITIVE, CHECKS),
        (schemathesis.GenerationMode.NEGATIVE, [*CHECKS, negative_data_rejection]),
    ]
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, checks in modes:
            try:
                _examples(operation, mode, checks, base, headers)
            except Exception as error:  # every operation's failures, not only the first
                problems.append(f"{operation.label} ({mode.value}): {error}")
    return problems


def _examples(operation: Any, mode: Any, checks: Any, base: str, headers: Any) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=base, headers=headers, timeout=10)
        case.validate_response(response, checks=checks)

    run()


@pytest_twisted.ensureDeferred
async def test_the_document_is_served_without_a_key_and_lists_every_route(
    rig: ConsoleRig,
) -> None:
    reply = await ApiClient(rig.base, None).get("/openapi.json")
    assert reply.code == 200 and reply.headers["content-type"] == "application/json"
    served = reply.json
    assert served == document() and served["openapi"].startswith("3.")
    assert served["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    documented = {(m.upper(), path) for path, ops in served["paths"].items() for m in ops}
    assert _routes() == documented


def _routes() -> set[tuple[str, str]]:
    """(method, path) of every API route, path arguments written as OpenAPI writes them."""
    found = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if path != "/openapi.json":
                found.add((method, path))
    return found


@pytest_twisted.ensureDeferred
async def test_the_api_conforms_to_its_openapi_document(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    for name in ("Clients", "VIP"):  # objects for the lookups to find now and then
        await api.post("/groups", {"name": name})
    await api.post("/contacts", {"first_name": "A", "last_name": "B", "msisdn": "+22376600001"})
    doc = (await ApiClient(rig.base, None).get("/openapi.json")).json
    started = time.monotonic()
    problems = await deferToThread(_fuzz, doc, rig.base + "/api/v1", api.token or "")
    elapsed = time.monotonic() - started
    assert problems == [], "\n\n".join(problems)
    assert elapsed < 60, elapsed
