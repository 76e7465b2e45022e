"""Alembic environment: the engine comes from gatewayd, never from an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

import gatewayd.storage.billing_models  # noqa: F401  (the billing tables, on Base)
from gatewayd.storage.models import Base

engine: Engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
