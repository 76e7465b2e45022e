"""Alembic, driven from code: ``gatewayd db upgrade`` and the start-up schema check.

The start-up check does not import Alembic (about 10 MB of resident memory for the daemon's
whole life): revisions are named after their files' four-digit prefixes, so the head is the
highest prefix, and the current revision is one row of ``alembic_version``. A test keeps both
readings equal to Alembic's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from gatewayd.errors import SchemaNotCurrent

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def head_revision() -> str:
    return max(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        return None if row is None else str(row[0])


def require_current(engine: Engine) -> None:
    """Raise :class:`SchemaNotCurrent` unless the schema is at the head revision."""
    current, head = current_revision(engine), head_revision()
    if current is None:
        raise SchemaNotCurrent(
            "the database has no gatewayd schema: run `gatewayd db upgrade -c FILE` first"
        )
    if current != head:
        raise SchemaNotCurrent(
            f"the database schema is at revision {current}, this release needs {head}: "
            "run `gatewayd db upgrade -c FILE`"
        )
