"""Shared fixtures: a real SQLite file, and a real PostgreSQL when GATEWAYD_TEST_DATABASE_URL
is set (CI sets it). Each PostgreSQL test gets a database of its own, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from gatewayd.config import DatabaseConfig
from gatewayd.storage.database import Database, create_db_engine
from gatewayd.storage.migrate import upgrade

PG_ENV = "GATEWAYD_TEST_DATABASE_URL"


def _pg_admin_dsn(url: str) -> str:
    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/gatewayd.db"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests not run")
    name = f"gwtest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_admin_dsn(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield (
        make_url(base)
        .set(drivername="postgresql+psycopg", database=name)
        .render_as_string(hide_password=False)
    )
    with psycopg.connect(_pg_admin_dsn(base), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """A migrated database whose thread pool runs on the test reactor."""
    from twisted.internet import reactor

    engine = create_db_engine(DatabaseConfig(url=db_url))
    upgrade(engine)
    db = Database(engine, reactor, 2)
    db.startService()
    yield db
    db.stopService()
