"""What `make up PROFILE=production` adds to the stack: PostgreSQL, secrets and TLS on one machine.

`production_env(home)` returns the environment of a production-profile stack: the Prefect server's
and the case database's PostgreSQL URLs (each database created if missing), an API auth string the
server requires and every client sends, CIG_PROFILE=production with a Fernet data key, and SMTP over
STARTTLS to the local mail server, whose self-signed certificate the sender is told to trust.
Secrets are generated once and kept (mode 0600) under `home/production/`, so a restart can still
read the sealed personal data. A variable already set in the environment wins, so the same code
points at a database or mail server on another machine.

Needs a PostgreSQL server that `CIG_PG_ADMIN_URL` (default postgres@127.0.0.1:5432, trust auth)
may create databases on. `python -m cli.production mailserver --port N --cert C --key K` runs the
local SMTP server with STARTTLS required.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import secrets
import signal
import ssl
import threading
from pathlib import Path

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFECT_DATABASE = "cig_prefect"
CASE_DATABASE = "cig_cases"


def ensure_database(admin_url: str, name: str) -> None:
    """Create the PostgreSQL database `name` unless it exists."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin_url: str, name: str) -> None:
    """Drop the PostgreSQL database `name` if it exists (the benchmark starts from empty databases)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_url(admin_url: str, name: str, driver: str) -> str:
    """`admin_url` with another database and a SQLAlchemy driver, e.g. postgresql+asyncpg://.../name."""
    base, _, _ = admin_url.rpartition("/")
    return base.replace("postgresql://", f"postgresql+{driver}://", 1) + f"/{name}"


def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate and key for `host` (and localhost), made once under `directory`; return their paths."""
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    if cert_file.exists() and key_file.exists():
        return cert_file, key_file
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cig local mail server")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(host))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert_file, key_file


def kept_secrets(directory: Path) -> dict[str, str]:
    """The stack's Prefect auth string and data key, generated on first use and kept in a 0600 file."""
    from casework.store.sealed import new_key

    path = directory / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    directory.mkdir(parents=True, exist_ok=True)
    made = {"prefect_auth_string": f"cig:{secrets.token_urlsafe(24)}", "data_key": new_key()}
    path.touch(mode=0o600)
    path.write_text(json.dumps(made))
    return made


def production_env(home: Path, *, prefect_database: str = PREFECT_DATABASE, case_database: str = CASE_DATABASE,
                   environ: dict[str, str] | None = None) -> dict[str, str]:
    """The variables a production-profile stack adds to every process (see the module docstring)."""
    environ = dict(os.environ if environ is None else environ)
    directory = home / "production"
    admin_url = environ.get("CIG_PG_ADMIN_URL", DEFAULT_ADMIN_URL)
    kept = kept_secrets(directory)
    cert_file, key_file = self_signed_certificate(directory)
    wanted = {
        "CIG_PROFILE": "production",
        "PREFECT_API_DATABASE_CONNECTION_URL": database_url(admin_url, prefect_database, "asyncpg"),
        "CIG_DATABASE_URL": database_url(admin_url, case_database, "psycopg"),
        "CIG_DATA_KEYS": kept["data_key"],
        "PREFECT_SERVER_API_AUTH_STRING": kept["prefect_auth_string"],
        "CIG_SMTP_STARTTLS": "true",
        "CIG_SMTP_CA_FILE": str(cert_file),
        "CIG_SMTP_TLS_CERT": str(cert_file),
        "CIG_SMTP_TLS_KEY": str(key_file),
        "CIG_WEBSITE_URL": "https://127.0.0.1:8443",  # served over TLS with the same certificate (cli.stack)
    }
    env = {name: environ.get(name) or value for name, value in wanted.items()}
    env["CIG_PREFECT_AUTH_STRING"] = env["PREFECT_API_AUTH_STRING"] = env["PREFECT_SERVER_API_AUTH_STRING"]
    if "PREFECT_API_DATABASE_CONNECTION_URL" not in environ:
        ensure_database(admin_url, prefect_database)
    if "CIG_DATABASE_URL" not in environ:
        ensure_database(admin_url, case_database)
    return env


def server_tls_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """The mail server's side of STARTTLS."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def run_mailserver(port: int, cert_file: Path, key_file: Path, host: str = "127.0.0.1") -> int:
    """The local SMTP server with STARTTLS required, until SIGTERM or Ctrl-C."""
    from config.settings import get_settings
    from notifications.mailbox import start_mailbox

    directory = get_settings().mail_dir
    controller = start_mailbox(directory, host, port, tls_context=server_tls_context(cert_file, key_file))
    print(f"local SMTP server (STARTTLS required) on {host}:{port}, keeping mail in {directory}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    mailserver = commands.add_parser("mailserver", help="the local SMTP server with STARTTLS required")
    mailserver.add_argument("--host", default="127.0.0.1")
    mailserver.add_argument("--port", type=int, required=True)
    mailserver.add_argument("--cert", type=Path, required=True)
    mailserver.add_argument("--key", type=Path, required=True)
    arguments = parser.parse_args()
    raise SystemExit(run_mailserver(arguments.port, arguments.cert, arguments.key, arguments.host))
