"""``gatewayd smsc-sim``: the built-in SMSC simulator as a process of its own."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger

from gatewayd.config import LoggingConfig
from gatewayd.endpoints import endpoint_error
from gatewayd.errors import ConfigError
from gatewayd.logsetup import start_logging
from gatewayd.smpp.simulator import SimulatorFactory

log = Logger()


def run_simulator(args: argparse.Namespace, reactor: Any, stderr: TextIO) -> int:
    reason = endpoint_error(args.listen)
    if reason:
        raise ConfigError("--listen", "", f"{args.listen!r} is not a valid endpoint: {reason}")
    start_logging(LoggingConfig(), sys.stdout)
    factory = SimulatorFactory(reactor, args.delivery_delay, args.receipt_status)
    exit_code = [0]

    def failed(failure: Any) -> None:
        print(
            f"gatewayd: error: cannot listen on {args.listen}: {failure.getErrorMessage()}",
            file=stderr,
            flush=True,
        )
        exit_code[0] = 1
        reactor.stop()

    def listened(port: Any) -> None:
        log.info("SMSC simulator listening on {address}", address=port.getHost())

    def start() -> None:
        serverFromString(reactor, args.listen).listen(factory).addCallbacks(listened, failed)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", factory.stop)
    reactor.run()
    return exit_code[0]
