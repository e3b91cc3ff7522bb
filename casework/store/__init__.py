"""The project's own database, through SQLAlchemy 2.0: SQLite by default, PostgreSQL by URL.

`open_store(settings)` migrates the schema to the latest Alembic revision, installs the data
keys and returns a session factory; callers own their transactions (`with Session.begin():`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from casework.store.sealed import install_keys, new_key
from casework.store.tables import Base

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so a worker and the CLI can share it."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def data_keys(settings) -> list[str]:  # type: ignore[no-untyped-def]
    """The configured Fernet keys; in development, a key generated once under CIG_HOME."""
    if settings.data_keys is not None:
        return [k for k in settings.data_keys.get_secret_value().split(",") if k.strip()]
    key_file = Path(settings.home) / "data.key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(new_key())
        key_file.chmod(0o600)
    return [key_file.read_text().strip()]


@lru_cache(maxsize=8)
def _factory(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)


def open_store(settings) -> sessionmaker[Session]:  # type: ignore[no-untyped-def]
    """A session factory on the case database, schema migrated and data keys installed."""
    install_keys(data_keys(settings))
    return _factory(settings.effective_database_url)


__all__ = ["Base", "make_engine", "migrate", "open_store"]
