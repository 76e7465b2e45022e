"""Case-insensitive search that is Unicode-aware on both databases: SQLite's ``lower()`` only
folds ASCII ('Société' is not 'société' there), PostgreSQL's folds every letter. ``folded``
compiles to ``lower()`` on PostgreSQL and to ``unicode_lower()`` on SQLite, a function every
SQLite connection gets (:func:`register_sqlite_functions`); the searched text goes through
:func:`fold` in Python."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class folded(FunctionElement[str]):
    """A column (or expression) case-folded, to compare with :func:`fold`'s text."""

    type = String()
    inherit_cache = True
    name = "folded"


@compiles(folded)
def _lower(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(folded, "sqlite")
def _unicode_lower(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"unicode_lower({compiler.process(element.clauses, **kw)})"


def fold(text: str) -> str:
    """The searched text as :class:`folded` columns compare with it."""
    return text.strip().casefold()


def _casefold(value: str | None) -> str | None:
    return value.casefold() if value is not None else None


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """Give a new SQLite connection ``unicode_lower()``."""
    dbapi_conn.create_function("unicode_lower", 1, _casefold, deterministic=True)
