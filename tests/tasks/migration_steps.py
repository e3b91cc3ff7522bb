"""What the migration tests share: a case database brought to an earlier revision with data in it, then
upgraded (or downgraded) in place, on a SQLite file, or on PostgreSQL when CIG_TEST_POSTGRES_URL is set.

Every name here is invented.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, inspect, text

from casework.store import MIGRATIONS

NOW = datetime(2027, 5, 4, 15, tzinfo=timezone.utc).isoformat()

DECIDED_CASE = (  # an SCR decided on the case's run, at every revision since 0004
    "INSERT INTO cases (reference, regime, status, stage, referring_agency, notified_on, referred_at, facts, wait_seq, "
    "round, decision, decided_at, updated_at) VALUES (:reference, 'wt2015', 'open', 'decided', 'HEALTH', '2026-11-16', "
    ":now, '{}', 6, 1, 'scr', :now, :now)")
REVIEW = (  # its review, at every revision since 0006
    "INSERT INTO reviews (case_id, review_type, plan, stage, commissioned_at, commissioned_on, reviewers, ratifications, "
    "availability, updated_at) VALUES ((SELECT id FROM cases WHERE reference = :reference), 'scr', 'scr_staged', :stage, "
    ":now, '2026-12-11', '[]', '[]', :availability, :now)")
AUDIT = (
    "INSERT INTO audit_events (case_reference, at, actor, action, detail) VALUES (:reference, :now, 't', :action, :detail)")


def config(connection: Connection | None) -> Config:
    """Alembic's configuration for the project's migrations, run on `connection` (as casework.store.migrate does)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database: a SQLite file, or this worker's PostgreSQL database emptied."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    else:
        url = os.environ.get("CIG_TEST_POSTGRES_URL")
        if not url:
            pytest.skip("set CIG_TEST_POSTGRES_URL to run the migration tests on PostgreSQL")
        engine = create_engine(url)
        _empty(engine)
    yield engine
    if request.param == "postgres":
        _empty(engine)
    engine.dispose()


def _empty(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in inspect(connection).get_table_names():
            connection.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))


def at_revision(engine: Engine, revision: str, *rows: tuple[str, dict[str, object]]) -> None:
    """Bring the database to `revision` and insert `rows` (statement, parameters; `now` filled in)."""
    with engine.begin() as connection:
        command.upgrade(config(connection), revision)
        for statement, parameters in rows:
            connection.execute(text(statement), {"now": NOW} | parameters)


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(config(connection), revision)


def tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def columns(engine: Engine, table: str) -> set[str]:
    with engine.connect() as connection:
        return {c["name"] for c in inspect(connection).get_columns(table)}


def rows(engine: Engine, query: str) -> list[tuple]:  # type: ignore[type-arg]
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query)).all()]
