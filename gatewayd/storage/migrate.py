"""Alembic, driven from code: ``gatewayd db upgrade`` and the start-up schema check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from gatewayd.errors import SchemaNotCurrent

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def head_revision(engine: Engine) -> str:
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current(engine: Engine) -> None:
    """Raise :class:`SchemaNotCurrent` unless the schema is at the head revision."""
    current, head = current_revision(engine), head_revision(engine)
    if current is None:
        raise SchemaNotCurrent(
            "the database has no gatewayd schema: run `gatewayd db upgrade -c FILE` first"
        )
    if current != head:
        raise SchemaNotCurrent(
            f"the database schema is at revision {current}, this release needs {head}: "
            "run `gatewayd db upgrade -c FILE`"
        )
