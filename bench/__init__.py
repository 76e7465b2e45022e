"""Benchmarks and long-running checks: ``python -m bench`` (or ``make bench``) runs them all."""
