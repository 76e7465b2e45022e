"""``gatewayd smsc-sim``: the built-in SMSC simulator as a process of its own."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger

from gatewayd.config import LoggingConfig, SimulatorConfig
from gatewayd.config._schema import parse
from gatewayd.endpoints import endpoint_error
from gatewayd.errors import ConfigError
from gatewayd.logsetup import start_logging
from gatewayd.smpp import pdu as p
from gatewayd.smpp.simulator import SimulatorFactory

log = Logger()


BEHAVIOUR = (
    "delivery_delay", "delivered_weight", "undeliverable_weight", "expired_weight",
    "rejected_weight", "throttled_rate", "system_error_rate", "drop_rate", "drop_after",
    "slow_rate", "slow_delay",
)  # fmt: skip


def simulator_config(args: argparse.Namespace) -> SimulatorConfig:
    """The [simulator] section from the command line, checked by the same rules."""
    data = {"enabled": True, "listen": args.listen}
    data.update({key: getattr(args, key) for key in BEHAVIOUR if getattr(args, key) is not None})
    config = parse(SimulatorConfig, data, "command line")
    if not (
        config.delivered_weight
        or config.undeliverable_weight
        or config.expired_weight
        or config.rejected_weight
    ):
        raise ConfigError("command line", "--delivered-weight", "every receipt weight is 0")
    return config


def run_simulator(args: argparse.Namespace, reactor: Any, stderr: TextIO) -> int:
    reason = endpoint_error(args.listen)
    if reason:
        raise ConfigError("--listen", "", f"{args.listen!r} is not a valid endpoint: {reason}")
    config = simulator_config(args)
    start_logging(LoggingConfig(), sys.stdout)
    factory = SimulatorFactory.from_config(reactor, config)
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

    def totals() -> None:
        factory.stop()
        log.info(
            "simulator totals: accepted={accepted} duplicates={duplicates} drops={drops}"
            " throttled={throttled} slow={slow}",
            accepted=factory.accepted,
            duplicates=factory.duplicates,
            drops=factory.drops,
            throttled=factory.refused[p.ESME_RTHROTTLED],
            slow=factory.slow,
        )

    reactor.addSystemEventTrigger("before", "shutdown", totals)
    reactor.run()
    return exit_code[0]
