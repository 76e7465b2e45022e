"""Interop over real TCP on 127.0.0.1 with SMPP stacks we did not write. Tests run on
pytest-twisted's global reactor; blocking peers run in threads, and every wait has a deadline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytest_twisted
from twisted.internet import reactor

from tests.interop.helpers import ReceiptingServer


@pytest.fixture
def server() -> Iterator[ReceiptingServer]:
    receipting = ReceiptingServer(reactor)
    receipting.listen()
    yield receipting
    pytest_twisted.blockon(receipting.stop())
