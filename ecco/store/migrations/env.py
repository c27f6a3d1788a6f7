"""Alembic environment: runs on the connection the caller hands over (see ecco.store.db.migrate)."""

from alembic import context

from ecco.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
