"""Routing: pure, typed domain logic (no Twisted, no SQL)."""
