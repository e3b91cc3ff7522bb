"""`make up` serves the secure website beside the Prefect server: the command cli.stack starts for it,
where it says the website is, and that command, run as a process, answering on that address."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cli.stack import website_command
from tests.website.conftest import free_port


def test_the_stack_serves_the_website_on_a_free_port_from_8080_and_says_where(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIG_WEBSITE_URL", raising=False)
    env: dict[str, str] = {}

    command = website_command(env)

    port = int(command[command.index("--port") + 1])
    assert command[1:3] == ["-m", "website.app"]  # on 8080 unless that is taken, then on a free port
    assert env["CIG_WEBSITE_URL"] == f"http://127.0.0.1:{port}"


def test_a_reverse_proxys_address_is_kept_and_production_serves_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIG_WEBSITE_URL", "https://cases.partnership.example.org")
    env = {"CIG_WEBSITE_URL": "https://cases.partnership.example.org", "CIG_SMTP_TLS_CERT": "c.pem", "CIG_SMTP_TLS_KEY": "k.pem"}

    command = website_command(env)

    assert env["CIG_WEBSITE_URL"] == "https://cases.partnership.example.org"
    assert command[command.index("--port") + 1] == "443"
    assert command[-4:] == ["--ssl-certfile", "c.pem", "--ssl-keyfile", "k.pem"]


def test_behind_a_reverse_proxy_the_website_listens_on_its_own_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIG_WEBSITE_URL", "https://cases.partnership.example.org")
    monkeypatch.setenv("CIG_WEBSITE_PORT", "8181")
    env = {"CIG_WEBSITE_URL": "https://cases.partnership.example.org"}

    command = website_command(env)

    assert env["CIG_WEBSITE_URL"] == "https://cases.partnership.example.org"  # the links still name the proxy
    assert command[command.index("--port") + 1] == "8181"


def test_the_website_process_answers_with_its_start_page(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIG_")}
    # the address people reach (a reverse proxy's) is not where it listens: CIG_WEBSITE_PORT
    env.update(CIG_HOME=str(tmp_path / "cig"), CIG_WEBSITE_URL="http://127.0.0.1:9",
               CIG_WEBSITE_PORT=str(port))
    process = subprocess.Popen([sys.executable, "-m", "website.app"], env=env,
                               cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page = response.read().decode()
                    break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the website did not answer"
                time.sleep(0.3)
        assert "Northshire Safeguarding Children Partnership: secure website" in page
        assert "Open it from the personal link in the email" in page
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()
    assert "GET / 200" in output
