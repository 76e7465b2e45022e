"""docs/plugins.md's hook reference is the specs in gatewayd/plugins/hooks.py: every hook, its
argument and result types, mode, failure policy and timeout, and no hook that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

from gatewayd.plugins.hooks import HOOKS

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
MARKER = "<!-- hook-reference:"


def reference() -> dict[str, dict[str, str]]:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(MARKER))
    table = []
    for line in lines[start + 1 :]:
        if table and not line.startswith("|"):
            break
        if line.startswith("|"):
            table.append([cell.strip() for cell in line.strip("|").split("|")])
    header, _rule, *rows = table
    assert header[:6] == ["Hook", "Argument", "Result", "Mode", "Failure", "Timeout (s)"]
    return {row[0].strip("`"): dict(zip(header, row, strict=True)) for row in rows}


def names(cell: str) -> list[str]:
    return re.findall(r"`(\w+)`", cell)


def test_the_reference_table_matches_the_hook_specs() -> None:
    documented = reference()
    assert list(documented) == list(HOOKS)
    for name, spec in HOOKS.items():
        row = documented[name]
        assert names(row["Argument"]) == [spec.argument.__name__], name
        assert names(row["Result"]) == [t.__name__ for t in spec.results], name
        assert row["Mode"] == spec.mode, name
        assert row["Failure"] == spec.failure, name
        assert float(row["Timeout (s)"]) == spec.timeout, name
        assert row["When it is called"] == spec.when, name


def test_every_hook_has_its_own_section_entry() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name, spec in HOOKS.items():
        assert f"`{name}({spec.argument.__name__})`" in text, name
