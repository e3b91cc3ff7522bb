"""Fixtures for the task layer: a real case database and a real SMTP server that keeps what it gets.

`office` is `casework.office.open_office()` on a fresh CIG_HOME under tmp_path, once on a SQLite
file and once on PostgreSQL when CIG_TEST_POSTGRES_URL is set (its tables are dropped and migrated
again for every test). `mailbox` is the aiosmtpd server of notifications.mailbox on a free port.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text

import casework.store
from casework.forms import ReferralForm
from casework.office import Office, open_office
from casework.store.tables import Base
from notifications.mailbox import ReceivedMail, read_mailbox, start_mailbox
from tests.conftest import free_port as _free_port

EXAMPLE_REFERRAL = Path(__file__).resolve().parents[2] / "examples" / "referral.yaml"
TODAY = date(2026, 11, 20)




class Mailbox:
    """The local SMTP server, which a test may stop (to refuse connections) and start again."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self._controller: Any = None

    def start(self) -> None:
        if self._controller is None:
            self._controller = start_mailbox(self.directory, port=self.port)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[ReceivedMail]:
        return read_mailbox(self.directory)


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None: the default SQLite file under CIG_HOME; else a PostgreSQL URL with empty tables."""
    if request.param == "sqlite":
        return None
    url = os.environ.get("CIG_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set CIG_TEST_POSTGRES_URL to run the task tests on PostgreSQL")
    _reset_postgres(url)
    return url


@pytest.fixture
def cig_home(tmp_path: Path) -> Path:
    return tmp_path / "cig"


@pytest.fixture
def mailbox(cig_home: Path) -> Iterator[Mailbox]:
    box = Mailbox(cig_home / "mail", _free_port())
    box.start()
    yield box
    box.stop()


@pytest.fixture
def office(
    database_url: str | None, cig_home: Path, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Office]:
    """The office of the example partnership, on its own database and mailbox."""
    for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PARTNERSHIP_FILE", "CIG_PROFILE", "CIG_SMTP_HOST",
                 "CIG_SMTP_USERNAME", "CIG_SMTP_PASSWORD", "CIG_SMTP_STARTTLS", "CIG_SMTP_IMPLICIT_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIG_HOME", str(cig_home))
    monkeypatch.setenv("CIG_SMTP_PORT", str(mailbox.port))
    monkeypatch.setenv("CIG_SMTP_TIMEOUT_SECONDS", "5")
    if database_url:
        monkeypatch.setenv("CIG_DATABASE_URL", database_url)
    casework.store._factory.cache_clear()
    the_office = open_office()
    assert the_office.settings.mail_dir == mailbox.directory
    assert the_office.sessions.kw["bind"].dialect.name == ("postgresql" if database_url else "sqlite")
    yield the_office
    the_office.sessions.kw["bind"].dispose()
    casework.store._factory.cache_clear()


@pytest.fixture
def referral_form() -> ReferralForm:
    """The invented CIGSCR1 of examples/referral.yaml (notified 16 Nov 2026, from HEALTH)."""
    data = yaml.safe_load(EXAMPLE_REFERRAL.read_text(encoding="utf-8"))
    return ReferralForm.model_validate(data, context={"today": TODAY})

