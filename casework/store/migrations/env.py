"""Alembic environment: runs on the connection `casework.store.migrate` hands it."""

from alembic import context

from casework.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through casework.store.migrate (it supplies the connection)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
