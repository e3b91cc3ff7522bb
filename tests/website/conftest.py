"""Fixtures for the website tests: a real case database (SQLite under tmp_path), a real SMTP server
(aiosmtpd) that keeps what it receives, a case listed for its meeting with CIGINF1 sent to every agency
(through casework.referral.actions, no Prefect: the case has no run yet, so a return is recorded in the case
database directly), and the website on it, over httpx's ASGI transport or served by uvicorn.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
import uvicorn
import yaml

import casework.store
from casework.referral import actions
from casework.delivery import deliver_pending
from casework.forms import ReferralForm, ScreeningForm
from casework.office import Office, open_office
from notifications.mailbox import ReceivedMail, read_mailbox, start_mailbox
from tests.conftest import free_port
from website.app import create_app, server_config

EXAMPLE_REFERRAL = Path(__file__).resolve().parents[2] / "examples" / "referral.yaml"
LINK = re.compile(r"(https?://[^\s/]+/link/[A-Za-z0-9_-]{43})")
POLICE, ADMIN = "police@example.org", "cig-admin@example.org"
# the invented child's and family's identities (examples/referral.yaml): never in an email, a log or a title
IDENTITIES = ["Robin Testchild", "Jordan Testparent", "Lee Testpartner", "1 Invented Row", "2026-07-03", "1998-02-14",
              "3 July 2026", "14 February 1998"]


@pytest.fixture(autouse=True)
def doc_screenshots(request: pytest.FixtureRequest) -> Iterator[None]:
    """When CIG_DOC_SCREENSHOTS names a folder (`make screenshots`: docs/screenshots), the screenshots a browser
    test saved in its tmp_path are copied there after it, as palette PNGs, for the guides in docs/."""
    folder = os.environ.get("CIG_DOC_SCREENSHOTS")
    if not folder or "tmp_path" not in request.fixturenames:
        yield
        return
    taken: Path = request.getfixturevalue("tmp_path")
    yield
    from PIL import Image

    Path(folder).mkdir(parents=True, exist_ok=True)
    for shot in sorted(taken.glob("*.png")):
        with Image.open(shot) as image:
            image.convert("RGB").quantize(colors=64).save(Path(folder) / shot.name, optimize=True)




@pytest.fixture
def website_port() -> int:
    return free_port()


@pytest.fixture
def office(tmp_path: Path, website_port: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    """The example partnership's office on its own SQLite file and SMTP server; links point at
    http://127.0.0.1:`website_port`."""
    home = tmp_path / "cig"
    mail_port = free_port()
    controller = start_mailbox(home / "mail", port=mail_port)
    for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PARTNERSHIP_FILE", "CIG_PROFILE", "CIG_SMTP_HOST",
                 "CIG_SMTP_USERNAME", "CIG_SMTP_PASSWORD", "CIG_SMTP_STARTTLS", "CIG_SMTP_IMPLICIT_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIG_HOME", str(home))
    monkeypatch.setenv("CIG_SMTP_PORT", str(mail_port))
    monkeypatch.setenv("CIG_SMTP_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("CIG_WEBSITE_URL", f"http://127.0.0.1:{website_port}")
    casework.store._factory.cache_clear()
    the_office = open_office()
    yield the_office
    the_office.sessions.kw["bind"].dispose()
    casework.store._factory.cache_clear()
    controller.stop()


def now() -> datetime:
    return datetime.now(timezone.utc)


async def listed_case(office: Office) -> str:
    """A referral accepted and listed for its meeting, CIGINF1 sent to every agency; its reference."""
    data = yaml.safe_load(EXAMPLE_REFERRAL.read_text(encoding="utf-8"))
    form = ReferralForm.model_validate(data, context={"today": now().date()})
    reference = actions.submit_referral(office, form, now=now(), actor="HEALTH safeguarding lead").reference
    actions.record_screening(office, reference, ScreeningForm(outcome="accept", decided_by="Casey Chair and Bailey Manager",
                                                              independent_chair_consulted=True), now=now(), actor="test")
    actions.list_and_request_information(office, reference, now=now())
    await deliver_pending(office)
    return reference


def mails_to(office: Office, address: str, subject_part: str = "") -> list[ReceivedMail]:
    return [m for m in read_mailbox(office.settings.mail_dir) if address in m.to and subject_part in m.subject]


def link_in(mail: ReceivedMail) -> str:
    """The personal link an email carries (its plain-text part)."""
    found = LINK.search(mail.text())
    assert found, mail.text()
    return found.group(1)


@pytest.fixture
async def case(office: Office) -> str:
    return await listed_case(office)


@pytest.fixture
def police_link(office: Office, case: str) -> str:
    [request] = mails_to(office, POLICE, "(CIGINF1)")
    return link_in(request)


@pytest.fixture
async def client(office: Office) -> AsyncIterator[httpx.AsyncClient]:
    """The website on the office, over httpx's ASGI transport (as a browser on the same site posts)."""
    transport = httpx.ASGITransport(app=create_app(office))
    async with httpx.AsyncClient(transport=transport, base_url=office.settings.website_url) as http:
        yield http


@pytest.fixture
def served(office: Office, website_port: int) -> Iterator[str]:
    """The website served by uvicorn on its port, as `make up` serves it; its base URL."""
    server = uvicorn.Server(server_config(create_app(office), host="127.0.0.1", port=website_port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the website did not start"
        time.sleep(0.05)
    yield office.settings.website_url
    server.should_exit = True
    thread.join(10)
