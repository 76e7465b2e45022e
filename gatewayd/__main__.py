"""Entry point: the only module that imports the global reactor."""

from __future__ import annotations

import os
import sys
from typing import Any


def _reactor() -> Any:
    from twisted.internet import reactor  # noqa: TID251 - the one permitted import

    return reactor


def main() -> None:
    from gatewayd.cli import main as cli_main

    sys.exit(cli_main(sys.argv[1:], _reactor, os.environ))


if __name__ == "__main__":
    main()
