"""The production profile refuses to start unsafe, and says how to fix each problem."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from casework.store.sealed import new_key
from config.settings import Settings

SAFE = {
    "profile": "production",
    "data_keys": new_key(),
    "smtp_starttls": True,
    "prefect_auth_string": "admin:a-long-random-password",
    "database_url": "postgresql+psycopg://cig@db/cig",
    "website_url": "https://cases.partnership.example.org",
}


@pytest.fixture(autouse=True)
def no_cig_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("CIG_")]:
        monkeypatch.delenv(name)


def refusal(**changes: object) -> str:
    with pytest.raises(ValidationError) as refused:
        Settings(**{**SAFE, **changes})
    return str(refused.value)


def test_a_safe_production_configuration_starts() -> None:
    assert Settings(**SAFE).profile == "production"
    assert Settings(**{**SAFE, "smtp_starttls": False, "smtp_implicit_tls": True}).smtp_implicit_tls


@pytest.mark.parametrize(("changes", "fix"), [
    ({"smtp_starttls": False}, "set CIG_SMTP_STARTTLS=true or CIG_SMTP_IMPLICIT_TLS=true"),
    ({"data_keys": None}, "generate one with `cig keys new`"),
    ({"data_keys": "change-me"}, "generate one with `cig keys new`"),
    ({"prefect_auth_string": None}, "set CIG_PREFECT_AUTH_STRING"),
    ({"prefect_auth_string": "password"}, "set CIG_PREFECT_AUTH_STRING"),
    ({"database_url": None}, "set CIG_DATABASE_URL to a PostgreSQL URL"),
    ({"database_url": "sqlite:///var/cig.sqlite3"}, "set CIG_DATABASE_URL to a PostgreSQL URL"),
    ({"website_url": "http://cases.partnership.example.org"}, "CIG_WEBSITE_URL must start with https://"),
], ids=["plain-smtp", "no-data-key", "placeholder-data-key", "no-prefect-auth", "placeholder-prefect-auth",
        "no-database", "sqlite", "website-over-http"])
def test_production_refuses_each_unsafe_setting_saying_how_to_fix_it(changes: dict[str, object], fix: str) -> None:
    message = refusal(**changes)
    assert "the production profile refuses to start" in message
    assert fix in message


def test_every_problem_is_listed_at_once() -> None:
    message = refusal(data_keys="secret", smtp_starttls=False, prefect_auth_string=None, database_url=None)
    for fix in ("cig keys new", "CIG_SMTP_STARTTLS", "CIG_PREFECT_AUTH_STRING", "CIG_DATABASE_URL"):
        assert fix in message


def test_development_accepts_the_local_defaults() -> None:
    assert Settings(profile="development").smtp_starttls is False
