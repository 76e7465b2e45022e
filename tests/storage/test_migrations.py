from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from gatewayd.config import DatabaseConfig
from gatewayd.errors import SchemaNotCurrent
from gatewayd.storage.database import create_db_engine
from gatewayd.storage.migrate import current_revision, head_revision, require_current, upgrade
from gatewayd.storage.models import Base


def test_upgrade_creates_the_model_tables_and_is_idempotent(db_url: str) -> None:
    engine = create_db_engine(DatabaseConfig(url=db_url))
    with pytest.raises(SchemaNotCurrent, match="db upgrade"):
        require_current(engine)
    upgrade(engine)
    upgrade(engine)
    require_current(engine)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    engine.dispose()


def test_an_old_schema_is_refused_with_the_revisions(db_url: str) -> None:
    engine = create_db_engine(DatabaseConfig(url=db_url))
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(SchemaNotCurrent, match="revision 0000"):
        require_current(engine)
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: object) -> None:
    engine = create_db_engine(DatabaseConfig(url=f"sqlite:///{tmp_path}/x/wal.db"))
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_the_migrations_match_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_db_engine(DatabaseConfig(url=db_url))
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_the_light_schema_check_agrees_with_alembic(db_url: str) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from gatewayd.storage.migrate import alembic_config

    engine = create_db_engine(DatabaseConfig(url=db_url))
    script = ScriptDirectory.from_config(alembic_config(engine))
    assert script.get_heads() == [head_revision()]
    for revision in script.walk_revisions():  # the file prefix is the revision id
        assert revision.path is not None
        assert revision.path.rsplit("/", 1)[-1][:4] == revision.revision
    upgrade(engine, "0002")
    with engine.connect() as conn:
        assert current_revision(engine) == MigrationContext.configure(conn).get_current_revision()
    assert current_revision(engine) == "0002"
    engine.dispose()


def test_0008_merges_repeated_numbers_before_making_them_unique(db_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    engine = create_db_engine(DatabaseConfig(url=db_url))
    upgrade(engine, "0007")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (id, name, kind, suspended, created_at) "
                "VALUES (1, 'acme', 'customer', false, 0)"
            )
        )
        for cid, msisdn in ((1, "+22376600001"), (2, "+22376600001"), (3, "+22376600002")):
            conn.execute(
                text(
                    "INSERT INTO contacts (id, account_id, first_name, last_name, msisdn, "
                    "created_at) VALUES (:id, 1, 'A', 'B', :m, 0)"
                ),
                {"id": cid, "m": msisdn},
            )
        conn.execute(
            text(
                "INSERT INTO contact_groups (id, account_id, name, created_at) "
                "VALUES (1, 1, 'g', 0)"
            )
        )
        conn.execute(text("INSERT INTO group_members (group_id, contact_id) VALUES (1, 2)"))
    upgrade(engine)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT id FROM contacts ORDER BY id")).scalars().all() == [1, 3]
        members = conn.execute(text("SELECT contact_id FROM group_members")).scalars().all()
        assert members == [1]  # the duplicate's membership moved to the contact kept
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contacts (account_id, first_name, last_name, msisdn, created_at) "
                "VALUES (1, 'C', 'D', '+22376600002', 0)"
            )
        )
    engine.dispose()
