"""What a stranger, or a script, gets from the website, and what the administrator learns of it: a forged
X-Forwarded-For changes nothing (only a named reverse proxy's is believed), another Host is refused and
never redirected to, every refused look-up is recorded (no token, no case), a link's page reloaded
hundreds of times is recorded once per ten minutes and then rests, and the administrator is emailed once
when a spell of throttling starts."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

import website.app
from casework.office import Office
from casework.store import cases as store
from casework.store.tables import AuditEvent
from notifications.mailbox import ReceivedMail
from tests.website.conftest import ADMIN, mails_to, now
from website.app import LOOKUPS_ALLOWED, VIEWS_ALLOWED, create_app

LOOKUPS_SUBJECT = "Secure website: links that do not exist tried from one address"


def guess(base_url: str, number: int) -> str:
    return f"{base_url}/link/{'g' * 40}{number:03d}"


def website_events(office: Office) -> list[AuditEvent]:
    """The audit events of no case (the website's own), oldest first."""
    with office.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.case_reference.is_(None))
                                    .order_by(AuditEvent.id)))


def case_events(office: Office, reference: str) -> list[AuditEvent]:
    with office.sessions() as session:
        return list(store.audit_trail(session, reference=reference))


def wait_for_mail(office: Office, address: str, subject: str, seconds: float = 20) -> list[ReceivedMail]:
    """The messages to `address` with `subject` once one has arrived (the website sends after the page)."""
    deadline = time.monotonic() + seconds
    while not (found := mails_to(office, address, subject)):
        assert time.monotonic() < deadline, f"no '{subject}' reached {address}"
        time.sleep(0.1)
    return found


def test_a_forwarded_address_from_this_machine_is_not_believed_and_guessing_stops_at_the_limit(
        office: Office, case: str, served: str, police_link: str) -> None:
    with httpx.Client() as http:
        answers = [http.get(guess(served, n), headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
                   for n in range(LOOKUPS_ALLOWED + 5)]
        after = http.get(police_link, headers={"X-Forwarded-For": "198.51.100.1"})

    assert answers == [404] * LOOKUPS_ALLOWED + [429] * 5
    assert after.status_code == 429 and "Too many attempts" in after.text
    events = website_events(office)
    refused = [e for e in events if e.action == "link look-up refused"]
    assert len(refused) == LOOKUPS_ALLOWED and {e.detail["client"] for e in refused} == {"127.0.0.1"}
    [throttled] = [e for e in events if e.action == "link look-ups throttled"]
    assert throttled.detail["client"] == "127.0.0.1"
    [told] = wait_for_mail(office, ADMIN, LOOKUPS_SUBJECT)
    assert "refusing links from the address 127.0.0.1" in " ".join(told.text().split())
    assert "g" * 40 not in told.text() and case not in told.text()


async def test_behind_a_named_proxy_each_person_is_counted_on_their_own(
        office: Office, case: str, police_link: str) -> None:
    behind_proxy = dataclasses.replace(office, settings=office.settings.model_copy(
        update={"website_trusted_proxies": "127.0.0.1"}))  # the test client's address is the proxy's
    transport = httpx.ASGITransport(app=create_app(behind_proxy))
    async with httpx.AsyncClient(transport=transport, base_url=office.settings.website_url) as http:
        for n in range(LOOKUPS_ALLOWED):
            assert (await http.get(guess("", n), headers={"X-Forwarded-For": "203.0.113.7"})).status_code == 404
        guesser = await http.get(police_link, headers={"X-Forwarded-For": "203.0.113.7"})
        agency = await http.get(police_link, headers={"X-Forwarded-For": "198.51.100.9"})

    assert guesser.status_code == 429
    assert agency.status_code == 200 and "Return your request for information (CIGINF1)" in agency.text
    assert {e.detail["client"] for e in website_events(office) if e.action == "link look-up refused"} == {"203.0.113.7"}


async def test_an_edited_link_is_recorded_without_its_token_or_a_case(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    edited = police_link[:-1] + ("A" if police_link[-1] != "A" else "B")

    assert (await client.get(edited)).status_code == 404

    [refused] = website_events(office)
    assert (refused.actor, refused.action, refused.detail) == \
        ("website", "link look-up refused", {"reason": "unknown", "client": "127.0.0.1"})
    assert mails_to(office, ADMIN, "Secure website") == []  # one mistake is no spell of throttling


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example"])
async def test_another_host_is_refused_and_never_redirected_to(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient, host: str) -> None:
    response = await client.get(police_link + "/", headers={"Host": host})

    assert response.status_code == 400
    assert "evil.example" not in response.headers.get("location", "")


async def test_a_redirect_is_built_on_the_websites_own_address(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    response = await client.get(police_link + "/")

    assert response.status_code in (307, 308)
    assert response.headers["location"] == police_link


async def test_a_page_reloaded_hundreds_of_times_is_recorded_once_an_interval_and_then_rests(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [(await client.get(police_link)).status_code for _ in range(VIEWS_ALLOWED + 40)]

    assert answers == [200] * VIEWS_ALLOWED + [429] * 40
    views = [e for e in case_events(office, case) if e.action == "return page viewed"]
    assert len(views) == 1
    [throttled] = [e for e in case_events(office, case) if e.action == "link views throttled"]
    assert throttled.actor.startswith("agency POL")
    [told] = wait_for_mail(office, ADMIN, f"Secure website: Northshire Police's link to case {case} opened too often")
    text = " ".join(told.text().split())
    assert "the page of Northshire Police's link" in text and police_link.rsplit("/", 1)[1] not in text
    assert "This link was opened too many times" in (await client.get(police_link)).text

    later = now() + timedelta(minutes=11)
    monkeypatch.setattr(website.app, "now", lambda: later)
    assert (await client.get(police_link)).status_code == 200  # rested: it opens again

    views = [e for e in case_events(office, case) if e.action == "return page viewed"]
    assert len(views) == 2 and views[1].detail["unrecorded_views"] == VIEWS_ALLOWED - 1
    assert len(mails_to(office, ADMIN, "Secure website")) == 1

