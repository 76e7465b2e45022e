"""Cost of recipient numbers and sender IDs: ``python -m bench.numbers_cost``.

Microseconds per call, best of several ``timeit`` repeats. "cold" classify sees each number for
the first time (cache miss); "cached" sees one number again and again, as a campaign's
repeated recipients do. The target is normalise + classify of a new number well under 30 µs.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

from gatewayd.routing.numbers import NumberPlan, normalise_msisdn
from gatewayd.routing.senders import check_sender

REPEATS = 15
NUMBER = 5_000
PREFIXES = {"2237": "Orange Mali", "22366": "Moov Africa Malitel", "2236": "Moov Africa Malitel"}
ALLOWED = ("ACME", "ACMEPromo", "36123", "33612345678")


def per_op(action: Callable[[], object], number: int = NUMBER) -> float:
    """Best-of-REPEATS microseconds per call."""
    return min(timeit.repeat(action, number=number, repeat=REPEATS)) / number * 1e6


def fresh_numbers(count: int) -> list[str]:
    """Distinct valid numbers, half Malian (prefix table), half French (carrier data)."""
    return [
        f"2237{i:07d}" if i % 2 else f"336{i:08d}"  # ML 7x and FR 6x mobiles
        for i in range(count)
    ]


def per_new_number(work: Callable[[NumberPlan, str], object]) -> float:
    """µs per number of ``work`` on numbers a fresh plan has never seen."""
    numbers = fresh_numbers(NUMBER)

    def run() -> None:
        plan = NumberPlan(PREFIXES, home_country="ML", cache_size=NUMBER)
        for number in numbers:
            work(plan, number)

    return per_op(run, number=1) / NUMBER


def main() -> list[tuple[str, str]]:
    plan = NumberPlan(PREFIXES, home_country="ML")
    plan.classify("22376600000", "ML")
    plan.normalise("+223 76 60 00 00")
    rows = [
        (
            "normalise, international '+223 76 60 00 00'",
            lambda: normalise_msisdn("+223 76 60 00 00"),
        ),
        ("normalise, bare digits '22376600000'", lambda: normalise_msisdn("22376600000")),
        (
            "normalise, national '06 12 34 56 78' + FR",
            lambda: normalise_msisdn("06 12 34 56 78", "FR"),
        ),
        ("normalise, strict '+33612345678'", lambda: normalise_msisdn("+33612345678", strict=True)),
        ("normalise, cached (NumberPlan)", lambda: plan.normalise("+223 76 60 00 00")),
        ("classify, cached", lambda: plan.classify("22376600000", "ML")),
        ("check_sender, alphanumeric in list", lambda: check_sender("acmepromo", ALLOWED)),
        ("check_sender, international in list", lambda: check_sender("33612345678", ALLOWED)),
    ]
    results = [("numbers (µs per call)", "")]
    results += [(label, f"{per_op(action):7.2f}") for label, action in rows]
    cold = per_new_number(lambda p, n: p.classify(n, "ML"))
    both = per_new_number(lambda p, n: p.classify(str(p.normalise("+" + n)), "ML"))
    results.append(("classify, cold (new numbers)", f"{cold:7.2f}"))
    results.append(("normalise + classify, new number", f"{both:7.2f}"))
    return results


if __name__ == "__main__":
    table = main()
    width = max(len(label) for label, _ in table)
    for label, value in table:
        print(f"{label:<{width}}  {value}")
