"""Translated texts are escaped in templates, even when the text itself comes from a variable
(an error message that quotes what the request sent)."""

from __future__ import annotations

import pytest_twisted

from gatewayd.admin.rendering import Templates
from tests.admin.conftest import ConsoleRig

INJECTED = "<meta http-equiv=refresh content='0;url=https://evil.example/'><b>INJ</b>"


def test_translating_a_variable_escapes_it() -> None:
    env = Templates().env("fr")
    page = env.from_string("{{ _(m) }}|{{ _('Hello %(n)s', n=m) }}|{{ _('Log out') }}")
    first, second, third = page.render(m=INJECTED).split("|")
    assert "<" not in first and "&lt;meta" in first
    assert "<" not in second and "&lt;b&gt;INJ" in second
    assert third == "Déconnexion"


def test_a_translation_with_markup_characters_shows_them_as_text() -> None:
    env = Templates().env("fr")
    shown = env.from_string("{{ _(m) }}").render(
        m="Copy the key now: it is shown only once. Use it as a bearer token: "
        "Authorization: Bearer <key>."
    )
    assert shown.endswith("Bearer &lt;clé&gt;.")


@pytest_twisted.ensureDeferred
async def test_an_error_page_quoting_the_request_escapes_it(rig: ConsoleRig) -> None:
    customer = await rig.customer("acme", "alice")
    answer = await customer.get("/batches/1/statuses.csv?status=" + INJECTED.replace(" ", "%20"))
    assert 400 <= answer.code < 500
    assert "<b>INJ" not in answer.text and "<meta http-equiv" not in answer.text
