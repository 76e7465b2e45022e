"""Plain SQL on the session's own connection, for the hot path's bulk writes.

The ORM costs tens of microseconds a row; the pipeline writes several rows per message, so its
group commits go through the DBAPI cursor with ``executemany`` instead, inside the same
transaction as the session. Statements are written with ``?`` placeholders and translated for
PostgreSQL's ``%s``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

#: From this many rows, PostgreSQL inserts go by COPY.
COPY_FROM = 1000


@lru_cache(maxsize=256)
def _pyformat(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class Raw:
    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.postgres = connection.dialect.name == "postgresql"
        self._dbapi: Any = connection.connection
        self._cursor: Any = self._dbapi.cursor()

    def _sql(self, sql: str) -> str:
        return _pyformat(sql) if self.postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the row count."""
        self._cursor.execute(self._sql(sql), tuple(params))
        return int(self._cursor.rowcount)

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        if self.postgres and len(rows) > 1:
            # Pipeline mode: the rows go out without waiting for each one's answer.
            with self._dbapi.driver_connection.pipeline():
                self._cursor.executemany(self._sql(sql), rows)
            return
        self._cursor.executemany(self._sql(sql), rows)

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Insert ``rows``: on PostgreSQL, many rows go by COPY (several times faster than an
        executemany, which matters for a 100,000-recipient batch); otherwise an INSERT."""
        rows = list(rows)
        if not rows:
            return
        names = ", ".join(columns)
        if self.postgres and len(rows) >= COPY_FROM:
            with self._cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in columns)
        self.many(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cursor.execute(self._sql(sql), tuple(params))
        return [tuple(row) for row in self._cursor.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        self._cursor.execute(self._sql(sql), tuple(params))
        row = self._cursor.fetchone()
        return None if row is None else tuple(row)

    def new_ids(self, table: str, count: int) -> list[int]:
        """``count`` fresh primary keys for ``table``, so that rows and the rows that point at
        them can be inserted in one ``executemany`` each. PostgreSQL draws them from the
        table's sequence (safe with several nodes); SQLite has a single writer, which holds the
        write lock for the whole transaction once it has written."""
        if count <= 0:
            return []
        if self.postgres:
            rows = self.all(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"
                " FROM generate_series(1, ?)",
                (count,),
            )
            return [int(r[0]) for r in rows]
        # An empty write takes the lock first, so MAX(id) cannot move under us.
        self.execute(f"UPDATE {table} SET id = id WHERE 0")
        found = self.one(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        start = int(found[0]) + 1 if found else 1
        return list(range(start, start + count))
