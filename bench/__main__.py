"""``python -m bench [codec|fuzz ...]``: run the benchmarks (all by default), print a table.

``python -m bench pipeline [options]`` runs the end-to-end benchmark, with its own options
(``--help``); it takes minutes, so it runs only when named.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable

from bench import (
    batches,
    codec,
    contacts_import,
    fairshare,
    fairuse_cost,
    fuzz,
    numbers_cost,
    pipeline,
    routing_cost,
    soak,
)

BENCHMARKS: dict[str, Callable[[], list[tuple[str, str]]]] = {
    "codec": codec.main,
    "fuzz": fuzz.main,
    "numbers": numbers_cost.main,
    "routing": routing_cost.main,
    "fairuse": fairuse_cost.main,
    "batches": batches.main,
    "contacts-import": contacts_import.main,
}
#: Benchmarks run only when named first, with their own arguments.
COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "pipeline": pipeline.main,
    "fairshare": fairshare.main,
    "soak": soak.main,
}


def main(argv: list[str]) -> int:
    platform_line = (
        f"{platform.python_implementation()} {platform.python_version()}, nproc {os.cpu_count()}"
    )
    if argv and argv[0] in COMMANDS:
        print(platform_line)
        return COMMANDS[argv[0]](argv[1:])
    wanted = argv or list(BENCHMARKS)
    unknown = [name for name in wanted if name not in BENCHMARKS]
    if unknown:
        have = ", ".join([*BENCHMARKS, *COMMANDS])
        print(f"unknown benchmark(s): {', '.join(unknown)}; have {have}")
        return 2
    print(platform_line)
    for name in wanted:
        rows = BENCHMARKS[name]()
        width = max(len(label) for label, _ in rows)
        print(f"\n== {name}")
        for label, value in rows:
            print(f"{label:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
