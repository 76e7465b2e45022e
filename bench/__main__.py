"""``python -m bench [codec|fuzz ...]``: run the benchmarks (all by default), print a table."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable

from bench import codec, fuzz

BENCHMARKS: dict[str, Callable[[], list[tuple[str, str]]]] = {
    "codec": codec.main,
    "fuzz": fuzz.main,
}


def main(argv: list[str]) -> int:
    wanted = argv or list(BENCHMARKS)
    unknown = [name for name in wanted if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have {', '.join(BENCHMARKS)}")
        return 2
    print(f"{platform.python_implementation()} {platform.python_version()}, nproc {os.cpu_count()}")
    for name in wanted:
        rows = BENCHMARKS[name]()
        width = max(len(label) for label, _ in rows)
        print(f"\n== {name}")
        for label, value in rows:
            print(f"{label:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
