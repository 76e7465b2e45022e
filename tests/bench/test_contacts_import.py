"""The CSV import benchmark still runs (on a small file, so that it stays quick)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import contacts_import


def test_the_benchmark_imports_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contacts_import, "ROWS", 2_000)
    monkeypatch.setattr(contacts_import, "KNOWN", 200)
    rows = dict(contacts_import.measure(f"sqlite:///{tmp_path}/bench.db"))
    assert "sqlite: 1,764 created, 196 updated, 40 skipped, all grouped (one transaction)" in rows
    assert rows["sqlite: total (target <= 10 s)"].endswith(" s")
