"""The one settings class of the project, read from `CIG_*` environment variables.

`get_settings()` reads the environment each time it is called, so tests and commands can
change it; nothing is read at import time. Outside the development profile the settings refuse
placeholder secrets, plain-text SMTP and an unauthenticated Prefect server.
"""

from __future__ import annotations

import ipaddress
import os
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(__file__).resolve().parent
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "password", "development"}


class Profile(StrEnum):
    development = "development"
    production = "production"


class Settings(BaseSettings):
    """Where the project's database, mail server and partnership file are, and its secrets."""

    model_config = SettingsConfigDict(env_prefix="CIG_", extra="ignore")

    profile: Profile = Field(Profile.development, description="development or production")
    home: Path = Field(PROJECT_DIR / "var", description="where local state lives: database, mail, papers, keys")
    database_url: str | None = Field(None, description="SQLAlchemy URL of the case database; default a SQLite file under home")
    partnership_file: Path = Field(
        CONFIG_DIR / "partnership.example.yaml", description="the partnership's YAML file"
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_implicit_tls: bool = False
    smtp_timeout_seconds: float = Field(
        10.0, gt=0, le=60, description="seconds to wait for each step of an SMTP exchange (at most 60: a message "
        "being sent is held for ten minutes before another deliverer may take it)")
    smtp_ca_file: Path | None = Field(
        None, description="PEM file of the certificate authorities to trust for SMTP TLS; default the system's"
    )
    mail_from: str = "cig-casework@example.org"
    data_keys: SecretStr | None = Field(
        None,
        description="comma-separated Fernet keys for personal data at rest, newest first; "
        "in development a key is generated under home",
    )
    prefect_auth_string: SecretStr | None = Field(
        None, description="PREFECT_SERVER_API_AUTH_STRING the server requires (production)"
    )
    alert_block: str | None = Field(
        None, pattern=r"^[a-z0-9-]+/[A-Za-z0-9_-]+$",
        description="a Prefect notification block, as 'block-type-slug/block-name' (Teams, Slack, a webhook), "
        "that alerts the administrator when mail cannot be delivered: a channel that does not depend on the mail server",
    )
    work_pool: str = "cig"
    referral_deployment: str = "referral/referral"
    review_deployment: str = "review/review"
    intake_keep_hours: float = Field(
        24.0, gt=0, description="how long a submit-referral run is kept: a refused one with the form as typed (so "
        "'Copy to new run' refills it), a recorded one emptied of the form and named after its new reference",
    )
    human_step_wait_seconds: float = Field(
        60.0, description="how long a command waits for a case to reach the step it records"
    )
    website_url: str = Field(
        "http://127.0.0.1:8080", pattern=r"^https?://[^/\s]+/?$",
        description="the partnership's secure website as the people it emails reach it (the personal links start "
        "with it); `make up` serves it on this host and port; production requires https:// (a reverse proxy)",
    )
    website_host: str = Field(
        "127.0.0.1", description="the address the website listens on (behind a reverse proxy: the proxy's upstream)"
    )
    website_port: int | None = Field(
        None, ge=1, le=65535, description="the port the website listens on, when it differs from CIG_WEBSITE_URL's "
        "(behind a reverse proxy that answers https://cig.example.org and forwards to, say, 127.0.0.1:8080)",
    )
    website_trusted_proxies: str = Field(
        "", description="comma-separated addresses (or networks, 10.0.0.0/24) of the reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto the website believes; none by default, so the address a request "
        "came from is the client's (the look-up throttle counts per client)",
    )
    papers_link_hours: float = Field(
        72.0, gt=0, description="how long after its meeting a member's link to the meeting papers keeps working"
    )

    @field_validator("website_trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        for item in (part.strip() for part in value.split(",") if part.strip()):
            try:
                ipaddress.ip_network(item)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network (name each proxy by its address)") from None
        return value

    @property
    def trusted_proxies(self) -> list[str]:
        """The reverse proxies' addresses or networks (CIG_WEBSITE_TRUSTED_PROXIES); empty: none is trusted."""
        return [part.strip() for part in self.website_trusted_proxies.split(",") if part.strip()]

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.profile is not Profile.production:
            return self
        problems = []
        keys = self.data_keys.get_secret_value() if self.data_keys else ""
        if keys.strip().lower() in PLACEHOLDER_SECRETS:
            problems.append("CIG_DATA_KEYS must hold a real Fernet key (generate one with `cig keys new`)")
        if not (self.smtp_starttls or self.smtp_implicit_tls):
            problems.append("SMTP must be encrypted: set CIG_SMTP_STARTTLS=true or CIG_SMTP_IMPLICIT_TLS=true")
        auth = self.prefect_auth_string.get_secret_value() if self.prefect_auth_string else ""
        if auth.strip().lower() in PLACEHOLDER_SECRETS:
            problems.append(
                "the Prefect server must require authentication: set CIG_PREFECT_AUTH_STRING "
                "to the server's PREFECT_SERVER_API_AUTH_STRING"
            )
        if self.database_url is None or self.database_url.startswith("sqlite"):
            problems.append("set CIG_DATABASE_URL to a PostgreSQL URL (postgresql+psycopg://...)")
        if not self.website_url.startswith("https://"):
            problems.append("CIG_WEBSITE_URL must start with https:// (serve the website behind the partnership's "
                            "reverse proxy or single sign-on)")
        if problems:
            raise ValueError("the production profile refuses to start: " + "; ".join(problems))
        return self

    @property
    def effective_database_url(self) -> str:
        """The case database URL: the configured one, or a SQLite file under `home`."""
        return self.database_url or f"sqlite:///{self.home / 'cig.sqlite3'}"

    @property
    def mail_dir(self) -> Path:
        """Where the local SMTP server keeps every message it receives."""
        return self.home / "mail"

    @property
    def papers_dir(self) -> Path:
        """Where meeting papers and reports are written."""
        return self.home / "papers"


def get_settings() -> Settings:
    """Read the settings from the environment now."""
    return Settings()


def project_env() -> dict[str, str]:
    """The CIG_ variables of this process, to hand to child processes."""
    return {k: v for k, v in os.environ.items() if k.startswith("CIG_")}
